// bugs/src/plugin.cpp — entry of the bugs plugin: registration only.
#include <memory>

#include "commands.h"
#include "jarvis/jarvis.h"
#include "routes.h"
#include "store.h"

namespace bugs {

class BugsPlugin : public jarvis::Plugin {
 public:
  void setup(jarvis::Host& host) override {
    store_ = std::make_unique<BugStore>(host);
    BugStore* s = store_.get();
    register_routes(host, *s);
    register_commands(host, *s);

    host.tasks().add(
        {.name = "bugs.report",
         .description =
             "File a report {title, description, priority, kind, dedupe_key?}; reuses an "
             "open one with the same dedupe_key",
         .handler = [s](jarvis::TaskContext& t) { return s->report(t.payload); },
         .retry = {.max_attempts = 3}},
        // Operators and admins may enqueue or schedule it; users file reports over the API,
        // which checks their quota and thread.
        jarvis::TaskAccess::Admin);
    host.tasks().add(
        {.name = "bugs.link_external",
         .description =
             "Record a GitHub sync {id, github_issue_number, github_issue_url, synced_at, error}",
         .handler = [s](jarvis::TaskContext& t) { return s->link_external(t.payload); },
         .retry = {.max_attempts = 3}},
        jarvis::TaskAccess::Admin);
    host.tasks().add(
        {.name = "bugs.count_open",
         .description = "Count open or in-progress reports whose title starts with "
                        "payload.title_prefix (for other plugins' status views)",
         .handler =
             [s](jarvis::TaskContext& t) {
               if (!t.payload.contains("title_prefix") || !t.payload["title_prefix"].is_string()) {
                 throw jarvis::bad_request("payload.title_prefix (string) is required",
                                           "invalid_payload");
               }
               return jarvis::Json{{"count", s->count_open(t.payload["title_prefix"])}};
             },
         .retry = {.max_attempts = 1}});
    // For the GitHub plugin's issue sync (internal: plugins only).
    host.tasks().add(
        {.name = "bugs.get",
         .description = "One report {id} as GET /api/v1/bugs/{id} shows it to an admin",
         .handler =
             [s](jarvis::TaskContext& t) {
               if (!t.payload.contains("id") || !t.payload["id"].is_string()) {
                 throw jarvis::bad_request("payload.id (string) is required", "invalid_payload");
               }
               return s->get(t.payload["id"].get<std::string>(), jarvis::Principal::system());
             },
         .retry = {.max_attempts = 1}});
    host.tasks().add(
        {.name = "bugs.unsynced",
         .description = "Ids of reports filed with sync_to_github and no GitHub issue yet "
                        "{limit?} → {ids}",
         .handler =
             [s](jarvis::TaskContext& t) {
               long long limit = t.payload.value("limit", 1000LL);
               if (limit < 1 || limit > 10000) {
                 throw jarvis::bad_request("payload.limit must be 1..10000", "invalid_payload");
               }
               return jarvis::Json{{"ids", s->unsynced(static_cast<int>(limit))}};
             },
         .retry = {.max_attempts = 1}});
  }

 private:
  std::unique_ptr<BugStore> store_;
};

}  // namespace bugs

JARVIS_PLUGIN(bugs::BugsPlugin)

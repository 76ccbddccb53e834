// github/src/status.cpp — the status document, its route and the CLI.
#include "status.h"

#include <fmt/format.h>

#include <algorithm>

#include "webhook.h"

namespace github {

namespace {

std::string or_dash(const jarvis::Json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return "-";
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

}  // namespace

jarvis::Json status_document(Context& c) {
  const Settings& s = c.settings;
  jarvis::Json rate = c.store.state("rate_limit");
  jarvis::Json live = c.rate.to_json();
  if (!live["remaining"].is_null() || rate.is_null()) rate = live;  // this process saw headers
  return {{"configured",
           {{"webhook_secret", !s.webhook_secret.empty()},
            {"token", !s.token.empty()},
            {"api_base_url_default", s.api_base_url == "https://api.github.com"},
            {"repo_allowlist", !s.repo_allowlist.empty()},
            {"issue_sync_repo", valid_repo_name(s.issue_sync_repo)},
            {"chat_allowed_users", !s.chat_allowed_users.empty()}}},
          {"features",
           {{"pr_summary", s.pr_summary_enabled},
            {"pr_summary_all_bases", s.pr_summary_bases.empty()},
            {"pr_chat", s.pr_chat_enabled},
            {"issue_sync", s.issue_sync_enabled},
            {"model", c.model_registered()},
            {"bugs", c.host.tasks().has("bugs.report")}}},
          {"last_delivery", c.store.last_delivery()},
          {"deliveries_last_hour", c.store.deliveries_since(jarvis::iso_from_now(-3600 * 1000))},
          {"last_error", c.store.state("last_error")},
          {"rate_limit", rate}};
}

void register_status(jarvis::Host& host, Context& ctx) {
  Context* c = &ctx;
  host.routes().add({.method = "GET",
                     .path = "/api/v1/github/status",
                     .auth = jarvis::Auth::Admin,
                     .summary = "GitHub integration status: configuration present or not (never "
                                "values), last delivery, last error, rate-limit state",
                     .handler = [c](jarvis::Request&) {
                       return jarvis::Response::json(200, status_document(*c));
                     }});
  host.commands().add(
      {.group = "github",
       .name = "status",
       .summary =
           "GitHub integration: configuration present, last delivery, last error, rate limit",
       .usage = "jarvis github status [--json]",
       .handler = [c](jarvis::CommandContext& cmd) {
         auto args = jarvis::Args::parse(cmd.args, {"--json"}, {});
         jarvis::Json d = status_document(*c);
         if (args.flag("--json")) {
           cmd.out << d.dump(2) << "\n";
           return 0;
         }
         auto yes = [](const jarvis::Json& v) {
           return v.is_boolean() && v.get<bool>() ? "yes" : "no";
         };
         const auto& cf = d["configured"];
         const auto& ft = d["features"];
         cmd.out << fmt::format(
             "webhook secret set: {}   token set: {}   API: {}\n", yes(cf["webhook_secret"]),
             yes(cf["token"]),
             cf["api_base_url_default"].get<bool>() ? "api.github.com" : "custom");
         cmd.out << fmt::format("pr summary: {}   pr chat: {}   issue sync: {}   model: {}\n",
                                yes(ft["pr_summary"]), yes(ft["pr_chat"]), yes(ft["issue_sync"]),
                                yes(ft["model"]));
         cmd.out << fmt::format(
             "last delivery: {} {} {} at {}\n", or_dash(d["last_delivery"], "event"),
             or_dash(d["last_delivery"], "delivery_id"), or_dash(d["last_delivery"], "outcome"),
             or_dash(d["last_delivery"], "received_at"));
         cmd.out << fmt::format("deliveries in the last hour: {}\n",
                                d["deliveries_last_hour"].dump());
         cmd.out << fmt::format("last error: {} {} {}\n", or_dash(d["last_error"], "at"),
                                or_dash(d["last_error"], "kind"),
                                or_dash(d["last_error"], "message"));
         cmd.out << fmt::format("rate limit: remaining {} of {}, reset {}, blocked until {}\n",
                                or_dash(d["rate_limit"], "remaining"),
                                or_dash(d["rate_limit"], "limit"),
                                or_dash(d["rate_limit"], "reset_epoch"),
                                or_dash(d["rate_limit"], "blocked_until_epoch"));
         return 0;
       }});
  host.commands().add(
      {.group = "github",
       .name = "sync-bugs",
       .summary = "Queue an issue sync for every report filed with sync_to_github that has no "
                  "GitHub issue yet",
       .usage = "jarvis github sync-bugs [--json]",
       .handler = [c](jarvis::CommandContext& cmd) {
         auto args = jarvis::Args::parse(cmd.args, {"--json"}, {});
         if (!c->host.tasks().has("bugs.unsynced")) {
           cmd.err << "the bugs plugin is not loaded: nothing to sync\n";
           return 1;
         }
         if (!c->settings.issue_sync_enabled)
           cmd.err << "note: GITHUB_ISSUE_SYNC_ENABLED is off; the queued syncs will skip\n";
         std::vector<std::string> ids;
         // Kept in a variable: a range-for over a member of the temporary call() returns reads
         // freed memory (the temporary dies before the loop runs; ASan found it).
         const jarvis::Json unsynced = c->host.tasks().call("bugs.unsynced", {{"limit", 10000}});
         for (const auto& id : unsynced["ids"]) ids.push_back(id.get<std::string>());
         for (const auto& id : c->store.failed_issue_links(10000))
           if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
         jarvis::Json queued = jarvis::Json::array();
         for (const auto& id : ids) {
           std::string task = c->host.tasks().enqueue(
               kIssueSyncTask,
               {.payload = {{"bug_id", id}}, .idempotency_key = "github.sync-bugs:" + id});
           queued.push_back({{"bug_id", id}, {"task_id", task}});
         }
         if (args.flag("--json")) {
           cmd.out << jarvis::Json{{"queued", queued}}.dump(2) << "\n";
         } else {
           cmd.out << "queued " << queued.size() << " issue sync(s)\n";
           for (const auto& q : queued) cmd.out << "  " << q["bug_id"].get<std::string>() << "\n";
         }
         return 0;
       }});
}

}  // namespace github

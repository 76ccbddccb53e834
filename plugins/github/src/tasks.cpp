// github/src/tasks.cpp — registration of the plugin's tasks and subscriptions.
#include "tasks.h"

#include "webhook.h"

namespace github {

void register_tasks(jarvis::Host& host, Context& ctx) {
  Context* c = &ctx;
  host.tasks().add(
      {.name = kSummaryTask,
       .description = "Summarise a pull request {repo, number} in its one "
                      "<!-- jarvis:pr-summary --> comment",
       .handler = [c](jarvis::TaskContext& t) { return run_pr_summary(*c, t); },
       .retry = {.max_attempts = kPrTaskAttempts, .initial_backoff = std::chrono::seconds(5)},
       .timeout = std::chrono::seconds(600)});
  host.tasks().add(
      {.name = kChatTask,
       .description = "Answer a trusted commenter's /jarvis request on a pull "
                      "request {repo, number, commenter, mode, question}",
       .handler = [c](jarvis::TaskContext& t) { return run_pr_chat(*c, t); },
       .retry = {.max_attempts = kPrTaskAttempts, .initial_backoff = std::chrono::seconds(5)},
       .timeout = std::chrono::seconds(600)});
  host.tasks().add({.name = kIssueSyncTask,
                    .description =
                        "Create the GitHub issue of a bug report filed with sync_to_github "
                        "(bug.created event, or {bug_id}) once, and record it with "
                        "bugs.link_external",
                    .handler = [c](jarvis::TaskContext& t) { return run_sync_bug(*c, t); },
                    .retry = {.max_attempts = ctx.settings.issue_sync_max_attempts,
                              .initial_backoff = std::chrono::seconds(2),
                              .multiplier = 2.0,
                              .max_backoff = std::chrono::seconds(600)}});
  host.events().subscribe_durable({.type = "bug.created", .task = kIssueSyncTask});

  host.tasks().add({.name = "github.prune_deliveries",
                    .description = "Delete webhook delivery records older than the replay "
                                   "window (at least a day)",
                    .handler =
                        [c](jarvis::TaskContext&) {
                          int keep = std::max(c->settings.replay_window_minutes, 24 * 60);
                          return jarvis::Json{{"deleted", c->store.prune_deliveries(keep)}};
                        },
                    .retry = {.max_attempts = 1}});
  host.tasks().add_periodic({.name = "github.prune_deliveries",
                             .cron_expr = "@every:3600",
                             .task = "github.prune_deliveries"});
}

}  // namespace github

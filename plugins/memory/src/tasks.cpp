// memory/src/tasks.cpp — the memory core's tasks and its periodic job.
//
//   memory.embed    fills vectors of items that have none (enqueued with every new item; one
//                   queued at a time; loops until nothing is pending)          — internal
//   memory.jobs     {"job": "tiers"|"importance"|"purge"|"all"} (periodic: MEMORY_JOBS_CRON) —
//   admin memory.reindex  re-embeds every item and rebuilds this host's index        — admin
#include "core.h"
#include "jarvis/error.h"
#include "jarvis/tasks.h"
#include "maintenance.h"

namespace jarvis::memory {

void register_tasks(Host& host, MemoryCore& core) {
  MemoryCore* c = &core;
  host.tasks().add({.name = "memory.embed",
                    .description = "Computes the vectors of memory items that have none",
                    .handler =
                        [c](TaskContext& t) {
                          EmbedReport r = embed_pending(*c, CancelToken::when(t.should_stop), 5000);
                          if (r.more && c->settings.writes_enabled) {
                            c->host.tasks().enqueue("memory.embed",
                                                    {.idempotency_key = "memory.embed:more"});
                          }
                          return Json{{"embedded", r.embedded}, {"more", r.more}};
                        },
                    .retry = {.max_attempts = 8,
                              .initial_backoff = std::chrono::milliseconds(2000),
                              .max_backoff = std::chrono::milliseconds(300000)},
                    .timeout = std::chrono::seconds(600)});
  host.tasks().add(
      {.name = "memory.jobs",
       .description = "Memory tiers, importance and purge of deleted items",
       .handler =
           [c](TaskContext& t) {
             const std::string job = t.payload.value("job", "all");
             if (job != "all" && job != "tiers" && job != "importance" && job != "purge") {
               throw Error(400, "invalid_field", "job must be all, tiers, importance or purge");
             }
             return run_jobs(*c, job);
           },
       .timeout = std::chrono::seconds(1800)},
      TaskAccess::Admin);
  host.tasks().add(
      {.name = "memory.reindex",
       .description = "Re-embeds every memory item and rebuilds this host's index",
       .handler = [c](TaskContext& t) { return reindex(*c, CancelToken::when(t.should_stop)); },
       .timeout = std::chrono::seconds(3600)},
      TaskAccess::Admin);
  host.tasks().add_periodic({.name = "memory.jobs",
                             .cron_expr = core.settings.jobs_cron,
                             .task = "memory.jobs",
                             .payload = {{"job", "all"}}});
}

}  // namespace jarvis::memory

// host/src/tasks/task_housekeeping.cpp — what the scheduler tick does besides dispatching:
// the ticker thread, owners' rights re-checked at most every 5 s, retention once a minute,
// plugin periodic jobs, and queue_status() for /api/v1/system/status and the CLI.
#include <spdlog/spdlog.h>

#include "db/sql_database.h"
#include "tasks/iso_time.h"
#include "tasks/task_routes.h"
#include "tasks/task_service_impl.h"

namespace jarvis::host {

void TaskService::Impl::ticker_loop() {
  milliseconds interval;
  {
    std::lock_guard lock(run_mu);
    interval = opts.scheduler_interval;
  }
  while (claiming.load()) {
    try {
      jarvis::EnqueueOptions o;
      // One live tick across every host: the key is unique while queued or running.
      o.idempotency_key = "scheduler.tick";
      o.priority = 1000;
      o.max_attempts = 1;
      enqueue("scheduler.tick", std::move(o));
    } catch (const std::exception& e) {
      spdlog::error("scheduler: could not enqueue the tick: {}", e.what());
    }
    std::unique_lock lock(idle_mu);
    idle_cv.wait_for(lock, interval, [&] { return !claiming.load(); });
  }
}

// The scheduler.tick handler: dispatch due slots, and purge old rows once a minute.
jarvis::Json TaskService::Impl::run_tick() {
  // Owners' rights first (at most every 5 s): a schedule of a demoted or disabled owner must
  // not fire once more before the once-a-minute housekeeping below.
  long long now_ms =
      std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  long long last_check = last_owner_check_ms.load();
  long long disabled = 0;
  if (now_ms - last_check >= 5000 &&
      last_owner_check_ms.compare_exchange_strong(last_check, now_ms)) {
    disabled = disable_forbidden_schedules();
  }
  TickResult r = scheduler.tick(unix_now());
  jarvis::Json out = r.to_json();
  if (disabled > 0) out["disabled_schedules"] = disabled;
  long long last = last_purge_ms.load();
  if (now_ms - last >= 60000 && last_purge_ms.compare_exchange_strong(last, now_ms)) {
    std::chrono::hours retention;
    {
      std::lock_guard lock(run_mu);
      retention = opts.retention;
    }
    long long retention_ms = std::chrono::duration_cast<milliseconds>(retention).count();
    std::string cutoff = jarvis::iso_from_now(-retention_ms);
    long long purged = queue.purge_finished(cutoff);
    purged += queue.purge_finished(jarvis::iso_from_now(-3600 * 1000LL), "scheduler.tick");
    long long dispatches = scheduler.purge_dispatches(cutoff);
    out["purged_tasks"] = purged;
    out["purged_dispatches"] = dispatches;
  }
  return out;
}

// Schedules whose owner may no longer start their task (demoted, disabled, deleted, or a task
// declared internal/admin after they were made) are switched off, never run.
long long TaskService::Impl::disable_forbidden_schedules() {
  try {
    return scheduler.disable_forbidden(
        [this](const std::string& task, const jarvis::Principal& who) {
          auto e = find(task);
          return e && task_access_allows(e->access, who);
        },
        [this](const std::string& task) { return find(task) != nullptr; });
  } catch (const std::exception& e) {
    spdlog::warn("scheduler: could not check schedule owners: {}", e.what());
    return 0;
  }
}

void TaskService::Impl::upsert_periodic(const jarvis::PeriodicJob& job) {
  scheduler.upsert_named(job.name, job.cron_expr, job.task, job.payload);
}

jarvis::Json queue_status(SqlDatabase& db, int default_max_catchup, const std::string& tz) {
  TaskQueue queue(db);
  Scheduler scheduler(db, nullptr, nullptr, [](const std::string&) { return 0; });
  scheduler.set_settings({default_max_catchup, tz});
  jarvis::Json tasks = jarvis::Json::object();
  for (const auto& [status, n] : queue.counts_by_status()) tasks[status] = n;
  auto oldest = queue.oldest_queued();
  return jarvis::Json{{"tasks", tasks},
                      {"oldest_queued_at", oldest ? jarvis::Json(*oldest) : jarvis::Json()},
                      {"scheduler", scheduler.backlog(unix_now())}};
}

}  // namespace jarvis::host

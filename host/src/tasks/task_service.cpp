// host/src/tasks/task_service.cpp — the task registry, the worker pool (claim, run, heartbeat,
// complete/retry/dead-letter), the scheduler ticker and the host's own tasks.
#include "tasks/task_service.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "db/sql_database.h"
#include "jarvis/error.h"
#include "jarvis/events.h"
#include "observability/metrics.h"
#include "registry/event_bus.h"
#include "tasks/cron.h"
#include "tasks/iso_time.h"
#include "tasks/scheduler.h"
#include "tasks/task_queue.h"
#include "tasks/task_routes.h"

namespace jarvis::host {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Task names: "<plugin>.<verb>" and friends; also keeps names safe in logs and metric labels.
void check_task_name(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 100;
  for (char c : name) {
    bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '.' || c == '_' || c == '-' || c == ':';
    if (!allowed) ok = false;
  }
  if (!ok) {
    throw jarvis::Error(
        400, "invalid_task",
        "invalid task name '" + name + "' (1-100 characters: letters, digits, '.', '_', '-', ':')");
  }
}

// Normalises an ISO-8601 UTC run_after to the 24-character stored form; throws invalid_task.
std::string normalise_run_after(const std::string& value) {
  auto secs = unix_from_iso(value);
  bool fixed_ms = value.size() == 24 && value[19] == '.' && value[23] == 'Z' &&
                  std::all_of(value.begin() + 20, value.begin() + 23,
                              [](char c) { return c >= '0' && c <= '9'; });
  if (secs && fixed_ms) return value;
  if (secs && value.size() == 20) return iso_from_unix(*secs);
  throw jarvis::Error(400, "invalid_task",
                      "run_after '" + value +
                          "' must be ISO-8601 UTC like 2026-01-31T12:00:00.000Z (as from "
                          "jarvis::now_iso())");
}

std::string default_worker_id() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "host");
  return std::string(host) + ":" + std::to_string(getpid());
}

// Backoff before attempt `attempt + 1` after attempt `attempt` failed.
milliseconds backoff_for(const jarvis::RetryPolicy& p, int attempt) {
  double ms = static_cast<double>(p.initial_backoff.count()) *
              std::pow(std::max(1.0, p.multiplier), std::max(0, attempt - 1));
  ms = std::min(ms, static_cast<double>(p.max_backoff.count()));
  return milliseconds(static_cast<long long>(std::max(0.0, ms)));
}

}  // namespace

struct TaskService::Impl : std::enable_shared_from_this<TaskService::Impl> {
  Impl(SqlDatabase& d, EventBusImpl* e, MetricsRegistry* m)
      : db(d), events(e), metrics(m), queue(d), scheduler(d, e, m, [this](const std::string& name) {
          return max_attempts_of(name);
        }) {}

  SqlDatabase& db;
  EventBusImpl* events;
  MetricsRegistry* metrics;
  TaskQueue queue;
  Scheduler scheduler;

  // Registry.
  mutable std::mutex reg_mu;
  std::map<std::string, std::shared_ptr<const TaskEntry>> tasks;
  std::vector<std::string> names;  // sorted registered names, rebuilt on change
  std::vector<std::pair<Owner, jarvis::PeriodicJob>> pending_periodic;

  // Runner state.
  mutable std::mutex run_mu;  // options, threads
  RunnerOptions opts;
  bool started = false;
  std::vector<std::thread> workers;
  std::thread heartbeat;
  std::thread ticker;
  std::atomic<bool> claiming{false};
  // Claims hold it shared and re-check `claiming` inside; stop_claiming() takes it exclusively
  // once, so when it returns no claim is in flight and none starts (a task enqueued during a
  // restart stays queued for the next process).
  std::shared_mutex claim_mu;
  std::atomic<bool> stopping{false};  // should_stop() for every running task
  std::atomic<std::size_t> max_payload_bytes{TaskLimits{}.max_payload_bytes};
  std::atomic<int> active{0};  // workers claiming or executing
  std::atomic<int> executing{0};
  std::atomic<long long> last_expired_scan_ms{0};
  std::atomic<long long> last_purge_ms{0};
  std::atomic<long long> last_owner_check_ms{0};

  // Wake-up: enqueue bumps the sequence; an idle worker waits for a change or the poll interval.
  std::mutex wake_mu;
  std::condition_variable wake_cv;
  unsigned long long wake_seq = 0;
  // Drain waits here for `active` to reach zero; the heartbeat and ticker sleep here too.
  std::mutex idle_mu;
  std::condition_variable idle_cv;

  // Tasks running in this process, for the heartbeat.
  struct Running {
    ClaimedTask task;
    Clock::time_point deadline;    // should_stop() from here on
    Clock::time_point hold_until;  // the heartbeat renews the lease up to here
    std::shared_ptr<std::atomic<bool>> lost;
  };
  std::mutex running_mu;
  std::map<std::string, Running> running;

  milliseconds options_lease() const {
    std::lock_guard lock(run_mu);
    return opts.lease;
  }

  int max_attempts_of(const std::string& name) const {
    std::lock_guard lock(reg_mu);
    auto it = tasks.find(name);
    if (it == tasks.end()) return 0;
    return std::max(1, it->second->spec.retry.max_attempts);
  }

  std::shared_ptr<const TaskEntry> find(const std::string& name) const {
    std::lock_guard lock(reg_mu);
    auto it = tasks.find(name);
    return it == tasks.end() ? nullptr : it->second;
  }

  std::vector<std::string> registered_names() const {
    std::lock_guard lock(reg_mu);
    return names;
  }

  void rebuild_names() {
    names.clear();
    for (const auto& [n, _] : tasks) names.push_back(n);
  }

  void wake(bool all) {
    {
      std::lock_guard lock(wake_mu);
      ++wake_seq;
    }
    if (all) {
      wake_cv.notify_all();
    } else {
      wake_cv.notify_one();
    }
  }

  void count(const std::string& name, const std::string& outcome) {
    if (metrics) {
      metrics->counter_add("jarvis_tasks_total", "Task attempts by outcome",
                           {{"task", name}, {"outcome", outcome}});
    }
  }

  void emit(const std::string& type, jarvis::Json payload, const std::string& trace_id) {
    if (!events) return;
    jarvis::Event e;
    e.type = type;
    e.component = "tasks";
    e.actor_type = "system";
    e.trace_id = trace_id;
    e.payload = std::move(payload);
    try {
      events->emit(Owner{"host", {}}, std::move(e));
    } catch (const std::exception& ex) {
      spdlog::error("tasks: could not emit {}: {}", type, ex.what());
    }
  }

  // Once a second per process: refresh stale planner statistics (PostgreSQL) and re-claim a
  // task whose lease expired (a dead or hung worker), which goes before queued work.
  std::optional<ClaimedTask> periodic_claim(const std::string& owner, milliseconds lease,
                                            const std::vector<std::string>& names_now) {
    long long now_ms = std::chrono::duration_cast<milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    long long last = last_expired_scan_ms.load();
    if (now_ms - last < 1000 || !last_expired_scan_ms.compare_exchange_strong(last, now_ms)) {
      return std::nullopt;
    }
    try {
      if (queue.refresh_statistics_if_stale()) {
        spdlog::debug("tasks: refreshed planner statistics of the tasks table");
      }
    } catch (const std::exception& e) {
      spdlog::warn("tasks: could not refresh planner statistics: {}", e.what());
    }
    auto t = queue.claim_next(owner, lease, names_now, /*expired_leases=*/true);
    if (t) {
      spdlog::warn("tasks: re-claimed {} ({}) after its lease expired (attempt {})", t->id, t->name,
                   t->attempt);
      count(t->name, "lease_reclaimed");
    }
    return t;
  }

  // Claims the next task for `owner`: an expired lease (see periodic_claim), else a due one.
  std::optional<ClaimedTask> claim(const std::string& owner, milliseconds lease) {
    auto names_now = registered_names();
    if (names_now.empty()) return std::nullopt;
    std::shared_lock claim_lock(claim_mu);
    if (!claiming.load()) return std::nullopt;
    if (auto t = periodic_claim(owner, lease, names_now)) return t;
    return queue.claim_next(owner, lease, names_now, /*expired_leases=*/false);
  }

  // Stores the result of a succeeded attempt.
  void record_success(const ClaimedTask& t, bool stored) {
    if (stored) {
      count(t.name, "succeeded");
    } else {
      spdlog::warn("tasks: {} ({}) finished but its lease was lost; result discarded", t.id,
                   t.name);
      count(t.name, "lease_lost");
    }
  }

  // Stores the result of a succeeded attempt (`result`) and, while claiming, claims the next task
  // in the same write. Ends the attempt's `executing` count.
  std::optional<ClaimedTask> store_and_claim(const ClaimedTask& t, const std::string& result,
                                             const std::string& owner, milliseconds lease) {
    std::optional<ClaimedTask> next;
    try {
      auto names_now = registered_names();
      std::shared_lock claim_lock(claim_mu);
      bool may_claim = claiming.load();
      std::optional<ClaimedTask> expired;
      if (may_claim) {
        try {
          expired = periodic_claim(owner, lease, names_now);
        } catch (const std::exception& e) {
          // A failed claim must not cost the result: store it alone, claim on the next round.
          spdlog::error("tasks: claim failed: {}", e.what());
          may_claim = false;
        }
      }
      if (!may_claim || expired || names_now.empty()) {
        record_success(t, queue.complete(t, result));
        next = std::move(expired);
      } else {
        std::optional<TaskQueue::CompletedAndClaimed> r;
        try {
          r = queue.complete_and_claim(t, result, owner, lease, names_now);
        } catch (const std::exception& e) {
          // Nothing of it was written; store the result on its own (the claim can wait).
          spdlog::warn("tasks: storing {} with the next claim failed ({}); storing it alone", t.id,
                       e.what());
          record_success(t, queue.complete(t, result));
        }
        if (r) {
          record_success(t, r->completed);
          next = std::move(r->next);
        }
      }
    } catch (const std::exception& e) {
      // The database is unreachable: the lease will expire and the task be claimed again.
      spdlog::error("tasks: could not record the outcome of {} ({}): {}", t.id, t.name, e.what());
      count(t.name, "record_error");
    }
    --executing;
    return next;
  }

  // Runs a claimed task and records its outcome.
  void execute_and_record(const ClaimedTask& t, milliseconds lease) {
    if (auto result = execute(t, lease)) {
      try {
        record_success(t, queue.complete(t, *result));
      } catch (const std::exception& e) {
        spdlog::error("tasks: could not record the outcome of {} ({}): {}", t.id, t.name, e.what());
        count(t.name, "record_error");
      }
      --executing;
    }
  }

  // Runs a claimed task. Failures (retry, dead letter) are recorded here; a success returns its
  // result for the caller to store, and the caller then decrements `executing`.
  std::optional<std::string> execute(const ClaimedTask& t, milliseconds lease) {
    auto entry = find(t.name);
    if (!entry) {
      // Unregistered between claim and run (plugin removed): give it back for later.
      try {
        queue.fail(t, "no handler for '" + t.name + "' in this process", true, milliseconds(5000));
      } catch (const std::exception& e) {
        spdlog::error("tasks: could not give back {} ({}): {}", t.id, t.name, e.what());
      }
      return std::nullopt;
    }
    const jarvis::TaskSpec& spec = entry->spec;
    if (t.attempt > t.max_attempts) {
      // Re-claimed after its lease expired with no attempts left: the last run died or hung.
      std::string error = "lease expired (worker died, or hung past the " +
                          std::to_string(spec.timeout.count()) + " s timeout) on the last attempt";
      try {
        finish_failure(t, error, /*retryable=*/true, spec);
      } catch (const std::exception& e) {
        spdlog::error("tasks: could not record the outcome of {} ({}): {}", t.id, t.name, e.what());
      }
      return std::nullopt;
    }
    milliseconds timeout = std::chrono::duration_cast<milliseconds>(spec.timeout);
    if (timeout <= milliseconds(0)) timeout = milliseconds(1000);
    // should_stop() turns true at the deadline; the lease is kept one more lease length, so a
    // handler that honours should_stop() can still store its result. A handler hung past that
    // loses its lease and the task is claimed again.
    auto deadline = Clock::now() + timeout;
    auto hold_until = deadline + lease;
    auto lost = std::make_shared<std::atomic<bool>>(false);
    {
      std::lock_guard lock(running_mu);
      running[t.id] = Running{t, deadline, hold_until, lost};
    }
    ++executing;
    auto started_at = Clock::now();

    jarvis::TaskContext ctx;
    ctx.task_id = t.id;
    ctx.name = t.name;
    ctx.attempt = t.attempt;
    ctx.trace_id = t.trace_id;
    std::weak_ptr<Impl> weak = weak_from_this();
    ctx.should_stop = [weak, deadline, lost] {
      auto self = weak.lock();
      return !self || self->stopping.load() || lost->load() || Clock::now() >= deadline;
    };

    std::optional<std::string> error;
    bool retryable = true;
    std::string result_text;
    auto stored = jarvis::try_parse_json(t.payload);
    ctx.payload = stored ? std::move(*stored) : jarvis::Json(jarvis::Json::value_t::discarded);
    if (ctx.payload.is_discarded()) {
      error = "stored payload is not valid JSON of at most " +
              std::to_string(jarvis::kMaxJsonDepth) + " levels";
      retryable = false;
    } else {
      try {
        jarvis::Json result = spec.handler(ctx);
        result_text = result.dump(-1, ' ', false, jarvis::Json::error_handler_t::replace);
      } catch (const jarvis::Error& e) {
        error = e.code() + ": " + e.what();
        int s = e.status();
        retryable = !(s >= 400 && s < 500 && s != 408 && s != 429);
      } catch (const std::exception& e) {
        error = e.what();
      } catch (...) {
        error = "unknown exception";
      }
    }
    double seconds = std::chrono::duration<double>(Clock::now() - started_at).count();
    {
      std::lock_guard lock(running_mu);
      running.erase(t.id);
    }
    if (metrics) {
      metrics->histogram_observe("jarvis_task_duration_seconds", "Task handler run time",
                                 {{"task", t.name}}, seconds);
    }
    if (!error) return result_text;  // still `executing` until stored
    try {
      {
        if (entry->owner.name != "host") {
          spdlog::warn("tasks: {} ({}, plugin {}) attempt {}/{} failed: {}", t.id, t.name,
                       entry->owner.name, t.attempt, t.max_attempts, *error);
        } else {
          spdlog::warn("tasks: {} ({}) attempt {}/{} failed: {}", t.id, t.name, t.attempt,
                       t.max_attempts, *error);
        }
        if (metrics && entry->owner.name != "host") {
          metrics->counter_add("jarvis_plugin_errors_total", "Exceptions caught from plugin code",
                               {{"plugin", entry->owner.name}});
        }
        finish_failure(t, *error, retryable, spec);
      }
    } catch (const std::exception& e) {
      // The database is unreachable: the lease will expire and the task be claimed again.
      spdlog::error("tasks: could not record the outcome of {} ({}): {}", t.id, t.name, e.what());
      count(t.name, "record_error");
    }
    --executing;
    return std::nullopt;
  }

  void finish_failure(const ClaimedTask& t, const std::string& error, bool retryable,
                      const jarvis::TaskSpec& spec) {
    FailOutcome outcome = queue.fail(t, error, retryable, backoff_for(spec.retry, t.attempt));
    switch (outcome) {
      case FailOutcome::Retried:
        count(t.name, "retried");
        break;
      case FailOutcome::Dead:
        count(t.name, "dead");
        spdlog::error("tasks: {} ({}) is dead after {} attempts: {}", t.id, t.name, t.attempt,
                      error);
        emit("task.dead_letter",
             {{"task_id", t.id}, {"name", t.name}, {"attempts", t.attempt}, {"last_error", error}},
             t.trace_id);
        break;
      case FailOutcome::Failed:
        count(t.name, "failed");
        emit("task.failed",
             {{"task_id", t.id}, {"name", t.name}, {"attempts", t.attempt}, {"last_error", error}},
             t.trace_id);
        break;
      case FailOutcome::LeaseLost:
        count(t.name, "lease_lost");
        spdlog::warn("tasks: {} ({}) failed after its lease was lost; outcome discarded", t.id,
                     t.name);
        break;
    }
  }

  void worker_loop(int index) {
    std::string owner;
    milliseconds lease, poll;
    {
      std::lock_guard lock(run_mu);
      owner = opts.worker_id + "/" + std::to_string(index);
      lease = opts.lease;
      poll = opts.poll_interval;
    }
    while (claiming.load()) {
      unsigned long long seen;
      {
        std::lock_guard lock(wake_mu);
        seen = wake_seq;
      }
      ++active;
      std::optional<ClaimedTask> t;
      try {
        if (claiming.load()) t = claim(owner, lease);
      } catch (const std::exception& e) {
        spdlog::error("tasks: claim failed: {}", e.what());
        if (metrics) metrics->counter_add("jarvis_task_claim_errors_total", "Failed claim queries");
      }
      bool worked = t.has_value();
      // A busy worker stores each result and claims its next task in one write.
      while (t) {
        wake(false);  // there may be more: let a sibling look too
        ClaimedTask current = std::move(*t);
        t.reset();
        if (auto result = execute(current, lease)) {
          t = store_and_claim(current, *result, owner, lease);
        } else if (claiming.load()) {
          try {
            t = claim(owner, lease);
          } catch (const std::exception& e) {
            spdlog::error("tasks: claim failed: {}", e.what());
            if (metrics) {
              metrics->counter_add("jarvis_task_claim_errors_total", "Failed claim queries");
            }
          }
        }
      }
      if (--active == 0) {
        { std::lock_guard lock(idle_mu); }  // drain() is either before its check or waiting
        idle_cv.notify_all();
      }
      if (worked) continue;
      std::unique_lock lock(wake_mu);
      wake_cv.wait_for(lock, poll, [&] { return wake_seq != seen || !claiming.load(); });
    }
  }

  void heartbeat_loop() {
    milliseconds lease;
    {
      std::lock_guard lock(run_mu);
      lease = opts.lease;
    }
    milliseconds every = std::max(milliseconds(50), lease / 3);
    while (!stopping.load()) {
      {
        std::unique_lock lock(idle_mu);
        idle_cv.wait_for(lock, every, [&] { return stopping.load(); });
      }
      if (stopping.load()) break;
      std::vector<Running> snapshot;
      {
        std::lock_guard lock(running_mu);
        for (const auto& [_, r] : running) snapshot.push_back(r);
      }
      auto now = Clock::now();
      for (const auto& r : snapshot) {
        if (now >= r.hold_until || r.lost->load()) continue;  // hung past its timeout: expire
        auto remaining = std::chrono::duration_cast<milliseconds>(r.hold_until - now);
        try {
          if (!queue.renew(r.task, jarvis::iso_from_now(std::min(lease, remaining).count()))) {
            spdlog::warn("tasks: lease of {} ({}) was taken over; asking it to stop", r.task.id,
                         r.task.name);
            r.lost->store(true);
          }
        } catch (const std::exception& e) {
          spdlog::error("tasks: lease renewal of {} failed: {}", r.task.id, e.what());
        }
      }
    }
  }

  void ticker_loop() {
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

  std::string enqueue(const std::string& name, jarvis::EnqueueOptions options) {
    auto entry = find(name);
    if (!entry) {
      throw jarvis::Error(400, "unknown_task", "no task named '" + name + "' is registered");
    }
    if (options.priority < -1000000 || options.priority > 1000000) {
      throw jarvis::Error(400, "invalid_task", "priority must be between -1000000 and 1000000");
    }
    if (options.max_attempts < 0 || options.max_attempts > 1000) {
      throw jarvis::Error(400, "invalid_task", "max_attempts must be between 0 and 1000");
    }
    if (options.idempotency_key.size() > 200) {
      throw jarvis::Error(400, "invalid_task", "idempotency_key must be at most 200 characters");
    }
    NewTask t;
    t.name = name;
    if (options.payload.is_null()) options.payload = jarvis::Json::object();
    jarvis::require_json_depth(options.payload, "task payload");
    t.payload = options.payload.dump(-1, ' ', false, jarvis::Json::error_handler_t::strict);
    if (std::size_t cap = max_payload_bytes.load(); t.payload.size() > cap) {
      throw jarvis::Error(413, "payload_too_large",
                          "task payload of " + std::to_string(t.payload.size()) +
                              " bytes exceeds TASK_MAX_PAYLOAD_BYTES (" + std::to_string(cap) +
                              ")");
    }
    t.run_after = options.run_after.empty() ? "" : normalise_run_after(options.run_after);
    t.priority = options.priority;
    t.idempotency_key = options.idempotency_key;
    t.trace_id = options.trace_id;
    t.max_attempts = options.max_attempts > 0 ? options.max_attempts
                                              : std::max(1, entry->spec.retry.max_attempts);
    auto inserted = queue.insert(t);
    if (inserted.created) {
      if (metrics) {
        metrics->counter_add("jarvis_tasks_enqueued_total", "Tasks enqueued", {{"task", name}});
      }
      wake(false);
    }
    return inserted.id;
  }

  // The scheduler.tick handler: dispatch due slots, and purge old rows once a minute.
  jarvis::Json run_tick() {
    // Owners' rights first (at most every 5 s): a schedule of a demoted or disabled owner must
    // not fire once more before the once-a-minute housekeeping below.
    long long now_ms = std::chrono::duration_cast<milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
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
  long long disable_forbidden_schedules() {
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

  void upsert_periodic(const jarvis::PeriodicJob& job) {
    scheduler.upsert_named(job.name, job.cron_expr, job.task, job.payload);
  }
};

TaskService::TaskService(SqlDatabase& db, EventBusImpl* events, MetricsRegistry* metrics)
    : impl_(std::make_shared<Impl>(db, events, metrics)) {
  impl_->opts.worker_id = default_worker_id();
  std::weak_ptr<Impl> weak = impl_;
  impl_->scheduler.set_access_check([weak](const std::string& task, const jarvis::Principal& who) {
    auto self = weak.lock();
    if (!self) throw jarvis::Error(503, "unavailable", "task service is gone");
    auto e = self->find(task);
    require_entry_access(task, e ? std::optional(e->access) : std::nullopt, who);
  });
  add(Owner{"host", {}},
      jarvis::TaskSpec{.name = "system.echo",
                       .description = "Returns its payload (checks the queue end to end)",
                       .handler = [](jarvis::TaskContext& t) { return t.payload; },
                       .retry = {.max_attempts = 1},
                       .timeout = std::chrono::seconds(60)},
      jarvis::TaskAccess::User);
  add(Owner{"host", {}}, jarvis::TaskSpec{.name = "scheduler.tick",
                                          .description = "Dispatches due schedule slots as tasks",
                                          .handler =
                                              [weak](jarvis::TaskContext&) {
                                                auto self = weak.lock();
                                                if (!self)
                                                  throw std::runtime_error("task service is gone");
                                                return self->run_tick();
                                              },
                                          .retry = {.max_attempts = 1},
                                          .timeout = std::chrono::seconds(120)});
  if (metrics) {
    metrics->add_collector([weak](MetricsRegistry& m) {
      auto self = weak.lock();
      if (!self) return;
      try {
        for (const auto& [status, n] : self->queue.counts_by_status()) {
          m.gauge_set("jarvis_tasks_queue_depth", "Tasks by status", {{"status", status}},
                      static_cast<double>(n));
        }
        m.gauge_set("jarvis_tasks_in_flight", "Tasks executing in this process", {},
                    static_cast<double>(self->executing.load()));
      } catch (const std::exception& e) {
        spdlog::warn("tasks: queue depth metrics unavailable: {}", e.what());
      }
    });
  }
}

TaskService::~TaskService() {
  bool started;
  milliseconds timeout;
  {
    std::lock_guard lock(impl_->run_mu);
    started = impl_->started;
    timeout = impl_->opts.shutdown_timeout;
  }
  if (started) drain(timeout);
}

void require_entry_access(const std::string& name, std::optional<jarvis::TaskAccess> access,
                          const jarvis::Principal& who) {
  if (!access) {
    throw jarvis::Error(400, "unknown_task", "no task named '" + name + "' is registered");
  }
  if (!task_access_allows(*access, who)) {
    throw jarvis::Error(
        403, "task_forbidden",
        "task '" + name + "' is " + jarvis::to_string(*access) +
            (*access == jarvis::TaskAccess::Internal ? " (started by plugins only)"
                                                     : "; your role may not start it"));
  }
}

bool task_access_allows(jarvis::TaskAccess access, const jarvis::Principal& who) {
  if (!who.authenticated) return false;
  switch (access) {
    case jarvis::TaskAccess::Internal:
      return false;
    case jarvis::TaskAccess::Admin:
      return who.is_admin();
    case jarvis::TaskAccess::User:
      return true;
  }
  return false;
}

void TaskService::add(Owner owner, jarvis::TaskSpec spec, jarvis::TaskAccess access) {
  check_task_name(spec.name);
  if (!spec.handler) {
    throw jarvis::Error(400, "invalid_task", "task '" + spec.name + "' has no handler");
  }
  if (spec.retry.max_attempts < 1 || spec.retry.max_attempts > 1000) {
    throw jarvis::Error(400, "invalid_task",
                        "task '" + spec.name + "': retry.max_attempts must be 1..1000");
  }
  if (spec.timeout.count() < 1) {
    throw jarvis::Error(400, "invalid_task", "task '" + spec.name + "': timeout must be >= 1 s");
  }
  std::lock_guard lock(impl_->reg_mu);
  auto it = impl_->tasks.find(spec.name);
  if (it != impl_->tasks.end()) {
    throw jarvis::Error(409, "duplicate_task",
                        "task '" + spec.name + "' is already registered by '" +
                            it->second->owner.name + "'; '" + owner.name +
                            "' cannot register it again");
  }
  std::string name = spec.name;
  impl_->tasks.emplace(name, std::make_shared<const TaskEntry>(
                                 TaskEntry{std::move(owner), std::move(spec), access}));
  impl_->rebuild_names();
}

bool TaskService::has(const std::string& name) const { return impl_->find(name) != nullptr; }

std::optional<jarvis::TaskAccess> TaskService::access_of(const std::string& name) const {
  auto entry = impl_->find(name);
  if (!entry) return std::nullopt;
  return entry->access;
}

bool TaskService::may_start(const std::string& name, const jarvis::Principal& who) const {
  auto access = access_of(name);
  return access && task_access_allows(*access, who);
}

void TaskService::require_may_start(const std::string& name, const jarvis::Principal& who) const {
  require_entry_access(name, access_of(name), who);
}

std::vector<TaskCatalogEntry> TaskService::catalog(const jarvis::Principal& who) const {
  std::lock_guard lock(impl_->reg_mu);
  std::vector<TaskCatalogEntry> out;
  for (const auto& [name, e] : impl_->tasks) {  // std::map: sorted by name
    if (task_access_allows(e->access, who)) {
      out.push_back({name, e->spec.description, e->owner.name, e->access});
    }
  }
  return out;
}

void TaskService::set_limits(TaskLimits limits) {
  impl_->max_payload_bytes.store(limits.max_payload_bytes);
}

jarvis::Json TaskService::call(const std::string& name, const jarvis::Json& payload) {
  auto entry = impl_->find(name);
  if (!entry)
    throw jarvis::Error(400, "unknown_task", "no task named '" + name + "' is registered");
  jarvis::TaskContext ctx;
  ctx.task_id = jarvis::new_id("call");
  ctx.name = name;
  ctx.payload = payload;
  return entry->spec.handler(ctx);
}

int TaskService::max_attempts_of(const std::string& name) const {
  return impl_->max_attempts_of(name);
}

std::string TaskService::enqueue(const std::string& name, jarvis::EnqueueOptions options) {
  return impl_->enqueue(name, std::move(options));
}

void TaskService::add_periodic(Owner owner, jarvis::PeriodicJob job) {
  if (job.name.empty()) {
    throw jarvis::Error(400, "invalid_periodic_job", "a periodic job needs a name");
  }
  std::string reason = CronSchedule::validate(job.cron_expr);
  if (!reason.empty()) throw jarvis::Error(400, "invalid_cron", reason);
  check_task_name(job.task);
  try {
    impl_->upsert_periodic(job);
  } catch (const jarvis::Error&) {
    throw;
  } catch (const std::exception& e) {
    // The schedules table may not exist yet (plugins are set up before migrations run):
    // store the job and write it when the runner starts.
    spdlog::debug("tasks: periodic job {} kept for start-up: {}", job.name, e.what());
    std::lock_guard lock(impl_->reg_mu);
    impl_->pending_periodic.emplace_back(std::move(owner), std::move(job));
  }
}

void TaskService::remove_owner(const std::string& owner_name) {
  std::lock_guard lock(impl_->reg_mu);
  std::erase_if(impl_->tasks, [&](const auto& kv) { return kv.second->owner.name == owner_name; });
  std::erase_if(impl_->pending_periodic, [&](const auto& p) { return p.first.name == owner_name; });
  impl_->rebuild_names();
}

std::vector<std::pair<std::string, std::string>> TaskService::registered() const {
  std::lock_guard lock(impl_->reg_mu);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, e] : impl_->tasks) out.emplace_back(name, e->owner.name);
  return out;
}

void TaskService::start(RunnerOptions options) {
  if (options.worker_id.empty()) options.worker_id = default_worker_id();
  if (options.max_concurrent < 1) options.max_concurrent = 1;
  if (options.poll_interval <= milliseconds(0)) options.poll_interval = milliseconds(200);
  if (options.lease < milliseconds(100)) options.lease = milliseconds(100);
  if (options.scheduler_interval < milliseconds(10)) options.scheduler_interval = milliseconds(10);
  impl_->scheduler.set_settings(
      {options.scheduler_max_catchup, options.scheduler_tz, options.schedule_quota});
  impl_->max_payload_bytes.store(options.schedule_quota.max_task_payload_bytes);
  if (long long n = impl_->disable_forbidden_schedules(); n > 0) {
    spdlog::warn(
        "scheduler: {} schedule(s) disabled at start-up: their owner may not start "
        "their task",
        n);
  }

  std::vector<std::pair<Owner, jarvis::PeriodicJob>> pending;
  {
    std::lock_guard lock(impl_->reg_mu);
    pending.swap(impl_->pending_periodic);
  }
  for (const auto& [owner, job] : pending) {
    try {
      impl_->upsert_periodic(job);
    } catch (const std::exception& e) {
      spdlog::error("tasks: periodic job {} of {} could not be saved: {}", job.name, owner.name,
                    e.what());
    }
  }

  std::lock_guard lock(impl_->run_mu);
  if (impl_->started) throw std::logic_error("TaskService::start called twice");
  impl_->opts = options;
  impl_->started = true;
  impl_->claiming = true;
  impl_->stopping = false;
  auto self = impl_;
  for (int i = 0; i < options.max_concurrent; ++i) {
    impl_->workers.emplace_back([self, i] { self->worker_loop(i); });
  }
  impl_->heartbeat = std::thread([self] { self->heartbeat_loop(); });
  if (options.run_scheduler) impl_->ticker = std::thread([self] { self->ticker_loop(); });
  spdlog::info("tasks: {} workers started as {} (scheduler {})", options.max_concurrent,
               options.worker_id, options.run_scheduler ? "on" : "off");
}

void TaskService::stop_claiming() {
  impl_->claiming = false;
  { std::unique_lock wait_for_claims(impl_->claim_mu); }
  impl_->stopping = true;
  impl_->wake(true);
  { std::lock_guard lock(impl_->idle_mu); }  // no lost wake-up for the heartbeat and ticker
  impl_->idle_cv.notify_all();
}

bool TaskService::drain(milliseconds timeout) {
  stop_claiming();
  bool done;
  {
    std::unique_lock lock(impl_->idle_mu);
    done = impl_->idle_cv.wait_for(lock, timeout, [&] { return impl_->active.load() == 0; });
  }
  std::vector<std::thread> workers;
  std::thread heartbeat, ticker;
  {
    std::lock_guard lock(impl_->run_mu);
    workers.swap(impl_->workers);
    heartbeat.swap(impl_->heartbeat);
    ticker.swap(impl_->ticker);
    impl_->started = false;
  }
  if (ticker.joinable()) ticker.join();
  if (heartbeat.joinable()) heartbeat.join();
  if (done) {
    for (auto& w : workers) {
      if (w.joinable()) w.join();
    }
    return true;
  }
  // Handlers still running past the deadline: end their leases so another host (or this one
  // after restart) claims them at once, and let the threads finish on their own.
  std::vector<ClaimedTask> left;
  {
    std::lock_guard lock(impl_->running_mu);
    for (const auto& [_, r] : impl_->running) left.push_back(r.task);
  }
  for (const auto& t : left) {
    try {
      impl_->queue.release(t);
    } catch (const std::exception& e) {
      spdlog::error("tasks: could not release the lease of {}: {}", t.id, e.what());
    }
    spdlog::warn("tasks: {} ({}) still running at shutdown; lease released", t.id, t.name);
  }
  for (auto& w : workers) {
    if (w.joinable()) w.detach();
  }
  return false;
}

int TaskService::in_flight() const { return impl_->executing.load(); }

bool TaskService::run_task(const std::string& id) {
  auto record = impl_->queue.get(id);
  if (!record || record->status != "queued") return false;
  auto entry = impl_->find(record->name);
  if (!entry) return false;
  // No heartbeat runs here: hold the lease for the whole timeout plus the grace period.
  std::string owner;
  milliseconds lease;
  {
    std::lock_guard lock(impl_->run_mu);
    owner = impl_->opts.worker_id + "/here";
    lease = std::chrono::duration_cast<milliseconds>(entry->spec.timeout) + impl_->opts.lease;
  }
  auto t = impl_->queue.claim_id(id, owner, lease);
  if (!t) return false;
  impl_->execute_and_record(*t, impl_->options_lease());
  return true;
}

jarvis::Json TaskService::queue_status() {
  SchedulerSettings s = impl_->scheduler.settings();
  return jarvis::host::queue_status(impl_->db, s.default_max_catchup, s.tz);
}

TaskQueue& TaskService::queue() { return impl_->queue; }
Scheduler& TaskService::scheduler() { return impl_->scheduler; }

RunnerOptions TaskService::options() const {
  std::lock_guard lock(impl_->run_mu);
  return impl_->opts;
}

void TaskService::configure_scheduler(int max_catchup, const std::string& tz) {
  impl_->scheduler.set_settings({max_catchup, tz});
  std::lock_guard lock(impl_->run_mu);
  impl_->opts.scheduler_max_catchup = max_catchup;
  impl_->opts.scheduler_tz = tz;
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

// host/src/tasks/task_worker.cpp — the worker side of TaskService: claim (expired leases first),
// run the handler with its deadline, record success (with the next claim in the same write) or
// failure (retry, dead letter), and the heartbeat that renews running tasks' leases.
#include <algorithm>
#include <cmath>

#include <spdlog/spdlog.h>

#include "db/sql_database.h"
#include "jarvis/error.h"
#include "observability/metrics.h"
#include "registry/event_bus.h"
#include "tasks/task_service_impl.h"

namespace jarvis::host {
namespace {

// Backoff before attempt `attempt + 1` after attempt `attempt` failed.
milliseconds backoff_for(const jarvis::RetryPolicy& p, int attempt) {
  double ms = static_cast<double>(p.initial_backoff.count()) *
              std::pow(std::max(1.0, p.multiplier), std::max(0, attempt - 1));
  ms = std::min(ms, static_cast<double>(p.max_backoff.count()));
  return milliseconds(static_cast<long long>(std::max(0.0, ms)));
}

}  // namespace

void TaskService::Impl::emit(const std::string& type, jarvis::Json payload,
                             const std::string& trace_id) {
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
std::optional<ClaimedTask> TaskService::Impl::periodic_claim(
    const std::string& owner, milliseconds lease, const std::vector<std::string>& names_now) {
  long long now_ms =
      std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
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
std::optional<ClaimedTask> TaskService::Impl::claim(const std::string& owner, milliseconds lease) {
  auto names_now = registered_names();
  if (names_now.empty()) return std::nullopt;
  std::shared_lock claim_lock(claim_mu);
  if (!claiming.load()) return std::nullopt;
  if (auto t = periodic_claim(owner, lease, names_now)) return t;
  return queue.claim_next(owner, lease, names_now, /*expired_leases=*/false);
}

// Stores the result of a succeeded attempt.
void TaskService::Impl::record_success(const ClaimedTask& t, bool stored) {
  if (stored) {
    count(t.name, "succeeded");
  } else {
    spdlog::warn("tasks: {} ({}) finished but its lease was lost; result discarded", t.id, t.name);
    count(t.name, "lease_lost");
  }
}

// Stores the result of a succeeded attempt (`result`) and, while claiming, claims the next task
// in the same write. Ends the attempt's `executing` count.
std::optional<ClaimedTask> TaskService::Impl::store_and_claim(const ClaimedTask& t,
                                                              const std::string& result,
                                                              const std::string& owner,
                                                              milliseconds lease) {
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
void TaskService::Impl::execute_and_record(const ClaimedTask& t, milliseconds lease) {
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
std::optional<std::string> TaskService::Impl::execute(const ClaimedTask& t, milliseconds lease) {
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
    error = "stored payload is not valid JSON of at most " + std::to_string(jarvis::kMaxJsonDepth) +
            " levels";
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

void TaskService::Impl::finish_failure(const ClaimedTask& t, const std::string& error,
                                       bool retryable, const jarvis::TaskSpec& spec) {
  FailOutcome outcome = queue.fail(t, error, retryable, backoff_for(spec.retry, t.attempt));
  switch (outcome) {
    case FailOutcome::Retried:
      count(t.name, "retried");
      break;
    case FailOutcome::Dead:
      count(t.name, "dead");
      spdlog::error("tasks: {} ({}) is dead after {} attempts: {}", t.id, t.name, t.attempt, error);
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

void TaskService::Impl::worker_loop(int index) {
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
    idle_wait(seen, poll);
  }
}

// Waits for a wake-up. Only the poller — the first idle worker to get here while nobody holds
// the role — also returns after `poll`: with 50 idle workers each polling, the queue saw 250
// empty claims a second, each one behind the SQLite write gate. A poller that finds work wakes a
// sibling (worker_loop), which takes the role over when it comes back idle; while every worker
// is busy nobody polls, and the first to finish claims its next task in the same write anyway.
void TaskService::Impl::idle_wait(unsigned long long seen, milliseconds poll) {
  auto woken = [&] { return wake_seq != seen || !claiming.load(); };
  std::unique_lock lock(wake_mu);
  if (!poller_waiting) {
    poller_waiting = true;
    wake_cv.wait_for(lock, poll, woken);
    poller_waiting = false;
    return;
  }
  // A safety net, not a schedule: a sleeper looks at the queue at least every 25 poll intervals
  // (5 s by default) even if a wake-up were ever lost.
  wake_cv.wait_for(lock, poll * 25, woken);
}

void TaskService::Impl::heartbeat_loop() {
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
}  // namespace jarvis::host

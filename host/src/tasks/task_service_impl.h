// host/src/tasks/task_service_impl.h — private to host/src/tasks/: the state behind TaskService
// (registry, runner, wake-ups, running tasks). Its members are defined by concern in
// task_service.cpp (lifecycle), task_worker.cpp (claim, run, record, heartbeat), task_enqueue.cpp
// (validation and inserts, in a transaction too), task_access.cpp (registry and access rules) and
// task_housekeeping.cpp (the scheduler tick, owners' rights, retention).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "jarvis/events.h"
#include "observability/metrics.h"
#include "tasks/scheduler.h"
#include "tasks/task_queue.h"
#include "tasks/task_service.h"

namespace jarvis::host {

class HostTransaction;

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// Task names: "<plugin>.<verb>" and friends; also keeps names safe in logs and metric labels.
/// Throws Error(400, "invalid_task").
void check_task_name(const std::string& name);
/// "<hostname>:<pid>", the default lease-owner prefix.
std::string default_worker_id();

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

  // Wake-up: enqueue bumps the sequence. One idle worker at a time (the poller) also looks at
  // the queue every poll interval, for work this process was not told about (other processes
  // and hosts, a due run_after); the other idle workers sleep until woken (decision 0087).
  std::mutex wake_mu;
  std::condition_variable wake_cv;
  unsigned long long wake_seq = 0;
  bool poller_waiting = false;  // guarded by wake_mu
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

  void emit(const std::string& type, jarvis::Json payload, const std::string& trace_id);

  // Once a second per process: refresh stale planner statistics (PostgreSQL) and re-claim a
  // task whose lease expired (a dead or hung worker), which goes before queued work.
  std::optional<ClaimedTask> periodic_claim(const std::string& owner, milliseconds lease,
                                            const std::vector<std::string>& names_now);

  // Claims the next task for `owner`: an expired lease (see periodic_claim), else a due one.
  std::optional<ClaimedTask> claim(const std::string& owner, milliseconds lease);

  // Stores the result of a succeeded attempt.
  void record_success(const ClaimedTask& t, bool stored);

  // Stores the result of a succeeded attempt (`result`) and, while claiming, claims the next task
  // in the same write. Ends the attempt's `executing` count.
  std::optional<ClaimedTask> store_and_claim(const ClaimedTask& t, const std::string& result,
                                             const std::string& owner, milliseconds lease);

  // Runs a claimed task and records its outcome.
  void execute_and_record(const ClaimedTask& t, milliseconds lease);

  // Runs a claimed task. Failures (retry, dead letter) are recorded here; a success returns its
  // result for the caller to store, and the caller then decrements `executing`.
  std::optional<std::string> execute(const ClaimedTask& t, milliseconds lease);

  void finish_failure(const ClaimedTask& t, const std::string& error, bool retryable,
                      const jarvis::TaskSpec& spec);

  void worker_loop(int index);
  void idle_wait(unsigned long long seen, milliseconds poll);

  void heartbeat_loop();

  void ticker_loop();

  std::string enqueue(const std::string& name, jarvis::EnqueueOptions options);

  // The scheduler.tick handler: dispatch due slots, and purge old rows once a minute.
  jarvis::Json run_tick();

  // Schedules whose owner may no longer start their task (demoted, disabled, deleted, or a task
  // declared internal/admin after they were made) are switched off, never run.
  long long disable_forbidden_schedules();

  void upsert_periodic(const jarvis::PeriodicJob& job);

  /// Validates `options` for task `name` and builds its row; `caller_cap` applies
  /// TASK_MAX_PAYLOAD_BYTES (durable deliveries carry an already accepted event and skip it).
  NewTask new_task(const std::string& name, jarvis::EnqueueOptions options, bool caller_cap);
  /// enqueue() inside `tx`: the row commits with the transaction; workers wake after the commit.
  std::string enqueue_in(const std::string& name, jarvis::EnqueueOptions options,
                         HostTransaction& tx);
  /// The DurableSink of the event bus: enqueues `task` for the stored `event` inside `tx` (key
  /// "<event id>:<task>"); false when `task` is not registered here.
  bool enqueue_durable(HostTransaction& tx, const std::string& task, const jarvis::Event& event);
};

}  // namespace jarvis::host

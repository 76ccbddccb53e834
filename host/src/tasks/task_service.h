// host/src/tasks/task_service.h — the durable task queue, its workers and the scheduler.
//
// Tasks live in the `tasks` table (SQLite or PostgreSQL), so queued work survives any restart.
// Workers claim due tasks under a lease (PostgreSQL: FOR UPDATE SKIP LOCKED), run the registered
// handler, store the result, and retry failures with backoff until `dead`.
//
// Leases: a claim holds the task for RunnerOptions::lease; a heartbeat renews the leases of
// running tasks, so a live long task keeps its lease while a dead process loses it and the task
// is claimed again by any worker. At the task's timeout TaskContext::should_stop() turns true;
// the lease is renewed for one more lease length (so a handler that stops then can store its
// result) and then left to expire: a handler hung past that is presumed dead and its task
// claimed again. Completion is written only by the current lease owner and attempt.
// Failures: an exception is retried with the spec's backoff until max_attempts, then the task is
// `dead` and `task.dead_letter` is emitted; a jarvis::Error with a 4xx status other than 408/429
// is a caller error and fails the task at once (`failed`, event `task.failed`).
// The host registers `system.echo` (returns its payload) and `scheduler.tick` (the scheduler).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "jarvis/tasks.h"
#include "registry/owner.h"

namespace jarvis::host {

class SqlDatabase;
class EventBusImpl;
class MetricsRegistry;

/// A registered task type; `owner` first so the handler is destroyed before the library.
struct TaskEntry {
  Owner owner;
  jarvis::TaskSpec spec;
};

/// Runner settings (TASK_RUNNER_MAX_CONCURRENT, TASK_RUNNER_SHUTDOWN_TIMEOUT_SECONDS, …).
struct RunnerOptions {
  int max_concurrent = 4;
  std::chrono::milliseconds poll_interval{200};
  std::chrono::milliseconds shutdown_timeout{30000};
  bool run_scheduler = true;  ///< tick the scheduler (task scheduler.tick) periodically
  std::chrono::milliseconds scheduler_interval{1000};
  int scheduler_max_catchup = 10;  ///< SCHEDULER_MAX_CATCHUP
  std::string scheduler_tz = "UTC";
  std::string worker_id;  ///< lease owner id; default "<hostname>:<pid>"
  /// Lease length of a claim, renewed by the heartbeat every third of it while the task runs
  /// (up to the task's timeout plus one lease length).
  std::chrono::milliseconds lease{30000};
  /// Succeeded tasks and dispatch records older than this are purged by the scheduler tick
  /// (succeeded `scheduler.tick` tasks after one hour).
  std::chrono::hours retention{24 * 7};
};

class TaskQueue;
class Scheduler;

class TaskService {
 public:
  /// `events` and `metrics` may be null in unit tests.
  TaskService(SqlDatabase& db, EventBusImpl* events, MetricsRegistry* metrics);
  ~TaskService();

  /// Registers a handler. Throws jarvis::Error(409, "duplicate_task") naming both owners.
  void add(Owner owner, jarvis::TaskSpec spec);
  bool has(const std::string& name) const;
  /// Runs the handler of `name` on the calling thread (no queue, no retries, nothing stored).
  /// Throws jarvis::Error(400, "unknown_task"); the handler's exceptions propagate.
  jarvis::Json call(const std::string& name, const jarvis::Json& payload);
  /// Enqueues by name. Throws jarvis::Error(400, "unknown_task") for an unregistered name and
  /// jarvis::Error(400, "invalid_task") for bad options. Returns the task id (the existing one
  /// when the idempotency key matches a queued/running task).
  std::string enqueue(const std::string& name, jarvis::EnqueueOptions options);
  /// Declares a plugin periodic job (stored as a system schedule). Throws
  /// Error(400,"invalid_cron").
  void add_periodic(Owner owner, jarvis::PeriodicJob job);
  void remove_owner(const std::string& owner_name);
  /// Registered task names with their owners, sorted.
  std::vector<std::pair<std::string, std::string>> registered() const;

  /// Starts workers (and the scheduler tick when options.run_scheduler).
  void start(RunnerOptions options);
  /// Stops claiming new tasks (restart/shutdown); in-flight tasks continue.
  void stop_claiming();
  /// Waits for in-flight tasks up to `timeout`; returns true if all finished. Then joins workers.
  bool drain(std::chrono::milliseconds timeout);
  /// Number of tasks currently executing in this process.
  int in_flight() const;

  /// Claims the queued task `id` (whatever its run_after) and runs it on the calling thread
  /// (`jarvis tasks enqueue --wait --run-here`). Returns false when the task is not queued or its
  /// handler is not registered here. Works without start().
  bool run_task(const std::string& id);
  /// Registered max_attempts of `name`, 0 when unknown.
  int max_attempts_of(const std::string& name) const;

  /// Queue depths by status, the oldest queued task, and the scheduler backlog (no writes), with
  /// this service's scheduler settings; see queue_status() in task_routes.h.
  jarvis::Json queue_status();
  /// The `tasks` table (listing, retry) and the scheduler (schedules API).
  TaskQueue& queue();
  Scheduler& scheduler();
  /// Runner options in effect (defaults before start()).
  RunnerOptions options() const;
  /// Applies the scheduler part of `options` (max catch-up, time zone) without starting workers;
  /// the CLI uses it so backlog figures match the server's. Throws Error(400,"invalid_timezone").
  void configure_scheduler(int max_catchup, const std::string& tz);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with worker threads, which may outlive a failed drain
};

}  // namespace jarvis::host

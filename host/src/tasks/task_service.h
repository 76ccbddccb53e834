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
#include <optional>
#include <string>
#include <vector>

#include "jarvis/principal.h"
#include "jarvis/tasks.h"
#include "registry/owner.h"
#include "tasks/scheduler.h"

namespace jarvis::host {

class SqlDatabase;
class EventBusImpl;
class HostTransaction;
class MetricsRegistry;

/// A registered task type; `owner` first so the handler is destroyed before the library.
struct TaskEntry {
  Owner owner;
  jarvis::TaskSpec spec;
  jarvis::TaskAccess access = jarvis::TaskAccess::Internal;
};

/// True when `who` may start a task declared with `access` (see jarvis::TaskAccess).
bool task_access_allows(jarvis::TaskAccess access, const jarvis::Principal& who);

/// Throws jarvis::Error(400, "unknown_task") when `access` is nullopt (no such task) and
/// Error(403, "task_forbidden") when it does not allow `who`.
void require_entry_access(const std::string& name, std::optional<jarvis::TaskAccess> access,
                          const jarvis::Principal& who);

/// One row of the task catalogue (GET /api/v1/task-catalog, `jarvis tasks catalog`).
struct TaskCatalogEntry {
  std::string name;
  std::string description;
  std::string owner;
  jarvis::TaskAccess access;
};

/// Bounds on what callers put into the queue (TASK_MAX_PAYLOAD_BYTES).
struct TaskLimits {
  std::size_t max_payload_bytes = 64 * 1024;  ///< serialized payload of one task
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
  /// Finished tasks (succeeded, failed, dead) and dispatch records older than this are purged by
  /// the scheduler tick once a minute (TASK_RETENTION_DAYS; `scheduler.tick` tasks after one
  /// hour).
  std::chrono::hours retention{24 * 7};
  /// Per-user schedule bounds and the task payload cap (SCHEDULES_*, TASK_MAX_PAYLOAD_BYTES).
  ScheduleQuota schedule_quota;
};

class TaskQueue;
class Scheduler;

class TaskService {
 public:
  /// `events` and `metrics` may be null in unit tests. With `events`, the service becomes the
  /// bus's DurableSink: durable subscriptions' tasks are inserted with their events.
  TaskService(SqlDatabase& db, EventBusImpl* events, MetricsRegistry* metrics);
  ~TaskService();

  /// Registers a handler that callers of level `access` may start. Throws jarvis::Error(409,
  /// "duplicate_task") naming both owners.
  void add(Owner owner, jarvis::TaskSpec spec,
           jarvis::TaskAccess access = jarvis::TaskAccess::Internal);
  /// True when `who` may enqueue or schedule `name` from outside plugin code; false when the
  /// task is unknown or internal.
  bool may_start(const std::string& name, const jarvis::Principal& who) const;
  /// Access level of a registered task; nullopt when unknown.
  std::optional<jarvis::TaskAccess> access_of(const std::string& name) const;
  /// Throws jarvis::Error(403, "task_forbidden") unless `who` may start `name` (400
  /// "unknown_task" when it is not registered). Every entry point a caller reaches uses it.
  void require_may_start(const std::string& name, const jarvis::Principal& who) const;
  /// Registered tasks `who` may start, sorted by name.
  std::vector<TaskCatalogEntry> catalog(const jarvis::Principal& who) const;
  /// Sets the caller bounds (payload size) enforced by enqueue().
  void set_limits(TaskLimits limits);
  bool has(const std::string& name) const;
  /// Runs the handler of `name` on the calling thread (no queue, no retries, nothing stored).
  /// Throws jarvis::Error(400, "unknown_task"); the handler's exceptions propagate.
  jarvis::Json call(const std::string& name, const jarvis::Json& payload);
  /// Enqueues by name. Throws jarvis::Error(400, "unknown_task") for an unregistered name and
  /// jarvis::Error(400, "invalid_task") for bad options. Returns the task id (the existing one
  /// when the idempotency key matches a queued/running task).
  /// Throws jarvis::Error(500, "transaction_open") when this thread has a HostTransaction open.
  std::string enqueue(const std::string& name, jarvis::EnqueueOptions options);
  /// enqueue() as part of `tx`: the task exists once tx commits (workers are woken then); a
  /// rollback leaves nothing. Throws Error(400, "invalid_transaction") for another database.
  std::string enqueue(const std::string& name, jarvis::EnqueueOptions options, HostTransaction& tx);
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

// host/src/tasks/task_service.h — the durable task queue, its workers and the scheduler.
//
// Tasks live in the `tasks` table (SQLite or PostgreSQL), so queued work survives any restart.
// Workers claim due tasks under a lease (PostgreSQL: FOR UPDATE SKIP LOCKED), run the registered
// handler, store the result, and retry failures with backoff until `dead`.
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
};

class TaskService {
 public:
  /// `events` and `metrics` may be null in unit tests.
  TaskService(SqlDatabase& db, EventBusImpl* events, MetricsRegistry* metrics);
  ~TaskService();

  /// Registers a handler. Throws jarvis::Error(409, "duplicate_task") naming both owners.
  void add(Owner owner, jarvis::TaskSpec spec);
  bool has(const std::string& name) const;
  /// Enqueues by name. Throws jarvis::Error(400, "unknown_task") for an unregistered name and
  /// jarvis::Error(400, "invalid_task") for bad options. Returns the task id (the existing one
  /// when the idempotency key matches a queued/running task).
  std::string enqueue(const std::string& name, jarvis::EnqueueOptions options);
  /// Declares a plugin periodic job (stored as a system schedule). Throws Error(400,"invalid_cron").
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

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jarvis::host

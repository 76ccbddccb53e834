// jarvis/tasks.h — durable background tasks and periodic jobs.
//
// A plugin registers handlers by name and enqueues work by name; the host stores every task in the
// database, so queued work survives restarts (even kill -9), and runs it on its worker pool with
// leases, retries with backoff and a dead-letter state.
//
//   host.tasks().add({.name = "hello.greet", .handler = [](TaskContext& t) {
//     return Json{{"greeting", "hello " + t.payload.value("name", "world")}};
//   }});
//   host.tasks().enqueue("hello.greet", {.payload = {{"name", "Ada"}}});
//   host.tasks().enqueue("hello.greet", {.payload = {{"name", "Ada"}}}, *tx);  // in a transaction
//
// Who may start a task from outside plugin code is declared when it is registered (deny by
// default): `host.tasks().add(spec, jarvis::TaskAccess::User)` lets any signed-in user schedule
// it; a task added without an access level can only be enqueued by plugins and the host.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "jarvis/database.h"
#include "jarvis/json.h"
#include "jarvis/principal.h"
#include "jarvis/version.h"

namespace jarvis {

/// How a failing task is retried.
struct RetryPolicy {
  int max_attempts = 3;  ///< attempts in all, including the first
  std::chrono::milliseconds initial_backoff{1000};
  double multiplier = 2.0;  ///< backoff grows by this factor per attempt
  std::chrono::milliseconds max_backoff{300000};
};

/// What a task handler receives.
struct TaskContext {
  std::string task_id;
  std::string name;
  Json payload;
  int attempt = 1;  ///< 1 for the first try
  std::string trace_id;
  /// Becomes true when the host is shutting down or the task's deadline passed; long handlers
  /// should check it and return early.
  std::function<bool()> should_stop = [] { return false; };
};

/// Handler of a task; its return value is stored as the task's result. Throwing marks the
/// attempt failed (retried per the policy, then `dead`).
using TaskHandler = std::function<Json(TaskContext&)>;

/// A task type a plugin provides.
struct TaskSpec {
  std::string name;         ///< "<plugin>.<verb>", e.g. "bugs.report"
  std::string description;  ///< one line, shown by `jarvis tasks`
  TaskHandler handler;
  RetryPolicy retry;
  /// Lease length: a task running longer is presumed dead and may be claimed again.
  std::chrono::seconds timeout{300};
};

/// Who may enqueue or schedule a task from outside plugin code: through a schedule (created or
/// changed over the API or the CLI), the tasks API, `jarvis tasks enqueue`, or a plugin route
/// that enqueues on a caller's behalf (see TaskRegistry::may_start). Plugins and the host may
/// always enqueue any task by name.
enum class TaskAccess {
  Internal,  ///< plugins and the host only — the default
  Admin,     ///< also admins and operators (the CLI); a schedule owned by an admin
  User,      ///< also any signed-in user, e.g. in their own schedules
};

/// "internal", "admin" or "user".
JARVIS_API const char* to_string(TaskAccess access);

/// Options for enqueueing.
struct EnqueueOptions {
  Json payload = Json::object();
  /// Earliest start time (ISO-8601 UTC as from jarvis::now_iso()); empty = now.
  std::string run_after;
  int priority = 0;  ///< higher runs first
  /// While a task with this key is queued or running, enqueueing again returns its id.
  std::string idempotency_key;
  std::string trace_id;
  /// Overrides the spec's max_attempts when > 0.
  int max_attempts = 0;
};

/// A job the plugin wants run periodically while `jarvis serve` runs. The host keeps it as a
/// schedule (visible to operators in `jarvis schedules list`) that enqueues `task`.
struct PeriodicJob {
  std::string name;       ///< unique, e.g. "maintenance.heartbeat"
  std::string cron_expr;  ///< "@every:600", "*/5 * * * *", "@daily", …
  std::string task;       ///< task name to enqueue
  Json payload = Json::object();
};

/// Task registry and queue.
class JARVIS_API TaskRegistry {
 public:
  virtual ~TaskRegistry();
  /// Registers a task handler. Throws Error(409, "duplicate_task") if the name exists.
  virtual void add(TaskSpec spec) = 0;
  /// True when a handler named `name` is registered (by any plugin or the host).
  virtual bool has(const std::string& name) const = 0;
  /// Enqueues a task by name and returns its id. Throws Error(400, "unknown_task") for an
  /// unregistered name.
  virtual std::string enqueue(const std::string& name, EnqueueOptions options) = 0;
  /// Declares a periodic job (see PeriodicJob). Throws Error(400, "invalid_cron") on a bad
  /// expression.
  virtual void add_periodic(PeriodicJob job) = 0;
  /// Runs the handler of a registered task synchronously on the calling thread — no queue, no
  /// retries, nothing stored — and returns its result. For cooperating with another plugin by name
  /// when the answer is needed now (e.g. a count for a status page). Throws Error(400,
  /// "unknown_task") when no such handler exists; the handler's own exceptions propagate.
  virtual Json call(const std::string& name, const Json& payload) = 0;

  // --- SDK 1.1 ---

  /// Registers a task handler that callers of level `access` may start (see TaskAccess); add(spec)
  /// is add(spec, TaskAccess::Internal). Throws Error(409, "duplicate_task").
  virtual void add(TaskSpec spec, TaskAccess access) = 0;
  /// True when `who` may enqueue or schedule `name`: an admin (or Principal::system(), the CLI)
  /// for Admin and User tasks, a signed-in user for User tasks; false for Internal and unknown
  /// tasks. A plugin route that enqueues a task named by its caller asks this first and answers
  /// 403 `task_forbidden` otherwise.
  virtual bool may_start(const std::string& name, const Principal& who) const = 0;
  /// Enqueues as part of `tx` (see jarvis::Transaction): the task exists — and workers may claim
  /// it — only once tx.commit() succeeds; a rollback leaves no task. Same checks and result as
  /// enqueue(name, options) (an idempotency key matching a live task returns that task's id).
  /// Throws Error(400, "invalid_transaction") for a finished transaction.
  virtual std::string enqueue(const std::string& name, EnqueueOptions options, Transaction& tx) = 0;
};

}  // namespace jarvis

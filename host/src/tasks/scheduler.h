// host/src/tasks/scheduler.h — user schedules and plugin periodic jobs (`schedules`), and the
// tick that turns due slots into queued tasks.
//
// A slot (schedule_id, due_at) is dispatched at most once: the tick inserts the
// `schedule_dispatches` row and the schedule's task in the SAME transaction, and a conflicting
// row (another tick, another host) skips the slot. Catch-up after downtime is bounded per tick by
// the schedule's max_catchup (else SCHEDULER_MAX_CATCHUP); the remaining slots are "deferred" and
// dispatched by later ticks, since last_run_at only advances to the last dispatched slot. A stored
// row whose expression no longer parses is skipped, logged once and counted, never stopping the
// others. First run: "@every:N" is due at creation, a cron expression at its next slot.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "db/sql_database.h"
#include "jarvis/json.h"

namespace jarvis::host {

class EventBusImpl;
class MetricsRegistry;
class CronSchedule;

/// A row of `schedules`.
struct ScheduleRecord {
  std::string id;
  std::string owner;  ///< user id, or "system" for plugin periodic jobs
  std::optional<std::string> thread_id;
  std::optional<std::string> name;  ///< set for plugin periodic jobs (unique)
  std::string cron_expr;
  std::string task;
  std::string payload;  ///< JSON text
  bool enabled = true;
  std::optional<int> max_catchup;
  std::optional<std::string> last_run_at;
  std::optional<std::string> next_due_at;
  std::string created_at;
  std::string updated_at;

  /// API form (payload as JSON).
  jarvis::Json to_json() const;
};

/// Fields of a create or update; unset members are left unchanged by an update.
struct ScheduleFields {
  std::optional<std::string> cron_expr;
  std::optional<std::string> task;
  std::optional<jarvis::Json> payload;
  std::optional<std::optional<std::string>> thread_id;  ///< inner nullopt = set NULL
  std::optional<std::optional<int>> max_catchup;        ///< inner nullopt = use the default
  std::optional<bool> enabled;

  /// Reads an API body ({"cron_expr","task","payload","thread_id","max_catchup","enabled"}).
  /// Throws Error(400, "invalid_field") naming the field for a wrong type or range, or an
  /// unknown field. Does not check the expression or the task name (create/update do).
  static ScheduleFields from_json(const jarvis::Json& body);
};

/// Scheduler settings (SCHEDULER_MAX_CATCHUP, SCHEDULER_TZ).
struct SchedulerSettings {
  int default_max_catchup = 10;
  std::string tz = "UTC";
};

/// What one tick did.
struct TickResult {
  long long schedules_due = 0;  ///< enabled schedules with a slot due
  long long dispatched = 0;     ///< slots turned into tasks by this tick
  long long duplicates = 0;     ///< slots already dispatched (by another tick or host)
  long long deferred = 0;       ///< due slots left for later ticks (catch-up bound)
  long long invalid = 0;        ///< schedules skipped: their stored expression does not parse
  long long unknown_task = 0;   ///< schedules skipped: their task is not registered here
  jarvis::Json to_json() const;
};

/// The slots one schedule would dispatch now: at most `cap` slots, and the total due.
struct SlotPlan {
  std::vector<std::int64_t> slots;
  std::int64_t total = 0;
  std::int64_t deferred() const { return total - static_cast<std::int64_t>(slots.size()); }
};

/// Computes the due slots of a schedule at `now` (unix seconds). `last_run` is the last dispatched
/// slot (none before the first run); `first_due` is the first slot (the stored next_due_at).
/// With `cap` 0 only the total is computed.
SlotPlan plan_slots(const CronSchedule& cron, std::optional<std::int64_t> last_run,
                    std::int64_t first_due, std::int64_t now, std::size_t cap,
                    const std::string& tz);

/// Looks up a task registered in this process: its max_attempts, or 0 when unknown.
using TaskLookup = std::function<int(const std::string& name)>;

/// The `schedules` table and the tick. Thread-safe.
class Scheduler {
 public:
  /// `lookup` tells which task names this process can dispatch. `events`/`metrics` may be null.
  Scheduler(SqlDatabase& db, EventBusImpl* events, MetricsRegistry* metrics, TaskLookup lookup);
  ~Scheduler();

  void set_settings(SchedulerSettings settings);
  SchedulerSettings settings() const;

  /// Creates a schedule owned by `owner`. Requires cron_expr and task. Throws Error(400,
  /// "invalid_cron") with the reason, Error(400, "unknown_task"), Error(400, "missing_field").
  ScheduleRecord create(const std::string& owner, const ScheduleFields& fields);
  /// Applies `fields`; a new expression, or enabling a disabled schedule, restarts it as if new
  /// (no catch-up for the time it was off). Throws Error(404, "schedule_not_found") and the
  /// errors of create().
  ScheduleRecord update(const std::string& id, const ScheduleFields& fields);
  /// Deletes a schedule and its dispatch records; false if it did not exist.
  bool remove(const std::string& id);
  std::optional<ScheduleRecord> get(const std::string& id);
  /// Schedules of `owner` (empty = every owner), oldest first.
  std::vector<ScheduleRecord> list(const std::string& owner, int limit, int offset,
                                   long long* total = nullptr);
  /// Dispatch records of a schedule, newest slot first, with the task's status.
  jarvis::Json dispatches(const std::string& id, int limit, int offset);
  /// Creates or updates the system schedule called `name` (a plugin periodic job). An unchanged
  /// job keeps its last_run_at (no re-fire on restart); an operator's `enabled` is kept.
  /// Throws Error(400, "invalid_cron").
  ScheduleRecord upsert_named(const std::string& name, const std::string& cron_expr,
                              const std::string& task, const jarvis::Json& payload);

  /// Dispatches every due slot at `now` (unix seconds), within the catch-up bound.
  TickResult tick(std::int64_t now);
  /// Scheduler backlog at `now` without writing: {dispatchable_total, deferred_total,
  /// schedule_count, invalid_count, schedules:[{schedule_id, dispatchable, deferred,
  /// max_catchup}]} (only schedules with a backlog listed, at most 100).
  jarvis::Json backlog(std::int64_t now);
  /// Deletes dispatch records created before `before` (ISO); returns how many.
  long long purge_dispatches(const std::string& before);

 private:
  struct Parsed;
  std::shared_ptr<const Parsed> parse_cached(const std::string& expr);
  std::int64_t first_due(const CronSchedule& cron, std::int64_t now) const;
  int cap_for(const std::optional<int>& max_catchup) const;
  void note_skip(const std::string& id, const std::string& what);

  SqlDatabase& db_;
  EventBusImpl* events_;
  MetricsRegistry* metrics_;
  TaskLookup lookup_;
  mutable std::mutex mu_;
  SchedulerSettings settings_;
  std::map<std::string, std::shared_ptr<const Parsed>> cache_;
  std::set<std::string> logged_skips_;
};

}  // namespace jarvis::host

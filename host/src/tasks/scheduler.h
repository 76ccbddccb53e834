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
#include "jarvis/principal.h"

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
  /// Set when the host disabled the schedule (e.g. "task_forbidden: …"); cleared on enable.
  std::optional<std::string> disabled_reason;

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

/// Bounds on what a non-admin caller may schedule (issue 8, finding 10). Admins and the CLI are
/// bound only by max_task_payload_bytes.
struct ScheduleQuota {
  int max_per_user = 50;                           ///< SCHEDULES_MAX_PER_USER
  std::int64_t min_interval_seconds = 60;          ///< SCHEDULES_MIN_INTERVAL_SECONDS
  std::size_t max_payload_bytes = 8 * 1024;        ///< SCHEDULES_MAX_PAYLOAD_BYTES
  std::size_t max_task_payload_bytes = 64 * 1024;  ///< TASK_MAX_PAYLOAD_BYTES (everyone)
};

/// Scheduler settings (SCHEDULER_MAX_CATCHUP, SCHEDULER_TZ, the quotas).
struct SchedulerSettings {
  int default_max_catchup = 10;
  std::string tz = "UTC";
  ScheduleQuota quota;
};

/// Throws jarvis::Error (403 "task_forbidden", 400 "unknown_task") unless `who` may start `task`.
using TaskAccessCheck = std::function<void(const std::string& task, const jarvis::Principal& who)>;
/// True when `who` may attach `thread_id` to a schedule (thread ownership).
using ThreadAccessCheck =
    std::function<bool(const jarvis::Principal& who, const std::string& thread_id)>;

/// Shortest time between two firings of `cron` (the interval of "@every:N"; for a cron
/// expression, the smallest gap among its slots in the two days after `now`).
std::int64_t shortest_gap_seconds(const CronSchedule& cron, std::int64_t now,
                                  const std::string& tz);

/// The principal a schedule runs as: Principal::system() for "system", the owning user (role and
/// whether they are disabled from `users`) otherwise; nullopt when the user no longer exists.
std::optional<jarvis::Principal> schedule_owner_principal(SqlDatabase& db,
                                                          const std::string& owner);

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

  /// Creates a schedule owned by `owner` on behalf of `caller` (the CLI and plugins pass
  /// Principal::system()). Requires cron_expr and task. Throws Error(400, "invalid_cron") with the
  /// reason, Error(400, "unknown_task"), Error(400, "missing_field"); Error(403, "task_forbidden")
  /// when the caller may not start the task; Error(404, "thread_not_found") for a thread the
  /// caller may not use; for non-admin callers the quota: Error(429, "quota_exceeded"),
  /// Error(400, "interval_too_short"), Error(413, "payload_too_large").
  ScheduleRecord create(const std::string& owner, const ScheduleFields& fields,
                        const jarvis::Principal& caller = jarvis::Principal::system());
  /// Applies `fields` on behalf of `caller`; a new expression, or enabling a disabled schedule,
  /// restarts it as if new (no catch-up for the time it was off) and clears disabled_reason. The
  /// resulting task must be one both the caller and the schedule's owner may start. Throws
  /// Error(404, "schedule_not_found") and the errors of create().
  ScheduleRecord update(const std::string& id, const ScheduleFields& fields,
                        const jarvis::Principal& caller = jarvis::Principal::system());
  /// Installs the task access rule (TaskService does; without one only the system may schedule).
  void set_access_check(TaskAccessCheck check);
  /// Installs the thread ownership rule (without one only admins may attach a thread).
  void set_thread_check(ThreadAccessCheck check);
  /// Disables every enabled user schedule whose owner may not (or no longer) start its task —
  /// demoted, disabled or deleted owner, or a task declared internal/admin — recording
  /// disabled_reason and emitting `schedule.disabled`. Tasks not registered here are left alone.
  /// Returns how many it disabled. Run at start-up and once a minute by the tick.
  long long disable_forbidden(
      const std::function<bool(const std::string& task, const jarvis::Principal& who)>& may_start,
      const std::function<bool(const std::string& task)>& known);
  /// Number of schedules owned by `owner`.
  long long count_owned(const std::string& owner);
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
  struct Changes {
    bool is_new = false, task = false, cron = false, payload = false, thread = false;
  };
  void check_caller(const ScheduleRecord& s, Changes changed, const jarvis::Principal& caller);

  SqlDatabase& db_;
  EventBusImpl* events_;
  MetricsRegistry* metrics_;
  TaskLookup lookup_;
  TaskAccessCheck access_check_;
  ThreadAccessCheck thread_check_;
  mutable std::mutex mu_;
  SchedulerSettings settings_;
  std::map<std::string, std::shared_ptr<const Parsed>> cache_;
  std::set<std::string> logged_skips_;
};

}  // namespace jarvis::host

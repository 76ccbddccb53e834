// host/src/tasks/scheduler.cpp — schedule storage, slot planning, the tick (dispatch + enqueue in
// one transaction per batch) and the read-only backlog estimate.
#include "tasks/scheduler.h"

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "jarvis/error.h"
#include "jarvis/events.h"
#include "observability/metrics.h"
#include "registry/event_bus.h"
#include "tasks/cron.h"
#include "tasks/iso_time.h"
#include "db/sql_access.h"
#include "tasks/task_queue.h"

namespace jarvis::host {
namespace {

const char* kScheduleColumns =
    "id, owner, thread_id, name, cron_expr, task, payload, enabled, max_catchup, last_run_at, "
    "next_due_at, created_at, updated_at, disabled_reason";

// Schedules handled per write transaction by the tick.
constexpr int kTickBatch = 500;
// Rows per multi-row INSERT/UPDATE (keeps bind parameters far below both dialects' limits).
constexpr std::size_t kRowsPerStatement = 500;
// Upper bound of max_catchup accepted from the API.
constexpr int kMaxCatchupLimit = 1000;

ScheduleRecord schedule_from_row(const soci::row& r) {
  ScheduleRecord s;
  s.id = column_text(r, 0).value_or("");
  s.owner = column_text(r, 1).value_or("");
  s.thread_id = column_text(r, 2);
  s.name = column_text(r, 3);
  s.cron_expr = column_text(r, 4).value_or("");
  s.task = column_text(r, 5).value_or("");
  s.payload = column_text(r, 6).value_or("{}");
  s.enabled = column_int(r, 7, 1) != 0;
  if (r.get_indicator(8) != soci::i_null) s.max_catchup = static_cast<int>(column_int(r, 8));
  s.last_run_at = column_text(r, 9);
  s.next_due_at = column_text(r, 10);
  s.created_at = column_text(r, 11).value_or("");
  s.updated_at = column_text(r, 12).value_or("");
  s.disabled_reason = column_text(r, 13);
  return s;
}

jarvis::Error field_error(const std::string& field, const std::string& what) {
  return jarvis::Error(400, "invalid_field", "field '" + field + "' " + what);
}

// The payload a dispatched task receives: the schedule's payload plus `_schedule` (and the
// schedule's thread_id when the payload names none).
std::string dispatch_payload(const ScheduleRecord& s, const std::string& due_at) {
  auto parsed = jarvis::try_parse_json(s.payload);
  jarvis::Json p = parsed ? std::move(*parsed) : jarvis::Json::object();
  if (!p.is_object()) p = jarvis::Json{{"value", p}};
  p["_schedule"] = {{"id", s.id},
                    {"owner", s.owner},
                    {"due_at", due_at},
                    {"thread_id", json_or_null(s.thread_id)}};
  if (s.thread_id && !p.contains("thread_id")) p["thread_id"] = *s.thread_id;
  return p.dump();
}

}  // namespace

struct Scheduler::Parsed {
  std::optional<CronSchedule> cron;
  std::string error;  ///< why the expression is invalid
};

jarvis::Json ScheduleRecord::to_json() const {
  return jarvis::Json{{"id", id},
                      {"owner", owner},
                      {"thread_id", json_or_null(thread_id)},
                      {"name", json_or_null(name)},
                      {"cron_expr", cron_expr},
                      {"task", task},
                      {"payload", json_or_text(payload)},
                      {"enabled", enabled},
                      {"max_catchup", max_catchup ? jarvis::Json(*max_catchup) : jarvis::Json()},
                      {"last_run_at", json_or_null(last_run_at)},
                      {"next_due_at", json_or_null(next_due_at)},
                      {"created_at", created_at},
                      {"updated_at", updated_at},
                      {"disabled_reason", json_or_null(disabled_reason)}};
}

ScheduleFields ScheduleFields::from_json(const jarvis::Json& body) {
  if (!body.is_object()) throw jarvis::bad_request("body must be a JSON object", "invalid_json");
  ScheduleFields f;
  for (const auto& [key, value] : body.items()) {
    if (key == "cron_expr") {
      if (!value.is_string()) throw field_error(key, "must be a string");
      f.cron_expr = value.get<std::string>();
    } else if (key == "task") {
      if (!value.is_string() || value.get<std::string>().empty()) {
        throw field_error(key, "must be a non-empty string");
      }
      f.task = value.get<std::string>();
    } else if (key == "payload") {
      if (value.is_null()) {
        f.payload = jarvis::Json::object();
      } else if (!value.is_object()) {
        throw field_error(key, "must be a JSON object");
      } else {
        f.payload = value;
      }
    } else if (key == "thread_id") {
      if (value.is_null()) {
        f.thread_id = std::optional<std::string>();
      } else if (!value.is_string() || value.get<std::string>().empty() ||
                 value.get<std::string>().size() > 200) {
        throw field_error(key, "must be null or a string of 1 to 200 characters");
      } else {
        f.thread_id = std::optional<std::string>(value.get<std::string>());
      }
    } else if (key == "max_catchup") {
      if (value.is_null()) {
        f.max_catchup = std::optional<int>();
      } else if (!value.is_number_integer() || value.get<long long>() < 1 ||
                 value.get<long long>() > kMaxCatchupLimit) {
        throw field_error(
            key, "must be null or an integer from 1 to " + std::to_string(kMaxCatchupLimit));
      } else {
        f.max_catchup = std::optional<int>(value.get<int>());
      }
    } else if (key == "enabled") {
      if (!value.is_boolean()) throw field_error(key, "must be true or false");
      f.enabled = value.get<bool>();
    } else {
      throw jarvis::Error(400, "invalid_field",
                          "unknown field '" + key +
                              "' (allowed: cron_expr, task, payload, thread_id, max_catchup, "
                              "enabled)");
    }
  }
  return f;
}

jarvis::Json TickResult::to_json() const {
  return jarvis::Json{
      {"schedules_due", schedules_due}, {"dispatched", dispatched}, {"duplicates", duplicates},
      {"deferred", deferred},           {"invalid", invalid},       {"unknown_task", unknown_task}};
}

SlotPlan plan_slots(const CronSchedule& cron, std::optional<std::int64_t> last_run,
                    std::int64_t first_due, std::int64_t now, std::size_t cap,
                    const std::string& tz) {
  SlotPlan p;
  if (!last_run) {
    if (first_due > now) return p;
    std::vector<std::int64_t> more;
    std::int64_t rest = cron.slots_between(first_due, now, cap > 0 ? cap - 1 : 0, more, tz);
    p.total = 1 + rest;
    if (cap > 0) {
      p.slots.push_back(first_due);
      p.slots.insert(p.slots.end(), more.begin(), more.end());
    }
    return p;
  }
  p.total = cron.slots_between(*last_run, now, cap, p.slots, tz);
  return p;
}

Scheduler::Scheduler(SqlDatabase& db, EventBusImpl* events, MetricsRegistry* metrics,
                     TaskLookup lookup)
    : db_(db), events_(events), metrics_(metrics), lookup_(std::move(lookup)) {}

Scheduler::~Scheduler() = default;

void Scheduler::set_settings(SchedulerSettings settings) {
  if (settings.default_max_catchup < 1) settings.default_max_catchup = 1;
  if (settings.tz.empty()) settings.tz = "UTC";
  check_timezone(settings.tz);
  std::lock_guard lock(mu_);
  settings_ = std::move(settings);
}

SchedulerSettings Scheduler::settings() const {
  std::lock_guard lock(mu_);
  return settings_;
}

std::shared_ptr<const Scheduler::Parsed> Scheduler::parse_cached(const std::string& expr) {
  std::lock_guard lock(mu_);
  auto it = cache_.find(expr);
  if (it != cache_.end()) return it->second;
  auto parsed = std::make_shared<Parsed>();
  try {
    parsed->cron = CronSchedule::parse(expr);
  } catch (const std::exception& e) {
    parsed->error = e.what();
  }
  if (cache_.size() > 50000) cache_.clear();
  cache_.emplace(expr, parsed);
  return parsed;
}

std::int64_t Scheduler::first_due(const CronSchedule& cron, std::int64_t now) const {
  if (cron.is_interval()) return now;
  return cron.next_after(now, settings().tz);
}

int Scheduler::cap_for(const std::optional<int>& max_catchup) const {
  if (max_catchup && *max_catchup > 0) return *max_catchup;
  return settings().default_max_catchup;
}

void Scheduler::note_skip(const std::string& id, const std::string& what) {
  {
    std::lock_guard lock(mu_);
    // Log each (schedule, reason) once per process, not on every tick.
    if (!logged_skips_.insert(id + "\n" + what).second) return;
    if (logged_skips_.size() > 10000) logged_skips_.clear();
  }
  spdlog::warn("scheduler: skipping schedule {}: {}", id, what);
}

ScheduleRecord Scheduler::create(const std::string& owner, const ScheduleFields& fields,
                                 const jarvis::Principal& caller) {
  if (!fields.cron_expr) throw jarvis::Error(400, "missing_field", "field 'cron_expr' is required");
  if (!fields.task) throw jarvis::Error(400, "missing_field", "field 'task' is required");
  auto cron = CronSchedule::parse(*fields.cron_expr);
  if (lookup_(*fields.task) <= 0) {
    throw jarvis::Error(400, "unknown_task", "no task named '" + *fields.task + "' is registered");
  }
  ScheduleRecord s;
  s.id = jarvis::new_id("sch");
  s.owner = owner;
  s.thread_id = fields.thread_id.value_or(std::nullopt);
  s.cron_expr = cron.expression();
  s.task = *fields.task;
  s.payload = fields.payload.value_or(jarvis::Json::object()).dump();
  s.enabled = fields.enabled.value_or(true);
  s.max_catchup = fields.max_catchup.value_or(std::nullopt);
  s.created_at = s.updated_at = jarvis::now_iso();
  s.next_due_at = iso_from_unix(first_due(cron, unix_now()));
  check_caller(s, {.is_new = true, .task = true, .cron = true, .payload = true, .thread = true},
               caller);
  auto sql = db_.session();
  auto gate = sqlite_write_gate(db_);
  Binds b;
  b.text(s.id)
      .text(s.owner)
      .maybe_text(s.thread_id)
      .text(s.cron_expr)
      .text(s.task)
      .text(s.payload)
      .integer(s.enabled ? 1 : 0)
      .maybe_integer(s.max_catchup)
      .maybe_text(s.next_due_at)
      .text(s.created_at)
      .text(s.updated_at);
  exec_sql(*sql,
           "INSERT INTO schedules(id, owner, thread_id, cron_expr, task, payload, enabled, "
           "max_catchup, next_due_at, created_at, updated_at) VALUES(:id, :owner, :thread, "
           ":cron, :task, :payload, :enabled, :max_catchup, :next_due, :created, :updated)",
           b);
  return s;
}

ScheduleRecord Scheduler::update(const std::string& id, const ScheduleFields& fields,
                                 const jarvis::Principal& caller) {
  auto current = get(id);
  if (!current)
    throw jarvis::Error(404, "schedule_not_found", "schedule " + id + " does not exist");
  ScheduleRecord s = *current;
  bool restart = false;
  if (fields.cron_expr) {
    auto cron = CronSchedule::parse(*fields.cron_expr);
    if (cron.expression() != s.cron_expr) restart = true;
    s.cron_expr = cron.expression();
  }
  if (fields.task && *fields.task != s.task) {
    if (lookup_(*fields.task) <= 0) {
      throw jarvis::Error(400, "unknown_task",
                          "no task named '" + *fields.task + "' is registered");
    }
    s.task = *fields.task;
  }
  bool cron_changed = s.cron_expr != current->cron_expr;
  if (fields.payload) s.payload = fields.payload->dump();
  if (fields.thread_id) s.thread_id = *fields.thread_id;
  if (fields.max_catchup) s.max_catchup = *fields.max_catchup;
  if (fields.enabled) {
    if (*fields.enabled && !s.enabled) restart = true;
    s.enabled = *fields.enabled;
  }
  if (s.enabled) s.disabled_reason.reset();
  bool thread_changed = s.thread_id != current->thread_id;
  // Enabling again is checked like a new schedule's task: the rules may have changed meanwhile.
  check_caller(s,
               // A plugin's periodic job (owner "system") may run an internal task: editing or
               // re-enabling it is fine as long as the task stays the same.
               {.task = s.task != current->task || (s.enabled && s.owner != "system"),
                .cron = cron_changed || restart,
                .payload = s.payload != current->payload,
                .thread = thread_changed},
               caller);
  if (restart) {
    auto parsed = parse_cached(s.cron_expr);
    if (!parsed->cron) throw jarvis::Error(400, "invalid_cron", parsed->error);
    s.last_run_at.reset();
    s.next_due_at = iso_from_unix(first_due(*parsed->cron, unix_now()));
  }
  s.updated_at = jarvis::now_iso();
  auto sql = db_.session();
  auto gate = sqlite_write_gate(db_);
  Binds b;
  b.maybe_text(s.thread_id)
      .text(s.cron_expr)
      .text(s.task)
      .text(s.payload)
      .integer(s.enabled ? 1 : 0)
      .maybe_integer(s.max_catchup)
      .maybe_text(s.last_run_at)
      .maybe_text(s.next_due_at)
      .text(s.updated_at)
      .maybe_text(s.disabled_reason)
      .text(s.id);
  exec_sql(*sql,
           "UPDATE schedules SET thread_id = :thread, cron_expr = :cron, task = :task, payload = "
           ":payload, enabled = :enabled, max_catchup = :max_catchup, last_run_at = :last_run, "
           "next_due_at = :next_due, updated_at = :updated, disabled_reason = :reason WHERE id = "
           ":id",
           b);
  return s;
}

bool Scheduler::remove(const std::string& id) {
  auto sql = db_.session();
  auto gate = sqlite_write_gate(db_);
  WriteTx tx(*sql, db_.dialect());
  Binds a, b;
  a.text(id);
  b.text(id);
  exec_sql(*sql, "DELETE FROM schedule_dispatches WHERE schedule_id = :id", a);
  long long n = exec_sql(*sql, "DELETE FROM schedules WHERE id = :id", b);
  tx.commit();
  return n == 1;
}

std::optional<ScheduleRecord> Scheduler::get(const std::string& id) {
  auto sql = db_.session();
  Binds b;
  b.text(id);
  std::optional<ScheduleRecord> out;
  query_sql(*sql, std::string("SELECT ") + kScheduleColumns + " FROM schedules WHERE id = :id", b,
            [&](const soci::row& r) { out = schedule_from_row(r); });
  return out;
}

std::vector<ScheduleRecord> Scheduler::list(const std::string& owner, int limit, int offset,
                                            long long* total) {
  std::string where;
  Binds b, count_b;
  if (!owner.empty()) {
    where = " WHERE owner = :owner";
    b.text(owner);
    count_b.text(owner);
  }
  auto sql = db_.session();
  if (total) {
    *total = 0;
    query_sql(*sql, "SELECT COUNT(*) FROM schedules" + where, count_b,
              [&](const soci::row& r) { *total = column_int(r, 0); });
  }
  b.integer(limit).integer(offset);
  std::vector<ScheduleRecord> out;
  query_sql(*sql,
            std::string("SELECT ") + kScheduleColumns + " FROM schedules" + where +
                " ORDER BY created_at, id LIMIT :limit OFFSET :offset",
            b, [&](const soci::row& r) { out.push_back(schedule_from_row(r)); });
  return out;
}

jarvis::Json Scheduler::dispatches(const std::string& id, int limit, int offset) {
  auto sql = db_.session();
  Binds b;
  b.text(id).integer(limit).integer(offset);
  jarvis::Json out = jarvis::Json::array();
  query_sql(*sql,
            "SELECT d.due_at, d.task_id, d.created_at, t.status FROM schedule_dispatches d LEFT "
            "JOIN tasks t ON t.id = d.task_id WHERE d.schedule_id = :id ORDER BY d.due_at DESC "
            "LIMIT :limit OFFSET :offset",
            b, [&](const soci::row& r) {
              out.push_back({{"schedule_id", id},
                             {"due_at", column_text(r, 0).value_or("")},
                             {"task_id", json_or_null(column_text(r, 1))},
                             {"dispatched_at", column_text(r, 2).value_or("")},
                             {"task_status", json_or_null(column_text(r, 3))}});
            });
  return out;
}

ScheduleRecord Scheduler::upsert_named(const std::string& name, const std::string& cron_expr,
                                       const std::string& task, const jarvis::Json& payload) {
  if (name.empty()) throw jarvis::Error(400, "invalid_periodic_job", "a periodic job needs a name");
  if (task.empty()) {
    throw jarvis::Error(400, "invalid_periodic_job", "periodic job '" + name + "' names no task");
  }
  auto cron = CronSchedule::parse(cron_expr);
  std::string payload_text = (payload.is_null() ? jarvis::Json::object() : payload).dump();
  std::string now = jarvis::now_iso();
  std::string next_due = iso_from_unix(first_due(cron, unix_now()));
  auto sql = db_.session();
  auto gate = sqlite_write_gate(db_);
  {
    Binds b;
    b.text(jarvis::new_id("sch"))
        .text(name)
        .text(cron.expression())
        .text(task)
        .text(payload_text)
        .text(next_due)
        .text(now)
        .text(now);
    exec_sql(*sql,
             "INSERT INTO schedules(id, owner, name, cron_expr, task, payload, enabled, "
             "next_due_at, created_at, updated_at) VALUES(:id, 'system', :name, :cron, :task, "
             ":payload, 1, :next_due, :created, :updated) ON CONFLICT (name) DO NOTHING",
             b);
  }
  std::optional<ScheduleRecord> existing;
  {
    Binds b;
    b.text(name);
    query_sql(*sql,
              std::string("SELECT ") + kScheduleColumns + " FROM schedules WHERE name = :name", b,
              [&](const soci::row& r) { existing = schedule_from_row(r); });
  }
  if (!existing) throw std::runtime_error("periodic job '" + name + "' vanished while saving");
  if (existing->cron_expr == cron.expression() && existing->task == task &&
      json_or_text(existing->payload) == json_or_text(payload_text)) {
    return *existing;
  }
  Binds b;
  b.text(cron.expression()).text(task).text(payload_text).text(next_due).text(now).text(name);
  exec_sql(*sql,
           "UPDATE schedules SET cron_expr = :cron, task = :task, payload = :payload, "
           "last_run_at = NULL, next_due_at = :next_due, updated_at = :updated WHERE name = :name",
           b);
  existing->cron_expr = cron.expression();
  existing->task = task;
  existing->payload = payload_text;
  existing->last_run_at.reset();
  existing->next_due_at = next_due;
  existing->updated_at = now;
  return *existing;
}

TickResult Scheduler::tick(std::int64_t now) {
  auto started = std::chrono::steady_clock::now();
  TickResult result;
  SchedulerSettings settings = this->settings();
  const std::string now_iso = iso_from_unix(now);
  const bool pg = db_.dialect() == jarvis::Dialect::Postgresql;
  std::string after_due, after_id;
  try {
    analyze_if_stale(db_, "schedules");
  } catch (const std::exception& e) {
    spdlog::warn("scheduler: could not refresh planner statistics: {}", e.what());
  }

  struct Trigger {
    std::string schedule_id, due_at, task_id, task, trace_id;
  };
  struct Catchup {
    std::string schedule_id;
    long long dispatched = 0, deferred = 0;
  };

  for (;;) {
    std::vector<Trigger> triggers;
    std::vector<Catchup> catchups;
    std::size_t batch_size = 0;
    {
      auto sql = db_.session();
      auto gate = sqlite_write_gate(db_);
      WriteTx tx(*sql, db_.dialect());
      std::vector<ScheduleRecord> due;
      Binds sel;
      sel.text(now_iso).text(after_due).text(after_id).integer(kTickBatch);
      // Due rows in (next_due_at, id) order straight from the schedules_due index; the cursor
      // moves past rows this tick skipped (bad expression, unknown task), which stay due. A NULL
      // next_due_at never fires again. On PostgreSQL, concurrent ticks on other hosts skip the
      // rows this one holds.
      query_sql(*sql,
                std::string("SELECT ") + kScheduleColumns + " FROM schedules" +
                    (pg ? "" : " INDEXED BY schedules_due") +
                    " WHERE enabled = 1 AND next_due_at <= :now AND (next_due_at, id) > (:due, "
                    ":after) ORDER BY next_due_at, id LIMIT :batch" +
                    (pg ? " FOR UPDATE SKIP LOCKED" : ""),
                sel, [&](const soci::row& r) { due.push_back(schedule_from_row(r)); });
      batch_size = due.size();
      if (due.empty()) break;
      after_due = due.back().next_due_at.value_or("");
      after_id = due.back().id;

      // Plan every schedule of the batch, then write the batch with a few multi-row statements.
      struct Slot {
        std::size_t schedule;  // index into `due`
        std::string due_at, task_id, created, trace_id;
        int max_attempts = 1;
      };
      struct Advance {
        std::size_t schedule;
        std::string last, next;
        long long slots = 0, deferred = 0;
      };
      std::vector<Slot> slots;
      std::vector<Advance> advances;
      for (std::size_t i = 0; i < due.size(); ++i) {
        const auto& s = due[i];
        auto parsed = parse_cached(s.cron_expr);
        if (!parsed->cron) {
          ++result.invalid;
          note_skip(s.id, "invalid cron_expr '" + s.cron_expr + "': " + parsed->error);
          continue;
        }
        int max_attempts = lookup_(s.task);
        if (max_attempts <= 0) {
          ++result.unknown_task;
          note_skip(s.id, "task '" + s.task + "' is not registered in this process");
          continue;
        }
        ++result.schedules_due;
        std::optional<std::int64_t> last_run;
        if (s.last_run_at) last_run = unix_from_iso(*s.last_run_at);
        std::optional<std::int64_t> first =
            s.next_due_at ? unix_from_iso(*s.next_due_at) : std::nullopt;
        if (!first) {
          auto created = unix_from_iso(s.created_at).value_or(now);
          first = parsed->cron->is_interval() ? created
                                              : parsed->cron->next_after(created, settings.tz);
        }
        std::size_t cap = static_cast<std::size_t>(cap_for(s.max_catchup));
        SlotPlan plan = plan_slots(*parsed->cron, last_run, *first, now, cap, settings.tz);
        if (plan.slots.empty()) continue;
        std::string created = jarvis::now_iso();
        for (std::int64_t slot : plan.slots) {
          slots.push_back({i, iso_from_unix(slot), jarvis::new_id("tsk"), created,
                           jarvis::new_id("trc"), max_attempts});
        }
        std::int64_t next = parsed->cron->next_after(plan.slots.back(), settings.tz);
        advances.push_back({i, iso_from_unix(plan.slots.back()),
                            next == CronSchedule::kNever ? std::string() : iso_from_unix(next),
                            static_cast<long long>(plan.slots.size()), plan.deferred()});
        result.deferred += plan.deferred();
      }

      // 1. Dispatch rows; a conflicting row (another tick or host) skips that slot.
      std::set<std::string> inserted;  // schedule_id + '\n' + due_at
      for (std::size_t from = 0; from < slots.size(); from += kRowsPerStatement) {
        std::size_t to = std::min(slots.size(), from + kRowsPerStatement);
        Binds b;
        for (std::size_t k = from; k < to; ++k) {
          b.text(due[slots[k].schedule].id)
              .text(slots[k].due_at)
              .text(slots[k].task_id)
              .text(slots[k].created);
        }
        query_sql(*sql,
                  "INSERT INTO schedule_dispatches(schedule_id, due_at, task_id, created_at) "
                  "VALUES " +
                      rows_sql(to - from, "(?, ?, ?, ?)", db_.dialect()) +
                      " ON CONFLICT DO NOTHING RETURNING schedule_id, due_at",
                  b, [&](const soci::row& r) {
                    inserted.insert(column_text(r, 0).value_or("") + "\n" +
                                    column_text(r, 1).value_or(""));
                  });
      }
      // 2. The task of every newly dispatched slot, in the same transaction.
      std::vector<const Slot*> fresh;
      for (const auto& sl : slots) {
        if (inserted.count(due[sl.schedule].id + "\n" + sl.due_at)) {
          fresh.push_back(&sl);
        } else {
          ++result.duplicates;
        }
      }
      for (std::size_t from = 0; from < fresh.size(); from += kRowsPerStatement) {
        std::size_t to = std::min(fresh.size(), from + kRowsPerStatement);
        Binds b;
        for (std::size_t k = from; k < to; ++k) {
          const Slot& sl = *fresh[k];
          const ScheduleRecord& s = due[sl.schedule];
          b.text(sl.task_id)
              .text(s.task)
              .text(dispatch_payload(s, sl.due_at))
              .integer(sl.max_attempts)
              .text(sl.created)
              .text(sl.trace_id)
              .text(sl.created)
              .text(sl.created);
        }
        exec_sql(*sql,
                 "INSERT INTO tasks(id, name, payload, status, priority, attempts, max_attempts, "
                 "run_after, trace_id, created_at, updated_at) VALUES " +
                     rows_sql(to - from, "(?, ?, ?, 'queued', 0, 0, ?, ?, ?, ?, ?)", db_.dialect()),
                 b);
      }
      std::vector<long long> fresh_per_schedule(due.size(), 0);
      for (const Slot* sl : fresh) {
        ++fresh_per_schedule[sl->schedule];
        triggers.push_back(
            {due[sl->schedule].id, sl->due_at, sl->task_id, due[sl->schedule].task, sl->trace_id});
      }
      result.dispatched += static_cast<long long>(fresh.size());

      // 3. Advance every schedule; never move last_run_at backwards (a slower concurrent tick
      //    may have advanced it further).
      for (std::size_t from = 0; from < advances.size(); from += kRowsPerStatement) {
        std::size_t to = std::min(advances.size(), from + kRowsPerStatement);
        Binds b;
        std::string updated = jarvis::now_iso();
        for (std::size_t k = from; k < to; ++k) {
          const Advance& a = advances[k];
          b.text(due[a.schedule].id)
              .text(a.last)
              .maybe_text(a.next.empty() ? std::nullopt : std::optional<std::string>(a.next))
              .text(updated);
        }
        exec_sql(*sql,
                 "WITH v(id, last_run, next_due, updated) AS (VALUES " +
                     rows_sql(to - from, "(?, ?, ?, ?)", db_.dialect()) +
                     ") UPDATE schedules SET last_run_at = v.last_run, next_due_at = v.next_due, "
                     "updated_at = v.updated FROM v WHERE schedules.id = v.id AND "
                     "(schedules.last_run_at IS NULL OR schedules.last_run_at < v.last_run)",
                 b);
      }
      for (const auto& a : advances) {
        if (a.slots > 1 || a.deferred > 0) {
          catchups.push_back({due[a.schedule].id, fresh_per_schedule[a.schedule], a.deferred});
        }
      }
      tx.commit();
    }
    if (events_) {
      std::vector<jarvis::Event> batch;
      batch.reserve(triggers.size() + catchups.size());
      for (const auto& t : triggers) {
        jarvis::Event e;
        e.type = "schedule.trigger";
        e.component = "scheduler";
        e.actor_type = "system";
        e.trace_id = t.trace_id;
        e.payload = {{"schedule_id", t.schedule_id},
                     {"due_at", t.due_at},
                     {"task_id", t.task_id},
                     {"task", t.task}};
        batch.push_back(std::move(e));
      }
      for (const auto& c : catchups) {
        jarvis::Event e;
        e.type = "schedule.catchup";
        e.component = "scheduler";
        e.actor_type = "system";
        e.payload = {{"schedule_id", c.schedule_id},
                     {"dispatched_count", c.dispatched},
                     {"deferred_count", c.deferred}};
        batch.push_back(std::move(e));
      }
      events_->emit_all(Owner{"host", {}}, std::move(batch));
    }
    if (batch_size < static_cast<std::size_t>(kTickBatch)) break;
  }

  if (metrics_) {
    metrics_->counter_add("jarvis_scheduler_dispatches_total", "Schedule slots dispatched", {},
                          static_cast<double>(result.dispatched));
    metrics_->counter_add("jarvis_scheduler_skipped_total",
                          "Due schedules skipped (invalid expression or unknown task)", {},
                          static_cast<double>(result.invalid + result.unknown_task));
    metrics_->gauge_set("jarvis_scheduler_deferred_slots",
                        "Due slots deferred by the catch-up bound at the last tick", {},
                        static_cast<double>(result.deferred));
    metrics_->histogram_observe(
        "jarvis_scheduler_tick_seconds", "Duration of a scheduler tick", {},
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  return result;
}

jarvis::Json Scheduler::backlog(std::int64_t now) {
  SchedulerSettings settings = this->settings();
  long long dispatchable_total = 0, deferred_total = 0, schedule_count = 0, invalid = 0;
  jarvis::Json listed = jarvis::Json::array();
  auto sql = db_.session();
  {
    Binds b;
    query_sql(*sql, "SELECT COUNT(*) FROM schedules WHERE enabled = 1", b,
              [&](const soci::row& r) { schedule_count = column_int(r, 0); });
  }
  Binds b;
  b.text(iso_from_unix(now));
  query_sql(*sql,
            std::string("SELECT ") + kScheduleColumns +
                " FROM schedules WHERE enabled = 1 AND next_due_at <= :now ORDER BY "
                "next_due_at, id",
            b, [&](const soci::row& r) {
              ScheduleRecord s = schedule_from_row(r);
              auto parsed = parse_cached(s.cron_expr);
              if (!parsed->cron) {
                ++invalid;
                return;
              }
              std::optional<std::int64_t> last_run;
              if (s.last_run_at) last_run = unix_from_iso(*s.last_run_at);
              std::optional<std::int64_t> first =
                  s.next_due_at ? unix_from_iso(*s.next_due_at) : std::nullopt;
              if (!first) first = unix_from_iso(s.created_at).value_or(now);
              int cap = cap_for(s.max_catchup);
              SlotPlan plan = plan_slots(*parsed->cron, last_run, *first, now, 0, settings.tz);
              long long dispatchable = std::min<long long>(plan.total, cap);
              long long deferred = plan.total - dispatchable;
              dispatchable_total += dispatchable;
              deferred_total += deferred;
              if (plan.total > 0 && listed.size() < 100) {
                listed.push_back({{"schedule_id", s.id},
                                  {"dispatchable", dispatchable},
                                  {"deferred", deferred},
                                  {"max_catchup", cap}});
              }
            });
  return jarvis::Json{{"dispatchable_total", dispatchable_total},
                      {"deferred_total", deferred_total},
                      {"schedule_count", schedule_count},
                      {"invalid_count", invalid},
                      {"schedules", listed}};
}

long long Scheduler::purge_dispatches(const std::string& before) {
  auto sql = db_.session();
  auto gate = sqlite_write_gate(db_);
  Binds b;
  b.text(before);
  return exec_sql(*sql, "DELETE FROM schedule_dispatches WHERE created_at < :before", b);
}

}  // namespace jarvis::host

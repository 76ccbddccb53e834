// host/src/tasks/schedule_rules.cpp — who may schedule what (issue 8): the task access level, the
// thread a caller may attach, the per-user quota, and the sweep that disables schedules whose
// owner may no longer start their task. The storage and the tick are in scheduler.cpp.
#include <algorithm>
#include <limits>

#include <spdlog/spdlog.h>

#include "jarvis/error.h"
#include "registry/event_bus.h"
#include "tasks/cron.h"
#include "tasks/iso_time.h"
#include "tasks/scheduler.h"
#include "db/sql_access.h"

namespace jarvis::host {

std::int64_t shortest_gap_seconds(const CronSchedule& cron, std::int64_t now,
                                  const std::string& tz) {
  if (cron.is_interval()) return cron.interval_seconds();
  // Cron slots are whole minutes, so two days hold at most 2,880 of them; a day-or-rarer
  // schedule shows at most a couple, and its gap is at least a day anyway.
  std::vector<std::int64_t> slots;
  cron.slots_between(now, now + 2 * 86400, 2881, slots, tz);
  std::int64_t gap = std::numeric_limits<std::int64_t>::max();
  for (std::size_t i = 1; i < slots.size(); ++i) gap = std::min(gap, slots[i] - slots[i - 1]);
  return gap;
}

std::optional<jarvis::Principal> schedule_owner_principal(SqlDatabase& db,
                                                          const std::string& owner) {
  if (owner == "system") return jarvis::Principal::system();
  auto sql = db.session();
  Binds b;
  b.text(owner);
  std::optional<jarvis::Principal> out;
  query_sql(*sql, "SELECT username, role, disabled FROM users WHERE id = :id", b,
            [&](const soci::row& r) {
              jarvis::Principal p;
              p.user_id = owner;
              p.username = column_text(r, 0).value_or("");
              p.role = column_text(r, 1).value_or("user") == "admin" ? jarvis::Role::Admin
                                                                     : jarvis::Role::User;
              p.authenticated = column_int(r, 2, 0) == 0;  // a disabled user may start nothing
              out = p;
            });
  return out;
}

void Scheduler::set_access_check(TaskAccessCheck check) {
  std::lock_guard lock(mu_);
  access_check_ = std::move(check);
}

void Scheduler::set_thread_check(ThreadAccessCheck check) {
  std::lock_guard lock(mu_);
  thread_check_ = std::move(check);
}

long long Scheduler::count_owned(const std::string& owner) {
  auto sql = db_.session();
  Binds b;
  b.text(owner);
  long long n = 0;
  query_sql(*sql, "SELECT COUNT(*) FROM schedules WHERE owner = :owner", b,
            [&](const soci::row& r) { n = column_int(r, 0); });
  return n;
}

void Scheduler::check_caller(const ScheduleRecord& s, Changes changed,
                             const jarvis::Principal& caller) {
  TaskAccessCheck access;
  ThreadAccessCheck thread;
  ScheduleQuota quota;
  std::string tz;
  {
    std::lock_guard lock(mu_);
    access = access_check_;
    thread = thread_check_;
    quota = settings_.quota;
    tz = settings_.tz;
  }
  // 1. The task: the caller, and the principal the schedule runs as, must both may start it.
  auto require = [&](const jarvis::Principal& who) {
    if (access) {
      access(s.task, who);
    } else if (!(who.is_admin() && who.user_id == "system")) {
      throw jarvis::Error(403, "task_forbidden", "task '" + s.task + "' may not be scheduled");
    }
  };
  if (changed.task) require(caller);
  if (changed.task && !changed.is_new && s.owner != caller.user_id) {
    auto owner = schedule_owner_principal(db_, s.owner);
    if (!owner) {
      throw jarvis::Error(409, "owner_missing",
                          "the owner of schedule " + s.id + " no longer exists");
    }
    require(*owner);
  }
  // 2. The thread its events go to must be one the caller may use (404, as for reads) — the
  //    schedule's thread_id, and a thread_id inside the payload (tasks route events by it).
  auto require_thread = [&](const std::string& id) {
    bool ok = thread ? thread(caller, id) : caller.is_admin();
    if (!ok) throw jarvis::Error(404, "thread_not_found", "thread " + id + " does not exist");
  };
  if (changed.thread && s.thread_id) require_thread(*s.thread_id);
  if (changed.payload) {
    auto payload = jarvis::try_parse_json(s.payload);
    if (payload && payload->is_object()) {
      auto it = payload->find("thread_id");
      if (it != payload->end() && it->is_string() && !it->get<std::string>().empty()) {
        require_thread(it->get<std::string>());
      }
    }
  }
  // 3. Sizes and quotas.
  if (changed.payload && s.payload.size() > quota.max_task_payload_bytes) {
    throw jarvis::Error(413, "payload_too_large",
                        "schedule payload of " + std::to_string(s.payload.size()) +
                            " bytes exceeds TASK_MAX_PAYLOAD_BYTES (" +
                            std::to_string(quota.max_task_payload_bytes) + ")");
  }
  if (caller.is_admin()) return;
  if (changed.payload && s.payload.size() > quota.max_payload_bytes) {
    throw jarvis::Error(413, "payload_too_large",
                        "schedule payload of " + std::to_string(s.payload.size()) +
                            " bytes exceeds SCHEDULES_MAX_PAYLOAD_BYTES (" +
                            std::to_string(quota.max_payload_bytes) + ")");
  }
  if (changed.cron) {
    auto cron = CronSchedule::parse(s.cron_expr);  // create/update validated it already
    if (shortest_gap_seconds(cron, unix_now(), tz) < quota.min_interval_seconds) {
      throw jarvis::Error(400, "interval_too_short",
                          "schedule fires more often than every " +
                              std::to_string(quota.min_interval_seconds) +
                              " seconds (SCHEDULES_MIN_INTERVAL_SECONDS)");
    }
  }
  if (changed.is_new && count_owned(s.owner) >= quota.max_per_user) {
    throw jarvis::Error(429, "quota_exceeded",
                        "you already have " + std::to_string(quota.max_per_user) +
                            " schedules (SCHEDULES_MAX_PER_USER); delete one first");
  }
}

long long Scheduler::disable_forbidden(
    const std::function<bool(const std::string& task, const jarvis::Principal& who)>& may_start,
    const std::function<bool(const std::string& task)>& known) {
  struct Row {
    std::string id, owner, task;
    std::optional<std::string> thread_id, username, role;
    long long disabled = 0;
  };
  std::vector<Row> rows;
  {
    auto sql = db_.session();
    Binds none;
    query_sql(*sql,
              "SELECT s.id, s.owner, s.task, s.thread_id, u.username, u.role, u.disabled FROM "
              "schedules s LEFT JOIN users u ON u.id = s.owner WHERE s.enabled = 1 AND s.owner "
              "<> 'system' ORDER BY s.id",
              none, [&](const soci::row& r) {
                rows.push_back({column_text(r, 0).value_or(""), column_text(r, 1).value_or(""),
                                column_text(r, 2).value_or(""), column_text(r, 3),
                                column_text(r, 4), column_text(r, 5), column_int(r, 6, 0)});
              });
  }
  long long disabled = 0;
  for (const auto& row : rows) {
    if (!known(row.task)) continue;  // its plugin is not loaded here: not ours to judge
    std::string reason;
    if (!row.username) {
      reason = "owner_missing: user " + row.owner + " no longer exists";
    } else {
      jarvis::Principal who{
          row.owner, *row.username,
          row.role.value_or("user") == "admin" ? jarvis::Role::Admin : jarvis::Role::User,
          row.disabled == 0};
      if (!who.authenticated) {
        reason = "owner_disabled: user " + *row.username + " is disabled";
      } else if (!may_start(row.task, who)) {
        reason = "task_forbidden: task '" + row.task + "' may not be started by " +
                 jarvis::to_string(who.role) + " " + *row.username;
      }
    }
    if (reason.empty()) continue;
    long long n = 0;
    {
      auto sql = db_.session();
      auto gate = sqlite_write_gate(db_);
      Binds b;
      b.text(reason).text(jarvis::now_iso()).text(row.id);
      n = exec_sql(*sql,
                   "UPDATE schedules SET enabled = 0, disabled_reason = :reason, updated_at = "
                   ":updated WHERE id = :id AND enabled = 1",
                   b);
    }
    if (n != 1) continue;
    ++disabled;
    spdlog::warn("scheduler: disabled schedule {} ({})", row.id, reason);
    if (events_) {
      try {
        events_->emit(Owner{"host", {}}, jarvis::Event{.type = "schedule.disabled",
                                                       .payload = {{"schedule_id", row.id},
                                                                   {"owner", row.owner},
                                                                   {"task", row.task},
                                                                   {"reason", reason}},
                                                       .thread_id = row.thread_id.value_or(""),
                                                       .actor_type = "system",
                                                       .component = "scheduler"});
      } catch (const std::exception& e) {
        spdlog::warn("scheduler: schedule.disabled event failed: {}", e.what());
      }
    }
  }
  return disabled;
}

}  // namespace jarvis::host

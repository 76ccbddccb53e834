// host/src/tasks/task_queue.cpp — SQL of the `tasks` table: insert with idempotency, leased
// claims (FOR UPDATE SKIP LOCKED on PostgreSQL), lease-checked completion, listing and retry.
#include "tasks/task_queue.h"

#include <spdlog/spdlog.h>

#include "jarvis/error.h"
#include "db/sql_access.h"

namespace jarvis::host {
namespace {

const char* kTaskColumns =
    "id, name, payload, status, priority, attempts, max_attempts, run_after, lease_owner, "
    "lease_expires_at, idempotency_key, result, last_error, trace_id, created_at, updated_at, "
    "finished_at";

TaskRecord record_from_row(const soci::row& r) {
  TaskRecord t;
  t.id = column_text(r, 0).value_or("");
  t.name = column_text(r, 1).value_or("");
  t.payload = column_text(r, 2).value_or("{}");
  t.status = column_text(r, 3).value_or("");
  t.priority = static_cast<int>(column_int(r, 4));
  t.attempts = static_cast<int>(column_int(r, 5));
  t.max_attempts = static_cast<int>(column_int(r, 6, 1));
  t.run_after = column_text(r, 7).value_or("");
  t.lease_owner = column_text(r, 8);
  t.lease_expires_at = column_text(r, 9);
  t.idempotency_key = column_text(r, 10);
  t.result = column_text(r, 11);
  t.last_error = column_text(r, 12);
  t.trace_id = column_text(r, 13);
  t.created_at = column_text(r, 14).value_or("");
  t.updated_at = column_text(r, 15).value_or("");
  t.finished_at = column_text(r, 16);
  return t;
}

// The claim columns "id, name, payload, attempts, max_attempts, trace_id" starting at column
// `first`; nullopt when the id is NULL (nothing was claimed).
std::optional<ClaimedTask> claimed_from_row(const soci::row& r, std::size_t first,
                                            const std::string& lease_owner) {
  auto id = column_text(r, first);
  if (!id) return std::nullopt;
  ClaimedTask t;
  t.id = *id;
  t.name = column_text(r, first + 1).value_or("");
  t.payload = column_text(r, first + 2).value_or("{}");
  t.attempt = static_cast<int>(column_int(r, first + 3, 1));
  t.max_attempts = static_cast<int>(column_int(r, first + 4, 1));
  t.trace_id = column_text(r, first + 5).value_or("");
  t.lease_owner = lease_owner;
  return t;
}

// "(:n0, :n1, …)": the placeholders of an IN list of `count` values.
std::string in_placeholders(std::size_t count) {
  std::string out = "(";
  for (std::size_t i = 0; i < count; ++i) {
    if (i) out += ", ";
    out += ":n" + std::to_string(i);
  }
  return out + ")";
}

const char* kInsertTask =
    "INSERT INTO tasks(id, name, payload, status, priority, attempts, max_attempts, run_after, "
    "idempotency_key, trace_id, created_at, updated_at) VALUES(:id, :name, :payload, 'queued', "
    ":priority, 0, :max_attempts, :run_after, :key, :trace, :created, :updated)";

// Binds the values of kInsertTask.
void bind_new_task(Binds& b, const std::string& id, const NewTask& task, const std::string& now) {
  b.text(id)
      .text(task.name)
      .text(task.payload)
      .integer(task.priority)
      .integer(task.max_attempts)
      .text(task.run_after.empty() ? now : task.run_after)
      .maybe_text(task.idempotency_key.empty() ? std::nullopt
                                               : std::optional<std::string>(task.idempotency_key))
      .text(task.trace_id.empty() ? jarvis::new_id("trc") : task.trace_id)
      .text(now)
      .text(now);
}

}  // namespace

bool is_task_status(const std::string& s) {
  for (const char* st : kTaskStatuses) {
    if (s == st) return true;
  }
  return false;
}

jarvis::Json TaskRecord::to_json() const {
  return jarvis::Json{{"id", id},
                      {"name", name},
                      {"payload", json_or_text(payload)},
                      {"status", status},
                      {"priority", priority},
                      {"attempts", attempts},
                      {"max_attempts", max_attempts},
                      {"run_after", run_after},
                      {"lease_owner", json_or_null(lease_owner)},
                      {"lease_expires_at", json_or_null(lease_expires_at)},
                      {"idempotency_key", json_or_null(idempotency_key)},
                      {"result", result ? json_or_text(*result) : jarvis::Json(nullptr)},
                      {"last_error", json_or_null(last_error)},
                      {"trace_id", json_or_null(trace_id)},
                      {"created_at", created_at},
                      {"updated_at", updated_at},
                      {"finished_at", json_or_null(finished_at)}};
}

TaskQueue::TaskQueue(SqlDatabase& db) : db_(db) {}

std::string TaskQueue::insert_in(soci::session& sql, const NewTask& task, const std::string& now) {
  std::string id = jarvis::new_id("tsk");
  Binds b;
  bind_new_task(b, id, task, now);
  exec_sql(sql, kInsertTask, b);
  return id;
}

TaskQueue::Inserted TaskQueue::insert(const NewTask& task) {
  auto sql = db_.session();
  auto gate = sqlite_write_gate(db_);
  return insert_keyed(*sql, task);
}

TaskQueue::Inserted TaskQueue::insert_keyed(soci::session& sql, const NewTask& task) {
  // A live task with the same key may finish between our skipped insert and the lookup: retry.
  for (int round = 0; round < 5; ++round) {
    std::string now = jarvis::now_iso();
    std::string id = jarvis::new_id("tsk");
    Binds b;
    bind_new_task(b, id, task, now);
    // Without a target, DO NOTHING covers the partial unique index on live idempotency keys.
    // (Appended, not `std::string(kInsertTask) + "…"`: GCC 12 -Warray-bounds false positive.)
    std::string insert_sql(kInsertTask);
    insert_sql += " ON CONFLICT DO NOTHING";
    if (exec_sql(sql, insert_sql, b) == 1) {
      return {id, true};
    }
    if (task.idempotency_key.empty()) {
      throw std::runtime_error("task insert wrote no row for " + task.name);
    }
    Binds q;
    q.text(task.idempotency_key);
    std::optional<std::string> existing;
    query_sql(sql,
              "SELECT id FROM tasks WHERE idempotency_key = :key AND status IN ('queued', "
              "'running')",
              q, [&](const soci::row& r) { existing = column_text(r, 0); });
    if (existing) return {*existing, false};
  }
  throw jarvis::Error(409, "idempotency_conflict",
                      "could not enqueue '" + task.name + "': idempotency key '" +
                          task.idempotency_key + "' keeps changing state");
}

std::optional<ClaimedTask> TaskQueue::run_claim(soci::session& sql, const std::string& query,
                                                const std::vector<std::string>& binds,
                                                const std::string& lease_owner) {
  Binds b;
  for (const auto& v : binds) b.text(v);
  std::optional<ClaimedTask> out;
  query_sql(sql, query, b, [&](const soci::row& r) { out = claimed_from_row(r, 0, lease_owner); });
  return out;
}

std::string TaskQueue::claim_sql(std::size_t name_count, bool expired_leases) const {
  bool pg = db_.dialect() == jarvis::Dialect::Postgresql;
  std::string in = in_placeholders(name_count);
  // SQLite's planner, without statistics, prefers tasks_status_finished (status = ?) and then
  // sorts every queued row: each claim became O(queue length) (285 tasks/s with 20,000 queued).
  // The partial indexes hold exactly the candidate rows in claim order; name them. PostgreSQL
  // has no such hint: see refresh_statistics_if_stale().
  std::string pick;
  if (expired_leases) {
    pick = std::string("SELECT id FROM tasks") + (pg ? "" : " INDEXED BY tasks_running_lease") +
           " WHERE status = 'running' AND lease_expires_at < :cutoff AND name IN " + in +
           " ORDER BY lease_expires_at LIMIT 1";
  } else {
    pick = std::string("SELECT id FROM tasks") + (pg ? "" : " INDEXED BY tasks_queued_order") +
           " WHERE status = 'queued' AND run_after <= :cutoff AND name IN " + in +
           " ORDER BY priority DESC, created_at LIMIT 1";
  }
  if (pg) pick += " FOR UPDATE SKIP LOCKED";
  return "UPDATE tasks SET status = 'running', attempts = attempts + 1, lease_owner = :owner, "
         "lease_expires_at = :expires, updated_at = :now WHERE id = (" +
         pick + ") RETURNING id, name, payload, attempts, max_attempts, trace_id";
}

std::optional<ClaimedTask> TaskQueue::claim_next(const std::string& lease_owner,
                                                 std::chrono::milliseconds lease,
                                                 const std::vector<std::string>& names,
                                                 bool expired_leases) {
  if (names.empty()) return std::nullopt;
  std::string now = jarvis::now_iso();
  std::string expires = jarvis::iso_from_now(lease.count());
  std::vector<std::string> binds{lease_owner, expires, now, now};
  binds.insert(binds.end(), names.begin(), names.end());
  std::string query = claim_sql(names.size(), expired_leases);
  auto sql = db_.session();
  auto gate = sqlite_write_gate(db_);
  return run_claim(*sql, query, binds, lease_owner);
}

namespace {

const char* kCompleteTask =
    "UPDATE tasks SET status = 'succeeded', result = :result, last_error = NULL, "
    "lease_expires_at = NULL, finished_at = :finished, updated_at = :now WHERE id = :id AND "
    "status = 'running' AND lease_owner = :owner AND attempts = :attempt";

void bind_complete(Binds& b, const ClaimedTask& t, const std::string& result_json,
                   const std::string& now) {
  b.text(result_json).text(now).text(now).text(t.id).text(t.lease_owner).integer(t.attempt);
}

}  // namespace

TaskQueue::CompletedAndClaimed TaskQueue::complete_and_claim(
    const ClaimedTask& t, const std::string& result_json, const std::string& lease_owner,
    std::chrono::milliseconds lease, const std::vector<std::string>& names) {
  CompletedAndClaimed out;
  if (names.empty()) {
    out.completed = complete(t, result_json);
    return out;
  }
  std::string now = jarvis::now_iso();
  std::string expires = jarvis::iso_from_now(lease.count());
  std::vector<std::string> claim_binds{lease_owner, expires, now, now};
  claim_binds.insert(claim_binds.end(), names.begin(), names.end());
  if (db_.dialect() == jarvis::Dialect::Postgresql) {
    // Both CTEs run on one snapshot and touch different rows (the completed one is `running`,
    // the claim picks a `queued` one). The outer join keeps the completion count when nothing
    // was claimed.
    Binds b;
    bind_complete(b, t, result_json, now);
    for (const auto& v : claim_binds) b.text(v);
    std::string query = std::string("WITH done AS (") + kCompleteTask +
                        " RETURNING 1), claimed AS (" + claim_sql(names.size(), false) +
                        ") SELECT (SELECT COUNT(*) FROM done), c.id, c.name, c.payload, "
                        "c.attempts, c.max_attempts, c.trace_id FROM (SELECT 1) AS one LEFT "
                        "JOIN claimed c ON true";
    auto sql = db_.session();
    query_sql(*sql, query, b, [&](const soci::row& r) {
      out.completed = column_int(r, 0) == 1;
      out.next = claimed_from_row(r, 1, lease_owner);
    });
    return out;
  }
  auto sql = db_.session();
  auto gate = sqlite_write_gate(db_);
  WriteTx tx(*sql, db_.dialect());
  Binds b;
  bind_complete(b, t, result_json, now);
  out.completed = exec_sql(*sql, kCompleteTask, b) == 1;
  out.next = run_claim(*sql, claim_sql(names.size(), false), claim_binds, lease_owner);
  tx.commit();
  return out;
}

std::optional<ClaimedTask> TaskQueue::claim_id(const std::string& id,
                                               const std::string& lease_owner,
                                               std::chrono::milliseconds lease) {
  std::string now = jarvis::now_iso();
  std::string expires = jarvis::iso_from_now(lease.count());
  auto sql = db_.session();
  auto gate = sqlite_write_gate(db_);
  return run_claim(*sql,
                   "UPDATE tasks SET status = 'running', attempts = attempts + 1, lease_owner = "
                   ":owner, lease_expires_at = :expires, updated_at = :now WHERE id = :id AND "
                   "status = 'queued' RETURNING id, name, payload, attempts, max_attempts, "
                   "trace_id",
                   {lease_owner, expires, now, id}, lease_owner);
}

bool TaskQueue::renew(const ClaimedTask& t, const std::string& expires_at) {
  auto sql = db_.session();
  auto gate = sqlite_write_gate(db_);
  Binds b;
  b.text(expires_at).text(jarvis::now_iso()).text(t.id).text(t.lease_owner).integer(t.attempt);
  return exec_sql(*sql,
                  "UPDATE tasks SET lease_expires_at = :expires, updated_at = :now WHERE id = :id "
                  "AND status = 'running' AND lease_owner = :owner AND attempts = :attempt",
                  b) == 1;
}

bool TaskQueue::complete(const ClaimedTask& t, const std::string& result_json) {
  auto sql = db_.session();
  auto gate = sqlite_write_gate(db_);
  Binds b;
  bind_complete(b, t, result_json, jarvis::now_iso());
  return exec_sql(*sql, kCompleteTask, b) == 1;
}

FailOutcome TaskQueue::fail(const ClaimedTask& t, const std::string& error, bool retryable,
                            std::chrono::milliseconds backoff) {
  auto sql = db_.session();
  auto gate = sqlite_write_gate(db_);
  std::string now = jarvis::now_iso();
  bool retry = retryable && t.attempt < t.max_attempts;
  long long n = 0;
  if (retry) {
    Binds b;
    b.text(jarvis::iso_from_now(backoff.count()))
        .text(error)
        .text(now)
        .text(t.id)
        .text(t.lease_owner)
        .integer(t.attempt);
    n = exec_sql(*sql,
                 "UPDATE tasks SET status = 'queued', run_after = :run_after, last_error = :err, "
                 "lease_expires_at = NULL, updated_at = :now WHERE id = :id "
                 "AND status = 'running' AND lease_owner = :owner AND attempts = :attempt",
                 b);
    return n == 1 ? FailOutcome::Retried : FailOutcome::LeaseLost;
  }
  std::string status = retryable ? "dead" : "failed";
  Binds b;
  b.text(status).text(error).text(now).text(now).text(t.id).text(t.lease_owner).integer(t.attempt);
  n = exec_sql(*sql,
               "UPDATE tasks SET status = :status, last_error = :err, "
               "lease_expires_at = NULL, finished_at = :finished, updated_at = :now WHERE id = :id "
               "AND status = 'running' AND lease_owner = :owner AND attempts = :attempt",
               b);
  if (n != 1) return FailOutcome::LeaseLost;
  return retryable ? FailOutcome::Dead : FailOutcome::Failed;
}

bool TaskQueue::release(const ClaimedTask& t) {
  auto sql = db_.session();
  auto gate = sqlite_write_gate(db_);
  std::string now = jarvis::now_iso();
  Binds b;
  b.text(jarvis::iso_from_now(-1)).text(now).text(t.id).text(t.lease_owner).integer(t.attempt);
  return exec_sql(*sql,
                  "UPDATE tasks SET lease_expires_at = :expires, updated_at = :now WHERE id = :id "
                  "AND status = 'running' AND lease_owner = :owner AND attempts = :attempt",
                  b) == 1;
}

std::optional<TaskRecord> TaskQueue::get(const std::string& id) {
  auto sql = db_.session();
  Binds b;
  b.text(id);
  std::optional<TaskRecord> out;
  query_sql(*sql, std::string("SELECT ") + kTaskColumns + " FROM tasks WHERE id = :id", b,
            [&](const soci::row& r) { out = record_from_row(r); });
  return out;
}

std::vector<TaskRecord> TaskQueue::list(const TaskListFilter& filter, long long* total) {
  std::string where = " WHERE 1 = 1";
  Binds b, count_b;
  if (!filter.status.empty()) {
    where += " AND status = :status";
    b.text(filter.status);
    count_b.text(filter.status);
  }
  if (!filter.name.empty()) {
    where += " AND name = :name";
    b.text(filter.name);
    count_b.text(filter.name);
  }
  auto sql = db_.session();
  if (total) {
    *total = 0;
    query_sql(*sql, "SELECT COUNT(*) FROM tasks" + where, count_b,
              [&](const soci::row& r) { *total = column_int(r, 0); });
  }
  b.integer(filter.limit).integer(filter.offset);
  std::vector<TaskRecord> out;
  query_sql(*sql,
            std::string("SELECT ") + kTaskColumns + " FROM tasks" + where +
                " ORDER BY created_at DESC, id DESC LIMIT :limit OFFSET :offset",
            b, [&](const soci::row& r) { out.push_back(record_from_row(r)); });
  return out;
}

TaskRecord TaskQueue::retry(const std::string& id) {
  auto current = get(id);
  if (!current) throw jarvis::Error(404, "task_not_found", "task " + id + " does not exist");
  if (current->status != "failed" && current->status != "dead") {
    throw jarvis::Error(
        409, "task_not_retryable",
        "task " + id + " is " + current->status + "; only failed or dead tasks can be retried");
  }
  auto sql = db_.session();
  auto gate = sqlite_write_gate(db_);
  std::string now = jarvis::now_iso();
  Binds b;
  b.text(now).text(now).text(id);
  // RETURNING: the answer is the state the retry wrote, even if a worker claims the task at once.
  std::optional<TaskRecord> out;
  try {
    query_sql(*sql,
              std::string("UPDATE tasks SET status = 'queued', attempts = 0, run_after = "
                          ":run_after, lease_owner = NULL, lease_expires_at = NULL, finished_at = "
                          "NULL, updated_at = :now WHERE id = :id AND status IN ('failed', "
                          "'dead') RETURNING ") +
                  kTaskColumns,
              b, [&](const soci::row& r) { out = record_from_row(r); });
  } catch (const soci::soci_error& e) {
    // The only constraint this update can violate is the live idempotency key.
    throw jarvis::Error(409, "idempotency_conflict",
                        "task " + id +
                            " cannot be retried: a queued or running task holds its "
                            "idempotency key '" +
                            current->idempotency_key.value_or("") + "'");
  }
  if (!out) {
    throw jarvis::Error(409, "task_not_retryable", "task " + id + " changed state; try again");
  }
  return *out;
}

std::map<std::string, long long> TaskQueue::counts_by_status() {
  std::map<std::string, long long> out;
  for (const char* s : kTaskStatuses) out[s] = 0;
  auto sql = db_.session();
  Binds b;
  query_sql(*sql, "SELECT status, COUNT(*) FROM tasks GROUP BY status", b,
            [&](const soci::row& r) { out[column_text(r, 0).value_or("")] = column_int(r, 1); });
  return out;
}

std::optional<std::string> TaskQueue::oldest_queued() {
  auto sql = db_.session();
  Binds b;
  std::optional<std::string> out;
  query_sql(*sql, "SELECT MIN(created_at) FROM tasks WHERE status = 'queued'", b,
            [&](const soci::row& r) { out = column_text(r, 0); });
  return out;
}

bool TaskQueue::refresh_statistics_if_stale() { return analyze_if_stale(db_, "tasks"); }

long long TaskQueue::purge_finished(const std::string& before, const std::string& name) {
  auto sql = db_.session();
  auto gate = sqlite_write_gate(db_);
  Binds b;
  b.text(before);
  std::string q =
      "DELETE FROM tasks WHERE status IN ('succeeded', 'failed', 'dead') AND finished_at < "
      ":before";
  if (!name.empty()) {
    q += " AND name = :name";
    b.text(name);
  }
  return exec_sql(*sql, q, b);
}

}  // namespace jarvis::host

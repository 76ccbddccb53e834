// host/src/tasks/task_queue.h — the SQL side of the durable task queue: the `tasks` table.
//
// Every state change is one statement (or one write transaction), so any number of worker
// threads and host processes can share the table. Claims take a lease: on PostgreSQL the
// candidate row is picked with FOR UPDATE SKIP LOCKED; on SQLite the single UPDATE … RETURNING
// statement holds the write lock. Completion, failure and lease renewal only apply while the
// caller still owns the lease (same lease owner and attempt number), so a worker whose lease
// expired and was re-claimed elsewhere can never overwrite the new attempt.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <soci/soci.h>

#include "db/sql_database.h"
#include "jarvis/json.h"

namespace jarvis::host {

/// Statuses a task moves through.
inline constexpr const char* kTaskStatuses[] = {"queued", "running", "succeeded", "failed", "dead"};
/// True for one of kTaskStatuses.
bool is_task_status(const std::string& s);

/// A row of `tasks`.
struct TaskRecord {
  std::string id;
  std::string name;
  std::string payload;  ///< JSON text
  std::string status;
  int priority = 0;
  int attempts = 0;
  int max_attempts = 1;
  std::string run_after;
  /// The worker of the current or last attempt ("<host>:<pid>/<worker>"); kept after it ends so
  /// operators can see which host ran a task.
  std::optional<std::string> lease_owner;
  std::optional<std::string> lease_expires_at;  ///< set only while `running`
  std::optional<std::string> idempotency_key;
  std::optional<std::string> result;  ///< JSON text
  std::optional<std::string> last_error;
  std::optional<std::string> trace_id;
  std::string created_at;
  std::string updated_at;
  std::optional<std::string> finished_at;

  /// API form: payload and result as JSON values, NULLs as null.
  jarvis::Json to_json() const;
};

/// What a new task row holds (validated by the caller).
struct NewTask {
  std::string name;
  std::string payload = "{}";  ///< JSON text
  std::string run_after;       ///< ISO-8601 UTC; empty = now
  int priority = 0;
  std::string idempotency_key;  ///< empty = none
  std::string trace_id;         ///< empty = a new one
  int max_attempts = 1;
};

/// A task this worker holds the lease on.
struct ClaimedTask {
  std::string id;
  std::string name;
  std::string payload;
  std::string trace_id;
  int attempt = 1;  ///< attempts after this claim (1 for the first run)
  int max_attempts = 1;
  std::string lease_owner;
};

/// How a failed attempt was recorded.
enum class FailOutcome {
  Retried,    ///< back to `queued` with a later run_after
  Failed,     ///< permanent failure (`failed`), no retry
  Dead,       ///< attempts exhausted (`dead`)
  LeaseLost,  ///< the lease was no longer ours; nothing written
};

/// Filters for TaskQueue::list.
struct TaskListFilter {
  std::string status;  ///< empty = any
  std::string name;    ///< empty = any
  int limit = 50;
  int offset = 0;
};

/// The `tasks` table. Thread-safe (each call borrows its own pooled session).
class TaskQueue {
 public:
  explicit TaskQueue(SqlDatabase& db);

  /// Result of insert(): the task id and whether a new row was written (false when a live task
  /// with the same idempotency key already existed and its id is returned).
  struct Inserted {
    std::string id;
    bool created = true;
  };
  /// Inserts a queued task (deduplicated on a live idempotency key).
  Inserted insert(const NewTask& task);
  /// insert() inside the caller's session/transaction (which must hold the SQLite write gate, as
  /// a HostTransaction does).
  static Inserted insert_keyed(soci::session& sql, const NewTask& task);
  /// Inserts a queued task with a fresh id inside the caller's session/transaction (no
  /// idempotency handling). Returns the id.
  static std::string insert_in(soci::session& sql, const NewTask& task, const std::string& now);

  /// Claims the next due task among `names` (priority desc, then age). With `expired_leases`
  /// it instead re-claims a `running` task whose lease expired. The lease runs `lease` from now.
  std::optional<ClaimedTask> claim_next(const std::string& lease_owner,
                                        std::chrono::milliseconds lease,
                                        const std::vector<std::string>& names, bool expired_leases);
  /// Claims one specific queued task (whatever its run_after); nullopt if not queued.
  std::optional<ClaimedTask> claim_id(const std::string& id, const std::string& lease_owner,
                                      std::chrono::milliseconds lease);
  /// Extends the lease to `expires_at`; false when the lease is no longer ours.
  bool renew(const ClaimedTask& t, const std::string& expires_at);
  /// Stores the result and marks `succeeded`; false when the lease is no longer ours.
  bool complete(const ClaimedTask& t, const std::string& result_json);
  /// What complete_and_claim() did.
  struct CompletedAndClaimed {
    bool completed = false;           ///< complete() would have returned true
    std::optional<ClaimedTask> next;  ///< the next due task, leased to `lease_owner`
  };
  /// complete(t, result_json), then claim_next(lease_owner, lease, names, false), as one write:
  /// one statement on PostgreSQL (two data-modifying CTEs), one transaction on SQLite. A busy
  /// worker pays one commit per task instead of two.
  CompletedAndClaimed complete_and_claim(const ClaimedTask& t, const std::string& result_json,
                                         const std::string& lease_owner,
                                         std::chrono::milliseconds lease,
                                         const std::vector<std::string>& names);
  /// Records a failed attempt: retried after `backoff` when `retryable` and attempts remain,
  /// else `dead` (attempts exhausted) or `failed` (not retryable).
  FailOutcome fail(const ClaimedTask& t, const std::string& error, bool retryable,
                   std::chrono::milliseconds backoff);
  /// Ends our lease now (so another worker may re-claim at once); false when not ours.
  bool release(const ClaimedTask& t);

  std::optional<TaskRecord> get(const std::string& id);
  /// Tasks matching `filter`, newest first; `total` (if given) receives the matching count.
  std::vector<TaskRecord> list(const TaskListFilter& filter, long long* total = nullptr);
  /// Puts a `failed` or `dead` task back in the queue with zero attempts. Throws
  /// Error(404,"task_not_found"), Error(409,"task_not_retryable") for other statuses, or
  /// Error(409,"idempotency_conflict") when a live task holds the same idempotency key.
  TaskRecord retry(const std::string& id);
  /// Count of tasks per status (every status present, zero when none).
  std::map<std::string, long long> counts_by_status();
  /// created_at of the oldest queued task, if any.
  std::optional<std::string> oldest_queued();
  /// analyze_if_stale() on `tasks` (PostgreSQL; SQLite claims name their index instead).
  bool refresh_statistics_if_stale();
  /// Deletes finished tasks (`succeeded`, `failed`, `dead`) named `name` (empty = any) that
  /// finished before `before` (TASK_RETENTION_DAYS); returns the number deleted.
  long long purge_finished(const std::string& before, const std::string& name = "");

 private:
  /// The claim statement of claim_next(): binds :owner, :expires, :now, :cutoff, then the names.
  std::string claim_sql(std::size_t name_count, bool expired_leases) const;
  std::optional<ClaimedTask> run_claim(soci::session& sql, const std::string& query,
                                       const std::vector<std::string>& binds,
                                       const std::string& lease_owner);
  SqlDatabase& db_;
};

}  // namespace jarvis::host

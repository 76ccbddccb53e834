// selfupdate/src/store.h — the patches' rows, their transitions and the one-update lock
// (migrations/001_selfupdate.sql). Every state change is a conditional UPDATE (… WHERE state =
// :from), so two workers, requests or hosts never both move one patch.
//
//   auto tx = db.transaction();
//   if (!store.transition(tx->session(), id, "tested", "approved", "by root", "user:usr_1", now))
//     throw jarvis::conflict("the patch changed meanwhile", "invalid_state");
//   tx->commit();
#pragma once

#include <soci/soci.h>

#include <string>

#include "jarvis/database.h"
#include "jarvis/json.h"

namespace selfupdate {

/// Access to the selfupdate tables. Stateless apart from the database reference; thread-safe.
class PatchStore {
 public:
  explicit PatchStore(jarvis::Database& db) : db_(db) {}

  /// The database (for transactions).
  jarvis::Database& db() { return db_; }

  /// Inserts a new patch row (`row` holds trace_id, state, rationale, proposed_by, source,
  /// baseline, diff_sha256, diff_bytes) and its first transition ("" → state).
  void insert(soci::session& sql, const jarvis::Json& row, const std::string& actor,
              const std::string& at);
  /// The row as JSON (files parsed), or null.
  jarvis::Json get(const std::string& trace_id);
  /// The row read through `sql` (inside a transaction), or null.
  jarvis::Json get(soci::session& sql, const std::string& trace_id);
  /// Newest first; `state` filters when non-empty. {items, total, limit, offset, has_more}.
  jarvis::Json list(const std::string& state, int limit, int offset);
  /// Rows whose state is one of `states`.
  jarvis::Json with_states(const std::vector<std::string>& states);
  /// The transitions of a patch, oldest first: [{seq, from, to, detail, actor, at}].
  jarvis::Json transitions(const std::string& trace_id);

  /// Moves the patch from `from` to `to` when it is in `from`; records the transition and sets
  /// `detail` and `updated_at`. False (nothing written) when the patch is in another state.
  bool transition(soci::session& sql, const std::string& trace_id, const std::string& from,
                  const std::string& to, const std::string& detail, const std::string& actor,
                  const std::string& at);
  /// Sets columns of the patch. `fields` keys must be columns of the whitelist (stage, step,
  /// runner, interrupted_stage, reason_code, files, approved_by, approved_at,
  /// approval_expires_at, commit_sha, release_name, previous_release, lease_until); values are
  /// strings or
  /// null. Throws std::invalid_argument for another key.
  void set_fields(soci::session& sql, const std::string& trace_id, const jarvis::Json& fields);

  /// Sets lease_until when the patch is still in a running state and run by `runner`; false
  /// when it is not (another process declared it interrupted: the stage has lost it).
  bool renew_lease(soci::session& sql, const std::string& trace_id, const std::string& runner,
                   const std::string& until);

  /// Takes the update lock for `trace_id` (true), or false when another patch holds it. Taking
  /// it again for the holder succeeds.
  bool try_lock(soci::session& sql, const std::string& trace_id, const std::string& at);
  /// Releases the lock if `trace_id` holds it.
  void unlock(soci::session& sql, const std::string& trace_id);
  /// The patch holding the lock, "" when free.
  std::string lock_holder(soci::session& sql);

 private:
  jarvis::Database& db_;
};

}  // namespace selfupdate

// jarvis/database.h — pooled database sessions (SOCI) on SQLite or PostgreSQL, and transactions
// that events and tasks can join (the outbox).
//
//   auto sql = host.db().session();               // borrowed from the pool, returned on scope exit
//   *sql << "SELECT COUNT(*) FROM hello_greetings", soci::into(n);
//
//   auto tx = host.db().transaction();            // SQLite: BEGIN IMMEDIATE via the write gate
//   const std::string at = jarvis::now_iso();     // soci::use binds by reference: no temporaries
//   tx->session() << "INSERT INTO hello_greetings(id, name, greeted_by, created_at) "
//                    "VALUES(:i, :n, :b, :t)",
//       soci::use(id), soci::use(name), soci::use(by), soci::use(at);
//   host.events().emit({.type = "hello.greeted", .payload = {{"id", id}}}, *tx);
//   host.tasks().enqueue("hello.thank", {.payload = {{"id", id}}}, *tx);
//   tx->commit();                                 // all of it, or (exception, scope exit) none
//
// Write portable SQL; where the dialects must differ, branch on `dialect()` or ship a
// dialect-specific migration file (`NNN_name.sqlite.sql` / `NNN_name.postgresql.sql`).
// Never hold a session (or a transaction) across slow work such as outbound HTTP, an LLM call or
// a subprocess: do that first (or in a task), then open the transaction and write.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <soci/soci.h>

#include "jarvis/version.h"

namespace jarvis {

/// SQL dialect of the configured database.
enum class Dialect { Sqlite, Postgresql };

/// Deleter of a DbSession: gives the connection back to the host's pool (SDK 1.1). A
/// default-constructed one (or one converted from std::default_delete, for test fakes) deletes
/// the session instead.
struct DbSessionReturn {
  /// Host function that returns `session` to `pool`; null = `delete session`.
  void (*give_back)(void* pool, soci::session* session) noexcept = nullptr;
  void* pool = nullptr;  ///< the host's pool, opaque to plugins

  DbSessionReturn() = default;
  DbSessionReturn(void (*fn)(void*, soci::session*) noexcept, void* p) : give_back(fn), pool(p) {}
  /// Lets `DbSession s = std::make_unique<soci::session>(…)` compile (fakes in tests).
  DbSessionReturn(std::default_delete<soci::session>) {}  // NOLINT(google-explicit-constructor)
  void operator()(soci::session* session) const noexcept {
    if (give_back) {
      give_back(pool, session);
    } else {
      delete session;
    }
  }
};

/// A session borrowed from the pool; destroying it returns the connection.
using DbSession = std::unique_ptr<soci::session, DbSessionReturn>;

/// A unit of work on the host database (SDK 1.1), from Database::transaction().
///
/// Write your rows through session(), emit events with `EventBus::emit(event, tx)` and enqueue
/// tasks with `TaskRegistry::enqueue(name, options, tx)`; commit() makes all of it durable at
/// once. Destroying the transaction without commit() (an exception, an early return) rolls all
/// of it back: no row, no event, no task, no /ws push, no in-process delivery. In-process
/// subscribers and /ws clients see the transaction's events only after the commit.
///
/// A transaction belongs to the thread that opened it: use and finish it there. While it is open,
/// that thread must not write through the host any other way — plain `emit(event)` and
/// `enqueue(name, options)` throw Error(500, "transaction_open") — and on SQLite it holds the
/// single write lock of the whole database, so keep it short: never do slow work inside it.
class JARVIS_API Transaction {
 public:
  virtual ~Transaction();
  /// The transaction's session: every statement on it is part of the unit of work. Throws
  /// Error(409, "transaction_closed") after commit() or rollback().
  virtual soci::session& session() = 0;
  /// Commits. Afterwards the transaction's events are delivered (subscribers, /ws) and its tasks
  /// become claimable. Throws (and leaves nothing written) when the database refuses; throws
  /// Error(409, "transaction_closed") when already finished.
  virtual void commit() = 0;
  /// Rolls back everything written through the transaction; idempotent.
  virtual void rollback() = 0;
  /// True until commit() or rollback().
  virtual bool active() const = 0;
};

/// An open transaction, owned by the caller.
using DbTransaction = std::unique_ptr<Transaction>;

/// The host's database: a pool of SOCI sessions.
class JARVIS_API Database {
 public:
  virtual ~Database();
  /// Borrows a session, waiting at most the host's JARVIS_DB_SESSION_TIMEOUT_MS for a free one;
  /// then throws Error(503, "database_busy") (answered with Retry-After). Thread-safe.
  virtual DbSession session() = 0;
  virtual Dialect dialect() const = 0;

  // --- SDK 1.1 ---

  /// session() with an explicit wait limit (zero = only if one is free now). Throws Error(503,
  /// "database_busy") when none is free in time. No host lock is held while waiting.
  virtual DbSession session(std::chrono::milliseconds timeout) = 0;
  /// Opens a write transaction on a pooled session (see Transaction). On SQLite it waits for the
  /// host's write gate and then runs BEGIN IMMEDIATE, so it never sleeps in SQLite's busy
  /// timeout behind another writer of this process; on PostgreSQL it is an ordinary transaction.
  /// Throws Error(503, "database_busy") when no session is free in time.
  virtual DbTransaction transaction() = 0;
};

/// Current UTC time as fixed-width ISO-8601 with milliseconds, e.g. "2026-11-28T03:21:06.123Z".
/// Every timestamp column stores this form, so text comparison orders them correctly.
JARVIS_API std::string now_iso();
/// The same form for `now + offset_ms` (negative for the past).
JARVIS_API std::string iso_from_now(long long offset_ms);
/// A new random identifier with a prefix, e.g. new_id("bug") -> "bug_5f0c…" (128 random bits).
JARVIS_API std::string new_id(const std::string& prefix);

}  // namespace jarvis

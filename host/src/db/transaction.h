// host/src/db/transaction.h — the host's implementation of jarvis::Transaction: a pooled session,
// the SQLite write gate, BEGIN IMMEDIATE (SQLite) or BEGIN (PostgreSQL), and the work to run
// after the commit (in-process event delivery, /ws forwarding, waking task workers).
//
//   HostTransaction tx(db, db.session_timeout());
//   exec_sql(tx.session(), "INSERT …", binds);
//   tx.after_commit([&] { deliver(event); });   // never runs on rollback
//   tx.commit();
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "db/sql_access.h"
#include "jarvis/database.h"

namespace jarvis::host {

class SqlDatabase;

class HostTransaction final : public jarvis::Transaction {
 public:
  /// Borrows a session (waiting at most `timeout`), then takes the SQLite write gate (waiting at
  /// most what is left of `timeout`) and begins. Throws Error(503, "database_busy") when either
  /// wait runs out, Error(500, "transaction_open") when this thread already has a transaction
  /// open on `db`.
  HostTransaction(SqlDatabase& db, std::chrono::milliseconds timeout);
  /// Rolls back unless committed.
  ~HostTransaction() override;
  HostTransaction(const HostTransaction&) = delete;
  HostTransaction& operator=(const HostTransaction&) = delete;

  soci::session& session() override;
  void commit() override;
  void rollback() override;
  bool active() const override { return open_; }

  /// Queues `fn` to run right after a successful commit, in the order added, on the committing
  /// thread (exceptions are logged and swallowed). Dropped on rollback.
  void after_commit(std::function<void()> fn);
  SqlDatabase& database() const { return db_; }

  /// `tx` as the host transaction it must be: opened by this host on `db` and still active.
  /// Throws Error(400, "invalid_transaction") otherwise (a finished transaction, a fake, another
  /// database).
  static HostTransaction& from(jarvis::Transaction& tx, const jarvis::Database& db);
  /// from() without the database check (the service the transaction is handed to checks it).
  static HostTransaction& from(jarvis::Transaction& tx);
  /// True when the calling thread has a HostTransaction open on `db`. Plain writes through the
  /// host (emit, enqueue) refuse to run then: they would wait for the write gate this very
  /// thread holds (SQLite), or commit apart from the transaction the caller thinks they are in.
  static bool open_on_this_thread(const jarvis::Database& db);
  /// Throws Error(500, "transaction_open") when open_on_this_thread(db); `what` names the call.
  static void refuse_if_open(const jarvis::Database& db, const char* what);

 private:
  // Ends the unit of work: rolls back if still open, releases gate and session.
  void finish();
  SqlDatabase& db_;
  jarvis::DbSession session_;
  WriteGate gate_;
  std::optional<WriteTx> tx_;
  std::vector<std::function<void()>> after_commit_;
  std::thread::id thread_;
  bool open_ = false;
};

}  // namespace jarvis::host

// host/src/db/sql_access.h — the small SQL plumbing the host's stores share: a write
// transaction that takes the write lock up front on SQLite, and dialect-proof column readers.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include <soci/soci.h>

#include "jarvis/database.h"
#include "jarvis/json.h"
#include "jarvis/sql.h"

namespace jarvis::host {

/// The SQLite write gate of one database, held (RAII, move-only). See sqlite_write_gate().
class WriteGate {
 public:
  WriteGate() = default;
  WriteGate(WriteGate&& other) noexcept;
  WriteGate& operator=(WriteGate&& other) noexcept;
  WriteGate(const WriteGate&) = delete;
  WriteGate& operator=(const WriteGate&) = delete;
  ~WriteGate();
  /// True when this object holds a gate (always false on PostgreSQL).
  bool held() const { return mutex_ != nullptr; }
  /// Releases the gate early; idempotent.
  void release();

 private:
  friend WriteGate sqlite_write_gate(const jarvis::Database&, std::chrono::milliseconds);
  std::timed_mutex* mutex_ = nullptr;
  const void* db_ = nullptr;
};

/// SQLite admits one writer at a time, and a writer that finds the lock taken sleeps in the busy
/// handler (1 ms, growing to 100 ms) — under load most of the time goes to those sleeps. The
/// host's writers in this process (queue, scheduler, event store, plugin transactions) therefore
/// take turns on one gate per database instead. Returns a held gate on SQLite and an empty one
/// on PostgreSQL (whose row locks need no such help).
///
/// Take it *after* borrowing the session you will write with, never before: no host lock is held
/// while waiting for a pooled session. Waits at most `wait` (then Error(503, "database_busy")).
/// A thread that already holds the gate of `db` gets Error(500, "transaction_open") instead of
/// deadlocking on itself (a plain write inside an open Transaction).
WriteGate sqlite_write_gate(const jarvis::Database& db,
                            std::chrono::milliseconds wait = std::chrono::milliseconds::max());

/// True when the calling thread holds the SQLite write gate of `db`.
bool holds_write_gate(const jarvis::Database& db);

/// A transaction meant to write. On SQLite it starts with BEGIN IMMEDIATE, so a read followed by
/// a write never fails with SQLITE_BUSY (the busy timeout applies to taking the lock); on
/// PostgreSQL it is an ordinary transaction. Rolls back on destruction unless committed.
class WriteTx {
 public:
  WriteTx(soci::session& sql, jarvis::Dialect dialect);
  ~WriteTx();
  WriteTx(const WriteTx&) = delete;
  WriteTx& operator=(const WriteTx&) = delete;
  /// Commits; afterwards the destructor does nothing.
  void commit();

 private:
  soci::session& sql_;
  jarvis::Dialect dialect_;
  bool open_ = false;
};

/// Positional bind values for a statement built at run time. Add values in placeholder order.
/// The statements run through jarvis/sql.h, so the pool's SQLite sessions reuse their prepared
/// statements (decision 0087).
class Binds {
 public:
  Binds& text(std::string v);
  /// NULL when `v` is nullopt.
  Binds& maybe_text(std::optional<std::string> v);
  Binds& integer(long long v);
  /// NULL when `v` is nullopt.
  Binds& maybe_integer(std::optional<long long> v);
  std::size_t size() const { return items_.size(); }
  /// The values in the SDK's form.
  jarvis::sql::Binds& values() { return items_; }

 private:
  jarvis::sql::Binds items_;
};

/// `rows` copies of `pattern` joined by ", ", for a multi-row VALUES list; on PostgreSQL each '?'
/// becomes the next soci placeholder: rows_sql(2, "(?, 'x', ?)", Postgresql) =
/// "(:p0, 'x', :p1), (:p2, 'x', :p3)". SQLite keeps the anonymous '?': it looks named parameters
/// up linearly, which is quadratic for thousands of them.
std::string rows_sql(std::size_t rows, const std::string& pattern, jarvis::Dialect dialect);

/// PostgreSQL: runs ANALYZE on `table` when more rows changed since its last analyze than
/// 500 + 10% of its size. Autovacuum waits up to a minute, and until then a burst of inserts
/// leaves the planner with stale row counts (it sorted the whole queue on every claim: 72 ms
/// per claim with 7,000 queued tasks). Returns true when it analyzed; false on SQLite.
/// `table` must be a trusted identifier. Borrows a pooled session only on PostgreSQL.
bool analyze_if_stale(jarvis::Database& db, const std::string& table);

/// Runs a statement without result rows; returns the number of rows it changed.
long long exec_sql(soci::session& sql, const std::string& query, Binds& binds);
/// Runs a query and calls `on_row` for each result row (also for UPDATE … RETURNING).
void query_sql(soci::session& sql, const std::string& query, Binds& binds,
               const std::function<void(const soci::row&)>& on_row);

/// Column `i` of `row` as text (numbers are formatted); nullopt when NULL. Works whatever type
/// the backend reports (SQLite reports expression columns as text, PostgreSQL counts as bigint).
std::optional<std::string> column_text(const soci::row& row, std::size_t i);
/// Column `i` as an integer (text is parsed); `fallback` when NULL or not a number.
long long column_int(const soci::row& row, std::size_t i, long long fallback = 0);
/// Parses stored JSON text; returns the text itself as a JSON string when it is not valid JSON.
jarvis::Json json_or_text(const std::string& text);
/// A nullable column's text as JSON: the string, or null.
jarvis::Json json_or_null(const std::optional<std::string>& v);

}  // namespace jarvis::host

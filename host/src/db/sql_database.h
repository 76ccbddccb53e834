// host/src/db/sql_database.h — the host's SOCI connection pool on SQLite or PostgreSQL.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <soci/soci.h>

#include "jarvis/database.h"

namespace jarvis::host {

class WalCheckpointer;

/// Implements jarvis::Database over a soci::connection_pool.
///
/// URLs: `sqlite:///abs/path.db`, `sqlite://relative/path.db`, a bare file path (SQLite), or
/// `postgresql://user@host:port/dbname` / `postgres://…` (PostgreSQL, libpq URI form).
/// SQLite sessions are opened with WAL, foreign_keys=ON and a 5 s busy timeout.
///
/// The pool is the host's own (not soci::connection_pool, whose lease cannot time out): a borrower
/// waits on the pool's condition variable at most the session timeout
/// (JARVIS_DB_SESSION_TIMEOUT_MS, default 5000 ms) and then gets Error(503, "database_busy").
class SqlDatabase : public jarvis::Database {
 public:
  /// Opens `pool_size` sessions. Throws std::runtime_error with a clear message (the URL with any
  /// password redacted) when the database cannot be opened; creates the SQLite file's directory.
  ///
  /// PostgreSQL sessions set the custom setting `jarvis.origin` to `origin` (default:
  /// process_origin()); the events trigger puts it into each NOTIFY so a host can tell its own
  /// events from others'. 1-63 characters of [A-Za-z0-9_.:-].
  static std::unique_ptr<SqlDatabase> open(const std::string& url, std::size_t pool_size,
                                           const std::string& origin = "");
  ~SqlDatabase() override;

  /// Borrows a session, waiting at most session_timeout(). Throws Error(503, "database_busy").
  jarvis::DbSession session() override;
  /// Borrows a session, waiting at most `timeout`. Throws Error(503, "database_busy").
  jarvis::DbSession session(std::chrono::milliseconds timeout) override;
  /// A HostTransaction (db/transaction.h) on a pooled session.
  jarvis::DbTransaction transaction() override;
  jarvis::Dialect dialect() const override { return dialect_; }
  /// The default wait of session() and transaction() (JARVIS_DB_SESSION_TIMEOUT_MS).
  void set_session_timeout(std::chrono::milliseconds timeout);
  std::chrono::milliseconds session_timeout() const;
  /// Sessions not borrowed right now (for tests and /metrics).
  std::size_t idle_sessions() const;
  /// Parses a JARVIS_DB_SESSION_TIMEOUT_MS value: empty = 5000; 1..600000 ms. Throws
  /// std::runtime_error naming the key otherwise.
  static std::chrono::milliseconds parse_session_timeout(const std::string& value);
  /// The URL with any password replaced by "***" (safe to log and print).
  const std::string& display_url() const { return display_url_; }
  std::size_t pool_size() const { return pool_size_; }
  /// WAL checkpoints run by the pool's checkpoint thread so far (SQLite files; 0 otherwise).
  long long wal_checkpoints() const;
  /// PostgreSQL: the libpq connection string (contains the password: never log it); empty on
  /// SQLite. Used to open the dedicated LISTEN connection.
  const std::string& connect_string() const { return connect_string_; }
  /// The `jarvis.origin` of this pool's PostgreSQL sessions.
  const std::string& origin() const { return origin_; }
  /// "jarvis-<12 random hex>", fixed for the life of the process: tells this process's events
  /// from other hosts' (a pid alone repeats across containers).
  static const std::string& process_origin();

 private:
  SqlDatabase(jarvis::Dialect d, std::size_t n, std::string display_url);
  jarvis::Dialect dialect_;
  std::size_t pool_size_;
  std::string display_url_;
  std::string connect_string_;
  std::string origin_;
  // The pool: every connection, and those not borrowed. give_back() is the DbSession deleter.
  static void give_back(void* self, soci::session* session) noexcept;
  std::vector<std::unique_ptr<soci::session>> connections_;
  mutable std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<soci::session*> idle_;
  std::chrono::milliseconds session_timeout_{5000};
  // SQLite files: WAL checkpoints on a thread and connection of their own, never inside a
  // writer's commit (decision 0098). Declared last: stopped before the pool closes.
  std::unique_ptr<WalCheckpointer> checkpointer_;
};

}  // namespace jarvis::host

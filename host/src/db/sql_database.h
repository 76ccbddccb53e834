// host/src/db/sql_database.h — the host's SOCI connection pool on SQLite or PostgreSQL.
#pragma once

#include <memory>
#include <string>

#include <soci/connection-pool.h>

#include "jarvis/database.h"

namespace jarvis::host {

/// Implements jarvis::Database over a soci::connection_pool.
///
/// URLs: `sqlite:///abs/path.db`, `sqlite://relative/path.db`, a bare file path (SQLite), or
/// `postgresql://user@host:port/dbname` / `postgres://…` (PostgreSQL, libpq URI form).
/// SQLite sessions are opened with WAL, foreign_keys=ON and a 5 s busy timeout.
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

  jarvis::DbSession session() override;
  jarvis::Dialect dialect() const override { return dialect_; }
  /// The URL with any password replaced by "***" (safe to log and print).
  const std::string& display_url() const { return display_url_; }
  std::size_t pool_size() const { return pool_size_; }
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
  std::unique_ptr<soci::connection_pool> pool_;
};

}  // namespace jarvis::host

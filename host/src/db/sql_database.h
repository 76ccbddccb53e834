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
  static std::unique_ptr<SqlDatabase> open(const std::string& url, std::size_t pool_size);
  ~SqlDatabase() override;

  jarvis::DbSession session() override;
  jarvis::Dialect dialect() const override { return dialect_; }
  /// The URL with any password replaced by "***" (safe to log and print).
  const std::string& display_url() const { return display_url_; }
  std::size_t pool_size() const { return pool_size_; }

 private:
  SqlDatabase(jarvis::Dialect d, std::size_t n, std::string display_url);
  jarvis::Dialect dialect_;
  std::size_t pool_size_;
  std::string display_url_;
  std::unique_ptr<soci::connection_pool> pool_;
};

}  // namespace jarvis::host

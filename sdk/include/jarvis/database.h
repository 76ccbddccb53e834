// jarvis/database.h — pooled database sessions (SOCI) on SQLite or PostgreSQL.
//
//   auto sql = host.db().session();               // borrowed from the pool, returned on scope exit
//   soci::transaction tx(*sql);
//   *sql << "INSERT INTO hello_greetings(name, created_at) VALUES(:n, :t)",
//       soci::use(name), soci::use(jarvis::now_iso());
//   tx.commit();
//
// Write portable SQL; where the dialects must differ, branch on `dialect()` or ship a
// dialect-specific migration file (`NNN_name.sqlite.sql` / `NNN_name.postgresql.sql`).
// Never hold a session (or a transaction) across slow work such as outbound HTTP.
#pragma once

#include <memory>
#include <string>

#include <soci/soci.h>

#include "jarvis/version.h"

namespace jarvis {

/// SQL dialect of the configured database.
enum class Dialect { Sqlite, Postgresql };

/// A session borrowed from the pool; destroying it returns the connection.
using DbSession = std::unique_ptr<soci::session>;

/// The host's database: a pool of SOCI sessions.
class JARVIS_API Database {
 public:
  virtual ~Database();
  /// Borrows a session; blocks until one is free. Thread-safe.
  virtual DbSession session() = 0;
  virtual Dialect dialect() const = 0;
};

/// Current UTC time as fixed-width ISO-8601 with milliseconds, e.g. "2026-11-28T03:21:06.123Z".
/// Every timestamp column stores this form, so text comparison orders them correctly.
JARVIS_API std::string now_iso();
/// The same form for `now + offset_ms` (negative for the past).
JARVIS_API std::string iso_from_now(long long offset_ms);
/// A new random identifier with a prefix, e.g. new_id("bug") -> "bug_5f0c…" (128 random bits).
JARVIS_API std::string new_id(const std::string& prefix);

}  // namespace jarvis

// host/src/db/migrations.h — the migration runner: ordered SQL files per component (the host and
// each plugin), each applied in its own transaction and recorded with its SHA-256 checksum.
//
//   MigrationRunner runner(db);
//   auto applied = runner.apply({{"host", "/usr/share/jarvis/migrations"},
//                                {"bugs", "/opt/jarvis/plugins/bugs/migrations"}});
//
// File names: `NNN_name.sql` (portable), `NNN_name.sqlite.sql` / `NNN_name.postgresql.sql`
// (dialect-specific; wins over the portable file of the same version on its dialect; the other
// dialect's file is ignored). Files run in numeric version order within a component; components
// in the order given. A file must not contain BEGIN/COMMIT/ROLLBACK: the runner owns the
// transaction. See docs/decisions/0003-database-and-migrations.md.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "db/sql_database.h"

namespace jarvis::host {

/// A folder of migration files belonging to one component ("host" or a plugin name).
struct MigrationSource {
  std::string component;
  std::string dir;
};

/// One migration file selected for the current dialect.
struct MigrationFile {
  std::string component;
  std::string version;   ///< numeric prefix without leading zeros ("001_init.sql" -> "1")
  std::string name;      ///< the part after the prefix, without extensions ("init")
  std::string path;      ///< full path of the file
  std::string checksum;  ///< SHA-256 of the file's bytes, lower-case hex
};

/// A migration file and what the database records about it.
struct MigrationState {
  MigrationFile file;
  bool applied = false;
  std::string applied_at;          ///< ISO-8601 UTC when applied, empty if pending
  bool checksum_mismatch = false;  ///< applied, but the file changed since
};

/// Any migration problem: bad file names, duplicate versions, a changed applied file, or a
/// failing file (its transaction rolled back). The message names component and file.
class MigrationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Applies and reports migrations against one database. Safe to run from several processes at
/// once: PostgreSQL serialises whole runs with an advisory lock; SQLite takes the write lock
/// (BEGIN IMMEDIATE) per file and re-checks inside it, so every file is applied exactly once.
class MigrationRunner {
 public:
  explicit MigrationRunner(SqlDatabase& db);

  /// Every migration file of `sources` (in apply order) with its applied state. Writes nothing
  /// except creating the `schema_migrations` table if absent. Throws MigrationError for invalid
  /// folders or file names.
  std::vector<MigrationState> status(const std::vector<MigrationSource>& sources);

  /// Applies pending migrations in order, each file in its own transaction together with its
  /// `schema_migrations` row. If any applied file's checksum changed, throws before applying
  /// anything; a failing file is rolled back entirely and throws (earlier files stay applied).
  /// Returns the files applied by this call (empty when already up to date).
  std::vector<MigrationFile> apply(const std::vector<MigrationSource>& sources);

  /// True when every file is applied and none has changed since.
  bool up_to_date(const std::vector<MigrationSource>& sources);

  /// The files of `sources` selected for `dialect`, in apply order, with checksums; validates
  /// names and versions (throws MigrationError). Reads no database.
  static std::vector<MigrationFile> discover(const std::vector<MigrationSource>& sources,
                                             jarvis::Dialect dialect);

 private:
  SqlDatabase& db_;
};

}  // namespace jarvis::host

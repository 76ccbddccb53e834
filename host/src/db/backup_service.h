// host/src/db/backup_service.h — consistent database snapshots and their retention.
//
// SQLite: the online backup API copies the live database (other connections keep writing; WAL
// readers see one snapshot) into a temporary file, `PRAGMA integrity_check` must answer "ok",
// then the copy is gzipped to BACKUP_LOCAL_DIR/backup_YYYYMMDDTHHMMSSZ.db.gz (mode 0600, renamed
// into place, so a half-written snapshot never has the final name). PostgreSQL: `pg_dump -Fc`
// to backup_YYYYMMDDTHHMMSSZ.pgdump, checked with `pg_restore --list`; the password goes through
// PGPASSWORD, never argv. Retention deletes snapshots (by the time in their name) older than
// BACKUP_RETENTION_DAYS, always keeping the newest one; other files in the directory are never
// touched.
//
//   BackupService backups(settings.database_url, BackupSettings::from(store), &events);
//   BackupResult r = backups.backup_now("before restore");    // throws BackupError
//   std::vector<std::string> gone = backups.prune(std::chrono::system_clock::now());
//
// Decision: docs/decisions/0056-database-backups-and-retention.md.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/host_settings.h"
#include "jarvis/json.h"

namespace jarvis::host {

class ConfigStore;
class EventBusImpl;
class TaskService;

/// BACKUP_* settings (declared in backup_setting_decls()).
struct BackupSettings {
  std::string dir = "./var/backups";  ///< BACKUP_LOCAL_DIR (relative: to the working directory)
  int retention_days = 14;            ///< BACKUP_RETENTION_DAYS; 0 keeps every snapshot
  int interval_seconds = 86400;       ///< BACKUP_INTERVAL_SECONDS; 0 = no periodic job
  /// BACKUP_BEFORE_MIGRATE: a snapshot before pending migrations run on a database that already
  /// has a schema (migrations cannot be undone); when it fails, the migrations do not run.
  bool before_migrate = true;
  /// RESTORE_MAX_BYTES: a restore refuses (`snapshot_too_large`) a snapshot that is — or that
  /// decompresses to — more than this many bytes (a gzip bomb fills no disk).
  long long restore_max_bytes = 64LL << 30;
  /// RESTORE_MIN_FREE_BYTES: a restore keeps at least this much free on the database's file
  /// system; staging the snapshot stops (`insufficient_space`) before it would go below.
  long long restore_min_free_bytes = 256LL << 20;

  /// Reads the keys; throws std::runtime_error naming key, value, source and the expected range.
  static BackupSettings from(const ConfigStore& store);
};

/// The keys BackupSettings::from reads, for `jarvis config show` and the runbook.
const std::vector<SettingDecl>& backup_setting_decls();

/// A backup or restore that could not be done; `code()` is stable (`backup_failed`,
/// `snapshot_corrupt`, `snapshot_not_jarvis`, `database_in_use`, `pg_tool_missing`,
/// `snapshot_too_large`, `insufficient_space`, …).
class BackupError : public std::runtime_error {
 public:
  BackupError(std::string code, const std::string& message)
      : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

/// One snapshot written by backup_now().
struct BackupResult {
  std::string path;        ///< absolute path of the snapshot
  std::string dialect;     ///< "sqlite" or "postgresql"
  std::string created_at;  ///< ISO-8601 UTC
  std::string reason;
  long long bytes = 0;              ///< size of the snapshot file
  std::string verification;         ///< "integrity_check: ok" or "pg_restore --list: ok"
  std::vector<std::string> pruned;  ///< snapshots retention deleted afterwards
  long long duration_ms = 0;

  jarvis::Json to_json() const;
};

/// One snapshot file found in the backup directory.
struct BackupFile {
  std::string path;
  std::chrono::system_clock::time_point taken_at;  ///< from the file name
  long long bytes = 0;
};

/// Connection parameters of a postgresql:// URL for the pg_* tools: a keyword=value conninfo
/// without the password, and the password for PGPASSWORD ("" when none).
struct PgToolConnection {
  std::string conninfo;
  std::string password;
};
/// Parses with libpq; throws BackupError("invalid_database_url") naming the redacted URL.
PgToolConnection pg_tool_connection(const std::string& url);

/// Parses "backup_20261201T231500Z[...]" file names; nullopt for any other name.
std::optional<std::chrono::system_clock::time_point> backup_time_of(const std::string& filename);

/// True for exactly the names backup_now() writes: backup_<YYYYMMDDTHHMMSSZ>[_N].db.gz or
/// .pgdump (N a number ≥ 2). `list` and retention see only these, so an operator's
/// backup_…_before-upgrade-KEEP.db next to them is never listed nor deleted.
bool is_service_snapshot_name(const std::string& filename);

/// Takes snapshots of one database. Thread-safe (one snapshot at a time).
class BackupService {
 public:
  /// `database_url` as in HostSettings; `events` (may be null) receives `backup.snapshot`.
  BackupService(std::string database_url, BackupSettings settings, EventBusImpl* events = nullptr);

  /// Writes one verified snapshot into `dir_override` (or BACKUP_LOCAL_DIR), then — when
  /// `apply_retention` and the snapshot went to BACKUP_LOCAL_DIR — applies retention there (a
  /// `--to DIR` of the operator is never pruned; the snapshot before a restore passes false so
  /// the file being restored is never deleted). A directory that does not exist is created 0700;
  /// an existing one keeps its mode. Throws BackupError.
  BackupResult backup_now(const std::string& reason, const std::string& dir_override = "",
                          bool apply_retention = true);
  /// Deletes snapshots (is_service_snapshot_name) in `dir` (default BACKUP_LOCAL_DIR) taken before
  /// now - retention_days, never the newest; returns the deleted paths. Nothing when retention_days
  /// is 0.
  std::vector<std::string> prune(std::chrono::system_clock::time_point now,
                                 const std::string& dir = "");
  /// Snapshots in `dir` (default BACKUP_LOCAL_DIR), newest first.
  std::vector<BackupFile> list(const std::string& dir = "") const;

  const BackupSettings& settings() const { return settings_; }
  const std::string& database_url() const { return database_url_; }
  /// BACKUP_LOCAL_DIR made absolute.
  std::string default_dir() const;
  /// False for a database that cannot be snapshotted (SQLite ":memory:").
  bool supported() const;

 private:
  std::string database_url_;
  BackupSettings settings_;
  EventBusImpl* events_;
};

/// What `jarvis db restore` did.
struct RestoreResult {
  std::string database;            ///< the SQLite file or the redacted PostgreSQL URL
  std::string snapshot;            ///< the file restored
  std::string kept_aside;          ///< SQLite: the previous database file, renamed ("" if none)
  std::string pre_restore_backup;  ///< the snapshot taken of the current database first
  std::string verification;

  jarvis::Json to_json() const;
};

/// Restores `snapshot` (.db, .db.gz or .pgdump) into the configured database: refuses
/// (`database_in_use`) while a host serves it, refuses a snapshot that fails its integrity check
/// (`snapshot_corrupt`) or is not a jarvis database (`snapshot_not_jarvis`), takes a backup of the
/// current database first (through `backups`), keeps the current SQLite file aside as
/// `<db>.pre_restore.<stamp>`, then swaps the snapshot in. A snapshot larger than
/// RESTORE_MAX_BYTES (compressed or decompressed) is `snapshot_too_large`; one that would leave
/// less than RESTORE_MIN_FREE_BYTES free is `insufficient_space` (nothing changed either way).
/// PostgreSQL: the database ends up with exactly the snapshot's relations (those created since
/// are dropped), in one transaction that first locks every table and then requires that no other
/// client session is connected, so a host starting meanwhile waits and then sees the restored
/// database. `hooks` are test seams. Throws BackupError.
struct RestoreHooks {
  /// PostgreSQL: called after the first (quick) check for other sessions and the pre-restore
  /// backup, before the restoring transaction (a test connects a "host" here).
  std::function<void()> after_first_check;
};
RestoreResult restore_database(BackupService& backups, const std::string& snapshot,
                               const RestoreHooks& hooks = {});

/// Registers the task `system.backup {reason?}` (admin) and, when BACKUP_INTERVAL_SECONDS > 0,
/// its periodic job. `backups` must outlive `tasks`' workers.
void add_backup_tasks(TaskService& tasks, BackupService& backups);

}  // namespace jarvis::host

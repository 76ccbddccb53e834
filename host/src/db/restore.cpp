// host/src/db/restore.cpp — `jarvis db restore` of SQLite: refuse while served, verify the
// snapshot (bounded by RESTORE_MAX_BYTES and the free space), back up and keep the current
// database aside, swap (see restore_database in backup_service.h and
// docs/decisions/0057-restore-refusal-and-serve-lock.md); PostgreSQL: exactly the snapshot, in one
// transaction that locks out other sessions (decision 0080).
#include <fcntl.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <zlib.h>
// SOCI wraps sqlite3.h in namespace sqlite_api (and a unity batch includes it once).
#include <soci/sqlite3/soci-sqlite3.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>

#include "db/backup_service.h"
#include "db/serve_lock.h"
#include "jarvis/subprocess.h"

namespace fs = std::filesystem;

namespace jarvis::host {
namespace restore_detail {
using namespace sqlite_api;  // NOLINT: the SQLite C API as SOCI declares it

std::string restore_stamp() {
  std::time_t tt = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

/// Bytes that may still be written to the file system holding `dir` while keeping `min_free`
/// free (statvfs: what an unprivileged process may use); negative when already below.
long long space_budget(const fs::path& dir, long long min_free) {
  struct statvfs vfs {};
  if (::statvfs(dir.c_str(), &vfs) != 0) {
    throw BackupError("restore_failed", "cannot read the free space of " + dir.string() + ": " +
                                            std::strerror(errno));
  }
  const long double avail = static_cast<long double>(vfs.f_bavail) * vfs.f_frsize;
  const long double budget = avail - static_cast<long double>(min_free);
  return budget > 9e18L ? static_cast<long long>(9e18) : static_cast<long long>(budget);
}

[[noreturn]] void refuse_space(const fs::path& from, long long needed, long long budget,
                               long long min_free) {
  throw BackupError("insufficient_space", from.string() + " needs more than " +
                                              std::to_string(needed) + " bytes and only " +
                                              std::to_string(budget < 0 ? 0 : budget) +
                                              " may be used while keeping RESTORE_MIN_FREE_BYTES=" +
                                              std::to_string(min_free) + " free; nothing changed");
}

[[noreturn]] void refuse_size(const fs::path& from, const char* what, long long max_bytes) {
  throw BackupError("snapshot_too_large",
                    from.string() + " " + what +
                        " more than RESTORE_MAX_BYTES=" + std::to_string(max_bytes) +
                        " bytes; nothing changed (raise it if this is "
                        "a real snapshot)");
}

// Copies (or gunzips) `from` to `to`; a damaged gzip stream is `snapshot_corrupt`. The output is
// bounded: more than `s.restore_max_bytes` is `snapshot_too_large` (a gzip bomb stops there), more
// than the free space less `s.restore_min_free_bytes` is `insufficient_space` — checked before
// each write, so the disk never fills.
void stage_snapshot(const fs::path& from, const fs::path& to, const BackupSettings& s) {
  const bool gz = from.extension() == ".gz";
  std::error_code size_ec;
  const auto in_size = static_cast<long long>(fs::file_size(from, size_ec));
  const long long budget = space_budget(to.parent_path(), s.restore_min_free_bytes);
  if (!size_ec && in_size > s.restore_max_bytes) refuse_size(from, "is", s.restore_max_bytes);
  if (!size_ec && !gz && in_size > budget)
    refuse_space(from, in_size, budget, s.restore_min_free_bytes);
  std::ofstream out(to, std::ios::binary | std::ios::trunc);
  if (!out) throw BackupError("restore_failed", "cannot write " + to.string());
  std::vector<char> buf(1 << 16);
  if (gz) {
    gzFile in = gzopen(from.c_str(), "rb");
    if (!in) throw BackupError("snapshot_corrupt", "cannot open " + from.string());
    int n = 0;
    long long written = 0;
    while ((n = gzread(in, buf.data(), static_cast<unsigned>(buf.size()))) > 0) {
      written += n;
      if (written > s.restore_max_bytes || written > budget) {
        gzclose(in);
        out.close();
        if (written > s.restore_max_bytes) {
          refuse_size(from, "decompresses to", s.restore_max_bytes);
        }
        refuse_space(from, written, budget, s.restore_min_free_bytes);
      }
      out.write(buf.data(), n);
    }
    int err = 0;
    std::string why = n < 0 ? gzerror(in, &err) : "";
    gzclose(in);
    if (n < 0) {
      throw BackupError("snapshot_corrupt", from.string() + " is not a valid gzip file: " + why);
    }
  } else {
    std::ifstream in(from, std::ios::binary);
    if (!in) throw BackupError("snapshot_corrupt", "cannot read " + from.string());
    out << in.rdbuf();
  }
  out.flush();
  if (!out) throw BackupError("restore_failed", "writing " + to.string() + " failed (disk full?)");
}

std::string sqlite_scalar(sqlite3* db, const char* sql, bool* failed) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
    *failed = true;
    return sqlite3_errmsg(db);
  }
  std::string out;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    const unsigned char* t = sqlite3_column_text(st, 0);
    out = t ? reinterpret_cast<const char*>(t) : "";
  } else if (rc != SQLITE_DONE) {
    *failed = true;
    out = sqlite3_errmsg(db);
  }
  sqlite3_finalize(st);
  return out;
}

// PRAGMA integrity_check must be "ok" and the host's schema_migrations table must exist.
std::string verify_sqlite_snapshot(const fs::path& staged, const std::string& shown) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(staged.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : "cannot open";
    sqlite3_close_v2(db);
    throw BackupError("snapshot_corrupt", shown + " is not a SQLite database: " + why);
  }
  bool failed = false;
  std::string integrity = sqlite_scalar(db, "PRAGMA integrity_check", &failed);
  if (failed || integrity != "ok") {
    sqlite3_close_v2(db);
    throw BackupError("snapshot_corrupt",
                      shown + " failed PRAGMA integrity_check: " + integrity.substr(0, 300));
  }
  std::string has = sqlite_scalar(
      db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='schema_migrations'",
      &failed);
  sqlite3_close_v2(db);
  if (failed || has != "1") {
    throw BackupError("snapshot_not_jarvis",
                      shown + " is a SQLite database but not a jarvis one (no schema_migrations)");
  }
  return "integrity_check: ok";
}

// Folds the WAL into the main file so renaming the file moves every committed row with it.
void checkpoint_sqlite(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
  }
  sqlite3_close_v2(db);
}

void fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// Moves <db>-wal, -shm and -journal to <dest>-wal, … and refuses (restore_failed) when one of
// them cannot be moved or is still there: SQLite would apply a leftover WAL or journal to
// whatever file lands at `db` next.
void move_sqlite_sidecars(const std::string& db, const std::string& dest) {
  for (const char* side : {"-wal", "-shm", "-journal"}) {
    const std::string from = db + side;
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(from, ec))) continue;
    fs::rename(from, dest + side, ec);
    if (ec || fs::exists(fs::symlink_status(from, ec))) {
      throw BackupError("restore_failed", "cannot move " + from + " aside (" + ec.message() +
                                              "); nothing was swapped — move it away by hand");
    }
  }
}

// The file and the directory entry of a staged copy on disk before it is renamed into place.
void fsync_path(const fs::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

RestoreResult restore_sqlite(BackupService& backups, const std::string& db_path,
                             const fs::path& snapshot) {
  RestoreResult r;
  fs::create_directories(fs::path(db_path).parent_path());
  // The real file (a symlinked APP_DB is the same database, and the same lock as serve takes).
  std::error_code canon_ec;
  const std::string db_file = fs::weakly_canonical(db_path, canon_ec).string();
  r.database = db_file;
  r.snapshot = snapshot.string();
  std::unique_ptr<ServeLock> lock;
  if (auto holder = ServeLock::acquire_exclusive(db_file + ".serving", &lock)) {
    throw BackupError("database_in_use", "a host is serving " + db_file + " (" + *holder +
                                             "); stop it first (systemctl stop jarvis)");
  }
  const std::string stamp = restore_stamp();
  fs::path staged = db_file + ".restore." + stamp + ".partial";
  std::error_code ec;
  try {
    stage_snapshot(snapshot, staged, backups.settings());
    fsync_path(staged);
    r.verification = verify_sqlite_snapshot(staged, snapshot.string());
  } catch (...) {
    fs::remove(staged, ec);
    fs::remove(staged.string() + "-shm", ec);
    fs::remove(staged.string() + "-wal", ec);
    throw;
  }
  const bool had_db = fs::exists(db_file);
  try {
    if (had_db) {
      // The destructive step comes last: first a verified snapshot (no retention: the file being
      // restored may be an old one in BACKUP_LOCAL_DIR), then the file kept aside.
      try {
        r.pre_restore_backup =
            backups.backup_now("before restore of " + snapshot.string(), "", false).path;
      } catch (const std::exception& e) {
        // A broken current database is often why one restores; the kept-aside file holds it.
        spdlog::warn("restore: no snapshot of the current database ({}); it is kept aside only",
                     e.what());
      }
      checkpoint_sqlite(db_file);
      r.kept_aside = db_file + ".pre_restore." + stamp;
    }
    // Every sidecar goes, whether or not the database file is there (a restore killed after
    // moving the file left its -wal behind): with the previous file when there is one.
    move_sqlite_sidecars(db_file, had_db ? r.kept_aside : db_file + ".stale." + stamp);
    if (had_db) {
      // A second name for the previous file, then rename over it: never a moment without a
      // database at the path.
      if (::link(db_file.c_str(), r.kept_aside.c_str()) != 0) {
        throw BackupError("restore_failed",
                          "cannot keep " + db_file + " aside: " + std::strerror(errno));
      }
      struct stat st {};
      if (::stat(db_file.c_str(), &st) == 0) {
        // The restored file is the previous one's: same mode, same owner (a sudo restore must
        // not leave a root-owned 0644 database behind).
        ::chmod(staged.c_str(), st.st_mode & 07777);
        [[maybe_unused]] int rc = ::chown(staged.c_str(), st.st_uid, st.st_gid);
      }
    }
  } catch (...) {
    fs::remove(staged, ec);
    throw;
  }
  fs::rename(staged, db_file, ec);
  if (ec) {
    fs::remove(staged, ec);
    if (had_db) fs::remove(r.kept_aside, ec);  // the second name only; the database is untouched
    throw BackupError("restore_failed", "cannot move the snapshot into place: " + ec.message());
  }
  fsync_dir(fs::path(db_file).parent_path());
  // What SQLite will open at the final path: checked again (a sidecar that appeared meanwhile).
  try {
    move_sqlite_sidecars(db_file, db_file + ".failed_restore." + stamp);
    verify_sqlite_snapshot(db_file, db_file);
  } catch (const BackupError& e) {
    std::error_code ignore;
    if (had_db) {
      fs::rename(r.kept_aside, db_file, ignore);
    } else {
      fs::rename(db_file, db_file + ".failed_restore." + stamp, ignore);
    }
    throw BackupError("restore_failed", std::string("the restored file failed its check at ") +
                                            db_file + " (" + e.what() + "); put back as before");
  }
  return r;
}

}  // namespace restore_detail

// PostgreSQL (docs/decisions/0080-exact-and-atomic-postgresql-restore.md): the archive becomes a
// plain SQL script (pg_restore --file, no connection), which one psql session replays inside a
// transaction that first locks the database's tables, then checks that no other client is
// connected, then drops what the snapshot may not have. The check cannot race a starting host:
// from the LOCK on, a host's first query waits for the commit and then sees the restored database.
namespace restore_postgresql_impl {

/// Marker of the refusal raised inside the transaction (matched in psql's stderr).
constexpr const char* kInUseMarker = "jarvis_restore_in_use";

/// The locks, the check and the drops, run by psql before the archive's script (`\i`). Objects
/// of the current user outside the system schemas and outside extensions; a schema holding an
/// extension is kept. Arrays first, then the statements: a CASCADE drop must not break the loop.
constexpr const char* kPrologue = R"SQL(
\set ON_ERROR_STOP on
BEGIN;
SET LOCAL lock_timeout = '15s';
SET LOCAL client_min_messages = warning;
DO $jarvis$
DECLARE
  me oid := (SELECT oid FROM pg_roles WHERE rolname = current_user);
  stmts text[];
  s text;
  others int;
BEGIN
  -- Restores exclude each other.
  PERFORM pg_advisory_xact_lock(4242080);
  -- 1. Every table of ours: a session that starts from here on waits at its first query.
  SELECT coalesce(array_agg(format('LOCK TABLE %I.%I IN ACCESS EXCLUSIVE MODE', n.nspname,
                                   c.relname)), '{}')
    INTO stmts
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p') AND c.relowner = me
     AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%';
  FOREACH s IN ARRAY stmts LOOP EXECUTE s; END LOOP;
  -- 2. No other client: checked under the locks, so nobody can slip in after the check.
  SELECT count(*) INTO others FROM pg_stat_activity
   WHERE datname = current_database() AND pid <> pg_backend_pid()
     AND backend_type = 'client backend';
  IF others > 0 THEN
    RAISE EXCEPTION 'jarvis_restore_in_use: % other session(s) connected to the database', others;
  END IF;
  -- 3. Whatever the snapshot may not have: it recreates what it holds.
  SELECT coalesce(array_agg(format('DROP %s IF EXISTS %I.%I CASCADE',
                                   CASE c.relkind WHEN 'v' THEN 'VIEW'
                                                  WHEN 'm' THEN 'MATERIALIZED VIEW'
                                                  WHEN 'S' THEN 'SEQUENCE'
                                                  WHEN 'f' THEN 'FOREIGN TABLE'
                                                  ELSE 'TABLE' END,
                                   n.nspname, c.relname)), '{}')
    INTO stmts
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND c.relowner = me
     AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                        AND d.objid = c.oid AND d.deptype = 'e');
  FOREACH s IN ARRAY stmts LOOP EXECUTE s; END LOOP;
  SELECT coalesce(array_agg(format('DROP ROUTINE IF EXISTS %s CASCADE', p.oid::regprocedure)),
                  '{}')
    INTO stmts
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE p.proowner = me AND p.prokind IN ('f', 'p')
     AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                        AND d.objid = p.oid AND d.deptype = 'e');
  FOREACH s IN ARRAY stmts LOOP EXECUTE s; END LOOP;
  SELECT coalesce(array_agg(format('DROP %s IF EXISTS %I.%I CASCADE',
                                   CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END,
                                   n.nspname, t.typname)), '{}')
    INTO stmts
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
   WHERE t.typowner = me AND t.typtype IN ('e', 'd', 'r', 'c')
     AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
     AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                        AND d.objid = t.oid AND d.deptype = 'e');
  FOREACH s IN ARRAY stmts LOOP EXECUTE s; END LOOP;
  SELECT coalesce(array_agg(format('DROP SCHEMA IF EXISTS %I CASCADE', n.nspname)), '{}')
    INTO stmts
    FROM pg_namespace n
   WHERE n.nspowner = me AND n.nspname <> 'public'
     AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
     AND NOT EXISTS (SELECT 1 FROM pg_extension e WHERE e.extnamespace = n.oid);
  FOREACH s IN ARRAY stmts LOOP EXECUTE s; END LOOP;
END
$jarvis$;
)SQL";

/// A directory removed with its files on scope exit.
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    std::string tmpl = (fs::temp_directory_path() / "jarvis-pg-restore.XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) {
      throw BackupError("restore_failed", "cannot create a scratch directory in " +
                                              fs::temp_directory_path().string());
    }
    path = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
};

/// Other client sessions on the database (-1 when it cannot be told). The password is quoted like
/// every conninfo value (a ' or \ in it broke the string, and could add keywords of its own).
long other_sessions(const PgToolConnection& c) {
  std::string quoted_password;
  for (char ch : c.password) {
    if (ch == '\\' || ch == '\'') quoted_password += '\\';
    quoted_password += ch;
  }
  std::string full = c.conninfo + (c.password.empty() ? "" : " password='" + quoted_password + "'");
  PGconn* conn = PQconnectdb(full.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = PQerrorMessage(conn);
    PQfinish(conn);
    throw BackupError("restore_failed", "cannot connect to the database: " + why);
  }
  PGresult* res = PQexec(conn,
                         "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                         "AND pid <> pg_backend_pid() AND backend_type = 'client backend'");
  long others = PQresultStatus(res) == PGRES_TUPLES_OK ? std::atol(PQgetvalue(res, 0, 0)) : -1;
  PQclear(res);
  PQfinish(conn);
  return others;
}

[[noreturn]] void refuse_in_use(long others) {
  throw BackupError("database_in_use",
                    others < 0 ? "cannot tell whether a host is connected to the database"
                               : std::to_string(others) +
                                     " other session(s) are connected to the database (a serving "
                                     "host?); stop them first");
}

RestoreResult restore_postgresql(BackupService& backups, const std::string& url,
                                 const fs::path& snapshot, const RestoreHooks& hooks) {
  RestoreResult r;
  r.snapshot = snapshot.string();
  PgToolConnection c = pg_tool_connection(url);
  r.database = c.conninfo;
  auto list = jarvis::run_process({.argv = {"pg_restore", "--list", snapshot.string()},
                                   .timeout_ms = 600 * 1000LL,
                                   .max_output_bytes = 4 << 20});
  if (list.exit_code == 127) throw BackupError("pg_tool_missing", "pg_restore not found on PATH");
  if (list.exit_code != 0) {
    throw BackupError("snapshot_corrupt",
                      snapshot.string() +
                          " is not a readable pg_dump archive: " + list.stderr_text.substr(0, 300));
  }
  if (list.stdout_text.find(" schema_migrations ") == std::string::npos) {
    throw BackupError("snapshot_not_jarvis",
                      snapshot.string() + " is a pg_dump archive but not of a jarvis database");
  }
  r.verification = "pg_restore --list: ok";
  // A quick refusal before the backup; the check that counts is the one inside the transaction.
  if (long others = other_sessions(c); others != 0) refuse_in_use(others);
  // No retention here: the snapshot being restored may be an old file in BACKUP_LOCAL_DIR.
  r.pre_restore_backup =
      backups.backup_now("before restore of " + snapshot.string(), "", false).path;
  if (hooks.after_first_check) hooks.after_first_check();

  ScratchDir scratch;
  const fs::path script = scratch.path / "snapshot.sql";
  const fs::path wrapper = scratch.path / "restore.sql";
  auto plain = jarvis::run_process({.argv = {"pg_restore", "--clean", "--if-exists", "--no-owner",
                                             "--file=" + script.string(), snapshot.string()},
                                    .timeout_ms = 3600 * 1000LL,
                                    .max_output_bytes = 8192});
  if (plain.exit_code != 0) {
    throw BackupError("restore_failed",
                      "pg_restore could not convert the archive (nothing "
                      "changed): " +
                          plain.stderr_text.substr(0, 500));
  }
  {
    std::ofstream w(wrapper, std::ios::binary | std::ios::trunc);
    // psql's \i takes the path in single quotes: a TMPDIR holding one is refused, not escaped.
    if (script.string().find('\'') != std::string::npos) {
      throw BackupError("restore_failed",
                        "TMPDIR must not contain a single quote: " + script.parent_path().string());
    }
    w << kPrologue << "\\i '" << script.string() << "'\nCOMMIT;\n";
    if (!w.flush()) throw BackupError("restore_failed", "cannot write " + wrapper.string());
  }
  std::map<std::string, std::string> env;
  if (!c.password.empty()) env["PGPASSWORD"] = c.password;
  auto run =
      jarvis::run_process({.argv = {"psql", "-X", "-q", "--no-psqlrc", "-v", "ON_ERROR_STOP=1",
                                    "--dbname=" + c.conninfo, "-f", wrapper.string()},
                           .timeout_ms = 3600 * 1000LL,
                           .max_output_bytes = 16384,
                           .extra_env = env});
  if (run.exit_code == 127) throw BackupError("pg_tool_missing", "psql not found on PATH");
  if (run.stderr_text.find(kInUseMarker) != std::string::npos ||
      run.stderr_text.find("lock timeout") != std::string::npos) {
    throw BackupError("database_in_use",
                      "another session connected to the database or holds its tables (a host "
                      "starting?); nothing changed: " +
                          run.stderr_text.substr(0, 300));
  }
  if (run.exit_code != 0) {
    throw BackupError("restore_failed", "psql failed (exit " + std::to_string(run.exit_code) +
                                            "; nothing changed, it ran in one transaction): " +
                                            run.stderr_text.substr(0, 500));
  }
  return r;
}

}  // namespace restore_postgresql_impl

RestoreResult restore_database(BackupService& backups, const std::string& snapshot,
                               const RestoreHooks& hooks) {
  fs::path snap = fs::absolute(snapshot);
  if (!fs::is_regular_file(snap)) {
    throw BackupError("snapshot_missing", "no snapshot file at " + snap.string());
  }
  if (auto file = sqlite_file_of(backups.database_url())) {
    return restore_detail::restore_sqlite(backups, *file, snap);
  }
  return restore_postgresql_impl::restore_postgresql(backups, backups.database_url(), snap, hooks);
}

}  // namespace jarvis::host

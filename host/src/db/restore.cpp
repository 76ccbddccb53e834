// host/src/db/restore.cpp — `jarvis db restore`: refuse while served, verify the snapshot, back
// up and keep the current database aside, swap (see restore_database in backup_service.h and
// docs/decisions/0057-restore-refusal-and-serve-lock.md).
#include <fcntl.h>
#include <libpq-fe.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <zlib.h>
// SOCI wraps sqlite3.h in namespace sqlite_api (and a unity batch includes it once).
#include <soci/sqlite3/soci-sqlite3.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>

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

// Copies (or gunzips) `from` to `to`; a damaged gzip stream is `snapshot_corrupt`.
void stage_snapshot(const fs::path& from, const fs::path& to) {
  const bool gz = from.extension() == ".gz";
  std::ofstream out(to, std::ios::binary | std::ios::trunc);
  if (!out) throw BackupError("restore_failed", "cannot write " + to.string());
  std::vector<char> buf(1 << 16);
  if (gz) {
    gzFile in = gzopen(from.c_str(), "rb");
    if (!in) throw BackupError("snapshot_corrupt", "cannot open " + from.string());
    int n = 0;
    while ((n = gzread(in, buf.data(), static_cast<unsigned>(buf.size()))) > 0) {
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

RestoreResult restore_sqlite(BackupService& backups, const std::string& db_file,
                             const fs::path& snapshot) {
  RestoreResult r;
  r.database = db_file;
  r.snapshot = snapshot.string();
  std::unique_ptr<ServeLock> lock;
  fs::create_directories(fs::path(db_file).parent_path());
  if (auto holder = ServeLock::acquire_exclusive(db_file + ".serving", &lock)) {
    throw BackupError("database_in_use", "a host is serving " + db_file + " (" + *holder +
                                             "); stop it first (systemctl stop jarvis)");
  }
  const std::string stamp = restore_stamp();
  fs::path staged = db_file + ".restore." + stamp + ".partial";
  std::error_code ec;
  try {
    stage_snapshot(snapshot, staged);
    r.verification = verify_sqlite_snapshot(staged, snapshot.string());
  } catch (...) {
    fs::remove(staged, ec);
    throw;
  }
  if (fs::exists(db_file)) {
    // The destructive step comes last: first a verified snapshot, then the file kept aside.
    try {
      r.pre_restore_backup = backups.backup_now("before restore of " + snapshot.string()).path;
    } catch (const std::exception& e) {
      // A broken current database is often why one restores; the kept-aside file still holds it.
      spdlog::warn("restore: no snapshot of the current database ({}); it is kept aside only",
                   e.what());
    }
    checkpoint_sqlite(db_file);
    r.kept_aside = db_file + ".pre_restore." + stamp;
    fs::rename(db_file, r.kept_aside, ec);
    if (ec) {
      fs::remove(staged, ec);
      throw BackupError("restore_failed", "cannot move " + db_file + " aside: " + ec.message());
    }
    for (const char* side : {"-wal", "-shm"}) {
      if (fs::exists(db_file + side)) fs::rename(db_file + side, r.kept_aside + side, ec);
    }
  }
  fs::rename(staged, db_file, ec);
  if (ec) {
    // Put the previous database back rather than leave none.
    std::error_code ignore;
    if (!r.kept_aside.empty()) fs::rename(r.kept_aside, db_file, ignore);
    throw BackupError("restore_failed", "cannot move the snapshot into place: " + ec.message());
  }
  fsync_dir(fs::path(db_file).parent_path());
  return r;
}

RestoreResult restore_postgresql(BackupService& backups, const std::string& url,
                                 const fs::path& snapshot) {
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
  // Served: any other session on this database (a host holds its pool open while it serves).
  std::string full = c.conninfo + (c.password.empty() ? "" : " password='" + c.password + "'");
  PGconn* conn = PQconnectdb(full.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = PQerrorMessage(conn);
    PQfinish(conn);
    throw BackupError("restore_failed", "cannot connect to the database: " + why);
  }
  PGresult* res = PQexec(conn,
                         "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                         "AND pid <> pg_backend_pid()");
  long others = PQresultStatus(res) == PGRES_TUPLES_OK ? std::atol(PQgetvalue(res, 0, 0)) : -1;
  PQclear(res);
  PQfinish(conn);
  if (others != 0) {
    throw BackupError("database_in_use",
                      others < 0 ? "cannot tell whether a host is connected to the database"
                                 : std::to_string(others) +
                                       " other session(s) are connected to the database (a "
                                       "serving host?); stop them first");
  }
  r.pre_restore_backup = backups.backup_now("before restore of " + snapshot.string()).path;
  std::map<std::string, std::string> env;
  if (!c.password.empty()) env["PGPASSWORD"] = c.password;
  auto run = jarvis::run_process(
      {.argv = {"pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                "--exit-on-error", "--dbname=" + c.conninfo, snapshot.string()},
       .timeout_ms = 3600 * 1000LL,
       .max_output_bytes = 8192,
       .extra_env = env});
  if (run.exit_code != 0) {
    throw BackupError("restore_failed", "pg_restore failed (exit " + std::to_string(run.exit_code) +
                                            "; nothing changed, it ran in one transaction): " +
                                            run.stderr_text.substr(0, 500));
  }
  return r;
}

}  // namespace restore_detail

RestoreResult restore_database(BackupService& backups, const std::string& snapshot) {
  fs::path snap = fs::absolute(snapshot);
  if (!fs::is_regular_file(snap)) {
    throw BackupError("snapshot_missing", "no snapshot file at " + snap.string());
  }
  if (auto file = sqlite_file_of(backups.database_url())) {
    return restore_detail::restore_sqlite(backups, *file, snap);
  }
  return restore_detail::restore_postgresql(backups, backups.database_url(), snap);
}

}  // namespace jarvis::host

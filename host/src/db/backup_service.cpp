// host/src/db/backup_service.cpp — snapshots (SQLite online backup + gzip, pg_dump) and
// retention (see backup_service.h).
#include "db/backup_service.h"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
// SOCI wraps sqlite3.h in namespace sqlite_api (and a unity batch includes it once).
#include <soci/sqlite3/soci-sqlite3.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "config/config.h"
#include "db/serve_lock.h"
#include "jarvis/subprocess.h"
#include "registry/event_bus.h"

namespace fs = std::filesystem;

namespace jarvis::host {
namespace backup_service_detail {
using namespace sqlite_api;  // NOLINT: the SQLite C API as SOCI declares it

std::string utc_stamp(std::chrono::system_clock::time_point t, const char* format) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

void sqlite_check(int rc, sqlite3* db, const std::string& what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE) return;
  throw BackupError("backup_failed", what + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}

struct SqliteHandle {
  sqlite3* db = nullptr;
  ~SqliteHandle() {
    if (db) sqlite3_close_v2(db);
  }
};

std::string first_column(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    return std::string("error: ") + sqlite3_errmsg(db);
  }
  std::string out;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(st, 0);
    out = text ? reinterpret_cast<const char*>(text) : "";
  } else if (rc != SQLITE_DONE) {
    out = std::string("error: ") + sqlite3_errmsg(db);
  }
  sqlite3_finalize(st);
  return out;
}

void gzip_file(const fs::path& from, const fs::path& to) {
  std::ifstream in(from, std::ios::binary);
  if (!in) throw BackupError("backup_failed", "cannot read " + from.string());
  gzFile out = gzopen(to.c_str(), "wb6");
  if (!out) throw BackupError("backup_failed", "cannot write " + to.string());
  std::vector<char> buf(1 << 16);
  bool ok = true;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    std::streamsize n = in.gcount();
    if (n > 0 && gzwrite(out, buf.data(), static_cast<unsigned>(n)) != static_cast<int>(n)) {
      ok = false;
      break;
    }
  }
  if (gzclose(out) != Z_OK) ok = false;
  if (!ok) throw BackupError("backup_failed", "writing " + to.string() + " failed (disk full?)");
}

void fsync_file(const fs::path& p) {
  FILE* f = std::fopen(p.c_str(), "rb");
  if (!f) return;
  ::fsync(::fileno(f));
  std::fclose(f);
}

// A unique `.backup_XXXXXX<suffix>` in `dir` created O_EXCL 0600 (mkstemps) and held under an
// exclusive flock while the backup writes it, so the stale sweep of another backup skips it.
struct PartialFile {
  fs::path path;
  int fd = -1;
  PartialFile(const fs::path& dir, const std::string& suffix) {
    std::string tmpl = (dir / (".backup_XXXXXX" + suffix)).string();
    fd = ::mkstemps(tmpl.data(), static_cast<int>(suffix.size()));
    if (fd < 0) {
      throw BackupError("backup_failed",
                        "cannot create a file in " + dir.string() + ": " + std::strerror(errno));
    }
    ::flock(fd, LOCK_EX);
    path = tmpl;
  }
  ~PartialFile() {
    std::error_code ec;
    fs::remove(path, ec);  // gone already once committed
    if (fd >= 0) ::close(fd);
  }
  PartialFile(const PartialFile&) = delete;
  PartialFile& operator=(const PartialFile&) = delete;
};

// `.backup_*.partial` files no running backup holds (a backup killed -9 left them).
void sweep_stale_partials(const fs::path& dir) {
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(".backup_", 0) != 0 || !name.ends_with(".partial")) continue;
    int fd = ::open(it->path().c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      std::error_code rm_ec;
      fs::remove(it->path(), rm_ec);
      spdlog::info("backup: removed the stale {}", it->path().string());
    }
    ::close(fd);
  }
}

void fsync_backup_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// Gives the verified `tmp` its final name backup_<stamp>[_N]<ext>: link() never replaces a file,
// so two backups in the same second (two processes) take _2, _3 … instead of one overwriting the
// other. Returns the final path.
fs::path commit_snapshot(const fs::path& tmp, const fs::path& dir,
                         std::chrono::system_clock::time_point now, const std::string& ext) {
  ::chmod(tmp.c_str(), 0600);
  fsync_file(tmp);
  const std::string stem = "backup_" + utc_stamp(now, "%Y%m%dT%H%M%SZ");
  for (int n = 1; n < 10000; ++n) {
    fs::path p = dir / (n == 1 ? stem + ext : stem + "_" + std::to_string(n) + ext);
    if (::link(tmp.c_str(), p.c_str()) == 0) {
      std::error_code ec;
      fs::remove(tmp, ec);
      fsync_backup_dir(dir);
      return p;
    }
    if (errno != EEXIST) {
      throw BackupError("backup_failed",
                        "cannot move the snapshot to " + p.string() + ": " + std::strerror(errno));
    }
  }
  throw BackupError("backup_failed", "no free snapshot name in " + dir.string());
}

/// SQLite: online backup into `tmp_db`, integrity check, gzip to `out`.
std::string sqlite_snapshot(const std::string& source, const fs::path& tmp_db,
                            const fs::path& out) {
  if (!fs::exists(source)) {
    throw BackupError("backup_failed", "the database file " + source + " does not exist");
  }
  SqliteHandle src, dst;
  sqlite_check(sqlite3_open_v2(source.c_str(), &src.db, SQLITE_OPEN_READONLY, nullptr), src.db,
               "opening " + source);
  sqlite3_busy_timeout(src.db, 10000);
  sqlite_check(
      sqlite3_open_v2(tmp_db.c_str(), &dst.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr),
      dst.db, "creating " + tmp_db.string());
  sqlite3_backup* b = sqlite3_backup_init(dst.db, "main", src.db, "main");
  if (!b) sqlite_check(SQLITE_ERROR, dst.db, "starting the online backup");
  // One step over every page: one read transaction, so the copy is one consistent snapshot
  // (writers in WAL mode are not blocked). Busy/locked: wait and retry the step.
  int rc = SQLITE_OK;
  for (int attempt = 0; attempt < 200; ++attempt) {
    rc = sqlite3_backup_step(b, -1);
    if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) sqlite_check(rc, dst.db, "online backup of " + source);
  // A standalone file: no -wal/-shm next to the snapshot.
  first_column(dst.db, "PRAGMA journal_mode=DELETE");
  std::string integrity = first_column(dst.db, "PRAGMA integrity_check");
  if (integrity != "ok") {
    throw BackupError("backup_failed", "the snapshot failed PRAGMA integrity_check: " + integrity);
  }
  sqlite3_close_v2(dst.db);
  dst.db = nullptr;
  gzip_file(tmp_db, out);
  return "integrity_check: ok";
}

/// PostgreSQL: pg_dump -Fc to `out`, then pg_restore --list on it.
std::string pg_snapshot(const std::string& url, const fs::path& out) {
  PgToolConnection c = pg_tool_connection(url);
  std::map<std::string, std::string> env;
  if (!c.password.empty()) env["PGPASSWORD"] = c.password;
  auto dump = jarvis::run_process({.argv = {"pg_dump", "--format=custom", "--no-owner",
                                            "--file=" + out.string(), "--dbname=" + c.conninfo},
                                   .timeout_ms = 3600 * 1000LL,
                                   .max_output_bytes = 8192,
                                   .extra_env = env});
  if (dump.exit_code == 127) {
    throw BackupError("pg_tool_missing", "pg_dump not found on PATH (install postgresql-client)");
  }
  if (dump.exit_code != 0) {
    throw BackupError("backup_failed", "pg_dump failed (exit " + std::to_string(dump.exit_code) +
                                           "): " + dump.stderr_text);
  }
  auto list = jarvis::run_process({.argv = {"pg_restore", "--list", out.string()},
                                   .timeout_ms = 600 * 1000LL,
                                   .max_output_bytes = 4096});
  if (list.exit_code != 0) {
    throw BackupError("backup_failed", "pg_restore --list rejected the dump: " + list.stderr_text);
  }
  return "pg_restore --list: ok";
}

}  // namespace backup_service_detail

using backup_service_detail::commit_snapshot;
using backup_service_detail::PartialFile;
using backup_service_detail::pg_snapshot;
using backup_service_detail::sqlite_snapshot;
using backup_service_detail::sweep_stale_partials;
using backup_service_detail::utc_stamp;

BackupSettings BackupSettings::from(const ConfigStore& store) {
  BackupSettings s;
  s.dir = store.get_or("BACKUP_LOCAL_DIR", s.dir);
  if (s.dir.empty()) s.dir = "./var/backups";
  s.retention_days =
      static_cast<int>(store.get_int("BACKUP_RETENTION_DAYS", s.retention_days, 0, 36500));
  s.interval_seconds =
      static_cast<int>(store.get_int("BACKUP_INTERVAL_SECONDS", s.interval_seconds, 0, 31536000));
  s.restore_max_bytes = store.get_int("RESTORE_MAX_BYTES", s.restore_max_bytes, 1, 1LL << 50);
  s.restore_min_free_bytes =
      store.get_int("RESTORE_MIN_FREE_BYTES", s.restore_min_free_bytes, 0, 1LL << 60);
  if (auto v = store.get("BACKUP_BEFORE_MIGRATE"); v && !v->value.empty()) {
    const std::string& b = v->value;
    if (b == "1" || b == "true" || b == "yes" || b == "on") {
      s.before_migrate = true;
    } else if (b == "0" || b == "false" || b == "no" || b == "off") {
      s.before_migrate = false;
    } else {
      throw std::runtime_error("invalid BACKUP_BEFORE_MIGRATE=" + b + " (from " + v->origin +
                               "): expected 1 or 0");
    }
  }
  return s;
}

const std::vector<SettingDecl>& backup_setting_decls() {
  static const std::vector<SettingDecl> decls = {
      {"BACKUP_LOCAL_DIR", ConfigType::String, "./var/backups", false,
       "directory of the database snapshots (backup_<UTC stamp>.db.gz / .pgdump)"},
      {"BACKUP_RETENTION_DAYS", ConfigType::Int, "14", false,
       "snapshots older than this are deleted after each backup (the newest is kept; 0 = keep "
       "all)"},
      {"BACKUP_INTERVAL_SECONDS", ConfigType::Int, "86400", false,
       "period of the system.backup job while serving (0 = no periodic backup)"},
      {"BACKUP_BEFORE_MIGRATE", ConfigType::Bool, "1", false,
       "snapshot before pending migrations run on an existing schema (they do not run if it "
       "fails)"},
      {"RESTORE_MAX_BYTES", ConfigType::Int, "68719476736", false,
       "jarvis db restore refuses a snapshot larger than this, compressed or decompressed "
       "(snapshot_too_large)"},
      {"RESTORE_MIN_FREE_BYTES", ConfigType::Int, "268435456", false,
       "jarvis db restore stops before the database's file system would have less free "
       "(insufficient_space)"},
  };
  return decls;
}

jarvis::Json BackupResult::to_json() const {
  return {{"path", path},
          {"dialect", dialect},
          {"created_at", created_at},
          {"reason", reason},
          {"bytes", bytes},
          {"verification", verification},
          {"pruned", pruned},
          {"duration_ms", duration_ms}};
}

jarvis::Json RestoreResult::to_json() const {
  return {{"database", database},
          {"snapshot", snapshot},
          {"kept_aside", kept_aside},
          {"pre_restore_backup", pre_restore_backup},
          {"verification", verification}};
}

PgToolConnection pg_tool_connection(const std::string& url) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
  if (!opts) {
    if (err) PQfreemem(err);
    throw BackupError("invalid_database_url", "DATABASE_URL is not a valid PostgreSQL URL");
  }
  PgToolConnection out;
  for (PQconninfoOption* o = opts; o->keyword; ++o) {
    if (!o->val || !*o->val) continue;
    std::string key = o->keyword, val = o->val;
    if (key == "password") {
      out.password = val;
      continue;
    }
    std::string quoted;
    for (char ch : val) {
      if (ch == '\\' || ch == '\'') quoted += '\\';
      quoted += ch;
    }
    out.conninfo += (out.conninfo.empty() ? "" : " ") + key + "='" + quoted + "'";
  }
  PQconninfoFree(opts);
  return out;
}

std::optional<std::chrono::system_clock::time_point> backup_time_of(const std::string& name) {
  // backup_YYYYMMDDTHHMMSSZ…
  if (name.size() < 23 || name.rfind("backup_", 0) != 0 || name[15] != 'T' || name[22] != 'Z') {
    return std::nullopt;
  }
  std::tm tm{};
  auto num = [&](std::size_t pos, std::size_t len, int& out) {
    auto [p, ec] = std::from_chars(name.data() + pos, name.data() + pos + len, out);
    return ec == std::errc() && p == name.data() + pos + len;
  };
  int y, mo, d, h, mi, s;
  if (!num(7, 4, y) || !num(11, 2, mo) || !num(13, 2, d) || !num(16, 2, h) || !num(18, 2, mi) ||
      !num(20, 2, s)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

BackupService::BackupService(std::string database_url, BackupSettings settings,
                             EventBusImpl* events)
    : database_url_(std::move(database_url)), settings_(std::move(settings)), events_(events) {}

std::string BackupService::default_dir() const {
  std::error_code ec;
  auto abs = fs::absolute(settings_.dir, ec);
  return ec ? settings_.dir : abs.lexically_normal().string();
}

bool BackupService::supported() const {
  if (sqlite_file_of(database_url_)) return true;
  return database_url_.rfind("postgresql://", 0) == 0 || database_url_.rfind("postgres://", 0) == 0;
}

bool is_service_snapshot_name(const std::string& name) {
  if (!backup_time_of(name)) return false;
  std::string rest = name.substr(23);  // after backup_YYYYMMDDTHHMMSSZ
  if (!rest.empty() && rest[0] == '_') {
    std::size_t digits = 1;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    if (digits == 1 || rest[1] == '0') return false;
    rest = rest.substr(digits);
  }
  return rest == ".db.gz" || rest == ".pgdump";
}

BackupResult BackupService::backup_now(const std::string& reason, const std::string& dir_override,
                                       bool apply_retention) {
  if (!supported()) {
    throw BackupError("backup_unsupported", "an in-memory database has no snapshot to take");
  }
  static std::mutex one_at_a_time;
  std::lock_guard lk(one_at_a_time);
  auto started = std::chrono::steady_clock::now();
  auto now = std::chrono::system_clock::now();
  fs::path dir = dir_override.empty() ? fs::path(default_dir())
                                      : fs::absolute(dir_override).lexically_normal();
  std::error_code ec;
  // Only a directory created here gets 0700 (snapshots hold every secret of the database); an
  // existing one — `--to /srv/shared` — keeps the mode its owner gave it.
  if (!fs::is_directory(dir, ec)) {
    fs::create_directories(dir, ec);
    if (!ec) ::chmod(dir.c_str(), 0700);
  }
  if (!fs::is_directory(dir, ec)) {
    throw BackupError("backup_failed", "cannot create the backup directory " + dir.string());
  }
  // Retention belongs to BACKUP_LOCAL_DIR only, never to a directory named with --to.
  std::error_code eq_ec;
  const bool in_local_dir =
      dir_override.empty() || fs::equivalent(dir, fs::path(default_dir()), eq_ec);

  BackupResult r;
  r.reason = reason;
  r.created_at = utc_stamp(now, "%Y-%m-%dT%H:%M:%SZ");
  auto sqlite = sqlite_file_of(database_url_);
  r.dialect = sqlite ? "sqlite" : "postgresql";
  sweep_stale_partials(dir);
  fs::path final_path;
  {
    PartialFile tmp(dir, ".partial");
    PartialFile tmp_db(dir, ".db.partial");
    r.verification = sqlite ? sqlite_snapshot(*sqlite, tmp_db.path, tmp.path)
                            : pg_snapshot(database_url_, tmp.path);
    fs::remove(tmp_db.path, ec);
    final_path = commit_snapshot(tmp.path, dir, now, sqlite ? ".db.gz" : ".pgdump");
  }
  r.path = final_path.string();
  r.bytes = static_cast<long long>(fs::file_size(final_path, ec));
  if (apply_retention && in_local_dir) r.pruned = prune(now);
  r.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  spdlog::info("backup: {} ({} bytes, {}, reason: {})", r.path, r.bytes, r.verification, reason);
  if (events_) {
    try {
      jarvis::Event e;
      e.type = "backup.snapshot";
      e.component = "system";
      e.actor_type = "system";
      e.actor_id = "system";
      e.payload = {
          {"path", r.path},   {"dialect", r.dialect},           {"bytes", r.bytes},
          {"reason", reason}, {"verification", r.verification}, {"pruned", r.pruned.size()}};
      events_->emit(Owner{}, std::move(e));
    } catch (const std::exception& e) {
      spdlog::warn("backup: the backup.snapshot event was not stored: {}", e.what());
    }
  }
  return r;
}

std::vector<BackupFile> BackupService::list(const std::string& dir_arg) const {
  std::vector<BackupFile> out;
  fs::path dir = dir_arg.empty() ? fs::path(default_dir()) : fs::path(dir_arg);
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string name = it->path().filename().string();
    auto when = backup_time_of(name);
    if (!when || !is_service_snapshot_name(name)) continue;
    out.push_back({it->path().string(), *when, static_cast<long long>(it->file_size(ec))});
  }
  std::sort(out.begin(), out.end(), [](const BackupFile& a, const BackupFile& b) {
    return a.taken_at != b.taken_at ? a.taken_at > b.taken_at : a.path > b.path;
  });
  return out;
}

std::vector<std::string> BackupService::prune(std::chrono::system_clock::time_point now,
                                              const std::string& dir) {
  std::vector<std::string> removed;
  if (settings_.retention_days <= 0) return removed;
  auto cutoff = now - std::chrono::hours(24LL * settings_.retention_days);
  auto files = list(dir);
  for (std::size_t i = 1; i < files.size(); ++i) {  // files[0], the newest, always stays
    if (files[i].taken_at >= cutoff) continue;
    std::error_code ec;
    if (fs::remove(files[i].path, ec)) {
      removed.push_back(files[i].path);
    } else if (ec) {
      spdlog::warn("backup retention: cannot delete {}: {}", files[i].path, ec.message());
    }
  }
  return removed;
}

}  // namespace jarvis::host

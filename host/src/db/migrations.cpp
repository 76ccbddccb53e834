// host/src/db/migrations.cpp — discovers migration files, checks them against schema_migrations,
// and applies pending ones, each in its own transaction, through the backend's native API.
//
// Scripts run through the database's own parser (sqlite3_prepare_v2 over the script's tail on
// SQLite, one multi-statement PQexec on PostgreSQL) rather than a home-made statement splitter:
// trigger bodies (BEGIN … END), PostgreSQL dollar quoting ($$ … $$), E'' strings and nested
// comments then work exactly as in the database's own shell.
#include "db/migrations.h"

#include <libpq-fe.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/sqlite3/soci-sqlite3.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <utility>

#include "jarvis/database.h"
#include "jarvis/strings.h"

namespace jarvis::host {
namespace {

namespace fs = std::filesystem;
using jarvis::Dialect;

// pg_advisory_lock key serialising migration runs across hosts ("jarvis" + 0x0001).
constexpr const char* kAdvisoryLockKey = "7665235698289836033";
// SQLite: BEGIN IMMEDIATE waits up to the 5 s busy timeout per attempt; a concurrent host's
// migration may take longer, so retry this many times before giving up.
constexpr int kSqliteBeginAttempts = 24;

// One row of schema_migrations.
struct AppliedRow {
  std::string name;
  std::string checksum;
  std::string applied_at;
};
using AppliedMap = std::map<std::pair<std::string, std::string>, AppliedRow>;

// Result of running SQL through the native API.
struct NativeResult {
  bool ok = true;
  bool busy = false;    // SQLite: the database is locked by another connection
  std::string message;  // the database's error message
  std::size_t error_offset = std::string::npos;  // byte offset in the script, if known
};

// Lower-case hex SHA-256 of `bytes` (libsodium).
std::string sha256_hex(const std::string& bytes) {
  static const int sodium_ready = sodium_init();
  (void)sodium_ready;  // crypto_hash_sha256 works even if init reported "already initialised"
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw MigrationError("cannot read migration file " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Index of the first byte at or after `i` that is not whitespace or inside a comment.
std::size_t skip_space_and_comments(const std::string& text, std::size_t i) {
  for (;;) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (text.compare(i, 2, "--") == 0) {
      auto nl = text.find('\n', i);
      i = nl == std::string::npos ? text.size() : nl + 1;
    } else if (text.compare(i, 2, "/*") == 0) {
      auto close = text.find("*/", i + 2);
      i = close == std::string::npos ? text.size() : close + 2;
    } else {
      return i;
    }
  }
}

// The 1-based line of the statement starting at byte `offset` (leading comments skipped).
std::size_t line_of(const std::string& text, std::size_t offset) {
  std::size_t i = skip_space_and_comments(text, std::min(offset, text.size()));
  return 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + i, '\n'));
}

// The first word of the statement starting at byte `offset`, upper-cased.
std::string first_keyword(const std::string& text, std::size_t offset) {
  std::size_t i = skip_space_and_comments(text, offset);
  std::string word;
  while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) {
    word += static_cast<char>(std::toupper(static_cast<unsigned char>(text[i++])));
  }
  return word;
}

sqlite_api::sqlite3* sqlite_handle(soci::session& s) {
  return static_cast<soci::sqlite3_session_backend*>(s.get_backend())->conn_;
}

PGconn* pg_handle(soci::session& s) {
  return static_cast<soci::postgresql_session_backend*>(s.get_backend())->conn_;
}

// Runs every statement of `script` on SQLite, stopping at the first error. With
// `refuse_transaction_control`, a BEGIN/COMMIT/END/ROLLBACK statement is refused before it runs
// (statement boundaries come from SQLite's own parser, so trigger bodies are not mistaken).
NativeResult sqlite_run(soci::session& s, const std::string& script,
                        bool refuse_transaction_control) {
  using namespace sqlite_api;
  sqlite3* db = sqlite_handle(s);
  NativeResult r;
  const char* begin = script.c_str();
  const char* p = begin;
  const char* end = begin + script.size();
  while (p < end) {
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v2(db, p, static_cast<int>(end - p), &stmt, &tail);
    if (rc == SQLITE_OK && stmt && refuse_transaction_control) {
      const std::size_t offset = static_cast<std::size_t>(p - begin);
      const std::string word = first_keyword(script, offset);
      if (word == "BEGIN" || word == "COMMIT" || word == "END" || word == "ROLLBACK") {
        sqlite3_finalize(stmt);
        r.ok = false;
        r.message = word + " is not allowed: the runner owns the transaction";
        r.error_offset = offset;
        return r;
      }
    }
    if (rc == SQLITE_OK && stmt) {
      while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      }
      if (rc == SQLITE_DONE) rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK) {
      r.ok = false;
      r.busy = (rc & 0xff) == SQLITE_BUSY;
      r.message = sqlite3_errmsg(db);
      r.error_offset = static_cast<std::size_t>(p - begin);
      sqlite3_finalize(stmt);
      return r;
    }
    sqlite3_finalize(stmt);
    if (!tail || tail <= p) break;
    p = tail;
  }
  return r;
}

// Runs `script` on PostgreSQL in one PQexec (several statements allowed), stopping at the first
// error.
NativeResult pg_run(soci::session& s, const std::string& script) {
  PGconn* conn = pg_handle(s);
  NativeResult r;
  PGresult* res = PQexec(conn, script.c_str());
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
    PQclear(res);
    return r;
  }
  r.ok = false;
  const char* primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  r.message = primary ? primary : jarvis::trimmed(PQerrorMessage(conn));
  if (const char* detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : nullptr) {
    r.message += std::string(" (") + detail + ")";
  }
  if (const char* pos = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : nullptr) {
    // A 1-based character (not byte) index into the script.
    long chars = std::strtol(pos, nullptr, 10);
    std::size_t i = 0;
    for (long seen = 0; i < script.size(); ++i) {
      if ((static_cast<unsigned char>(script[i]) & 0xC0) != 0x80 && ++seen == chars) break;
    }
    r.error_offset = i;
  }
  PQclear(res);
  return r;
}

// Runs transaction control or bookkeeping SQL written by the runner itself.
NativeResult run_script(soci::session& s, Dialect d, const std::string& script) {
  return d == Dialect::Sqlite ? sqlite_run(s, script, false) : pg_run(s, script);
}

// Runs the body of a migration file inside the runner's transaction.
NativeResult run_migration_body(soci::session& s, Dialect d, const std::string& script) {
  return d == Dialect::Sqlite ? sqlite_run(s, script, true) : pg_run(s, script);
}

// True while the connection is inside a transaction (a script must not end ours).
bool in_transaction(soci::session& s, Dialect d) {
  if (d == Dialect::Sqlite) return sqlite_api::sqlite3_get_autocommit(sqlite_handle(s)) == 0;
  auto st = PQtransactionStatus(pg_handle(s));
  return st == PQTRANS_INTRANS || st == PQTRANS_INERROR;
}

// A transaction on the native connection, rolled back on destruction unless committed.
// SQLite uses BEGIN IMMEDIATE so the write lock is held from the start (no upgrade deadlocks).
class ScriptTransaction {
 public:
  ScriptTransaction(soci::session& s, Dialect d) : s_(s), d_(d) {
    const std::string begin = d == Dialect::Sqlite ? "BEGIN IMMEDIATE" : "BEGIN";
    NativeResult r;
    for (int attempt = 0; attempt < kSqliteBeginAttempts; ++attempt) {
      r = run_script(s_, d_, begin);
      if (r.ok || !r.busy) break;
      spdlog::info("migrations: database is locked by another process, waiting");
    }
    if (!r.ok) throw MigrationError("cannot begin a migration transaction: " + r.message);
  }
  ~ScriptTransaction() {
    if (!done_ && in_transaction(s_, d_)) {
      NativeResult r = run_script(s_, d_, "ROLLBACK");
      if (!r.ok) spdlog::error("migrations: ROLLBACK failed: {}", r.message);
    }
  }
  ScriptTransaction(const ScriptTransaction&) = delete;
  ScriptTransaction& operator=(const ScriptTransaction&) = delete;

  void commit() {
    NativeResult r = run_script(s_, d_, "COMMIT");
    if (!r.ok) throw MigrationError("cannot commit a migration transaction: " + r.message);
    done_ = true;
  }

 private:
  soci::session& s_;
  Dialect d_;
  bool done_ = false;
};

// PostgreSQL: a session-level advisory lock held for a whole migration run.
class PgRunLock {
 public:
  explicit PgRunLock(soci::session& s) : s_(s) {
    NativeResult r = pg_run(s_, std::string("SELECT pg_advisory_lock(") + kAdvisoryLockKey + ")");
    if (!r.ok) throw MigrationError("cannot take the migration lock: " + r.message);
  }
  ~PgRunLock() {
    NativeResult r = pg_run(s_, std::string("SELECT pg_advisory_unlock(") + kAdvisoryLockKey + ")");
    if (!r.ok) spdlog::error("migrations: releasing the advisory lock failed: {}", r.message);
  }
  PgRunLock(const PgRunLock&) = delete;
  PgRunLock& operator=(const PgRunLock&) = delete;

 private:
  soci::session& s_;
};

constexpr const char* kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " component TEXT NOT NULL,"
    " version BIGINT NOT NULL,"
    " name TEXT NOT NULL,"
    " checksum TEXT NOT NULL,"
    " applied_at TEXT NOT NULL,"
    " PRIMARY KEY (component, version))";

// Creates schema_migrations if absent. On PostgreSQL a concurrent CREATE TABLE IF NOT EXISTS can
// still fail on the catalog's unique index, so creation happens under the advisory lock
// (`have_lock` says the caller already holds it).
void ensure_table(soci::session& s, Dialect d, bool have_lock) {
  if (d == Dialect::Postgresql && !have_lock) {
    int exists = 0;
    s << "SELECT CASE WHEN to_regclass('schema_migrations') IS NULL THEN 0 ELSE 1 END",
        soci::into(exists);
    if (exists) return;
    PgRunLock lock(s);
    ensure_table(s, d, true);
    return;
  }
  NativeResult r = run_script(s, d, kCreateTable);
  if (!r.ok) throw MigrationError("cannot create table schema_migrations: " + r.message);
}

AppliedMap load_applied(soci::session& s) {
  AppliedMap out;
  std::string component, version, name, checksum, applied_at;
  soci::statement st =
      (s.prepare << "SELECT component, CAST(version AS TEXT), name, checksum, applied_at "
                    "FROM schema_migrations",
       soci::into(component), soci::into(version), soci::into(name), soci::into(checksum),
       soci::into(applied_at));
  st.execute();
  while (st.fetch()) out[{component, version}] = AppliedRow{name, checksum, applied_at};
  return out;
}

std::string file_label(const MigrationFile& f) {
  return f.component + "/" + fs::path(f.path).filename().string();
}

std::string mismatch_message(const MigrationFile& f, const std::string& recorded) {
  return "migration " + file_label(f) + " (" + f.path +
         ") was changed after it was applied: recorded checksum " + recorded + ", file now has " +
         f.checksum +
         ". Applied migrations must not be edited; restore the file and add a new migration";
}

// A parsed candidate file name.
struct Candidate {
  unsigned long long version = 0;
  std::string name;
  std::string filename;
  std::string path;
};

// Slots per version: 0 portable, 1 sqlite, 2 postgresql.
using VersionSlots = std::array<std::optional<Candidate>, 3>;

std::vector<MigrationFile> discover_one(const MigrationSource& src, Dialect dialect) {
  if (src.component.empty()) throw MigrationError("a migration source has no component name");
  std::error_code ec;
  if (!fs::is_directory(src.dir, ec)) {
    throw MigrationError("migrations for " + src.component + ": directory " + src.dir +
                         " does not exist");
  }
  static const std::regex pattern(
      R"(^([0-9]+)_([A-Za-z0-9][A-Za-z0-9_-]*?)(\.(sqlite|postgresql))?\.sql$)");
  std::map<unsigned long long, VersionSlots> versions;
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(src.dir, ec)) entries.push_back(e.path());
  if (ec) {
    throw MigrationError("migrations for " + src.component + ": cannot list " + src.dir + ": " +
                         ec.message());
  }
  std::sort(entries.begin(), entries.end());
  for (const auto& p : entries) {
    std::string filename = p.filename().string();
    if (filename.empty() || filename[0] == '.' || p.extension() != ".sql") continue;
    if (!fs::is_regular_file(p, ec)) continue;
    std::smatch m;
    if (!std::regex_match(filename, m, pattern)) {
      throw MigrationError("migration file " + src.component + "/" + filename +
                           " is not named NNN_name.sql, NNN_name.sqlite.sql or "
                           "NNN_name.postgresql.sql (name: letters, digits, _ and -)");
    }
    std::string digits = m[1].str();
    auto nz = digits.find_first_not_of('0');
    std::string canonical = nz == std::string::npos ? "0" : digits.substr(nz);
    if (canonical.size() > 18) {
      throw MigrationError("migration file " + src.component + "/" + filename +
                           " has a version number with more than 18 digits");
    }
    Candidate c{std::stoull(canonical), m[2].str(), filename, p.string()};
    std::string dialect_tag = m[4].str();
    std::size_t slot = dialect_tag.empty() ? 0 : dialect_tag == "sqlite" ? 1 : 2;
    auto& slots = versions[c.version];
    if (slots[slot]) {
      throw MigrationError("migrations for " + src.component + ": duplicate version " + canonical +
                           " (" + slots[slot]->filename + " and " + filename + ")");
    }
    for (const auto& other : slots) {
      if (other && other->name != c.name) {
        throw MigrationError("migrations for " + src.component + ": version " + canonical +
                             " has files with different names (" + other->filename + " and " +
                             filename + "); a dialect-specific file must repeat the name");
      }
    }
    slots[slot] = std::move(c);
  }
  std::vector<MigrationFile> out;
  const std::size_t want = dialect == Dialect::Sqlite ? 1 : 2;
  for (auto& [version, slots] : versions) {
    const std::optional<Candidate>& chosen = slots[want] ? slots[want] : slots[0];
    if (!chosen) continue;  // only the other dialect has a file for this version
    MigrationFile f;
    f.component = src.component;
    f.version = std::to_string(version);
    f.name = chosen->name;
    f.path = chosen->path;
    f.checksum = sha256_hex(read_bytes(chosen->path));
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace

MigrationRunner::MigrationRunner(SqlDatabase& db) : db_(db) {}

std::vector<MigrationFile> MigrationRunner::discover(const std::vector<MigrationSource>& sources,
                                                     Dialect dialect) {
  std::vector<MigrationFile> all;
  std::vector<std::string> seen;
  for (const auto& src : sources) {
    if (std::find(seen.begin(), seen.end(), src.component) != seen.end()) {
      throw MigrationError("migration component " + src.component + " is listed twice");
    }
    seen.push_back(src.component);
    auto files = discover_one(src, dialect);
    all.insert(all.end(), std::make_move_iterator(files.begin()),
               std::make_move_iterator(files.end()));
  }
  return all;
}

std::vector<MigrationState> MigrationRunner::status(const std::vector<MigrationSource>& sources) {
  auto files = discover(sources, db_.dialect());
  auto sql = db_.session();
  ensure_table(*sql, db_.dialect(), false);
  AppliedMap applied = load_applied(*sql);
  std::vector<MigrationState> out;
  out.reserve(files.size());
  for (auto& f : files) {
    MigrationState st;
    auto it = applied.find({f.component, f.version});
    if (it != applied.end()) {
      st.applied = true;
      st.applied_at = it->second.applied_at;
      st.checksum_mismatch = it->second.checksum != f.checksum;
    }
    st.file = std::move(f);
    out.push_back(std::move(st));
  }
  return out;
}

bool MigrationRunner::up_to_date(const std::vector<MigrationSource>& sources) {
  for (const auto& st : status(sources)) {
    if (!st.applied || st.checksum_mismatch) return false;
  }
  return true;
}

std::vector<MigrationFile> MigrationRunner::apply(const std::vector<MigrationSource>& sources) {
  const Dialect dialect = db_.dialect();
  auto files = discover(sources, dialect);
  auto sql = db_.session();
  std::optional<PgRunLock> lock;
  if (dialect == Dialect::Postgresql) lock.emplace(*sql);
  ensure_table(*sql, dialect, true);

  // Refuse before touching anything if an applied file was edited.
  AppliedMap applied = load_applied(*sql);
  for (const auto& f : files) {
    auto it = applied.find({f.component, f.version});
    if (it != applied.end() && it->second.checksum != f.checksum) {
      throw MigrationError(mismatch_message(f, it->second.checksum));
    }
  }

  std::vector<MigrationFile> done;
  for (const auto& f : files) {
    if (applied.count({f.component, f.version})) continue;
    const long long version = std::stoll(f.version);
    std::string script = read_bytes(f.path);
    if (sha256_hex(script) != f.checksum) {
      throw MigrationError("migration " + file_label(f) + " changed while migrating; run again");
    }

    ScriptTransaction tx(*sql, dialect);
    // Another process may have applied it since we looked (SQLite has no run-wide lock).
    int count = 0;
    std::string recorded;
    *sql << "SELECT COUNT(*), COALESCE(MAX(checksum), '') FROM schema_migrations "
            "WHERE component = :c AND version = :v",
        soci::use(f.component), soci::use(version), soci::into(count), soci::into(recorded);
    if (count > 0) {
      if (recorded != f.checksum) throw MigrationError(mismatch_message(f, recorded));
      continue;  // rolled back by tx's destructor; nothing to do
    }

    NativeResult r = run_migration_body(*sql, dialect, script);
    if (!r.ok) {
      std::string where = r.error_offset == std::string::npos
                              ? ""
                              : " at line " + std::to_string(line_of(script, r.error_offset));
      throw MigrationError("migration " + file_label(f) + " (" + f.path + ") failed" + where +
                           ": " + r.message + "; rolled back, nothing recorded");
    }
    if (!in_transaction(*sql, dialect)) {
      throw MigrationError("migration " + file_label(f) +
                           " ended the runner's transaction itself (it contains COMMIT, "
                           "ROLLBACK or END); remove transaction control from migration files");
    }
    try {
      const std::string now = jarvis::now_iso();
      *sql << "INSERT INTO schema_migrations(component, version, name, checksum, applied_at) "
              "VALUES(:c, :v, :n, :k, :t)",
          soci::use(f.component), soci::use(version), soci::use(f.name), soci::use(f.checksum),
          soci::use(now);
      tx.commit();
    } catch (const soci::soci_error& e) {
      throw MigrationError("migration " + file_label(f) + " could not be recorded: " +
                           jarvis::trimmed(e.what()) + "; rolled back");
    }
    spdlog::info("migrations: applied {}", file_label(f));
    done.push_back(f);
  }
  return done;
}

}  // namespace jarvis::host

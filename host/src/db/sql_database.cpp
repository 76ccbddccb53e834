// host/src/db/sql_database.cpp — opens the SOCI connection pool on SQLite or PostgreSQL from a
// database URL, configures every pooled session, and keeps passwords out of every message.
#include "db/sql_database.h"

#include "db/transaction.h"
#include "jarvis/error.h"
#include "jarvis/sql.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/sqlite3/soci-sqlite3.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>
#include <vector>

namespace jarvis::host {
namespace {

namespace fs = std::filesystem;

// Where a URL points, in the form each backend wants.
struct Target {
  Dialect dialect = Dialect::Sqlite;
  std::string sqlite_path;           // SQLite: file path (or ":memory:")
  std::string pg_connect;            // PostgreSQL: the libpq URI handed to SOCI
  std::string display;               // the URL with any password replaced by "***"
  std::vector<std::string> secrets;  // strings that must never appear in a message
};

// Replaces every occurrence of each secret in `text` with "***".
std::string scrub(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) {
    if (s.empty()) continue;
    for (auto pos = text.find(s); pos != std::string::npos; pos = text.find(s, pos + 3)) {
      text.replace(pos, s.size(), "***");
    }
  }
  return text;
}

// Removes trailing whitespace (libpq messages end in '\n').
std::string trim_right(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// Redacts the password of a postgresql:// URL (userinfo and `password=` query parameter) and
// collects the raw password strings as secrets.
std::string redact_pg_url(const std::string& url, std::vector<std::string>& secrets) {
  std::string out = url;
  auto scheme_end = out.find("://");
  std::size_t auth_begin = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  auto auth_end = out.find_first_of("/?#", auth_begin);
  if (auth_end == std::string::npos) auth_end = out.size();
  auto at = out.rfind('@', auth_end == 0 ? 0 : auth_end - 1);
  if (at != std::string::npos && at >= auth_begin && at < auth_end) {
    auto colon = out.find(':', auth_begin);
    if (colon != std::string::npos && colon < at) {
      secrets.push_back(out.substr(colon + 1, at - colon - 1));
      out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  auto query = out.find('?');
  while (query != std::string::npos) {
    auto key_begin = query + 1;
    auto eq = out.find('=', key_begin);
    auto amp = out.find('&', key_begin);
    if (eq != std::string::npos && (amp == std::string::npos || eq < amp)) {
      std::string key = out.substr(key_begin, eq - key_begin);
      auto value_end = amp == std::string::npos ? out.size() : amp;
      if (key == "password") {
        secrets.push_back(out.substr(eq + 1, value_end - eq - 1));
        out.replace(eq + 1, value_end - eq - 1, "***");
        amp = out.find('&', eq + 4);
      }
    }
    query = amp;
  }
  return out;
}

// Validates a postgresql:// URI with libpq's own parser and prepares the string for SOCI.
//
// SOCI 4.0.3's PostgreSQL factory re-tokenises its connect string as whitespace-separated
// key=value pairs and rebuilds it without quotes (its constructor taking the string verbatim is
// not exported). A string without whitespace or double quotes that contains an '=' survives that
// unchanged, and a URI always qualifies once it carries a query parameter: whitespace and quotes
// must be percent-encoded in a URI anyway. libpq then parses the URI itself (percent-decoding,
// every query parameter).
void parse_postgresql(const std::string& url, Target& t) {
  t.dialect = Dialect::Postgresql;
  t.display = redact_pg_url(url, t.secrets);
  for (char c : url) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '"') {
      throw std::runtime_error("invalid PostgreSQL URL " + t.display +
                               ": spaces and double quotes must be percent-encoded (%20, %22)");
    }
  }
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
  if (!opts) {
    std::string msg = err ? trim_right(err) : "out of memory";
    if (err) PQfreemem(err);
    throw std::runtime_error("invalid PostgreSQL URL " + t.display + ": " + scrub(msg, t.secrets));
  }
  bool has_timeout = false;
  for (PQconninfoOption* o = opts; o->keyword; ++o) {
    if (!o->val) continue;
    std::string key = o->keyword;
    if (key == "password") t.secrets.emplace_back(o->val);
    if (key == "connect_timeout") has_timeout = true;
  }
  PQconninfoFree(opts);
  t.pg_connect = url;
  // Without a timeout an unreachable host blocks start-up for minutes; this also guarantees the
  // '=' that keeps the URI intact through SOCI (see above).
  if (!has_timeout) {
    t.pg_connect += url.find('?') == std::string::npos ? "?" : "&";
    t.pg_connect += "connect_timeout=10";
  }
}

// Classifies `url` and extracts what the backend needs.
Target parse_url(const std::string& url) {
  Target t;
  if (url.empty()) {
    throw std::runtime_error(
        "empty database URL (use a file path, sqlite:///abs/path.db or "
        "postgresql://user@host:port/dbname)");
  }
  auto scheme_end = url.find("://");
  std::string scheme;
  if (scheme_end != std::string::npos) {
    scheme = url.substr(0, scheme_end);
    bool looks_like_scheme = !scheme.empty() && std::isalpha(static_cast<unsigned char>(scheme[0]));
    for (char c : scheme) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
        looks_like_scheme = false;
      }
    }
    if (!looks_like_scheme) scheme.clear();
  }
  if (scheme == "postgresql" || scheme == "postgres") {
    parse_postgresql(url, t);
    return t;
  }
  if (!scheme.empty() && scheme != "sqlite") {
    std::vector<std::string> secrets;
    throw std::runtime_error("unsupported database URL scheme '" + scheme + "' in " +
                             redact_pg_url(url, secrets) +
                             " (use sqlite:///abs/path.db, a file path, or postgresql://…)");
  }
  t.dialect = Dialect::Sqlite;
  t.sqlite_path = scheme == "sqlite" ? url.substr(scheme_end + 3) : url;
  t.display = url;
  if (t.sqlite_path.empty()) {
    throw std::runtime_error("database URL " + url + " names no SQLite file");
  }
  if (t.sqlite_path.find('"') != std::string::npos) {
    throw std::runtime_error("SQLite path " + t.sqlite_path +
                             " contains a double quote, which is not supported");
  }
  return t;
}

// Runs a one-row PRAGMA and returns its text value.
std::string pragma(soci::session& s, const std::string& statement) {
  std::string value;
  soci::indicator ind = soci::i_ok;
  s << statement, soci::into(value, ind);
  return ind == soci::i_ok ? value : "";
}

// The raw SQLite handle behind a soci session.
sqlite_api::sqlite3* sqlite_handle(soci::session& s) {
  return static_cast<soci::sqlite3_session_backend*>(s.get_backend())->conn_;
}

// Opens and configures one SQLite session of the pool.
void open_sqlite(soci::session& s, const Target& t) {
  s.open(soci::sqlite3, "db=\"" + t.sqlite_path + "\" timeout=5");
  s << "PRAGMA busy_timeout=5000";
  std::string mode = pragma(s, "PRAGMA journal_mode=WAL");
  if (t.sqlite_path != ":memory:" && mode != "wal") {
    throw std::runtime_error("could not switch to WAL journal mode (got '" + mode + "')");
  }
  s << "PRAGMA foreign_keys=ON";
  s << "PRAGMA synchronous=NORMAL";
  // 16 MB page cache (default 2 MB): a scheduler tick over thousands of schedules otherwise
  // re-reads index pages it just wrote (measured: 120 ms instead of 185 ms for 10,000 updates).
  s << "PRAGMA cache_size=-16000";
  // FTS5 ranking with the caller's document counts (jarvis/sql.h, decision 0098).
  jarvis::sql::enable_fts5_ranking(s);
}

// libpq prints server NOTICEs to stderr by default; route them to the debug log instead.
void pg_notice(void*, const char* message) {
  spdlog::debug("postgresql: {}", trim_right(message ? message : ""));
}

// Opens and configures one PostgreSQL session of the pool.
void open_postgresql(soci::session& s, const Target& t, const std::string& origin) {
  s.open(soci::postgresql, t.pg_connect);
  auto* backend = static_cast<soci::postgresql_session_backend*>(s.get_backend());
  PQsetNoticeProcessor(backend->conn_, pg_notice, nullptr);
  // A custom setting, so an application_name given in DATABASE_URL stays the operator's.
  s << "SET jarvis.origin = '" + origin + "'";  // origin: [A-Za-z0-9_.:-] only
}

bool safe_origin(const std::string& origin) {
  if (origin.empty() || origin.size() > 63) return false;
  for (char c : origin) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' &&
        c != ':') {
      return false;
    }
  }
  return true;
}

}  // namespace

// SQLite checkpoints its WAL into the database file in the commit that takes the WAL past 1,000
// pages (sqlite3_wal_autocheckpoint): that writer — the host's write gate still held — copies
// those pages and syncs the file, and every other writer waits; `bench/chat.sh` showed a ~21 ms
// stall every ~40 steps on its own. Here each pool connection's WAL hook only signals this
// thread, which runs a PASSIVE checkpoint (it never blocks readers or writers) on a connection
// of its own (decision 0098).
class WalCheckpointer {
 public:
  static constexpr int kPages = 1000;  // SQLite's own autocheckpoint threshold

  soci::session& session() { return session_; }
  void start() {
    // The thread takes no signals: the database opens before the server blocks SIGTERM/SIGINT
    // for the threads it starts, and a stop signal delivered here would kill the process.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    thread_ = std::thread([this] { loop(); });
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }
  ~WalCheckpointer() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  static int on_commit(void* self, sqlite_api::sqlite3*, const char*, int pages) {
    if (pages >= kPages) static_cast<WalCheckpointer*>(self)->due();
    return SQLITE_OK;
  }
  long long checkpoints() const { return done_.load(); }

 private:
  void due() {
    {
      std::lock_guard lock(mu_);
      due_ = true;
    }
    cv_.notify_one();
  }
  void loop() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return due_ || stop_; });
      if (stop_) return;
      due_ = false;
      lock.unlock();
      int log = 0, copied = 0;
      const int rc = sqlite_api::sqlite3_wal_checkpoint_v2(
          sqlite_handle(session_), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        spdlog::warn("database: WAL checkpoint failed: {}", sqlite_api::sqlite3_errstr(rc));
      }
      done_.fetch_add(1);
      lock.lock();
    }
  }

  soci::session session_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool due_ = false;
  bool stop_ = false;
  std::atomic<long long> done_{0};
};

SqlDatabase::SqlDatabase(jarvis::Dialect d, std::size_t n, std::string display_url)
    : dialect_(d), pool_size_(n), display_url_(std::move(display_url)) {}

SqlDatabase::~SqlDatabase() {
  std::lock_guard lock(pool_mu_);
  if (idle_.size() != connections_.size()) {
    // A borrowed session outlives its pool: its deleter would touch freed memory.
    spdlog::error("database {}: {} session(s) still borrowed at close", display_url_,
                  connections_.size() - idle_.size());
  }
  for (auto& c : connections_) {
    jarvis::sql::disable_statement_cache(*c);
    if (checkpointer_) sqlite_api::sqlite3_wal_hook(sqlite_handle(*c), nullptr, nullptr);
  }
}

long long SqlDatabase::wal_checkpoints() const {
  return checkpointer_ ? checkpointer_->checkpoints() : 0;
}

const std::string& SqlDatabase::process_origin() {
  static const std::string origin = [] {
    std::string id = jarvis::new_id("x");  // "x_" + random hex
    auto hex = id.substr(id.find('_') + 1, 12);
    return "jarvis-" + hex;
  }();
  return origin;
}

std::unique_ptr<SqlDatabase> SqlDatabase::open(const std::string& url, std::size_t pool_size,
                                               const std::string& origin) {
  Target t = parse_url(url);
  const std::string& app_name = origin.empty() ? process_origin() : origin;
  if (!safe_origin(app_name)) {
    throw std::runtime_error("database origin '" + app_name +
                             "' must be 1-63 characters of [A-Za-z0-9_.:-]");
  }
  if (pool_size == 0) {
    throw std::runtime_error("database pool size must be at least 1 (for " + t.display + ")");
  }
  if (t.dialect == Dialect::Sqlite && t.sqlite_path == ":memory:" && pool_size != 1) {
    throw std::runtime_error(
        "an in-memory SQLite database is private to one connection: use pool size 1 or a file");
  }
  if (t.dialect == Dialect::Sqlite && t.sqlite_path != ":memory:") {
    fs::path parent = fs::path(t.sqlite_path).parent_path();
    std::error_code ec;
    if (!parent.empty()) fs::create_directories(parent, ec);
    if (ec) {
      throw std::runtime_error("cannot create directory " + parent.string() +
                               " for the SQLite database: " + ec.message());
    }
  }

  std::unique_ptr<SqlDatabase> db(new SqlDatabase(t.dialect, pool_size, t.display));
  if (t.dialect == Dialect::Postgresql) db->connect_string_ = t.pg_connect;
  db->origin_ = app_name;
  for (std::size_t i = 0; i < pool_size; ++i) {
    db->connections_.push_back(std::make_unique<soci::session>());
    soci::session& s = *db->connections_.back();
    try {
      if (t.dialect == Dialect::Sqlite) {
        open_sqlite(s, t);
      } else {
        open_postgresql(s, t, app_name);
      }
    } catch (const std::exception& e) {
      std::string what = trim_right(e.what());
      // SOCI prefixes libpq's message with a generic line; keep the informative part.
      const std::string generic = "Cannot establish connection to the database.";
      if (what.rfind(generic, 0) == 0) {
        std::string rest = trim_right(what.substr(generic.size()));
        while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.front()))) {
          rest.erase(rest.begin());
        }
        if (!rest.empty()) what = rest;
      }
      for (auto& c : what) {
        if (c == '\n' || c == '\t') c = ' ';
      }
      throw std::runtime_error("cannot open database " + t.display + ": " + scrub(what, t.secrets));
    }
  }
  if (t.dialect == Dialect::Sqlite && t.sqlite_path != ":memory:") {
    db->checkpointer_ = std::make_unique<WalCheckpointer>();
    open_sqlite(db->checkpointer_->session(), t);
    db->checkpointer_->start();
    for (auto& c : db->connections_) {
      sqlite_api::sqlite3_wal_hook(sqlite_handle(*c), &WalCheckpointer::on_commit,
                                   db->checkpointer_.get());
    }
  }
  for (auto& c : db->connections_) {
    // Prepared-statement reuse for jarvis/sql.h and the host's exec_sql/query_sql (SQLite only;
    // decision 0087). The destructor drops the caches before the sessions.
    jarvis::sql::enable_statement_cache(*c);
    db->idle_.push_back(c.get());
  }
  return db;
}

jarvis::DbSession SqlDatabase::session() { return session(session_timeout()); }

jarvis::DbSession SqlDatabase::session(std::chrono::milliseconds timeout) {
  std::unique_lock lock(pool_mu_);
  if (timeout < std::chrono::milliseconds(0)) timeout = std::chrono::milliseconds(0);
  if (!pool_cv_.wait_for(lock, timeout, [&] { return !idle_.empty(); })) {
    throw jarvis::Error(503, "database_busy",
                        "all " + std::to_string(pool_size_) +
                            " database sessions stayed in use for " +
                            std::to_string(timeout.count()) +
                            " ms (JARVIS_DB_POOL_SIZE, JARVIS_DB_SESSION_TIMEOUT_MS); retry "
                            "shortly");
  }
  soci::session* s = idle_.back();
  idle_.pop_back();
  return jarvis::DbSession(s, jarvis::DbSessionReturn(&SqlDatabase::give_back, this));
}

void SqlDatabase::give_back(void* self, soci::session* session) noexcept {
  auto* db = static_cast<SqlDatabase*>(self);
  {
    std::lock_guard lock(db->pool_mu_);
    db->idle_.push_back(session);
  }
  db->pool_cv_.notify_one();
}

jarvis::DbTransaction SqlDatabase::transaction() {
  return std::make_unique<HostTransaction>(*this, session_timeout());
}

void SqlDatabase::set_session_timeout(std::chrono::milliseconds timeout) {
  std::lock_guard lock(pool_mu_);
  session_timeout_ = timeout;
}

std::chrono::milliseconds SqlDatabase::session_timeout() const {
  std::lock_guard lock(pool_mu_);
  return session_timeout_;
}

std::size_t SqlDatabase::idle_sessions() const {
  std::lock_guard lock(pool_mu_);
  return idle_.size();
}

std::chrono::milliseconds SqlDatabase::parse_session_timeout(const std::string& value) {
  if (value.empty()) return std::chrono::milliseconds(5000);
  std::size_t pos = 0;
  long long n = -1;
  try {
    n = std::stoll(value, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos != value.size() || n < 1 || n > 600000) {
    throw std::runtime_error("invalid JARVIS_DB_SESSION_TIMEOUT_MS=" + value +
                             ": expected milliseconds between 1 and 600000");
  }
  return std::chrono::milliseconds(n);
}

}  // namespace jarvis::host

// host/src/system/system_state.cpp — lockdown, unlock codes, automatic triggers and the watchdog
// (see system_state.h and docs/decisions/0008-lockdown-and-restart.md); the controlled restart is
// in restart.cpp.
#include "system/system_state.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/config.h"
#include "jarvis/error.h"
#include "db/sql_database.h"
#include "http/dispatcher.h"
#include "http/router.h"
#include "jarvis/subprocess.h"
#include "observability/metrics.h"
#include "registry/event_bus.h"

namespace jarvis::host {

namespace {

constexpr const char* kSelectRow =
    "SELECT lockdown, lockdown_reason, lockdown_since, lockdown_by, restarting, "
    "restart_requested_by, restart_requested_at, restart_trace_id, updated_at, "
    "unlock_code_expires_at FROM system_state WHERE id = 1";

bool parse_bool_key(const ConfigStore& store, const std::string& key, bool fallback) {
  auto v = store.get(key);
  if (!v || v->value.empty()) return fallback;
  auto b = parse_bool(v->value);
  if (!b) {
    throw std::runtime_error("invalid " + key + "=" + v->value + " (from " + v->origin +
                             "): expected bool (1/0, true/false, yes/no, on/off)");
  }
  return *b;
}

long long affected(soci::statement& st) { return st.get_affected_rows(); }

bool six_digits(const std::string& code) {
  return code.size() == 6 &&
         std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Writes `content` to `path` with mode 0600: a temporary file in the same directory (O_EXCL,
// O_NOFOLLOW), fsync, then rename over the target, so a reader sees the old or the new code.
// Returns the temporary path, renamed by commit_file(); throws on failure.
std::string write_private_temp(const std::string& path, const std::string& content) {
  namespace fs = std::filesystem;
  fs::path target(path);
  if (target.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec) {
      throw std::runtime_error("cannot create " + target.parent_path().string() + ": " +
                               ec.message());
    }
  }
  unsigned char rnd[8];
  randombytes_buf(rnd, sizeof rnd);
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, ".tmp.%d.%02x%02x%02x%02x", static_cast<int>(getpid()),
                rnd[0], rnd[1], rnd[2], rnd[3]);
  std::string tmp = path + suffix;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + tmp + ": " + std::strerror(errno));
  bool ok = ::fchmod(fd, 0600) == 0;
  std::size_t done = 0;
  while (ok && done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  int saved = errno;
  ok = ok && ::fsync(fd) == 0;
  if (!ok) saved = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(saved));
  }
  return tmp;
}

void commit_file(const std::string& tmp, const std::string& path) {
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot rename " + tmp + " to " + path + ": " + std::strerror(saved));
  }
}

std::string absolute(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Options

SystemOptions SystemOptions::from(const ConfigStore& store) {
  SystemOptions o;
  o.lockdown_default = parse_bool_key(store, "LOCKDOWN_DEFAULT", o.lockdown_default);
  o.readyz_fail_threshold =
      static_cast<int>(store.get_int("LOCKDOWN_READYZ_FAIL_THRESHOLD", 3, 1, 1000));
  o.readiness_interval =
      std::chrono::seconds(store.get_int("LOCKDOWN_READYZ_CHECK_INTERVAL_SECONDS", 30, 1, 86400));
  o.rollback_threshold = static_cast<int>(store.get_int("LOCKDOWN_ROLLBACK_THRESHOLD", 2, 1, 1000));
  o.rollback_window =
      std::chrono::minutes(store.get_int("LOCKDOWN_ROLLBACK_WINDOW_MINUTES", 30, 1, 525600));
  o.unlock_code_ttl =
      std::chrono::minutes(store.get_int("ADMIN_UNLOCK_CODE_TTL_MINUTES", 10, 1, 1440));
  o.unlock_code_path = store.get_or("ADMIN_UNLOCK_CODE_PATH", o.unlock_code_path);
  if (o.unlock_code_path.empty()) o.unlock_code_path = "./var/unlock_code";
  o.restart_command = store.get_or("RESTART_COMMAND", "");
  o.restart_command_timeout =
      std::chrono::seconds(store.get_int("RESTART_COMMAND_TIMEOUT_SECONDS", 60, 1, 3600));
  o.task_drain_timeout =
      std::chrono::seconds(store.get_int("TASK_RUNNER_SHUTDOWN_TIMEOUT_SECONDS", 30, 0, 3600));
  o.http_drain_timeout =
      std::chrono::seconds(store.get_int("RESTART_HTTP_DRAIN_SECONDS", 10, 0, 3600));
  o.retry_after_seconds =
      static_cast<int>(store.get_int("RESTART_RETRY_AFTER_SECONDS", 30, 1, 3600));
  return o;
}

const std::vector<SettingDecl>& system_setting_decls() {
  static const std::vector<SettingDecl> decls = {
      {"LOCKDOWN_DEFAULT", ConfigType::Bool, "0", false, "start in lockdown"},
      {"LOCKDOWN_READYZ_FAIL_THRESHOLD", ConfigType::Int, "3", false,
       "consecutive failed readiness checks that trigger a lockdown"},
      {"LOCKDOWN_READYZ_CHECK_INTERVAL_SECONDS", ConfigType::Int, "30", false,
       "interval of the internal readiness watchdog"},
      {"LOCKDOWN_ROLLBACK_THRESHOLD", ConfigType::Int, "2", false,
       "rollbacks within the window that trigger a lockdown"},
      {"LOCKDOWN_ROLLBACK_WINDOW_MINUTES", ConfigType::Int, "30", false, "rollback burst window"},
      {"ADMIN_UNLOCK_CODE_TTL_MINUTES", ConfigType::Int, "10", false,
       "lifetime of an unlock code (rotated at the same interval)"},
      {"ADMIN_UNLOCK_CODE_PATH", ConfigType::String, "./var/unlock_code", false,
       "file (mode 0600) the current unlock code is written to"},
      {"RESTART_COMMAND", ConfigType::String, "", false,
       "command (/bin/sh -c) that restarts the service; empty = re-execute in place"},
      {"RESTART_COMMAND_TIMEOUT_SECONDS", ConfigType::Int, "60", false,
       "time limit of RESTART_COMMAND"},
      {"RESTART_HTTP_DRAIN_SECONDS", ConfigType::Int, "10", false,
       "how long a restart waits for in-flight HTTP requests"},
      {"RESTART_RETRY_AFTER_SECONDS", ConfigType::Int, "30", false,
       "Retry-After of webhook answers during a restart"},
  };
  return decls;
}

// ---------------------------------------------------------------------------------------------
// SystemState

SystemState::SystemState(SqlDatabase& db, EventBusImpl* events, SystemOptions options,
                         MetricsRegistry* metrics)
    : db_(db), events_(events), metrics_(metrics), options_(std::move(options)) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
  // Before the host's migrations ran (a fresh database, `jarvis migrate --status`) the row does not
  // exist yet: the state reads as the defaults until refresh() after migrating.
  try {
    load_row();  // also sets the jarvis_system_* gauges (updated on every change, no collector)
  } catch (const std::exception& e) {
    spdlog::debug("system state not loaded yet: {}", e.what());
  }
}

SystemState::~SystemState() {
  stop();
  if (restart_thread_.joinable()) restart_thread_.join();
}

void SystemState::load_row() {
  auto sql = db_.session();
  int lock = 0, restart = 0;
  std::string reason, since, by, rby, rat, rtrace, updated, expires;
  *sql << kSelectRow, soci::into(lock), soci::into(reason), soci::into(since), soci::into(by),
      soci::into(restart), soci::into(rby), soci::into(rat), soci::into(rtrace),
      soci::into(updated), soci::into(expires);
  if (!sql->got_data()) {
    throw std::runtime_error("the system_state row is missing: run `jarvis migrate`");
  }
  std::lock_guard lk(mu_);
  snapshot_.lockdown = lock != 0;
  snapshot_.lockdown_reason = reason;
  snapshot_.lockdown_since = since;
  snapshot_.lockdown_by = by;
  snapshot_.restarting = restart != 0;
  snapshot_.restart_requested_by = rby;
  snapshot_.restart_requested_at = rat;
  snapshot_.updated_at = updated;
  code_expires_at_ = expires;
  lockdown_ = snapshot_.lockdown;
  // A restart running in this process keeps its flag whatever the row says.
  if (!restart_thread_.joinable()) restarting_ = snapshot_.restarting;
  if (metrics_) {
    metrics_->gauge_set("jarvis_system_lockdown", "1 while the system is in lockdown.", {},
                        lockdown_ ? 1 : 0);
    metrics_->gauge_set("jarvis_system_restarting", "1 while a controlled restart runs.", {},
                        restarting_ ? 1 : 0);
  }
}

void SystemState::refresh() { load_row(); }

SystemSnapshot SystemState::snapshot() const {
  std::lock_guard lk(mu_);
  return snapshot_;
}

void SystemState::set_status_source(std::function<jarvis::Json()> source) {
  std::lock_guard lock(status_mu_);
  status_source_ = std::move(source);
}

jarvis::Json SystemState::status() {
  std::function<jarvis::Json()> source;
  {
    std::lock_guard lock(status_mu_);
    source = status_source_;
  }
  if (source) return source();
  return jarvis::Json{{"system", status_json()}};
}

void SystemState::set_backup_source(std::function<jarvis::Json(const std::string&)> source) {
  std::lock_guard lock(status_mu_);
  backup_source_ = std::move(source);
}

jarvis::Json SystemState::backup_now(const std::string& reason) {
  std::function<jarvis::Json(const std::string&)> source;
  {
    std::lock_guard lock(status_mu_);
    source = backup_source_;
  }
  if (!source) throw jarvis::Error(503, "backup_unavailable", "this host offers no backups");
  return source(reason);
}

jarvis::Json SystemState::status_json() const {
  std::lock_guard lk(mu_);
  return jarvis::Json{
      {"lockdown", snapshot_.lockdown},
      {"lockdown_reason", snapshot_.lockdown_reason},
      {"lockdown_since", snapshot_.lockdown_since.empty() ? jarvis::Json(nullptr)
                                                          : jarvis::Json(snapshot_.lockdown_since)},
      {"restarting", restarting_.load()},
      {"readiness_fail_streak", readiness_streak_.load()},
      {"unlock_code_expires_at",
       code_expires_at_.empty() ? jarvis::Json(nullptr) : jarvis::Json(code_expires_at_)}};
}

void SystemState::emit(const std::string& type, jarvis::Json payload, const std::string& actor,
                       const std::string& trace_id) {
  if (!events_) return;
  try {
    jarvis::Event e;
    e.type = type;
    e.payload = std::move(payload);
    e.trace_id = trace_id;
    e.component = "system";
    if (actor.empty() || actor == "system" || actor.rfind("trigger", 0) == 0) {
      e.actor_type = "system";
      e.actor_id = actor.empty() ? "system" : actor;
    } else {
      auto colon = actor.find(':');
      e.actor_type = colon == std::string::npos ? "user" : actor.substr(0, colon);
      e.actor_id = colon == std::string::npos ? actor : actor.substr(colon + 1);
    }
    events_->emit(Owner{}, std::move(e));
  } catch (const std::exception& ex) {
    spdlog::error("system: emitting {} failed: {}", type, ex.what());
  }
}

// --- lockdown ---------------------------------------------------------------------------------

bool SystemState::set_lockdown(bool on, const std::string& reason_in, const std::string& actor,
                               const std::string& trace_id) {
  if (reason_in.size() > 200) {
    throw jarvis::Error(400, "invalid_field", "field 'reason' must be at most 200 characters");
  }
  if (actor.empty() || actor.size() > 200) {
    throw jarvis::Error(400, "invalid_field", "the lockdown's actor must be 1-200 characters");
  }
  std::string now = jarvis::now_iso();
  std::string reason = reason_in.empty() ? "manual" : reason_in;
  std::string previous_reason;
  long long changed = 0;
  {
    auto sql = db_.session();
    if (on) {
      soci::statement st =
          (sql->prepare << "UPDATE system_state SET lockdown = 1, lockdown_reason = :r, "
                           "lockdown_since = :t, lockdown_by = :a, updated_at = :t2 "
                           "WHERE id = 1 AND lockdown = 0",
           soci::use(reason), soci::use(now), soci::use(actor), soci::use(now));
      st.execute(true);
      changed = affected(st);
    } else {
      *sql << "SELECT lockdown_reason FROM system_state WHERE id = 1", soci::into(previous_reason);
      soci::statement st =
          (sql->prepare << "UPDATE system_state SET lockdown = 0, lockdown_reason = '', "
                           "lockdown_since = '', lockdown_by = '', updated_at = :t "
                           "WHERE id = 1 AND lockdown = 1",
           soci::use(now));
      st.execute(true);
      changed = affected(st);
    }
  }
  load_row();
  if (changed == 0) return false;
  if (on) {
    spdlog::warn("lockdown set by {}: {}", actor, reason);
    emit("lockdown.triggered", {{"reason", reason}, {"source", "admin"}, {"by", actor}}, actor,
         trace_id);
  } else {
    spdlog::warn("lockdown cleared by {} (was: {})", actor, previous_reason);
    emit("lockdown.cleared",
         {{"via", "admin"}, {"by", actor}, {"previous_reason", previous_reason}}, actor, trace_id);
  }
  return true;
}

bool SystemState::trigger_lockdown(const std::string& reason, const jarvis::Json& detail) {
  std::string now = jarvis::now_iso();
  std::string by = "trigger:" + reason;
  long long changed = 0;
  {
    auto sql = db_.session();
    soci::statement st =
        (sql->prepare << "UPDATE system_state SET lockdown = 1, lockdown_reason = :r, "
                         "lockdown_since = :t, lockdown_by = :b, updated_at = :t2 "
                         "WHERE id = 1 AND lockdown = 0",
         soci::use(reason), soci::use(now), soci::use(by), soci::use(now));
    st.execute(true);
    changed = affected(st);
  }
  load_row();
  if (changed == 0) return false;
  spdlog::warn("lockdown triggered automatically: {} {}", reason, detail.dump());
  emit("lockdown.triggered", {{"reason", reason}, {"source", "trigger"}, {"detail", detail}}, by,
       "");
  return true;
}

void SystemState::record_readiness(bool ok) {
  if (ok) {
    readiness_streak_ = 0;
    return;
  }
  int streak = ++readiness_streak_;
  spdlog::warn("readiness watchdog: check failed ({} in a row, threshold {})", streak,
               options_.readyz_fail_threshold);
  if (streak >= options_.readyz_fail_threshold) {
    // A new series of failures is needed before the next trigger (e.g. after an admin cleared).
    readiness_streak_ = 0;
    trigger_lockdown("readyz_failures", {{"consecutive_failures", streak},
                                         {"threshold", options_.readyz_fail_threshold}});
  }
}

void SystemState::report_rollback(const std::string& detail) {
  std::string now = jarvis::now_iso();
  long long window_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.rollback_window).count();
  std::string since = jarvis::iso_from_now(-window_ms);
  int count = 0;
  {
    auto sql = db_.session();
    std::string id = jarvis::new_id("rbk");
    std::string d = detail.substr(0, 2000);
    *sql << "INSERT INTO system_rollbacks (id, created_at, detail) VALUES (:i, :t, :d)",
        soci::use(id), soci::use(now), soci::use(d);
    *sql << "DELETE FROM system_rollbacks WHERE created_at < :s", soci::use(since);
    *sql << "SELECT COUNT(*) FROM system_rollbacks WHERE created_at >= :s", soci::use(since),
        soci::into(count);
  }
  spdlog::warn("rollback reported ({} within {} min, threshold {}): {}", count,
               options_.rollback_window.count(), options_.rollback_threshold, detail);
  if (count >= options_.rollback_threshold) {
    trigger_lockdown("rollback_burst", {{"rollbacks", count},
                                        {"window_minutes", options_.rollback_window.count()},
                                        {"threshold", options_.rollback_threshold},
                                        {"last", detail.substr(0, 2000)}});
  }
}

// --- unlock codes -----------------------------------------------------------------------------

bool SystemState::rotate_unlock_code_if_stale() {
  std::lock_guard rotating(rotate_mu_);
  long long half_ttl_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.unlock_code_ttl).count() / 2;
  std::string hash, created, used;
  {
    auto sql = db_.session();
    soci::indicator ci = soci::i_ok;
    *sql << "SELECT unlock_code_hash, unlock_code_created_at, unlock_code_used_at FROM "
            "system_state WHERE id = 1",
        soci::into(hash), soci::into(created, ci), soci::into(used);
    if (ci != soci::i_ok) created.clear();
  }
  bool fresh = !hash.empty() && used.empty() && !created.empty() &&
               created > jarvis::iso_from_now(-half_ttl_ms) &&
               std::filesystem::exists(options_.unlock_code_path);
  if (fresh) return false;
  rotate_unlock_code_locked();
  return true;
}

void SystemState::rotate_unlock_code() {
  std::lock_guard rotating(rotate_mu_);
  rotate_unlock_code_locked();
}

void SystemState::rotate_unlock_code_locked() {
  char code[8];
  std::snprintf(code, sizeof code, "%06u", static_cast<unsigned>(randombytes_uniform(1000000)));
  char hash[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(hash, code, 6, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    sodium_memzero(code, sizeof code);
    throw std::runtime_error("hashing the unlock code failed (out of memory)");
  }
  std::string content = std::string(code, 6) + "\n";
  sodium_memzero(code, sizeof code);
  std::string path = options_.unlock_code_path;
  std::string tmp = write_private_temp(path, content);
  sodium_memzero(content.data(), content.size());
  std::string now = jarvis::now_iso();
  long long ttl_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.unlock_code_ttl).count();
  std::string expires = jarvis::iso_from_now(ttl_ms);
  std::string h(hash);
  try {
    auto sql = db_.session();
    *sql << "UPDATE system_state SET unlock_code_hash = :h, unlock_code_created_at = :t, "
            "unlock_code_expires_at = :e, unlock_code_used_at = '', updated_at = :t2 WHERE id = 1",
        soci::use(h), soci::use(now), soci::use(expires), soci::use(now);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  commit_file(tmp, path);
  {
    std::lock_guard lk(mu_);
    code_expires_at_ = expires;
  }
  spdlog::info("unlock code rotated; written to {} (valid until {})", absolute(path), expires);
  emit("lockdown.code_rotated", {{"path", absolute(path)}, {"expires_at", expires}}, "system", "");
}

bool SystemState::unlock(const std::string& code, const std::string& actor, std::string* reason) {
  auto refuse = [&](const std::string& why) {
    if (reason) *reason = why;
    return false;
  };
  std::string previous_reason;
  {
    std::unique_lock lk(mu_);  // one attempt at a time in this process
    auto sql = db_.session();
    int lock = 0, failures = 0;
    std::string hash, expires, used, blocked;
    *sql << "SELECT lockdown, lockdown_reason, unlock_code_hash, unlock_code_expires_at, "
            "unlock_code_used_at, unlock_failures, unlock_blocked_until FROM system_state WHERE id "
            "= 1",
        soci::into(lock), soci::into(previous_reason), soci::into(hash), soci::into(expires),
        soci::into(used), soci::into(failures), soci::into(blocked);
    std::string now = jarvis::now_iso();
    if (!blocked.empty() && now < blocked) {
      return refuse("too many wrong codes; try again after " + blocked);
    }
    if (lock == 0) return refuse("the system is not in lockdown");
    bool match = six_digits(code) && !hash.empty() &&
                 crypto_pwhash_str_verify(hash.c_str(), code.data(), code.size()) == 0;
    if (!match) {
      ++failures;
      std::string until;
      if (failures >= options_.unlock_free_attempts) {
        int doublings = std::min(failures - options_.unlock_free_attempts, 20);
        std::chrono::seconds wait =
            options_.unlock_backoff_base * static_cast<std::chrono::seconds::rep>(1L << doublings);
        if (wait > options_.unlock_backoff_max) wait = options_.unlock_backoff_max;
        until = jarvis::iso_from_now(
            std::chrono::duration_cast<std::chrono::milliseconds>(wait).count());
      }
      *sql
          << "UPDATE system_state SET unlock_failures = :f, unlock_blocked_until = :b WHERE id = 1",
          soci::use(failures), soci::use(until);
      lk.unlock();
      spdlog::warn("unlock refused for {}: wrong code ({} in a row)", actor, failures);
      emit("lockdown.unlock_refused",
           {{"by", actor},
            {"why", "wrong"},
            {"failures", failures},
            {"blocked_until", until.empty() ? jarvis::Json(nullptr) : jarvis::Json(until)}},
           actor, "");
      return refuse(until.empty() ? "wrong code"
                                  : "wrong code; further attempts blocked until " + until);
    }
    if (!used.empty()) return refuse("code already used");
    if (expires.empty() || now >= expires) return refuse("code expired");
    soci::statement st =
        (sql->prepare << "UPDATE system_state SET unlock_code_used_at = :t, lockdown = 0, "
                         "lockdown_reason = '', lockdown_since = '', lockdown_by = '', "
                         "unlock_failures = 0, unlock_blocked_until = '', updated_at = :t2 "
                         "WHERE id = 1 AND unlock_code_hash = :h AND unlock_code_used_at = ''",
         soci::use(now), soci::use(now), soci::use(hash));
    st.execute(true);
    if (affected(st) == 0) return refuse("code already used");
  }
  load_row();
  ::unlink(options_.unlock_code_path.c_str());  // consumed: the operator's copy goes too
  spdlog::warn("lockdown cleared by {} with an unlock code (was: {})", actor, previous_reason);
  emit("lockdown.cleared",
       {{"via", "unlock_code"}, {"by", actor}, {"previous_reason", previous_reason}}, actor, "");
  if (reason) reason->clear();
  return true;
}

// --- start-up and watchdog --------------------------------------------------------------------

void SystemState::start(std::function<bool()> ready) {
  ready_ = std::move(ready);
  load_row();
  SystemSnapshot snap = snapshot();
  if (snap.restarting) {
    std::string trace;
    {
      auto sql = db_.session();
      *sql << "SELECT restart_trace_id FROM system_state WHERE id = 1", soci::into(trace);
      std::string now = jarvis::now_iso();
      *sql << "UPDATE system_state SET restarting = 0, updated_at = :t WHERE id = 1",
          soci::use(now);
    }
    restarting_ = false;
    load_row();
    bool ok = true;
    std::string error;
    if (ready_) {
      try {
        ok = ready_();
      } catch (const std::exception& e) {
        ok = false;
        error = e.what();
      }
    }
    spdlog::info("restart complete (requested by {} at {}): {}", snap.restart_requested_by,
                 snap.restart_requested_at, ok ? "ready" : "NOT ready");
    jarvis::Json payload{{"result", ok ? "ok" : "not_ready"},
                         {"requested_by", snap.restart_requested_by},
                         {"requested_at", snap.restart_requested_at},
                         {"pid", static_cast<long long>(::getpid())}};
    if (!error.empty()) payload["error"] = error;
    emit("system.restart.complete", std::move(payload), "system", trace);
  }
  if (options_.lockdown_default && !lockdown_) {
    trigger_lockdown("lockdown_default", {{"setting", "LOCKDOWN_DEFAULT"}});
  }
  // A valid, unused code may already exist (another instance, or a restart within its TTL). The
  // periodic job may fire at the same moment on a fresh database: one rotation, not two.
  {
    std::lock_guard rotating(rotate_mu_);
    bool need_code = true;
    {
      auto sql = db_.session();
      std::string hash, expires, used;
      *sql << "SELECT unlock_code_hash, unlock_code_expires_at, unlock_code_used_at FROM "
              "system_state "
              "WHERE id = 1",
          soci::into(hash), soci::into(expires), soci::into(used);
      need_code = hash.empty() || !used.empty() || expires <= jarvis::now_iso() ||
                  !std::filesystem::exists(options_.unlock_code_path);
    }
    if (need_code) {
      try {
        rotate_unlock_code_locked();
      } catch (const std::exception& e) {
        spdlog::error("unlock code: {}", e.what());
      }
    }
  }
  if (ready_ && !watchdog_.joinable()) {
    {
      std::lock_guard lk(watchdog_mu_);
      watchdog_stop_ = false;
    }
    watchdog_ = std::thread([this] { watchdog_loop(); });
  }
}

void SystemState::stop() {
  {
    std::lock_guard lk(watchdog_mu_);
    watchdog_stop_ = true;
  }
  watchdog_cv_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
}

void SystemState::watchdog_loop() {
  for (;;) {
    {
      std::unique_lock lk(watchdog_mu_);
      if (watchdog_cv_.wait_for(lk, options_.readiness_interval,
                                [this] { return watchdog_stop_; })) {
        return;
      }
    }
    bool ok = false;
    try {
      ok = ready_();
    } catch (const std::exception& e) {
      spdlog::warn("readiness watchdog: check threw: {}", e.what());
    } catch (...) {
      spdlog::warn("readiness watchdog: check threw a non-standard exception");
    }
    try {
      record_readiness(ok);
      refresh();
    } catch (const std::exception& e) {
      spdlog::error("readiness watchdog: {}", e.what());
    }
  }
}

// --- integration helpers ----------------------------------------------------------------------

SystemFlags SystemState::flags() const {
  SystemFlags f;
  f.lockdown = [this] { return lockdown(); };
  f.restarting = [this] { return restarting(); };
  return f;
}

std::optional<jarvis::Response> SystemState::guard_webhook(const jarvis::Request& req,
                                                           const RouteEntry& route) const {
  if (route.spec.auth != jarvis::Auth::Webhook || !restarting()) return std::nullopt;
  auto res = Dispatcher::error_response(
      503, "restarting", "the server is restarting; retry after the Retry-After delay",
      req.request_id);
  res.headers.set("Retry-After", std::to_string(options_.retry_after_seconds));
  return res;
}

}  // namespace jarvis::host

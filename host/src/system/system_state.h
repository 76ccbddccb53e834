// host/src/system/system_state.h — the host's safety state: lockdown (manual, unlock codes and
// automatic triggers) and the controlled restart. State lives in the `system_state` row
// (migrations/030_system_state.sql) so it survives restarts and is shared by every instance;
// the hot-path flags (lockdown, restarting) are cached in atomics.
//
//   SystemState system(db, &events, SystemOptions::from(store), &metrics);
//   system.set_restart_hooks({...});            // what "stop taking work" means in this process
//   system.start([&] { return app.readiness()["ok"] == true; });   // stale flag, first code
//   tools.set_system_flags(system.flags());
//   add_system_state_routes(router, system);   add_system_state_tasks(tasks, system);
//
// Decisions (unlock code hashing, back-off, re-exec) are in
// docs/decisions/0008-lockdown-and-restart.md.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/host_settings.h"
#include "jarvis/http.h"
#include "jarvis/json.h"
#include "jarvis/system.h"
#include "registry/tool_registry.h"

namespace jarvis::host {

class ConfigStore;
class EventBusImpl;
class MetricsRegistry;
class Router;
class SqlDatabase;
class TaskService;
struct RouteEntry;

/// Settings of the safety state (declared in system_setting_decls()).
struct SystemOptions {
  bool lockdown_default = false;                        ///< LOCKDOWN_DEFAULT: start locked
  int readyz_fail_threshold = 3;                        ///< LOCKDOWN_READYZ_FAIL_THRESHOLD
  std::chrono::milliseconds readiness_interval{30000};  ///< LOCKDOWN_READYZ_CHECK_INTERVAL_SECONDS
  int rollback_threshold = 2;                           ///< LOCKDOWN_ROLLBACK_THRESHOLD
  std::chrono::minutes rollback_window{30};             ///< LOCKDOWN_ROLLBACK_WINDOW_MINUTES
  std::chrono::minutes unlock_code_ttl{10};             ///< ADMIN_UNLOCK_CODE_TTL_MINUTES
  std::string unlock_code_path = "./var/unlock_code";   ///< ADMIN_UNLOCK_CODE_PATH
  int unlock_free_attempts = 3;  ///< wrong codes allowed before attempts are blocked
  std::chrono::seconds unlock_backoff_base{30};   ///< first block; doubles per further wrong code
  std::chrono::seconds unlock_backoff_max{3600};  ///< longest block
  std::string restart_command;                    ///< RESTART_COMMAND (run with /bin/sh -c)
  std::chrono::seconds restart_command_timeout{60};     ///< RESTART_COMMAND_TIMEOUT_SECONDS
  std::chrono::milliseconds task_drain_timeout{30000};  ///< TASK_RUNNER_SHUTDOWN_TIMEOUT_SECONDS
  std::chrono::milliseconds http_drain_timeout{10000};  ///< RESTART_HTTP_DRAIN_SECONDS
  int retry_after_seconds = 30;                         ///< RESTART_RETRY_AFTER_SECONDS

  /// Reads the keys above; throws std::runtime_error naming the key, its source and the expected
  /// type/range on an invalid value.
  static SystemOptions from(const ConfigStore& store);
};

/// The keys SystemOptions::from reads, for `jarvis config show` and the runbook.
const std::vector<SettingDecl>& system_setting_decls();

/// What a controlled restart does in this process, in order: drain_tasks (the HTTP listener stays
/// open meanwhile, so webhooks get 503 + Retry-After instead of connection refused),
/// stop_accepting, drain_http, before_exec, then RESTART_COMMAND or exec. Unset hooks are skipped.
struct RestartHooks {
  /// Stop claiming tasks and wait for running ones up to the timeout; true when all finished.
  std::function<bool(std::chrono::milliseconds)> drain_tasks;
  /// Close the listening socket (the new process binds the port again).
  std::function<void()> stop_accepting;
  /// Let in-flight HTTP requests finish (and close /ws) up to the timeout; true when all did.
  std::function<bool(std::chrono::milliseconds)> drain_http;
  /// Last chance to release resources before the process image is replaced or exits.
  std::function<void()> before_exec;
  /// Replaces the process image with `argv` (default: exec_image(restart_image(argv), argv),
  /// which does not return on success). Returns only on failure, with the error text. A test
  /// seam.
  std::function<std::string(const std::vector<std::string>& argv)> exec;
  /// Ends the process after RESTART_COMMAND succeeded (the supervisor starts the new one).
  /// Default: std::exit(code). The host wires it to a clean stop of `jarvis serve`.
  std::function<void(int code)> exit_process;
};

/// Cached view of the state row.
struct SystemSnapshot {
  bool lockdown = false;
  std::string lockdown_reason;
  std::string lockdown_since;  ///< ISO-8601, empty when not locked
  std::string lockdown_by;     ///< actor or trigger that set it
  bool restarting = false;
  std::string restart_requested_by;
  std::string restart_requested_at;
  std::string updated_at;
};

/// The safety state service. Thread-safe. Implements the SDK's jarvis::SystemControl.
class SystemState : public jarvis::SystemControl {
 public:
  /// `events` and `metrics` may be null (tests). The `system_state` row must exist (migrated).
  SystemState(SqlDatabase& db, EventBusImpl* events, SystemOptions options,
              MetricsRegistry* metrics = nullptr);
  /// Stops the watchdog; waits for a restart in progress to reach its exec.
  ~SystemState() override;
  SystemState(const SystemState&) = delete;
  SystemState& operator=(const SystemState&) = delete;

  /// Start-up: loads the row; if a `restarting` flag survived a restart, clears it, evaluates
  /// `ready` and emits `system.restart.complete {result: "ok"|"not_ready", …}`; applies
  /// LOCKDOWN_DEFAULT; writes a first unlock code; starts the readiness watchdog thread (one
  /// check every readiness_interval, plus a refresh of the cached flags) when `ready` is set.
  void start(std::function<bool()> ready);
  /// Stops the watchdog thread. Idempotent.
  void stop();

  // --- jarvis::SystemControl ---
  bool lockdown() const override { return lockdown_.load(); }
  bool restarting() const override { return restarting_.load(); }
  bool unlock(const std::string& code, const std::string& actor, std::string* reason) override;
  void request_restart(const std::string& actor, const std::string& trace_id) override;
  void report_rollback(const std::string& detail) override;
  /// The document of the status source (set_status_source); without one, {"system":
  /// status_json()}.
  jarvis::Json status() override;

  /// What status() answers: the application's GET /api/v1/system/status builder.
  void set_status_source(std::function<jarvis::Json()> source);
  /// jarvis::SystemControl::backup_now: the host's backup service (set_backup_source); without
  /// one, Error(503, "backup_unavailable"). A failed snapshot is Error(503, "backup_failed").
  jarvis::Json backup_now(const std::string& reason) override;
  /// What backup_now() runs (the application's BackupService).
  void set_backup_source(std::function<jarvis::Json(const std::string& reason)> source);

  /// The cached state (refresh() re-reads the row).
  SystemSnapshot snapshot() const;
  /// Re-reads the row (another instance may have changed it).
  void refresh();
  /// `{"lockdown","lockdown_reason","lockdown_since","restarting","readiness_fail_streak",
  /// "unlock_code_expires_at"}` for GET /api/v1/system/status (merge under "system").
  jarvis::Json status_json() const;

  /// Admin API and SDK (jarvis::SystemControl::set_lockdown): sets (`on`, reason default
  /// "manual") or clears the lockdown. Emits `lockdown.triggered` / `lockdown.cleared` when the
  /// state changes; returns true then. Throws 400 `invalid_field` for a reason over 200
  /// characters or an empty or over-long (200) actor.
  bool set_lockdown(bool on, const std::string& reason, const std::string& actor,
                    const std::string& trace_id = "") override;
  /// Automatic trigger: locks with `reason` unless already locked (a manual reason is never
  /// overwritten) and emits `lockdown.triggered {reason, source:"trigger", detail}`. Never clears.
  /// Returns true when it locked.
  bool trigger_lockdown(const std::string& reason, const jarvis::Json& detail);
  /// One readiness observation of the watchdog: `readyz_fail_threshold` failures in a row lock
  /// with reason `readyz_failures`; a success resets the streak (and clears nothing).
  void record_readiness(bool ok);
  /// Current consecutive readiness failures.
  int readiness_fail_streak() const { return readiness_streak_.load(); }

  /// Writes a fresh 6-digit code: argon2id hash in the row (valid unlock_code_ttl), the plain code
  /// to unlock_code_path (mode 0600, atomically), emits `lockdown.code_rotated {path, expires_at}`.
  /// Throws std::runtime_error when the file cannot be written (the old code stays valid).
  void rotate_unlock_code();
  /// The periodic job's rotation: rotates unless the current code is unused, on disk and younger
  /// than half its lifetime (e.g. written by start() a moment before the job's first slot).
  /// Returns true when it rotated.
  bool rotate_unlock_code_if_stale();

  /// Sets what a restart does in this process (call before start()).
  void set_restart_hooks(RestartHooks hooks);
  /// Starts a restart on its own thread unless one is running; returns false when one is.
  bool begin_restart(const std::string& actor, const std::string& trace_id);
  /// Waits for the restart thread to finish (tests; with the default exec it never returns).
  void wait_restart();

  /// Flags for ToolRegistryImpl::set_system_flags (read the cached atomics).
  SystemFlags flags() const;
  /// For the dispatcher's authorize hook: while restarting, webhook routes answer 503
  /// `restarting` with `Retry-After`; nullopt otherwise.
  std::optional<jarvis::Response> guard_webhook(const jarvis::Request& req,
                                                const RouteEntry& route) const;

  const SystemOptions& options() const { return options_; }

 private:
  void rotate_unlock_code_locked();  // rotate_mu_ held
  std::mutex rotate_mu_;             // one rotation at a time (start() and the periodic job)
  void load_row();
  void emit(const std::string& type, jarvis::Json payload, const std::string& actor,
            const std::string& trace_id);
  void run_restart(std::string actor, std::string trace_id);
  void watchdog_loop();

  SqlDatabase& db_;
  EventBusImpl* events_;
  MetricsRegistry* metrics_;
  SystemOptions options_;
  RestartHooks hooks_;
  std::function<bool()> ready_;
  std::mutex status_mu_;
  std::function<jarvis::Json()> status_source_;
  std::function<jarvis::Json(const std::string&)> backup_source_;  // guarded by status_mu_

  std::atomic<bool> lockdown_{false};
  std::atomic<bool> restarting_{false};
  std::atomic<int> readiness_streak_{0};
  mutable std::mutex mu_;  // guards snapshot_, unlock attempts, restart thread
  SystemSnapshot snapshot_;
  std::string code_expires_at_;

  std::thread restart_thread_;
  std::thread watchdog_;
  std::mutex watchdog_mu_;
  std::condition_variable watchdog_cv_;
  bool watchdog_stop_ = false;
};

/// Registers `POST /api/v1/system/lockdown` and `POST /api/v1/system/restart` (admin, owner host).
void add_system_state_routes(Router& router, SystemState& system);
/// Registers task `system.rotate_unlock_code` and its periodic job (every unlock_code_ttl).
void add_system_state_tasks(TaskService& tasks, SystemState& system);

/// Replaces the process image with `path` + `argv`: unblocks every signal, resets ignored ones to
/// default and marks every descriptor above 2 close-on-exec first (the listening socket and
/// database connections must not leak into the new process). Returns the error only on failure.
std::string exec_image(const std::string& path, const std::vector<std::string>& argv);
/// exec_image(restart_image(argv), argv) with the current argv from /proc/self/cmdline.
std::string exec_self();
/// The file a re-exec restart runs (decision 0078): the path the process was started as —
/// argv[0] when it contains a '/', made absolute against `cwd` — if it names an executable file,
/// so a host started as /srv/jarvis/current/bin/jarvis restarts into whatever release `current`
/// points to now (as `systemctl restart` would); else "/proc/self/exe" (the running image).
std::string restart_image(const std::vector<std::string>& argv, const std::string& cwd);

}  // namespace jarvis::host

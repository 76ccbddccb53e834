// jarvis/system.h — the host's safety state as plugins see it: lockdown, unlock codes, the
// controlled restart and the rollback trigger.
//
//   if (host.system().lockdown()) return "refused: the system is in lockdown";
//   std::string why;
//   if (!host.system().unlock(code, "user:" + user_id, &why)) reply("unlock refused: " + why);
//   host.system().request_restart("user:" + user_id, trace_id);   // returns at once
//
//   // SDK 1.1 — a chat command's `/status` and an admin's `/lockdown on|off [reason]`:
//   jarvis::Json st = host.system().status();      // GET /api/v1/system/status's document
//   reply(st["tasks"].dump() + " " + st["scheduler"].dump());
//   if (!who.is_admin()) return reply("admins only");
//   host.system().set_lockdown(true, reason, "user:" + who.user_id, trace_id);
//
//   // Before a destructive admin operation (from a task, never a request path: it takes time):
//   jarvis::Json snap = host.system().backup_now("before memory purge-all by " + who.user_id);
//   // snap["path"] is the verified snapshot (BACKUP_LOCAL_DIR); throws if none could be taken.
//
// Lockdown is sticky: only the admin API (or set_lockdown(false, …)) or a valid unlock code clears
// it. Every state change is an event (`lockdown.triggered`, `lockdown.cleared`,
// `system.restart.*`).
#pragma once

#include <string>

#include "jarvis/json.h"
#include "jarvis/version.h"

namespace jarvis {

/// Safety state of the host. Thread-safe; every call may be made from any thread.
class JARVIS_API SystemControl {
 public:
  virtual ~SystemControl();

  /// True while the system is in lockdown (protected tools are denied). Cheap (cached flag).
  virtual bool lockdown() const = 0;

  /// True while a controlled restart is in progress (every tool is denied, webhooks answer 503).
  virtual bool restarting() const = 0;

  /// Clears the lockdown with the current 6-digit unlock code, which the host rotates every
  /// ADMIN_UNLOCK_CODE_TTL_MINUTES and writes to ADMIN_UNLOCK_CODE_PATH for the operator.
  /// `actor` is recorded in the `lockdown.cleared` event (e.g. "user:usr_1f0c…"). Returns true
  /// when the lockdown was cleared; otherwise false with a short, user-presentable reason in
  /// `*reason` (when not null): wrong, expired or already used code, too many wrong codes (retry
  /// later), or not in lockdown. Repeated wrong codes block further attempts for a growing time.
  /// The caller is responsible for checking that `actor` is an administrator.
  virtual bool unlock(const std::string& code, const std::string& actor, std::string* reason) = 0;

  /// Starts a controlled restart and returns at once: the host stops taking new work, drains
  /// in-flight requests and tasks (up to TASK_RUNNER_SHUTDOWN_TIMEOUT_SECONDS), then runs
  /// RESTART_COMMAND or re-executes itself. A second request while one runs is ignored. The
  /// caller is responsible for checking that `actor` is an administrator; `trace_id` links the
  /// `system.restart.*` events.
  virtual void request_restart(const std::string& actor, const std::string& trace_id) = 0;

  /// Records one rollback (e.g. a self-update rolled back). LOCKDOWN_ROLLBACK_THRESHOLD
  /// rollbacks within LOCKDOWN_ROLLBACK_WINDOW_MINUTES put the system in lockdown with reason
  /// `rollback_burst`. `detail` is stored with the rollback and shown in the event.
  virtual void report_rollback(const std::string& detail) = 0;

  // --- SDK 1.1 ---

  /// The same JSON document GET /api/v1/system/status answers, built now: `version`,
  /// `uptime_seconds`, `time`, `plugins` (name → state), `plugin_health` (name → {health, detail?,
  /// details?} of started plugins), `tasks` (queue depth by status: queued, running, …),
  /// `oldest_queued_at`, `scheduler` (the backlog fields: dispatchable_total, deferred_total,
  /// schedule_count, invalid_count, schedules) and `system` (lockdown, lockdown_reason,
  /// lockdown_since, restarting, readiness_fail_streak, unlock_code_expires_at). Callable from any
  /// plugin thread; it reads the database and calls every plugin's health() — never call it from
  /// your own health(). Throws the database's error (503 `database_busy`, …).
  virtual Json status() = 0;

  /// Sets (`on`) or clears the lockdown exactly as the admin API POST /api/v1/system/lockdown
  /// does: `reason` defaults to "manual" when empty (at most 200 characters, else Error(400,
  /// "invalid_field")); a change emits `lockdown.triggered {reason, source: "admin", by: actor}` or
  /// `lockdown.cleared {via: "admin", by: actor, previous_reason}`, with `trace_id`. Returns true
  /// when the state changed, false when it already was so (setting keeps the first reason). The
  /// caller is responsible for checking that `actor` (e.g. "user:usr_1f0c…") is an administrator.
  virtual bool set_lockdown(bool on, const std::string& reason, const std::string& actor,
                            const std::string& trace_id) = 0;

  /// Takes a verified snapshot of the host's database now (the `jarvis db backup` mechanism:
  /// SQLite online backup + integrity check + gzip, or pg_dump) into BACKUP_LOCAL_DIR, applies
  /// BACKUP_RETENTION_DAYS, emits `backup.snapshot`, and returns {path, dialect, created_at,
  /// reason, bytes, verification, pruned, duration_ms}. Every destructive admin operation calls it
  /// first and stops when it throws. Slow (seconds or more): call it from a task, not from a
  /// request handler or inside a transaction. Throws jarvis::Error(503, "backup_failed" or
  /// "backup_unavailable") when no snapshot could be written. Additive (SDK 1.1): the default
  /// implementation throws 503 `backup_unavailable`.
  virtual Json backup_now(const std::string& reason);
};

}  // namespace jarvis

-- 030_system_state.sql — the host's safety state (host/src/system/system_state.cpp): one row with
-- the lockdown, the controlled-restart flag and the current unlock code (argon2id hash only), plus
-- the rollbacks that feed the rollback-burst trigger. Empty text means "not set".
CREATE TABLE system_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  lockdown INTEGER NOT NULL DEFAULT 0,
  lockdown_reason TEXT NOT NULL DEFAULT '',
  lockdown_since TEXT NOT NULL DEFAULT '',
  lockdown_by TEXT NOT NULL DEFAULT '',
  restarting INTEGER NOT NULL DEFAULT 0,
  restart_requested_by TEXT NOT NULL DEFAULT '',
  restart_requested_at TEXT NOT NULL DEFAULT '',
  restart_trace_id TEXT NOT NULL DEFAULT '',
  unlock_code_hash TEXT NOT NULL DEFAULT '',
  unlock_code_created_at TEXT NOT NULL DEFAULT '',
  unlock_code_expires_at TEXT NOT NULL DEFAULT '',
  unlock_code_used_at TEXT NOT NULL DEFAULT '',
  unlock_failures INTEGER NOT NULL DEFAULT 0,
  unlock_blocked_until TEXT NOT NULL DEFAULT '',
  updated_at TEXT NOT NULL
);
INSERT INTO system_state (id, updated_at) VALUES (1, '1970-01-01T00:00:00.000Z');

CREATE TABLE system_rollbacks (
  id TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX system_rollbacks_created ON system_rollbacks (created_at);

-- maintenance: one row per run with every command's result, and the last heartbeat.
CREATE TABLE maintenance_runs (
  id            TEXT PRIMARY KEY,
  trigger_kind  TEXT NOT NULL,
  started_at    TEXT NOT NULL,
  finished_at   TEXT NOT NULL,
  ok            INTEGER NOT NULL,
  results       TEXT NOT NULL,
  bug_tasks     TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX idx_maintenance_runs_started ON maintenance_runs(started_at);
CREATE TABLE maintenance_state (
  key         TEXT PRIMARY KEY,
  value       TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);

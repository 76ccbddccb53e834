-- 011_schedules.sql — user schedules and plugin periodic jobs (host/src/tasks/scheduler.cpp).
-- `owner` is a user id, or "system" for plugin periodic jobs (which carry a unique `name`).
-- `enabled` is 0/1 on both dialects. Timestamps are fixed-width ISO-8601 UTC text.
CREATE TABLE schedules (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  thread_id TEXT,
  name TEXT UNIQUE,
  cron_expr TEXT NOT NULL,
  task TEXT NOT NULL,
  payload TEXT NOT NULL,
  enabled INTEGER NOT NULL DEFAULT 1,
  max_catchup INTEGER,
  last_run_at TEXT,
  next_due_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE INDEX schedules_owner ON schedules (owner, created_at);
CREATE INDEX schedules_due ON schedules (next_due_at) WHERE enabled = 1;

-- A slot (schedule, due_at) is dispatched at most once, however many ticks or hosts race for it.
CREATE TABLE schedule_dispatches (
  schedule_id TEXT NOT NULL,
  due_at TEXT NOT NULL,
  task_id TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (schedule_id, due_at)
);

CREATE INDEX schedule_dispatches_created ON schedule_dispatches (created_at);

-- 010_tasks.sql — the durable task queue (host/src/tasks/task_queue.cpp).
-- Timestamps are fixed-width ISO-8601 UTC text (jarvis::now_iso()), so text order = time order.
CREATE TABLE tasks (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'dead')),
  priority INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  run_after TEXT NOT NULL,
  lease_owner TEXT,
  lease_expires_at TEXT,
  idempotency_key TEXT,
  result TEXT,
  last_error TEXT,
  trace_id TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  finished_at TEXT
);

-- Claim order among queued tasks: priority first, then age.
CREATE INDEX tasks_queued_order ON tasks (priority DESC, created_at) WHERE status = 'queued';
-- Re-claim of running tasks whose lease expired (a dead or hung worker).
CREATE INDEX tasks_running_lease ON tasks (lease_expires_at) WHERE status = 'running';
-- Listing and retention purge.
CREATE INDEX tasks_status_finished ON tasks (status, finished_at);
CREATE INDEX tasks_name_created ON tasks (name, created_at);
-- An idempotency key is unique among live (queued or running) tasks only.
CREATE UNIQUE INDEX tasks_idempotency_live ON tasks (idempotency_key)
  WHERE idempotency_key IS NOT NULL AND status IN ('queued', 'running');

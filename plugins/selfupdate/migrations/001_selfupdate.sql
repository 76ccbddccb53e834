-- selfupdate: proposed patches, their state transitions and the one-update-at-a-time lock.
-- Portable SQL (SQLite and PostgreSQL). Timestamps are jarvis::now_iso() text.

-- One proposed patch; trace_id is also the name of its folder under SELFUPDATE_PATCH_DIR and of
-- its branch selfupdate/<trace_id>. stage/step say which stage runs (or ran when the process
-- died) and how far it got; runner is "<hostname>:<pid>:<instance>" of the process running it.
CREATE TABLE selfupdate_patches (
  trace_id             TEXT PRIMARY KEY,
  state                TEXT NOT NULL,
  detail               TEXT NOT NULL DEFAULT '',
  reason_code          TEXT NOT NULL DEFAULT '',
  rationale            TEXT NOT NULL,
  proposed_by          TEXT NOT NULL,
  source               TEXT NOT NULL,
  baseline             TEXT NOT NULL,
  diff_sha256          TEXT NOT NULL,
  diff_bytes           INTEGER NOT NULL,
  files                TEXT NOT NULL DEFAULT '[]',
  stage                TEXT NOT NULL DEFAULT '',
  step                 TEXT NOT NULL DEFAULT '',
  runner               TEXT NOT NULL DEFAULT '',
  interrupted_stage    TEXT NOT NULL DEFAULT '',
  approved_by          TEXT,
  approved_at          TEXT,
  approval_expires_at  TEXT,
  commit_sha           TEXT,
  release_name         TEXT,
  previous_release     TEXT,
  next_seq             INTEGER NOT NULL DEFAULT 0,
  created_at           TEXT NOT NULL,
  updated_at           TEXT NOT NULL
);
CREATE INDEX idx_selfupdate_patches_created ON selfupdate_patches(created_at);
CREATE INDEX idx_selfupdate_patches_state ON selfupdate_patches(state);

-- Every state change, in order (seq per patch), with who caused it.
CREATE TABLE selfupdate_transitions (
  id          TEXT PRIMARY KEY,
  trace_id    TEXT NOT NULL REFERENCES selfupdate_patches(trace_id),
  seq         INTEGER NOT NULL,
  from_state  TEXT NOT NULL,
  to_state    TEXT NOT NULL,
  detail      TEXT NOT NULL DEFAULT '',
  actor       TEXT NOT NULL,
  at          TEXT NOT NULL,
  UNIQUE (trace_id, seq)
);

-- The single-row lock: trace_id is the patch whose stage runs (NULL when none). Taken with a
-- conditional UPDATE, so two hosts or two requests cannot both hold it.
CREATE TABLE selfupdate_lock (
  id           INTEGER PRIMARY KEY CHECK (id = 1),
  trace_id     TEXT,
  acquired_at  TEXT
);
INSERT INTO selfupdate_lock (id, trace_id, acquired_at) VALUES (1, NULL, NULL);

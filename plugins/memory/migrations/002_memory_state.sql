-- memory (structured state, decisions 0030-0033): state items, their relations (the graph), the
-- conflict review queue, extraction runs (the reconciliation KPI), pending messages awaiting
-- extraction and consistency reports. Portable SQL (SQLite and PostgreSQL). Timestamps are
-- jarvis::now_iso() text (fixed width, so text order is time order); booleans 0/1; JSON as text.

-- One structured-state item. uid = type prefix + 12 hex of sha256(type:owner:thread:normalized
-- text) (stable). owner_id '' = a system item (admin-only: a failure of a thread-less task).
-- valid_from/valid_to: when the statement was true (bi-temporal with created_at, when it was
-- recorded); a contradiction sets valid_to + superseded_by and never deletes. refs: JSON array
-- of evidence {message_id | event_id | trace_id, …}. conflict: 1 while an open review-queue row
-- names the item. signature/occurrences: failure items (deduplicated by signature, 0032).
-- unsupported: 1 for a failure item recording an unsupported claim (a failed evidence check or
-- a reviewer's verdict) — memory_hallucination_incidents counts them.
CREATE TABLE memory_state_items (
  uid            TEXT PRIMARY KEY,
  type_tag       TEXT NOT NULL CHECK (type_tag IN ('decision', 'constraint', 'action', 'question',
                                                   'risk', 'failure')),
  owner_id       TEXT NOT NULL DEFAULT '',
  thread_id      TEXT NOT NULL DEFAULT '',
  agent_id       TEXT NOT NULL DEFAULT '',
  text           TEXT NOT NULL,
  norm_text      TEXT NOT NULL,
  status         TEXT NOT NULL,
  confidence     TEXT NOT NULL CHECK (confidence IN ('low', 'medium', 'high')),
  tier           TEXT NOT NULL DEFAULT 'working',
  topic_tags     TEXT NOT NULL DEFAULT '[]',
  refs           TEXT NOT NULL DEFAULT '[]',
  source         TEXT NOT NULL,
  conflict       INTEGER NOT NULL DEFAULT 0,
  merge_count    INTEGER NOT NULL DEFAULT 0,
  superseded_by  TEXT,
  valid_from     TEXT NOT NULL,
  valid_to       TEXT,
  signature      TEXT,
  occurrences    INTEGER NOT NULL DEFAULT 1,
  trace_id       TEXT,
  unsupported    INTEGER NOT NULL DEFAULT 0,
  created_at     TEXT NOT NULL,
  updated_at     TEXT NOT NULL,
  last_seen_at   TEXT NOT NULL
);
CREATE INDEX idx_memory_state_items_scope ON memory_state_items(owner_id, thread_id, type_tag,
                                                                 valid_to);
CREATE INDEX idx_memory_state_items_thread ON memory_state_items(thread_id, created_at);
CREATE INDEX idx_memory_state_items_type ON memory_state_items(type_tag, updated_at);
CREATE UNIQUE INDEX idx_memory_state_items_signature ON memory_state_items(signature);

-- An edge of the state graph: supersedes, conflicts_with, merged_into (source_uid is then the
-- uid the merged candidate would have had — an alias that keeps resolving to target_uid),
-- relates_to / depends_on / blocks / answers (explicit links), flagged_unsupported.
CREATE TABLE memory_state_relations (
  id             TEXT PRIMARY KEY,
  source_uid     TEXT NOT NULL,
  target_uid     TEXT NOT NULL,
  relation_type  TEXT NOT NULL,
  owner_id       TEXT NOT NULL DEFAULT '',
  thread_id      TEXT NOT NULL DEFAULT '',
  evidence       TEXT NOT NULL DEFAULT '{}',
  created_at     TEXT NOT NULL
);
CREATE UNIQUE INDEX idx_memory_state_relations_edge ON memory_state_relations(source_uid,
                                                                            target_uid,
                                                                            relation_type);
CREATE INDEX idx_memory_state_relations_target ON memory_state_relations(target_uid);

-- The conflict review queue (0031): one row per conflicting pair (uid = the newer item,
-- other_uid = the item it contradicts). status open → resolved (reviewer, note, decision,
-- resolved_at). A resolved pair is never queued again.
CREATE TABLE memory_review_queue (
  id            TEXT PRIMARY KEY,
  uid           TEXT NOT NULL,
  other_uid     TEXT NOT NULL,
  owner_id      TEXT NOT NULL DEFAULT '',
  thread_id     TEXT NOT NULL DEFAULT '',
  agent_id      TEXT NOT NULL DEFAULT '',
  reason        TEXT NOT NULL,
  score         TEXT NOT NULL DEFAULT '',
  status        TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
  reviewer      TEXT,
  note          TEXT,
  decision      TEXT,
  created_at    TEXT NOT NULL,
  resolved_at   TEXT
);
CREATE UNIQUE INDEX idx_memory_review_queue_pair ON memory_review_queue(uid, other_uid);
CREATE INDEX idx_memory_review_queue_status ON memory_review_queue(status, created_at);

-- One extraction run over a thread's pending messages: how its candidates ended. The
-- reconciliation KPI is (merged + superseded) / candidates over the last 7 days (0033).
CREATE TABLE memory_state_runs (
  id            TEXT PRIMARY KEY,
  owner_id      TEXT NOT NULL DEFAULT '',
  thread_id     TEXT NOT NULL DEFAULT '',
  method        TEXT NOT NULL,
  note          TEXT NOT NULL DEFAULT '',
  messages      INTEGER NOT NULL DEFAULT 0,
  candidates    INTEGER NOT NULL DEFAULT 0,
  inserted      INTEGER NOT NULL DEFAULT 0,
  merged        INTEGER NOT NULL DEFAULT 0,
  superseded    INTEGER NOT NULL DEFAULT 0,
  conflicted    INTEGER NOT NULL DEFAULT 0,
  dropped       INTEGER NOT NULL DEFAULT 0,
  unsupported   INTEGER NOT NULL DEFAULT 0,
  created_at    TEXT NOT NULL
);
CREATE INDEX idx_memory_state_runs_created ON memory_state_runs(created_at);

-- Messages waiting for the next extraction of their thread (a durable inbox: the extraction
-- task deletes what it consumed in the transaction that applies the result).
CREATE TABLE memory_state_pending (
  message_id    TEXT PRIMARY KEY,
  owner_id      TEXT NOT NULL DEFAULT '',
  thread_id     TEXT NOT NULL,
  agent_id      TEXT NOT NULL DEFAULT '',
  role          TEXT NOT NULL,
  text          TEXT NOT NULL,
  message_at    TEXT NOT NULL,
  created_at    TEXT NOT NULL
);
CREATE INDEX idx_memory_state_pending_thread ON memory_state_pending(thread_id, message_at);

-- A stored consistency report of one thread (or of every thread: thread_id '') over a window.
CREATE TABLE memory_consistency_reports (
  id            TEXT PRIMARY KEY,
  owner_id      TEXT NOT NULL DEFAULT '',
  thread_id     TEXT NOT NULL DEFAULT '',
  from_ts       TEXT NOT NULL,
  to_ts         TEXT NOT NULL,
  score         TEXT,
  report        TEXT NOT NULL,
  created_by    TEXT NOT NULL,
  created_at    TEXT NOT NULL
);
CREATE INDEX idx_memory_consistency_reports_thread ON memory_consistency_reports(thread_id,
                                                                               created_at);

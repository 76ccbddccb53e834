-- memory (core): items, their vectors, redaction audit, prompt measurements; full text via FTS5.
-- The PostgreSQL twin is 001_memory.postgresql.sql (tsvector + GIN instead of FTS5).
CREATE TABLE memory_items (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,   -- stable integer label of the item in every vector index
  id TEXT NOT NULL UNIQUE,                 -- mem_<32 hex>
  owner_id TEXT NOT NULL,                  -- user the item belongs to (owner scoping)
  thread_id TEXT,
  agent_id TEXT,
  kind TEXT NOT NULL,                      -- user_statement | assistant_answer | remembered
  text TEXT NOT NULL,                      -- redacted before it is stored
  source_event_id TEXT,
  source_message_id TEXT,
  evidence_refs TEXT NOT NULL DEFAULT '[]',  -- JSON array of {"type","id"}
  content_hash TEXT NOT NULL,              -- sha256(owner|thread|normalised text): de-duplication
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  valid_from TEXT NOT NULL,
  valid_to TEXT,
  tier TEXT NOT NULL DEFAULT 'working',    -- working | episodic | semantic | procedural
  importance REAL NOT NULL DEFAULT 0.5,
  access_count INTEGER NOT NULL DEFAULT 0,
  last_accessed_at TEXT,
  feedback INTEGER NOT NULL DEFAULT 0,     -- sum of +1 / -1 feedback
  superseded_by TEXT,
  token_estimate INTEGER NOT NULL DEFAULT 0,
  archived_at TEXT,                        -- archived: kept, exported, not searched
  deleted_at TEXT                          -- tombstone: invisible at once, purged later
);
CREATE UNIQUE INDEX memory_items_source_event ON memory_items(source_event_id)
  WHERE source_event_id IS NOT NULL;
CREATE INDEX memory_items_owner ON memory_items(owner_id, created_at);
CREATE INDEX memory_items_thread ON memory_items(thread_id, created_at);
CREATE INDEX memory_items_hash ON memory_items(content_hash);
CREATE INDEX memory_items_deleted ON memory_items(deleted_at) WHERE deleted_at IS NOT NULL;

-- Vectors, written by the embed task after the item row exists (never on a request path).
CREATE TABLE memory_vectors (
  item_seq INTEGER PRIMARY KEY REFERENCES memory_items(seq) ON DELETE CASCADE,
  model TEXT NOT NULL,                     -- provider:model, e.g. local:v1:384
  dims INTEGER NOT NULL,
  vector TEXT NOT NULL,                    -- base64 of little-endian float32, L2-normalised
  updated_at TEXT NOT NULL
);
CREATE INDEX memory_vectors_updated ON memory_vectors(updated_at);

-- One row per redaction (never the redacted text itself).
CREATE TABLE memory_redactions (
  id TEXT PRIMARY KEY,
  item_id TEXT,                            -- null when the item was refused (deny)
  owner_id TEXT NOT NULL,
  thread_id TEXT,
  source TEXT NOT NULL,                    -- api | tool | event | state
  category TEXT NOT NULL,                  -- secret | pii
  rule TEXT NOT NULL,                      -- e.g. openai_key, email, phone
  action TEXT NOT NULL,                    -- masked | denied
  created_at TEXT NOT NULL
);
CREATE INDEX memory_redactions_item ON memory_redactions(item_id);

-- Token accounting for memory_avg_tokens_saved (chat's message.new and prompt.build events).
CREATE TABLE memory_message_tokens (
  message_id TEXT PRIMARY KEY,
  thread_id TEXT NOT NULL,
  role TEXT NOT NULL,
  tokens INTEGER NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX memory_message_tokens_thread ON memory_message_tokens(thread_id, created_at);
CREATE TABLE memory_prompt_stats (
  event_id TEXT PRIMARY KEY,               -- the prompt.build event
  thread_id TEXT NOT NULL,
  raw_tokens INTEGER NOT NULL,             -- the thread's raw conversation so far
  used_tokens INTEGER NOT NULL,            -- tail + summary + retrieved context in the prompt
  saved_tokens INTEGER NOT NULL,           -- raw - used
  created_at TEXT NOT NULL
);

-- Full text: an external-content FTS5 table kept in step by triggers (bm25 ranking).
CREATE VIRTUAL TABLE memory_items_fts USING fts5(
  text, content='memory_items', content_rowid='seq', tokenize='porter unicode61');
CREATE TRIGGER memory_items_fts_ai AFTER INSERT ON memory_items BEGIN
  INSERT INTO memory_items_fts(rowid, text) VALUES (new.seq, new.text);
END;
CREATE TRIGGER memory_items_fts_ad AFTER DELETE ON memory_items BEGIN
  INSERT INTO memory_items_fts(memory_items_fts, rowid, text) VALUES ('delete', old.seq, old.text);
END;
CREATE TRIGGER memory_items_fts_au AFTER UPDATE OF text ON memory_items BEGIN
  INSERT INTO memory_items_fts(memory_items_fts, rowid, text) VALUES ('delete', old.seq, old.text);
  INSERT INTO memory_items_fts(rowid, text) VALUES (new.seq, new.text);
END;

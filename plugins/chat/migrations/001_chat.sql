-- chat: threads, their messages, settings and summaries, agent steps and per-user daily usage.
-- Portable SQL (SQLite and PostgreSQL). Timestamps are jarvis::now_iso() text, booleans 0/1.

-- One conversation. owner_id is also claimed in the hosts thread_owners (Host::threads()).
-- is_verbose is the verbose setting (VERBOSE is a PostgreSQL keyword).
-- next_seq orders the thread messages: a writer bumps it with an UPDATE (which, on
-- PostgreSQL, locks the thread row), so sequence numbers never collide between transactions.
CREATE TABLE chat_threads (
  id                TEXT PRIMARY KEY,
  owner_id          TEXT NOT NULL,
  channel           TEXT NOT NULL,
  external_ref      TEXT,
  title             TEXT NOT NULL DEFAULT '',
  status            TEXT NOT NULL CHECK (status IN ('open', 'closed', 'archived')),
  is_verbose        INTEGER NOT NULL DEFAULT 0,
  active_agent_ids  TEXT NOT NULL DEFAULT '["main"]',
  model_override    TEXT,
  next_seq          INTEGER NOT NULL DEFAULT 0,
  created_at        TEXT NOT NULL,
  updated_at        TEXT NOT NULL
);
CREATE INDEX idx_chat_threads_owner ON chat_threads(owner_id, updated_at);
CREATE INDEX idx_chat_threads_updated ON chat_threads(updated_at);
CREATE INDEX idx_chat_threads_external ON chat_threads(channel, external_ref, status);

-- One message. tool_calls: JSON array of {id, name, arguments} (assistant), tool_call_id and
-- tool_name: which call a role=tool message answers. meta: JSON object (degraded, cancelled,
-- command, attachments, …). source_event_id: the channel.inbound event it came from (dedupe).
CREATE TABLE chat_messages (
  id               TEXT PRIMARY KEY,
  thread_id        TEXT NOT NULL,
  seq              INTEGER NOT NULL,
  role             TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'agent', 'tool', 'system')),
  content          TEXT NOT NULL,
  tool_calls       TEXT,
  tool_call_id     TEXT,
  tool_name        TEXT,
  agent_id         TEXT,
  provider         TEXT,
  model            TEXT,
  input_tokens     INTEGER NOT NULL DEFAULT 0,
  output_tokens    INTEGER NOT NULL DEFAULT 0,
  latency_ms       INTEGER NOT NULL DEFAULT 0,
  step_id          TEXT,
  trace_id         TEXT,
  sender           TEXT,
  source_event_id  TEXT,
  meta             TEXT NOT NULL DEFAULT '{}',
  created_at       TEXT NOT NULL
);
CREATE UNIQUE INDEX idx_chat_messages_seq ON chat_messages(thread_id, seq);
CREATE UNIQUE INDEX idx_chat_messages_source ON chat_messages(source_event_id);
CREATE INDEX idx_chat_messages_step ON chat_messages(step_id);

-- The running summary of a thread: everything up to and including message seq covers_seq.
CREATE TABLE chat_summaries (
  thread_id      TEXT PRIMARY KEY,
  summary        TEXT NOT NULL,
  covers_seq     INTEGER NOT NULL,
  method         TEXT NOT NULL,
  provider       TEXT,
  model          TEXT,
  updated_at     TEXT NOT NULL
);

-- One agent step (one chat.agent_step task): queued → running → done | failed | cancelled.
-- The per-user concurrency limit counts queued and running steps, the stream resumes by it.
CREATE TABLE chat_steps (
  id                TEXT PRIMARY KEY,
  thread_id         TEXT NOT NULL,
  user_id           TEXT NOT NULL,
  message_id        TEXT,
  status            TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
  cancel_requested  INTEGER NOT NULL DEFAULT 0,
  reply_message_id  TEXT,
  trace_id          TEXT NOT NULL,
  degraded          INTEGER NOT NULL DEFAULT 0,
  error             TEXT,
  created_at        TEXT NOT NULL,
  started_at        TEXT,
  heartbeat_at      TEXT,
  finished_at       TEXT
);
CREATE INDEX idx_chat_steps_user ON chat_steps(user_id, status);
CREATE INDEX idx_chat_steps_thread ON chat_steps(thread_id, status, created_at);

-- Tokens spent per user and UTC day (the CHAT_USER_DAILY_TOKEN_LIMIT quota).
CREATE TABLE chat_usage (
  user_id        TEXT NOT NULL,
  day            TEXT NOT NULL,
  input_tokens   INTEGER NOT NULL DEFAULT 0,
  output_tokens  INTEGER NOT NULL DEFAULT 0,
  steps          INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, day)
);

-- chat 002: the conversation key of channel threads, and model tokens by purpose.

-- The current thread of one channel conversation (channel, external thread, owner). Its primary
-- key serialises two channel.inbound events for a new conversation handled at the same instant:
-- both insert, one wins, the other reads the winner's thread (decision 0044). A row whose thread
-- was closed or deleted is replaced by a compare-and-swap UPDATE.
CREATE TABLE chat_channel_keys (
  channel        TEXT NOT NULL,
  external_ref   TEXT NOT NULL,
  owner_id       TEXT NOT NULL,
  thread_id      TEXT NOT NULL,
  updated_at     TEXT NOT NULL,
  PRIMARY KEY (channel, external_ref, owner_id)
);

-- Model tokens per UTC day, user and purpose: chat.step (agent steps), chat.compact
-- (compaction) and the purposes other plugins name when they call the tool chat.complete
-- (memory.extract, github.pr_summary, …). user_id is '' for host-internal callers.
CREATE TABLE chat_purpose_usage (
  day            TEXT NOT NULL,
  user_id        TEXT NOT NULL,
  purpose        TEXT NOT NULL,
  input_tokens   INTEGER NOT NULL DEFAULT 0,
  output_tokens  INTEGER NOT NULL DEFAULT 0,
  calls          INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, user_id, purpose)
);

-- whatsapp: admitted messages (the dedupe table), senders and their decisions, the review queue,
-- media, outbound deliveries. Portable SQL (SQLite and PostgreSQL); timestamps are now_iso() text.

-- One admitted inbound message. (instance, key_id) de-duplicates Evolution's retries. A message
-- held for review is NOT here (it waits in whatsapp_review_queue): its key_id stays unconsumed.
-- status: received (stored, task queued) → ready (media and transcript done) → emitted
-- (channel.inbound sent) | recorded (a reaction: kept, never answered) | skipped.
-- seq orders the messages of one chat: channel.inbound leaves in this order.
CREATE TABLE whatsapp_messages (
  id           TEXT PRIMARY KEY,
  instance     TEXT NOT NULL,
  key_id       TEXT NOT NULL,
  chat_jid     TEXT NOT NULL,
  sender       TEXT NOT NULL,
  participant  TEXT,
  push_name    TEXT,
  kind         TEXT NOT NULL,
  text         TEXT NOT NULL DEFAULT '',
  payload      TEXT NOT NULL,
  status       TEXT NOT NULL,
  seq          INTEGER NOT NULL,
  user_id      TEXT NOT NULL,
  event_id     TEXT,
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL,
  UNIQUE (instance, key_id)
);
CREATE INDEX idx_whatsapp_messages_chat ON whatsapp_messages(chat_jid, seq);

-- One WhatsApp chat (a DM's or a group's JID): its Jarvis user (who owns the chat thread) and
-- the next message sequence number. Updating the row serialises the emitters of one chat.
CREATE TABLE whatsapp_chats (
  chat_jid    TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL,
  is_group    INTEGER NOT NULL DEFAULT 0,
  next_seq    INTEGER NOT NULL DEFAULT 0,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);

-- A sender (the author's phone JID) and the operator's decision: allowed | denied | NULL (none).
CREATE TABLE whatsapp_senders (
  sender      TEXT PRIMARY KEY,
  decision    TEXT,
  reason      TEXT NOT NULL DEFAULT '',
  decided_by  TEXT,
  first_seen  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);

-- A message held for review with everything needed to replay it. status: open | allowed
-- (replayed) | denied (dropped). arrival orders held messages (created_at + a counter).
CREATE TABLE whatsapp_review_queue (
  id           TEXT PRIMARY KEY,
  instance     TEXT NOT NULL,
  sender       TEXT NOT NULL,
  key_id       TEXT NOT NULL,
  chat_jid     TEXT NOT NULL,
  push_name    TEXT,
  preview      TEXT NOT NULL DEFAULT '',
  payload      TEXT NOT NULL,
  status       TEXT NOT NULL,
  reason       TEXT NOT NULL DEFAULT '',
  resolved_by  TEXT,
  created_at   TEXT NOT NULL,
  resolved_at  TEXT,
  arrival      TEXT NOT NULL,
  UNIQUE (instance, key_id)
);
CREATE INDEX idx_whatsapp_review_sender ON whatsapp_review_queue(sender, status, arrival);
CREATE INDEX idx_whatsapp_review_status ON whatsapp_review_queue(status, created_at);

-- One media item of a message: stored (path inside WHATSAPP_MEDIA_DIR) or refused (reason code).
CREATE TABLE whatsapp_media (
  id                    TEXT PRIMARY KEY,
  message_id            TEXT NOT NULL,
  chat_jid              TEXT NOT NULL,
  kind                  TEXT NOT NULL,
  declared_mime         TEXT,
  mime                  TEXT,
  size_bytes            INTEGER NOT NULL DEFAULT 0,
  sha256                TEXT,
  path                  TEXT,
  status                TEXT NOT NULL,
  reason                TEXT,
  transcript            TEXT,
  transcription_status  TEXT,
  transcription_backend TEXT,
  created_at            TEXT NOT NULL
);
CREATE INDEX idx_whatsapp_media_message ON whatsapp_media(message_id);
CREATE INDEX idx_whatsapp_media_chat ON whatsapp_media(chat_jid, created_at);

-- One channel.outbound delivery (keyed by the event id: at-least-once delivery sends once).
-- status: sending | sent | dead | blocked. parts_sent lets a retry resume a split reply.
CREATE TABLE whatsapp_outbound (
  event_id    TEXT PRIMARY KEY,
  thread_id   TEXT,
  chat_jid    TEXT NOT NULL,
  status      TEXT NOT NULL,
  parts       INTEGER NOT NULL DEFAULT 1,
  parts_sent  INTEGER NOT NULL DEFAULT 0,
  attempts    INTEGER NOT NULL DEFAULT 0,
  last_error  TEXT NOT NULL DEFAULT '',
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);

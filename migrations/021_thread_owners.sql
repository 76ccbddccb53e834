-- 021_thread_owners.sql — who owns a conversation thread (host/src/auth/thread_owners.h).
-- The host knows no chat: a plugin that creates threads (chat, whatsapp, …) records the owning
-- user here, and the host scopes events, traces and /ws subscriptions by it. `component` is the
-- plugin that registered the thread.
CREATE TABLE thread_owners (
  thread_id   TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL,
  component   TEXT NOT NULL,
  created_at  TEXT NOT NULL
);
CREATE INDEX thread_owners_user ON thread_owners (user_id);

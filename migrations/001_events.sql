-- Host schema: the event store. Payloads are stored redacted (jarvis::redact) — secrets never land here.
CREATE TABLE events (
  id          TEXT PRIMARY KEY,
  created_at  TEXT NOT NULL,
  trace_id    TEXT,
  type        TEXT NOT NULL,
  component   TEXT NOT NULL,
  actor_type  TEXT NOT NULL DEFAULT '',
  actor_id    TEXT NOT NULL DEFAULT '',
  thread_id   TEXT,
  payload     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX idx_events_created ON events(created_at);
CREATE INDEX idx_events_type ON events(type);
CREATE INDEX idx_events_trace ON events(trace_id);
CREATE INDEX idx_events_thread ON events(thread_id);

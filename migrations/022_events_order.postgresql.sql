-- 022_events_order.postgresql.sql — insertion order for events, so a trace lists events emitted
-- within the same millisecond in the order they happened. SQLite needs no column: its rowid is
-- already the insertion order (host/src/events/event_query.cpp picks the right one).
ALTER TABLE events ADD COLUMN seq BIGSERIAL;
CREATE INDEX idx_events_trace_order ON events (trace_id, created_at, seq);

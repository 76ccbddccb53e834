-- hello: notes written with their event in one transaction, and the durable subscriber's
-- receipts (one per event id; `deliveries` counts how often it was delivered).
CREATE TABLE hello_notes (
  id          TEXT PRIMARY KEY,
  text        TEXT NOT NULL,
  created_at  TEXT NOT NULL
);
CREATE TABLE hello_receipts (
  event_id     TEXT PRIMARY KEY,
  note_id      TEXT NOT NULL,
  deliveries   INTEGER NOT NULL,
  received_at  TEXT NOT NULL
);

-- hello: every greeting made, by whom.
CREATE TABLE hello_greetings (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  greeted_by  TEXT NOT NULL,
  created_at  TEXT NOT NULL
);
CREATE INDEX idx_hello_greetings_name ON hello_greetings(name);

-- memory: batched learning (decision 0047). The learner reads chat's events through an in-process
-- subscriber and, for what it may have missed (a restart, other processes), from the event store
-- since this cursor; memory_message_tokens rows are its "learned" markers.
CREATE TABLE memory_learn_cursor (
  name TEXT PRIMARY KEY,                   -- 'events': the catch-up over message.new / prompt.build
  created_at TEXT NOT NULL,                -- events from here on (minus an overlap) are re-read
  updated_at TEXT NOT NULL
);
CREATE INDEX memory_message_tokens_created ON memory_message_tokens(created_at);

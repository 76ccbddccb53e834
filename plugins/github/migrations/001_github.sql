-- github: webhook deliveries (replay refusal and the status page), the comments the plugin owns
-- (one upserted comment per pull request and kind), the issues it created for bug reports (so a
-- retried sync finds its issue) and small state (last error, rate-limit state).
CREATE TABLE github_deliveries (
  delivery_id  TEXT PRIMARY KEY,
  event        TEXT NOT NULL,
  action       TEXT,
  repo         TEXT,
  outcome      TEXT NOT NULL,
  received_at  TEXT NOT NULL
);
CREATE INDEX idx_github_deliveries_received ON github_deliveries(received_at);

CREATE TABLE github_comments (
  repo        TEXT NOT NULL,
  number      BIGINT NOT NULL,
  kind        TEXT NOT NULL,
  comment_id  BIGINT NOT NULL,
  updated_at  TEXT NOT NULL,
  PRIMARY KEY (repo, number, kind)
);

CREATE TABLE github_issue_links (
  bug_id        TEXT PRIMARY KEY,
  repo          TEXT NOT NULL,
  issue_number  BIGINT,
  issue_url     TEXT,
  last_error    TEXT,
  attempts      BIGINT NOT NULL DEFAULT 0,
  updated_at    TEXT NOT NULL
);

CREATE TABLE github_state (
  key         TEXT PRIMARY KEY,
  value       TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);

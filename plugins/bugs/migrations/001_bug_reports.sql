-- bugs: bug and feature reports. The github_* columns are filled by the GitHub plugin through the
-- task bugs.link_external.
CREATE TABLE bug_reports (
  id                   TEXT PRIMARY KEY,
  kind                 TEXT NOT NULL CHECK (kind IN ('bug', 'feature')),
  title                TEXT NOT NULL,
  description          TEXT NOT NULL DEFAULT '',
  priority             TEXT NOT NULL CHECK (priority IN ('low', 'medium', 'high', 'critical')),
  status               TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'resolved', 'closed')),
  reporter_id          TEXT NOT NULL,
  thread_id            TEXT,
  trace_id             TEXT,
  assignee             TEXT,
  dedupe_key           TEXT,
  sync_to_github       INTEGER NOT NULL DEFAULT 0,
  github_issue_number  INTEGER,
  github_issue_url     TEXT,
  github_synced_at     TEXT,
  github_sync_error    TEXT,
  created_at           TEXT NOT NULL,
  updated_at           TEXT NOT NULL
);
CREATE INDEX idx_bug_reports_reporter ON bug_reports(reporter_id, created_at);
CREATE INDEX idx_bug_reports_status ON bug_reports(status, created_at);
CREATE INDEX idx_bug_reports_dedupe ON bug_reports(dedupe_key);

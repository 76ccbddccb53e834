-- An admin's unfiltered list walks reports newest first; without an index matching that order the
-- database sorted the whole table for every page (33 ms for limit=1 at 37,000 rows). The
-- per-reporter and per-status lists use idx_bug_reports_reporter / idx_bug_reports_status.
CREATE INDEX idx_bug_reports_created ON bug_reports(created_at, id);

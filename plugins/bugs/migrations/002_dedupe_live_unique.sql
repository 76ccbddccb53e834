-- One open or in-progress report per dedupe key, enforced by the database: bugs.report tasks
-- running at the same time (several workers, several hosts) can no longer both file a report
-- after both found none (seen under AddressSanitizer's slowdown). Closed and resolved reports
-- keep their key and do not count.
DROP INDEX idx_bug_reports_dedupe;
CREATE UNIQUE INDEX bug_reports_dedupe_live ON bug_reports(dedupe_key)
  WHERE dedupe_key IS NOT NULL AND status IN ('open', 'in_progress');

-- github: claims on side effects that must happen once across every host on the database
-- (decision 0066). A row is taken with INSERT … ON CONFLICT DO NOTHING before the GitHub call:
--   comment:<owner/repo>#<number>:<kind>   creating the plugin's one comment of a kind on a PR
--   chat:<owner/repo>#<comment id>         answering one triggering comment (once, even when the
--                                          delivery comes again after the replay window)
-- claimed_by is the task id (a retry of the same task keeps its claim); done_at is set when the
-- side effect is recorded; a claim older than the stale limit without done_at may be taken over.
CREATE TABLE github_claims (
  claim_key   TEXT PRIMARY KEY,
  claimed_by  TEXT NOT NULL,
  claimed_at  TEXT NOT NULL,
  done_at     TEXT
);

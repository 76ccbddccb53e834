-- 025_login_known_addresses.sql — addresses a user has logged in from successfully. While the
-- per-username backstop limit is exceeded (many addresses guessing one account), logins from an
-- address in this table still go through (still bound by the per-address limits), so a
-- distributed guesser cannot lock the owner out. Rows older than 90 days are pruned.
CREATE TABLE login_known_addresses (
  username       TEXT NOT NULL,
  address        TEXT NOT NULL,
  last_login_ms  BIGINT NOT NULL,
  PRIMARY KEY (username, address)
);
CREATE INDEX login_known_addresses_at ON login_known_addresses (last_login_ms);

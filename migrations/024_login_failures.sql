-- 024_login_failures.sql — failed login attempts, kept in the database so that the login rate
-- limits survive a restart and are shared by every host on one PostgreSQL database
-- (host/src/auth/login_limiter.h, docs/decisions/0011-sessions-login-limits-origin.md).
-- One row per attempt and scope: `address` (client address), `address_user` (address + "\n" +
-- username), `user` (username, the slow backstop). An attempt is recorded before the password is
-- hashed and deleted again when the login succeeds. `at_ms` is Unix time in milliseconds.
CREATE TABLE login_failures (
  id       TEXT PRIMARY KEY,
  scope    TEXT NOT NULL CHECK (scope IN ('address', 'address_user', 'user')),
  subject  TEXT NOT NULL,
  at_ms    BIGINT NOT NULL
);
CREATE INDEX login_failures_subject ON login_failures (scope, subject, at_ms);
CREATE INDEX login_failures_at ON login_failures (at_ms);

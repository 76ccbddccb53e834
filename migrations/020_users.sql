-- 020_users.sql — identity: users and their credentials (host/src/auth/).
-- Usernames are stored lower-case (unique). password_hash is a libsodium argon2id string
-- (crypto_pwhash_str). Timestamps are fixed-width ISO-8601 UTC text (jarvis::now_iso()).
CREATE TABLE users (
  id            TEXT PRIMARY KEY,
  username      TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  role          TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
  disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL
);

-- Session tokens (login) and API tokens (automation). Only the SHA-256 of a token is stored; the
-- token itself (256 random bits) is shown once. A token is valid while not revoked, not expired
-- and its user is not disabled.
CREATE TABLE auth_tokens (
  id           TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_hash   TEXT NOT NULL UNIQUE,
  kind         TEXT NOT NULL CHECK (kind IN ('session', 'api')),
  label        TEXT NOT NULL DEFAULT '',
  created_at   TEXT NOT NULL,
  expires_at   TEXT NOT NULL,
  last_used_at TEXT,
  revoked_at   TEXT
);
CREATE INDEX auth_tokens_user ON auth_tokens (user_id, created_at);
CREATE INDEX auth_tokens_expires ON auth_tokens (expires_at);

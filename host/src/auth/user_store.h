// host/src/auth/user_store.h — the `users` and `auth_tokens` tables (migrations/020_users.sql):
// plain persistence, no policy. AuthService decides who may do what; this file only reads and
// writes rows, on SQLite or PostgreSQL.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "jarvis/database.h"
#include "jarvis/principal.h"

namespace jarvis::host {

/// A row of `users`.
struct UserRecord {
  std::string id;
  std::string username;
  std::string password_hash;
  jarvis::Role role = jarvis::Role::User;
  bool disabled = false;
  std::string created_at;
  std::string updated_at;
};

/// A row of `auth_tokens` (never the token itself), with the owner's username.
struct TokenRecord {
  std::string id;
  std::string user_id;
  std::string username;
  std::string kind;  ///< "session" or "api"
  std::string label;
  std::string created_at;
  std::string expires_at;
  std::string last_used_at;  ///< empty when never used
  std::string revoked_at;    ///< empty when not revoked
};

/// What a valid token resolves to.
struct TokenGrant {
  jarvis::Principal principal;
  std::string token_id;
  std::string kind;
  std::string expires_at;
  std::string last_used_at;
};

/// Persistence of users and token digests. Thread-safe (each call borrows a pooled session).
class UserStore {
 public:
  explicit UserStore(jarvis::Database& db);

  /// The user named `username` (already normalised), or nullopt.
  std::optional<UserRecord> find_by_name(const std::string& username);
  /// The user with id `id`, or nullopt.
  std::optional<UserRecord> find_by_id(const std::string& id);
  /// Every user, oldest first.
  std::vector<UserRecord> list();
  /// Inserts a user; throws jarvis::Error(409, "user_exists") when the name is taken.
  UserRecord create(const std::string& username, const std::string& password_hash,
                    jarvis::Role role);
  /// Inserts an admin only if no admin exists yet (atomic on both dialects: one statement on
  /// SQLite's single writer, an advisory transaction lock on PostgreSQL). Returns nullopt when an
  /// admin already exists; throws 409 "user_exists" when the name is taken.
  std::optional<UserRecord> create_first_admin(const std::string& username,
                                               const std::string& password_hash);
  /// True when at least one admin exists (disabled or not).
  bool any_admin();
  /// Number of admins that are not disabled.
  int active_admin_count();
  void set_role(const std::string& user_id, jarvis::Role role);
  void set_disabled(const std::string& user_id, bool disabled);
  void set_password_hash(const std::string& user_id, const std::string& hash);

  /// Stores a token digest; returns its row.
  TokenRecord insert_token(const std::string& user_id, const std::string& digest,
                           const std::string& kind, const std::string& label,
                           const std::string& expires_at);
  /// Resolves a digest: the token must exist, not be revoked, expire after `now` and belong to a
  /// user that is not disabled.
  std::optional<TokenGrant> lookup_token(const std::string& digest, const std::string& now);
  /// lookup_token() for many digests at once (one query per 500; empty digests are skipped):
  /// the valid ones, keyed by digest.
  std::unordered_map<std::string, TokenGrant> lookup_tokens(const std::vector<std::string>& digests,
                                                            const std::string& now);
  /// Sets last_used_at.
  void touch_token(const std::string& token_id, const std::string& now);
  /// Revokes one token by id; false when it does not exist or was already revoked.
  bool revoke_token(const std::string& token_id);
  /// Revokes one token by digest; false when none was active.
  bool revoke_digest(const std::string& digest);
  /// Revokes every active token of a user, of `kind` ("" = all kinds); returns how many.
  int revoke_user_tokens(const std::string& user_id, const std::string& kind);
  /// Tokens of one user ("" = all users), newest first.
  std::vector<TokenRecord> list_tokens(const std::string& user_id);
  /// Deletes tokens that expired before `before`; returns how many.
  int purge_expired(const std::string& before);

 private:
  jarvis::Database& db_;
};

}  // namespace jarvis::host

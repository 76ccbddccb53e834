// host/src/auth/auth_service.h — identity and web hygiene for the HTTP pipeline: credentials
// (Bearer header or `jarvis_session` cookie), route-level RBAC, the CSRF origin rule, CORS, login
// with rate limits and the first-admin bootstrap, and user/token management for the CLI.
//
// Wiring (see docs/decisions/0007-identity-and-rbac.md):
//   AuthService auth(db, &events, AuthSettings::from(store));
//   hooks.authorize = [&](Request& r, const RouteEntry& e) { return auth.authorize(r, e); };
//   // before routing: if (auto pre = auth.preflight(req)) answer *pre;  on every response:
//   auth.decorate(req, res);
//   register_auth_routes(router, auth);  register_auth_commands(commands, auth);
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <functional>
#include <vector>

#include "auth/auth_settings.h"
#include "auth/login_limiter.h"
#include "auth/origin_policy.h"
#include "auth/user_store.h"
#include "http/router.h"
#include "jarvis/database.h"
#include "jarvis/error.h"
#include "jarvis/http.h"
#include "jarvis/principal.h"

namespace jarvis::host {

class EventBusImpl;
class CommandTable;

/// Name of the session cookie.
inline constexpr const char* kSessionCookie = "jarvis_session";

/// A login refused by the rate limiter: 429 `rate_limited`; the route adds `Retry-After`.
class RateLimited : public jarvis::Error {
 public:
  RateLimited(std::chrono::seconds retry_after, const std::string& message)
      : jarvis::Error(429, "rate_limited", message), retry_after_(retry_after) {}
  std::chrono::seconds retry_after() const { return retry_after_; }

 private:
  std::chrono::seconds retry_after_;
};

/// Where a request's credential came from.
struct Credential {
  enum class Source { None, Bearer, Cookie, Malformed };
  Source source = Source::None;
  std::string token;
};

/// A newly issued token: the secret (shown once) and its stored row.
struct IssuedToken {
  std::string token;
  TokenRecord record;
};

/// A successful login.
struct LoginResult {
  IssuedToken session;
  UserRecord user;
  bool bootstrapped = false;  ///< true when this login created the first admin
};

/// Identity service. Thread-safe; one per process.
class AuthService {
 public:
  /// `db` must have migrations 020/021 applied; `events` may be null (no audit events).
  AuthService(jarvis::Database& db, EventBusImpl* events, AuthSettings settings);

  const AuthSettings& settings() const { return settings_; }
  UserStore& store() { return store_; }

  // ---- HTTP pipeline -------------------------------------------------------------------------

  /// For DispatchHooks::authorize. Webhook routes: no session check (anonymous principal).
  /// Several Origin headers → 403 `csrf_origin_mismatch`. Otherwise resolves the credential into
  /// req.principal, then: a cookie-authenticated unsafe method (POST/PUT/PATCH/DELETE) whose
  /// Origin is not one of trusted_origins() → 403 `csrf_origin_mismatch` (on public routes the
  /// request just proceeds anonymously); `user` routes without a valid credential → 401
  /// `unauthorized`; `admin` routes → 401 anonymous, 403 `forbidden` for non-admins. Returns
  /// nullopt to let the handler run.
  std::optional<jarvis::Response> authorize(jarvis::Request& req, const RouteEntry& route);

  /// Answers a CORS preflight (OPTIONS with Origin and Access-Control-Request-Method) for any
  /// path: 204 with the CORS headers for a listed origin, 403 `cors_origin_not_allowed` otherwise.
  /// nullopt when the request is not a preflight (route it normally). Call before routing.
  std::optional<jarvis::Response> preflight(const jarvis::Request& req) const;

  /// Adds CORS response headers when the request's Origin is listed (credentials allowed) or
  /// WEB_CORS_ORIGINS contains "*" (no credentials). Call on every response.
  void decorate(const jarvis::Request& req, jarvis::Response& res) const;

  /// True when the request carries exactly one Origin and it is one of trusted_origins()
  /// (scheme, host and port compared; the Host header is not trusted). False when there is none.
  bool origin_allowed(const jarvis::Request& req) const;
  /// The server's public origins (WEB_PUBLIC_ORIGIN or derived from BIND_HOST/BIND_PORT) plus
  /// WEB_CORS_ORIGINS, normalised.
  const std::vector<std::string>& trusted_origins() const { return trusted_origins_; }

  /// The request's credential: `Authorization: Bearer <token>` first, else the session cookie.
  /// Any other Authorization scheme is Source::Malformed.
  static Credential credential(const jarvis::Request& req);

  /// Resolves a token to its user: valid when it exists, is not revoked or expired and its user
  /// is not disabled. Updates last_used_at at most once a minute. Never throws (database errors
  /// are logged and answer nullopt). For /ws and other transports.
  std::optional<jarvis::Principal> authenticate_token(const std::string& token);

  /// Re-validates many tokens with one query per 500 (no cache: for the periodic re-check of open
  /// WebSockets). Element i answers tokens[i]: the current principal, or nullopt when the token
  /// is revoked, expired, unknown or its user disabled. Throws on database errors (callers keep
  /// their sockets open on a transient failure). Invalid tokens are dropped from the cache.
  std::vector<std::optional<jarvis::Principal>> validate_tokens(
      const std::vector<std::string>& tokens);

  /// Called (on the revoking thread) after every revocation, disable or role change made through
  /// this service, e.g. to make the /ws hub re-validate its sockets at once. One listener;
  /// nullptr removes it.
  void set_revocation_listener(std::function<void()> listener);

  // ---- Login ---------------------------------------------------------------------------------

  /// Checks a username/password pair from `address`. Throws RateLimited (429), jarvis::Error 401
  /// `invalid_credentials` (the same for an unknown user and a wrong password; an unknown user
  /// costs the same hash verification), 403 `user_disabled` (only after a correct password), 400
  /// `invalid_field` for a malformed username. While no admin exists, a password equal to
  /// WEB_AUTH_SETUP_PASSWORD for a username that does not exist yet creates it as admin.
  LoginResult login(const std::string& username, const std::string& password,
                    const std::string& address);
  /// The login route's checks before the body is read (login CSRF): Content-Type must be
  /// application/json (415 `unsupported_media_type`; a cross-site form or text/plain POST cannot
  /// send it without a preflight), and an Origin, when sent, must be a single trusted one (403
  /// `csrf_origin_mismatch`).
  void check_login_request(const jarvis::Request& req) const;
  /// Revokes the token (session or API); false when it was not active.
  bool logout(const std::string& token);
  /// The Set-Cookie value for a new session (HttpOnly; SameSite=Lax; Path=/; Max-Age; Secure when
  /// WEB_COOKIE_SECURE or the request came over https per X-Forwarded-Proto).
  std::string session_cookie(const jarvis::Request& req, const std::string& token) const;
  /// The Set-Cookie value that deletes the session cookie.
  std::string clear_cookie(const jarvis::Request& req) const;

  // ---- Management (CLI) ----------------------------------------------------------------------

  /// Creates a user. 400 `invalid_field` (username: 1–64 of a-z 0-9 . _ @ -, stored lower-case;
  /// password: 8–1024 bytes), 409 `user_exists`.
  UserRecord add_user(const std::string& username, const std::string& password, jarvis::Role role);
  /// Changes a role; 404 `user_not_found`; 409 `last_admin` when it would leave no active admin.
  UserRecord set_role(const std::string& username, jarvis::Role role);
  /// Sets a new password and revokes the user's login sessions (API tokens stay).
  UserRecord set_password(const std::string& username, const std::string& password);
  /// Disables (every token stops working at once) or re-enables a user; 409 `last_admin`.
  UserRecord set_disabled(const std::string& username, bool disabled);
  /// Issues an API token for `username` valid `ttl_hours` (1..87600; 0 = the configured default).
  IssuedToken create_api_token(const std::string& username, int ttl_hours,
                               const std::string& label);
  /// Revokes a token by id; false when unknown or already revoked.
  bool revoke_token(const std::string& token_id);

  /// Validates and normalises a username (lower-case); throws 400 `invalid_field` naming `field`.
  static std::string normalize_username(const std::string& raw,
                                        const std::string& field = "username");
  /// Validates a new password; throws 400 `invalid_field` naming `field`.
  static void check_new_password(const std::string& password,
                                 const std::string& field = "password");

 private:
  UserRecord require_user(const std::string& username);
  void emit(const std::string& type, const jarvis::Json& payload, const std::string& actor_id);
  IssuedToken issue(const UserRecord& user, const std::string& kind, int ttl_hours,
                    const std::string& label);
  void forget_cached();
  const std::string& dummy_hash();

  jarvis::Database& db_;
  EventBusImpl* events_;
  AuthSettings settings_;
  UserStore store_;
  std::vector<std::string> trusted_origins_;
  LoginLimiter limiter_;
  std::mutex listener_mu_;
  std::function<void()> revocation_listener_;
  std::once_flag dummy_once_;
  std::string dummy_hash_;

  struct Cached {
    TokenGrant grant;
    std::chrono::steady_clock::time_point until;
  };
  mutable std::mutex cache_mu_;
  std::unordered_map<std::string, Cached> cache_;
  /// Bumped by every revocation; a lookup that raced with one does not fill the cache.
  unsigned long long cache_generation_ = 0;
};

/// Registers POST /api/v1/auth/login (public), GET /api/v1/auth/me (user) and
/// POST /api/v1/auth/logout (user), owner "host".
void register_auth_routes(Router& router, AuthService& auth);

/// Registers `jarvis users add|list|set-role|passwd|disable|enable` and
/// `jarvis tokens create|list|revoke`, owner "host".
void register_auth_commands(CommandTable& commands, AuthService& auth);

}  // namespace jarvis::host

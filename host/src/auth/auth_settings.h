// host/src/auth/auth_settings.h — the identity and web-hygiene configuration keys, declared once
// and validated from the ConfigStore (WEB_AUTH_*, WEB_COOKIE_SECURE, WEB_CORS_ORIGINS, LOGIN_*).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "auth/credentials.h"
#include "config/config.h"
#include "config/host_settings.h"

namespace jarvis::host {

/// Typed identity settings.
struct AuthSettings {
  /// WEB_AUTH_TOKEN_TTL_HOURS (1..87600, default 168): lifetime of login sessions (and cookie
  /// Max-Age).
  int token_ttl_hours = 168;
  /// WEB_AUTH_API_TOKEN_TTL_HOURS (1..87600, default 2160): default lifetime of `jarvis tokens
  /// create`.
  int api_token_ttl_hours = 2160;
  /// WEB_AUTH_SETUP_PASSWORD (secret; empty = bootstrap off): while no admin exists, a login whose
  /// password equals it creates that user as the first admin. At least 8 characters when set.
  std::string setup_password;
  /// WEB_COOKIE_SECURE (bool, default false): always mark the session cookie Secure (it is also
  /// Secure when the request came over https, i.e. X-Forwarded-Proto: https).
  bool cookie_secure = false;
  /// WEB_CORS_ORIGINS (comma-separated "scheme://host[:port]", lower-cased, no trailing '/'):
  /// browser origins allowed to call the API with credentials. "*" allows any origin without
  /// credentials (never counts for the CSRF rule).
  std::vector<std::string> cors_origins;
  bool cors_any = false;
  /// Failed logins before 429 (0 disables a limit), stored in the database (login_failures):
  /// LOGIN_RATE_LIMIT_PER_ADDRESS_USERNAME (5) and LOGIN_RATE_LIMIT_PER_ADDRESS (20) per
  /// LOGIN_RATE_LIMIT_WINDOW_SECONDS (300); the backstop LOGIN_RATE_LIMIT_PER_USERNAME (100) per
  /// LOGIN_RATE_LIMIT_USERNAME_WINDOW_SECONDS (3600), which spares addresses the user logged in
  /// from before.
  int login_limit_per_address = 20;
  int login_limit_per_address_username = 5;
  int login_limit_per_username = 100;
  std::chrono::seconds login_window{300};
  std::chrono::seconds login_username_window{3600};
  /// WEB_PUBLIC_ORIGIN (comma-separated origins; default derived from BIND_HOST/BIND_PORT, see
  /// public_origins()): the server's own browser origins for the CSRF and /ws Origin checks.
  std::vector<std::string> public_origins;
  /// WEB_AUTH_PASSWORD_HASH ("interactive" default, or "moderate").
  PasswordStrength password_strength = PasswordStrength::Interactive;
  /// WEB_AUTH_CACHE_SECONDS (0..300, default 5): how long a validated token is trusted without a
  /// database read (expiry is still checked on every request). Revocations made through this
  /// process apply at once; from another process (CLI, another instance) within this time.
  std::chrono::seconds token_cache{5};

  /// Validates the keys in `store`; throws std::runtime_error naming the key and what was expected.
  static AuthSettings from(const ConfigStore& store);
};

/// Declarations of the keys above (for `jarvis config show` and start-up validation).
const std::vector<SettingDecl>& auth_setting_decls();

/// Normalises one origin ("HTTP://Example.com:8080/" -> "http://example.com:8080", the default
/// port dropped: "https://x:443" -> "https://x"); empty when `text` is not scheme://host[:port]
/// with scheme http or https (no path, no user info).
std::string normalize_origin(const std::string& text);

/// The server's own browser origins: WEB_PUBLIC_ORIGIN (comma-separated) when set, else
/// http://BIND_HOST:BIND_PORT, plus http://localhost, http://127.0.0.1 and http://[::1] on that
/// port when BIND_HOST is a loopback address or binds every address (0.0.0.0, ::). Nothing is
/// derived for BIND_PORT 0. Throws std::runtime_error on an invalid WEB_PUBLIC_ORIGIN.
std::vector<std::string> public_origins(const ConfigStore& store);

}  // namespace jarvis::host

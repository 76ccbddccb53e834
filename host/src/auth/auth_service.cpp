// host/src/auth/auth_service.cpp — credentials, RBAC, CSRF, CORS, login and user management.
#include "auth/auth_service.h"

#include <algorithm>
#include <cctype>

#include <spdlog/spdlog.h>

#include "auth/credentials.h"
#include "http/dispatcher.h"
#include "jarvis/strings.h"
#include "registry/event_bus.h"

namespace jarvis::host {
namespace {

constexpr std::size_t kMaxUsername = 64;
constexpr std::size_t kMinPassword = 8;
constexpr std::size_t kMaxPassword = 1024;
constexpr std::size_t kMaxTokenLength = 512;
constexpr std::size_t kCacheMaxEntries = 10000;
constexpr long long kTouchIntervalMs = 60 * 1000;

bool unsafe_method(const std::string& m) {
  return m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE";
}

jarvis::Response error(const jarvis::Request& req, int status, const std::string& code,
                       const std::string& message) {
  auto res = Dispatcher::error_response(status, code, message, req.request_id);
  if (status == 401) res.headers.set("WWW-Authenticate", "Bearer realm=\"jarvis\"");
  return res;
}

/// The value of cookie `name` in a Cookie header ("a=1; b=2"), or empty.
std::string cookie_value(const std::string& header, const std::string& name) {
  std::size_t pos = 0;
  while (pos < header.size()) {
    auto semi = header.find(';', pos);
    std::string part = jarvis::trimmed(
        header.substr(pos, semi == std::string::npos ? std::string::npos : semi - pos));
    auto eq = part.find('=');
    if (eq != std::string::npos && part.substr(0, eq) == name) {
      std::string v = part.substr(eq + 1);
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return v;
    }
    if (semi == std::string::npos) break;
    pos = semi + 1;
  }
  return "";
}

bool https_request(const jarvis::Request& req) {
  auto proto = req.headers.get("X-Forwarded-Proto");
  return proto && jarvis::ascii_lower(jarvis::trimmed(*proto)) == "https";
}

/// Header names a preflight may ask for: a comma-separated list of HTTP tokens.
bool valid_header_list(const std::string& s) {
  if (s.size() > 1024) return false;
  for (unsigned char c : s) {
    if (!(std::isalnum(c) || c == '-' || c == '_' || c == ',' || c == ' ')) return false;
  }
  return true;
}

}  // namespace

AuthService::AuthService(jarvis::Database& db, EventBusImpl* events, AuthSettings settings)
    : db_(db),
      events_(events),
      settings_(std::move(settings)),
      store_(db),
      limiter_(db, LoginLimits{.per_address_username = settings_.login_limit_per_address_username,
                               .per_address = settings_.login_limit_per_address,
                               .window = settings_.login_window,
                               .per_username = settings_.login_limit_per_username,
                               .username_window = settings_.login_username_window}) {
  trusted_origins_ = settings_.public_origins;
  for (const auto& o : settings_.cors_origins) {
    if (std::find(trusted_origins_.begin(), trusted_origins_.end(), o) == trusted_origins_.end()) {
      trusted_origins_.push_back(o);
    }
  }
}

// ---- HTTP pipeline ---------------------------------------------------------------------------

Credential AuthService::credential(const jarvis::Request& req) {
  Credential c;
  if (auto auth = req.headers.get("Authorization")) {
    std::string v = jarvis::trimmed(*auth);
    if (v.size() > 7 && jarvis::ascii_lower(v.substr(0, 7)) == "bearer ") {
      c.token = jarvis::trimmed(v.substr(7));
      c.source = c.token.empty() ? Credential::Source::Malformed : Credential::Source::Bearer;
    } else {
      c.source = Credential::Source::Malformed;
    }
    return c;
  }
  if (auto cookie = req.headers.get("Cookie")) {
    c.token = cookie_value(*cookie, kSessionCookie);
    if (!c.token.empty()) c.source = Credential::Source::Cookie;
  }
  return c;
}

std::optional<jarvis::Principal> AuthService::authenticate_token(const std::string& token) {
  if (token.empty() || token.size() > kMaxTokenLength) return std::nullopt;
  try {
    std::string digest = token_digest(token);
    auto now_steady = std::chrono::steady_clock::now();
    unsigned long long generation = 0;
    if (settings_.token_cache.count() > 0) {
      std::lock_guard lock(cache_mu_);
      generation = cache_generation_;
      auto it = cache_.find(digest);
      if (it != cache_.end()) {
        if (it->second.until > now_steady && it->second.grant.expires_at > jarvis::now_iso()) {
          return it->second.grant.principal;
        }
        cache_.erase(it);
      }
    }
    std::string now = jarvis::now_iso();
    auto grant = store_.lookup_token(digest, now);
    if (!grant) return std::nullopt;
    if (grant->last_used_at.empty() ||
        grant->last_used_at < jarvis::iso_from_now(-kTouchIntervalMs)) {
      store_.touch_token(grant->token_id, now);
      grant->last_used_at = now;
    }
    if (settings_.token_cache.count() > 0) {
      std::lock_guard lock(cache_mu_);
      if (generation == cache_generation_) {
        if (cache_.size() >= kCacheMaxEntries) cache_.clear();
        cache_[digest] = Cached{*grant, now_steady + settings_.token_cache};
      }
    }
    return grant->principal;
  } catch (const std::exception& e) {
    spdlog::error("auth: token lookup failed: {}", e.what());
    return std::nullopt;
  }
}

bool AuthService::origin_allowed(const jarvis::Request& req) const {
  return check_origin(req, trusted_origins_) == OriginStatus::Allowed;
}

std::optional<jarvis::Response> AuthService::authorize(jarvis::Request& req,
                                                       const RouteEntry& route) {
  req.principal = jarvis::Principal{};
  const jarvis::Auth level = route.spec.auth;
  if (level == jarvis::Auth::Webhook) return std::nullopt;
  if (check_origin(req, trusted_origins_) == OriginStatus::Multiple) {
    return error(req, 403, "csrf_origin_mismatch", "a request may carry one Origin header");
  }

  Credential cred = credential(req);
  std::optional<jarvis::Principal> who;
  if (cred.source == Credential::Source::Bearer || cred.source == Credential::Source::Cookie) {
    who = authenticate_token(cred.token);
  }
  if (who && cred.source == Credential::Source::Cookie && unsafe_method(req.method) &&
      !origin_allowed(req)) {
    if (level == jarvis::Auth::Public) {
      who.reset();  // a public route still works, but not as the cookie's user
    } else {
      return error(req, 403, "csrf_origin_mismatch",
                   "a cookie-authenticated " + req.method +
                       " needs an Origin header of this server (WEB_PUBLIC_ORIGIN) or one listed "
                       "in WEB_CORS_ORIGINS (or use an Authorization: Bearer token)");
    }
  }
  if (who) req.principal = *who;
  if (level == jarvis::Auth::Public) return std::nullopt;

  if (!who) {
    std::string why;
    switch (cred.source) {
      case Credential::Source::None:
        why = "authentication required";
        break;
      case Credential::Source::Malformed:
        why = "the Authorization header must be 'Bearer <token>'";
        break;
      default:
        why = "invalid, expired or revoked credentials";
        break;
    }
    return error(req, 401, "unauthorized", why);
  }
  if (level == jarvis::Auth::Admin && !who->is_admin()) {
    return error(req, 403, "forbidden", "this route requires the admin role");
  }
  return std::nullopt;
}

std::optional<jarvis::Response> AuthService::preflight(const jarvis::Request& req) const {
  if (req.method != "OPTIONS") return std::nullopt;
  auto origin_h = req.headers.get("Origin");
  auto method = req.headers.get("Access-Control-Request-Method");
  if (!origin_h || !method) return std::nullopt;
  std::string origin = normalize_origin(*origin_h);
  bool listed = !origin.empty() &&
                std::find(settings_.cors_origins.begin(), settings_.cors_origins.end(), origin) !=
                    settings_.cors_origins.end();
  if (!listed && !settings_.cors_any) {
    return error(req, 403, "cors_origin_not_allowed",
                 "origin '" + *origin_h + "' is not listed in WEB_CORS_ORIGINS");
  }
  jarvis::Response res;
  res.status = 204;
  res.headers.set("Access-Control-Allow-Origin", listed ? origin : "*");
  if (listed) res.headers.set("Access-Control-Allow-Credentials", "true");
  res.headers.set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
  auto asked = req.headers.get("Access-Control-Request-Headers");
  res.headers.set(
      "Access-Control-Allow-Headers",
      asked && valid_header_list(*asked) ? *asked : "Authorization, Content-Type, X-Request-Id");
  res.headers.set("Access-Control-Max-Age", "600");
  res.headers.set("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
  return res;
}

void AuthService::decorate(const jarvis::Request& req, jarvis::Response& res) const {
  if (res.headers.has("Access-Control-Allow-Origin")) return;  // a preflight answer
  if (settings_.cors_origins.empty() && !settings_.cors_any) return;
  res.headers.add("Vary", "Origin");
  auto origin_h = req.headers.get("Origin");
  if (!origin_h) return;
  std::string origin = normalize_origin(*origin_h);
  bool listed = !origin.empty() &&
                std::find(settings_.cors_origins.begin(), settings_.cors_origins.end(), origin) !=
                    settings_.cors_origins.end();
  if (listed) {
    res.headers.set("Access-Control-Allow-Origin", origin);
    res.headers.set("Access-Control-Allow-Credentials", "true");
  } else if (settings_.cors_any) {
    res.headers.set("Access-Control-Allow-Origin", "*");
  } else {
    return;
  }
  res.headers.set("Access-Control-Expose-Headers", "X-Request-Id, Retry-After");
}

// ---- Login -----------------------------------------------------------------------------------

const std::string& AuthService::dummy_hash() {
  std::call_once(dummy_once_,
                 [&] { dummy_hash_ = hash_password(new_token(), settings_.password_strength); });
  return dummy_hash_;
}

LoginResult AuthService::login(const std::string& raw_username, const std::string& password,
                               const std::string& address) {
  std::string username = normalize_username(raw_username);
  if (password.empty())
    throw jarvis::Error(400, "invalid_field", "field 'password': must not be empty");
  if (password.size() > kMaxPassword) {
    throw jarvis::Error(400, "invalid_field",
                        "field 'password': at most " + std::to_string(kMaxPassword) + " bytes");
  }

  // Reserve one attempt in every window before any expensive work; a success gives it back.
  const std::string addr_key = address.empty() ? "-" : address;
  const std::int64_t now_ms = LoginLimiter::now_ms();
  LoginVerdict verdict = limiter_.reserve(addr_key, username, now_ms);
  if (!verdict.allowed) {
    std::string what = verdict.scope == "address" ? "from this address"
                       : verdict.scope == "user"  ? "for this username"
                                                  : "for this username from this address";
    // No audit event here: a flood of refused attempts must stay cheap.
    throw RateLimited(verdict.retry_after, "too many login attempts " + what + "; retry in " +
                                               std::to_string(verdict.retry_after.count()) + " s");
  }
  auto give_back = [&] {
    try {
      limiter_.succeeded(addr_key, username, verdict.reservation, now_ms);
    } catch (const std::exception& e) {
      spdlog::error("auth: clearing login attempts failed: {}", e.what());
    }
  };

  auto user = store_.find_by_name(username);
  if (!user) {
    // Bootstrap: no admin yet and the operator's setup password → this user becomes the admin.
    if (!settings_.setup_password.empty() && !store_.any_admin() &&
        secrets_equal(password, settings_.setup_password)) {
      try {
        auto created = store_.create_first_admin(
            username, hash_password(password, settings_.password_strength));
        if (created) {
          give_back();
          emit("user.created",
               {{"user_id", created->id},
                {"username", username},
                {"role", "admin"},
                {"via", "setup_password"}},
               created->id);
          LoginResult r{issue(*created, "session", settings_.token_ttl_hours, "login"), *created,
                        true};
          emit("auth.login",
               {{"user_id", created->id},
                {"username", username},
                {"address", address},
                {"bootstrap", true}},
               created->id);
          return r;
        }
      } catch (const jarvis::Error&) {
        // Another request created this name meanwhile: fall through to the normal answer.
      }
    }
    (void)verify_password(dummy_hash(), password);  // same cost as a real check
    emit("auth.login_failed",
         {{"username", username}, {"address", address}, {"reason", "invalid_credentials"}}, "");
    throw jarvis::Error(401, "invalid_credentials", "invalid username or password");
  }
  if (!verify_password(user->password_hash, password)) {
    emit("auth.login_failed",
         {{"username", username}, {"address", address}, {"reason", "invalid_credentials"}},
         user->id);
    throw jarvis::Error(401, "invalid_credentials", "invalid username or password");
  }
  if (user->disabled) {
    emit("auth.login_failed",
         {{"username", username}, {"address", address}, {"reason", "user_disabled"}}, user->id);
    throw jarvis::Error(403, "user_disabled", "this account is disabled");
  }
  give_back();
  if (password_needs_rehash(user->password_hash, settings_.password_strength)) {
    store_.set_password_hash(user->id, hash_password(password, settings_.password_strength));
  }
  LoginResult r{issue(*user, "session", settings_.token_ttl_hours, "login"), *user, false};
  emit("auth.login", {{"user_id", user->id}, {"username", username}, {"address", address}},
       user->id);
  return r;
}

bool AuthService::logout(const std::string& token) {
  if (token.empty() || token.size() > kMaxTokenLength) return false;
  bool revoked = store_.revoke_digest(token_digest(token));
  forget_cached();
  return revoked;
}

std::string AuthService::session_cookie(const jarvis::Request& req,
                                        const std::string& token) const {
  std::string c = std::string(kSessionCookie) + "=" + token + "; Path=/; Max-Age=" +
                  std::to_string(static_cast<long long>(settings_.token_ttl_hours) * 3600) +
                  "; HttpOnly; SameSite=Lax";
  if (settings_.cookie_secure || https_request(req)) c += "; Secure";
  return c;
}

std::string AuthService::clear_cookie(const jarvis::Request& req) const {
  // Appended, not `std::string(kSessionCookie) + "…"`: GCC 12 -Warray-bounds false positive.
  std::string c(kSessionCookie);
  c += "=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax";
  if (settings_.cookie_secure || https_request(req)) c += "; Secure";
  return c;
}

// ---- Management ------------------------------------------------------------------------------

std::string AuthService::normalize_username(const std::string& raw, const std::string& field) {
  if (raw.empty())
    throw jarvis::Error(400, "invalid_field", "field '" + field + "': must not be empty");
  if (raw.size() > kMaxUsername) {
    throw jarvis::Error(
        400, "invalid_field",
        "field '" + field + "': at most " + std::to_string(kMaxUsername) + " characters");
  }
  std::string u = jarvis::ascii_lower(raw);
  for (std::size_t i = 0; i < u.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(u[i]);
    bool ok = std::isalnum(c) || (i > 0 && (c == '.' || c == '_' || c == '@' || c == '-'));
    if (!ok || c > 127) {
      throw jarvis::Error(
          400, "invalid_field",
          "field '" + field +
              "': use letters, digits and . _ @ - (starting with a letter or digit)");
    }
  }
  return u;
}

void AuthService::check_new_password(const std::string& password, const std::string& field) {
  if (password.size() < kMinPassword) {
    throw jarvis::Error(
        400, "invalid_field",
        "field '" + field + "': at least " + std::to_string(kMinPassword) + " characters");
  }
  if (password.size() > kMaxPassword) {
    throw jarvis::Error(
        400, "invalid_field",
        "field '" + field + "': at most " + std::to_string(kMaxPassword) + " bytes");
  }
}

UserRecord AuthService::require_user(const std::string& username) {
  auto u = store_.find_by_name(normalize_username(username));
  if (!u) throw jarvis::Error(404, "user_not_found", "no user named '" + username + "'");
  return *u;
}

UserRecord AuthService::add_user(const std::string& username, const std::string& password,
                                 jarvis::Role role) {
  std::string name = normalize_username(username);
  check_new_password(password);
  if (store_.find_by_name(name))
    throw jarvis::Error(409, "user_exists", "user '" + name + "' already exists");
  auto u = store_.create(name, hash_password(password, settings_.password_strength), role);
  emit("user.created",
       {{"user_id", u.id}, {"username", u.username}, {"role", jarvis::to_string(role)}}, u.id);
  return u;
}

UserRecord AuthService::set_role(const std::string& username, jarvis::Role role) {
  UserRecord u = require_user(username);
  if (u.role == jarvis::Role::Admin && role != jarvis::Role::Admin && !u.disabled &&
      store_.active_admin_count() <= 1) {
    throw jarvis::Error(409, "last_admin", "'" + u.username + "' is the last active admin");
  }
  store_.set_role(u.id, role);
  forget_cached();
  u.role = role;
  emit("user.role_changed",
       {{"user_id", u.id}, {"username", u.username}, {"role", jarvis::to_string(role)}}, u.id);
  return u;
}

UserRecord AuthService::set_password(const std::string& username, const std::string& password) {
  UserRecord u = require_user(username);
  check_new_password(password);
  store_.set_password_hash(u.id, hash_password(password, settings_.password_strength));
  int revoked = store_.revoke_user_tokens(u.id, "session");
  forget_cached();
  emit("user.password_changed",
       {{"user_id", u.id}, {"username", u.username}, {"sessions_revoked", revoked}}, u.id);
  return u;
}

UserRecord AuthService::set_disabled(const std::string& username, bool disabled) {
  UserRecord u = require_user(username);
  if (disabled && u.role == jarvis::Role::Admin && !u.disabled &&
      store_.active_admin_count() <= 1) {
    throw jarvis::Error(409, "last_admin", "'" + u.username + "' is the last active admin");
  }
  store_.set_disabled(u.id, disabled);
  forget_cached();
  u.disabled = disabled;
  emit(disabled ? "user.disabled" : "user.enabled", {{"user_id", u.id}, {"username", u.username}},
       u.id);
  return u;
}

IssuedToken AuthService::create_api_token(const std::string& username, int ttl_hours,
                                          const std::string& label) {
  UserRecord u = require_user(username);
  if (ttl_hours < 0 || ttl_hours > 87600) {
    throw jarvis::Error(400, "invalid_field", "field 'ttl': hours between 1 and 87600");
  }
  if (label.size() > 128)
    throw jarvis::Error(400, "invalid_field", "field 'label': at most 128 characters");
  if (u.disabled)
    throw jarvis::Error(409, "user_disabled", "user '" + u.username + "' is disabled");
  return issue(u, "api", ttl_hours == 0 ? settings_.api_token_ttl_hours : ttl_hours, label);
}

bool AuthService::revoke_token(const std::string& token_id) {
  bool ok = store_.revoke_token(token_id);
  forget_cached();
  if (ok) emit("token.revoked", {{"token_id", token_id}}, "");
  return ok;
}

IssuedToken AuthService::issue(const UserRecord& user, const std::string& kind, int ttl_hours,
                               const std::string& label) {
  IssuedToken t;
  t.token = new_token();
  t.record =
      store_.insert_token(user.id, token_digest(t.token), kind, label,
                          jarvis::iso_from_now(static_cast<long long>(ttl_hours) * 3600 * 1000));
  t.record.username = user.username;
  if (kind == "api") {
    emit("token.created",
         {{"token_id", t.record.id},
          {"user_id", user.id},
          {"kind", kind},
          {"expires_at", t.record.expires_at}},
         user.id);
  }
  return t;
}

void AuthService::forget_cached() {
  {
    std::lock_guard lock(cache_mu_);
    cache_.clear();
    ++cache_generation_;
  }
  std::function<void()> listener;
  {
    std::lock_guard lock(listener_mu_);
    listener = revocation_listener_;
  }
  if (listener) {
    try {
      listener();
    } catch (const std::exception& e) {
      spdlog::error("auth: revocation listener failed: {}", e.what());
    }
  }
}

void AuthService::set_revocation_listener(std::function<void()> listener) {
  std::lock_guard lock(listener_mu_);
  revocation_listener_ = std::move(listener);
}

std::vector<std::optional<jarvis::Principal>> AuthService::validate_tokens(
    const std::vector<std::string>& tokens) {
  std::vector<std::optional<jarvis::Principal>> out(tokens.size());
  std::vector<std::string> digests(tokens.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (!tokens[i].empty() && tokens[i].size() <= kMaxTokenLength) {
      digests[i] = token_digest(tokens[i]);
    }
  }
  auto grants = store_.lookup_tokens(digests, jarvis::now_iso());
  std::lock_guard lock(cache_mu_);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (digests[i].empty()) continue;
    auto it = grants.find(digests[i]);
    if (it != grants.end()) {
      out[i] = it->second.principal;
    } else {
      cache_.erase(digests[i]);
    }
  }
  return out;
}

void AuthService::check_login_request(const jarvis::Request& req) const {
  auto type = req.headers.get("Content-Type");
  std::string media =
      type ? jarvis::ascii_lower(jarvis::trimmed(type->substr(0, type->find(';')))) : "";
  if (media != "application/json") {
    throw jarvis::Error(415, "unsupported_media_type",
                        "login needs Content-Type: application/json");
  }
  switch (check_origin(req, trusted_origins_)) {
    case OriginStatus::Absent:  // not a browser, or a same-origin GET-less client
    case OriginStatus::Allowed:
      return;
    case OriginStatus::Multiple:
      throw jarvis::Error(403, "csrf_origin_mismatch", "a request may carry one Origin header");
    case OriginStatus::Denied:
      break;
  }
  throw jarvis::Error(403, "csrf_origin_mismatch",
                      "login from this Origin is not allowed (it must be WEB_PUBLIC_ORIGIN or "
                      "listed in WEB_CORS_ORIGINS)");
}

void AuthService::emit(const std::string& type, const jarvis::Json& payload,
                       const std::string& actor_id) {
  if (!events_) return;
  try {
    events_->emit(Owner{}, jarvis::Event{.type = type,
                                         .payload = payload,
                                         .actor_type = actor_id.empty() ? "system" : "user",
                                         .actor_id = actor_id,
                                         .component = "auth"});
  } catch (const std::exception& e) {
    spdlog::error("auth: event {} failed: {}", type, e.what());
  }
}

}  // namespace jarvis::host

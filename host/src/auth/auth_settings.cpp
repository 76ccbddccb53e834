// host/src/auth/auth_settings.cpp — parsing and validation of the identity settings.
#include "auth/auth_settings.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>

#include "jarvis/strings.h"

namespace jarvis::host {
namespace {

int int_key(const ConfigStore& store, const std::string& key, int fallback, int min, int max) {
  auto v = store.get(key);
  if (!v || jarvis::trimmed(v->value).empty()) return fallback;
  std::string text = jarvis::trimmed(v->value);
  int out = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || p != text.data() + text.size() || out < min || out > max) {
    throw std::runtime_error(key + "=" + text + " (from " + v->origin + "): expected an integer " +
                             std::to_string(min) + ".." + std::to_string(max));
  }
  return out;
}

}  // namespace

std::string normalize_origin(const std::string& text) {
  std::string s = jarvis::trimmed(text);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  while (!s.empty() && s.back() == '/') s.pop_back();
  std::string scheme;
  std::string rest;
  if (s.rfind("http://", 0) == 0) {
    scheme = "http";
    rest = s.substr(7);
  } else if (s.rfind("https://", 0) == 0) {
    scheme = "https";
    rest = s.substr(8);
  } else {
    return "";
  }
  if (rest.empty()) return "";
  // host: a name, an IPv4 address or a bracketed IPv6 address; then an optional :port.
  std::string host;
  std::string port;
  if (rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos) return "";
    host = rest.substr(0, close + 1);
    std::string after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "";
      port = after.substr(1);
    }
    for (unsigned char c : host.substr(1, host.size() - 2)) {
      if (!(std::isxdigit(c) || c == ':' || c == '.')) return "";
    }
  } else {
    auto colon = rest.find(':');
    host = rest.substr(0, colon);
    if (colon != std::string::npos) port = rest.substr(colon + 1);
    for (unsigned char c : host) {
      if (!(std::isalnum(c) || c == '.' || c == '-' || c == '_')) return "";
    }
  }
  if (host.empty() || host == "[]") return "";
  if (!port.empty() || rest.back() == ':') {
    if (port.empty() || port.size() > 5) return "";
    for (unsigned char c : port) {
      if (!std::isdigit(c)) return "";
    }
    int n = std::stoi(port);
    if (n < 1 || n > 65535) return "";
    port = std::to_string(n);
    // Browsers leave the default port out of Origin.
    if ((scheme == "http" && n == 80) || (scheme == "https" && n == 443)) port.clear();
  }
  std::string out = scheme;
  out.append("://").append(host);
  if (!port.empty()) out.append(":").append(port);
  return out;
}

std::vector<std::string> public_origins(const ConfigStore& store) {
  std::vector<std::string> out;
  auto push = [&out](const std::string& o) {
    if (!o.empty() && std::find(out.begin(), out.end(), o) == out.end()) out.push_back(o);
  };
  std::string configured = store.get_or("WEB_PUBLIC_ORIGIN", "");
  std::size_t start = 0;
  while (start <= configured.size()) {
    auto comma = configured.find(',', start);
    std::string item = jarvis::trimmed(
        configured.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (!item.empty()) {
      std::string o = normalize_origin(item);
      if (o.empty()) {
        throw std::runtime_error("WEB_PUBLIC_ORIGIN: '" + item +
                                 "' is not an origin (expected scheme://host[:port], http or "
                                 "https, no path)");
      }
      push(o);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (!out.empty()) return out;
  // Derived from the listen address: http://BIND_HOST:BIND_PORT, and the loopback names when
  // bound to loopback or to every address. Port 0 (ephemeral) derives nothing.
  std::string host = jarvis::trimmed(store.get_or("BIND_HOST", "127.0.0.1"));
  std::string port_text = jarvis::trimmed(store.get_or("BIND_PORT", "8000"));
  int port = 0;
  auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || p != port_text.data() + port_text.size() || port <= 0 || port > 65535) {
    return out;
  }
  std::string h = host;
  std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return std::tolower(c); });
  bool any = h.empty() || h == "0.0.0.0" || h == "::" || h == "[::]";
  bool loopback = h == "localhost" || h.rfind("127.", 0) == 0 || h == "::1" || h == "[::1]";
  auto origin_of = [port](const std::string& host_part) {
    std::string o = "http://";
    o.append(host_part).append(":").append(std::to_string(port));
    return normalize_origin(o);
  };
  if (!any) {
    bool v6 = h.find(':') != std::string::npos && h.front() != '[';
    std::string literal;
    if (v6) literal.push_back('[');
    literal.append(h);
    if (v6) literal.push_back(']');
    push(origin_of(literal));
  }
  if (any || loopback) {
    push(origin_of("localhost"));
    push(origin_of("127.0.0.1"));
    push(origin_of("[::1]"));
  }
  return out;
}

AuthSettings AuthSettings::from(const ConfigStore& store) {
  AuthSettings s;
  s.token_ttl_hours = int_key(store, "WEB_AUTH_TOKEN_TTL_HOURS", 168, 1, 87600);
  s.api_token_ttl_hours = int_key(store, "WEB_AUTH_API_TOKEN_TTL_HOURS", 2160, 1, 87600);
  s.setup_password = store.get_or("WEB_AUTH_SETUP_PASSWORD", "");
  if (!s.setup_password.empty() && s.setup_password.size() < 8) {
    throw std::runtime_error("WEB_AUTH_SETUP_PASSWORD: expected at least 8 characters");
  }
  std::string secure = jarvis::trimmed(store.get_or("WEB_COOKIE_SECURE", ""));
  if (!secure.empty()) {
    auto b = parse_bool(secure);
    if (!b)
      throw std::runtime_error("WEB_COOKIE_SECURE=" + secure +
                               ": expected a bool (1/0, true/false)");
    s.cookie_secure = *b;
  }
  std::string origins = store.get_or("WEB_CORS_ORIGINS", "");
  std::size_t start = 0;
  while (start <= origins.size()) {
    auto comma = origins.find(',', start);
    std::string item = jarvis::trimmed(
        origins.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (!item.empty()) {
      if (item == "*") {
        s.cors_any = true;
      } else {
        std::string o = normalize_origin(item);
        if (o.empty()) {
          throw std::runtime_error(
              "WEB_CORS_ORIGINS: '" + item +
              "' is not an origin (expected scheme://host[:port], http or https)");
        }
        if (std::find(s.cors_origins.begin(), s.cors_origins.end(), o) == s.cors_origins.end()) {
          s.cors_origins.push_back(o);
        }
      }
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  s.login_limit_per_address = int_key(store, "LOGIN_RATE_LIMIT_PER_ADDRESS", 20, 0, 100000);
  s.login_limit_per_address_username =
      int_key(store, "LOGIN_RATE_LIMIT_PER_ADDRESS_USERNAME", 5, 0, 100000);
  s.login_limit_per_username = int_key(store, "LOGIN_RATE_LIMIT_PER_USERNAME", 100, 0, 1000000);
  s.login_window =
      std::chrono::seconds(int_key(store, "LOGIN_RATE_LIMIT_WINDOW_SECONDS", 300, 1, 86400));
  s.login_username_window = std::chrono::seconds(
      int_key(store, "LOGIN_RATE_LIMIT_USERNAME_WINDOW_SECONDS", 3600, 1, 7 * 86400));
  s.public_origins = jarvis::host::public_origins(store);
  std::string strength = jarvis::trimmed(store.get_or("WEB_AUTH_PASSWORD_HASH", "interactive"));
  if (!parse_password_strength(strength, s.password_strength)) {
    throw std::runtime_error("WEB_AUTH_PASSWORD_HASH=" + strength +
                             ": expected interactive or moderate");
  }
  s.token_cache = std::chrono::seconds(int_key(store, "WEB_AUTH_CACHE_SECONDS", 5, 0, 300));
  return s;
}

const std::vector<SettingDecl>& auth_setting_decls() {
  static const std::vector<SettingDecl> decls = {
      {"WEB_AUTH_TOKEN_TTL_HOURS", ConfigType::Int, "168", false,
       "login session lifetime in hours"},
      {"WEB_AUTH_API_TOKEN_TTL_HOURS", ConfigType::Int, "2160", false,
       "default lifetime of API tokens (jarvis tokens create) in hours"},
      {"WEB_AUTH_SETUP_PASSWORD", ConfigType::String, "", true,
       "while no admin exists, a login with this password creates the first admin"},
      {"WEB_COOKIE_SECURE", ConfigType::Bool, "false", false,
       "always mark the session cookie Secure"},
      {"WEB_AUTH_PASSWORD_HASH", ConfigType::String, "interactive", false,
       "argon2id cost: interactive (64 MiB) or moderate (256 MiB)"},
      {"WEB_AUTH_CACHE_SECONDS", ConfigType::Int, "5", false,
       "seconds a validated token is trusted without a database read (0 = always read); "
       "revocations from another process apply within this time"},
      {"LOGIN_RATE_LIMIT_PER_ADDRESS", ConfigType::Int, "20", false,
       "failed logins per client address per window (0 = off)"},
      {"LOGIN_RATE_LIMIT_PER_ADDRESS_USERNAME", ConfigType::Int, "5", false,
       "failed logins per (client address, username) per window (0 = off); a success clears it"},
      {"LOGIN_RATE_LIMIT_WINDOW_SECONDS", ConfigType::Int, "300", false,
       "window of the per-address and per-(address, username) login limits"},
      {"LOGIN_RATE_LIMIT_PER_USERNAME", ConfigType::Int, "100", false,
       "backstop: failed logins per username from all addresses per username window (0 = off); "
       "addresses the user logged in from before are exempt"},
      {"LOGIN_RATE_LIMIT_USERNAME_WINDOW_SECONDS", ConfigType::Int, "3600", false,
       "window of the per-username backstop"},
      {"WEB_PUBLIC_ORIGIN", ConfigType::String, "", false,
       "the browser origin(s) of this server, comma-separated scheme://host[:port] (default "
       "http://BIND_HOST:BIND_PORT, plus localhost/127.0.0.1/[::1] when bound to loopback or all "
       "addresses); the CSRF and /ws Origin checks accept these and WEB_CORS_ORIGINS"},
  };
  return decls;
}

}  // namespace jarvis::host

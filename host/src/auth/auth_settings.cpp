// host/src/auth/auth_settings.cpp — parsing and validation of the identity settings.
#include "auth/auth_settings.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>

namespace jarvis::host {
namespace {

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

int int_key(const ConfigStore& store, const std::string& key, int fallback, int min, int max) {
  auto v = store.get(key);
  if (!v || trim(v->value).empty()) return fallback;
  std::string text = trim(v->value);
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
  std::string s = trim(text);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  while (!s.empty() && s.back() == '/') s.pop_back();
  std::string rest;
  if (s.rfind("http://", 0) == 0) {
    rest = s.substr(7);
  } else if (s.rfind("https://", 0) == 0) {
    rest = s.substr(8);
  } else {
    return "";
  }
  if (rest.empty()) return "";
  for (unsigned char c : rest) {
    bool ok =
        std::isalnum(c) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_';
    if (!ok) return "";
  }
  return s;
}

AuthSettings AuthSettings::from(const ConfigStore& store) {
  AuthSettings s;
  s.token_ttl_hours = int_key(store, "WEB_AUTH_TOKEN_TTL_HOURS", 168, 1, 87600);
  s.api_token_ttl_hours = int_key(store, "WEB_AUTH_API_TOKEN_TTL_HOURS", 2160, 1, 87600);
  s.setup_password = store.get_or("WEB_AUTH_SETUP_PASSWORD", "");
  if (!s.setup_password.empty() && s.setup_password.size() < 8) {
    throw std::runtime_error("WEB_AUTH_SETUP_PASSWORD: expected at least 8 characters");
  }
  std::string secure = trim(store.get_or("WEB_COOKIE_SECURE", ""));
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
    std::string item =
        trim(origins.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
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
  s.login_limit_per_username = int_key(store, "LOGIN_RATE_LIMIT_PER_USERNAME", 5, 0, 100000);
  s.login_window =
      std::chrono::seconds(int_key(store, "LOGIN_RATE_LIMIT_WINDOW_SECONDS", 300, 1, 86400));
  std::string strength = trim(store.get_or("WEB_AUTH_PASSWORD_HASH", "interactive"));
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
      {"LOGIN_RATE_LIMIT_PER_USERNAME", ConfigType::Int, "5", false,
       "failed logins per username per window (0 = off)"},
      {"LOGIN_RATE_LIMIT_WINDOW_SECONDS", ConfigType::Int, "300", false, "login rate-limit window"},
  };
  return decls;
}

}  // namespace jarvis::host

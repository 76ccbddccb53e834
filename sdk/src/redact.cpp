// Recursive, case-insensitive redaction of sensitive keys in event payloads and logs.
//
// A key is sensitive when its normalised form (lower case; '-', '.', ' ' and camelCase humps
// turned into '_') is one of kSensitiveKeys, or ends in '_' + one of kSensitiveSuffixes — so
// `Authorization`, `X-Api-Key`, `apiKey`, `github_token` and `DB_PASSWORD` are all caught, while
// `max_tokens`, `token_count` or `error_code` are not.
#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include "jarvis/events.h"

namespace jarvis {
namespace {

constexpr std::array<std::string_view, 15> kSensitiveKeys = {
    "password", "token",         "access_token", "refresh_token", "api_key",
    "apikey",   "authorization", "secret",       "code",          "qrcode",
    "qr_code",  "pairing_code",  "phone",        "cookie",        "set_cookie"};

constexpr std::array<std::string_view, 6> kSensitiveSuffixes = {"_password", "_passwd",  "_token",
                                                                "_secret",   "_api_key", "_apikey"};

/// Lower-cases `key` and maps separators and camelCase boundaries to '_'.
std::string normalise(const std::string& key) {
  std::string out;
  out.reserve(key.size() + 4);
  unsigned char prev = 0;
  for (unsigned char c : key) {
    if (c == '-' || c == '.' || c == ' ') {
      out.push_back('_');
    } else if (std::isupper(c)) {
      if (std::islower(prev) || std::isdigit(prev)) out.push_back('_');
      out.push_back(static_cast<char>(std::tolower(c)));
    } else {
      out.push_back(static_cast<char>(c));
    }
    prev = c;
  }
  return out;
}

bool is_sensitive(const std::string& key) {
  std::string k = normalise(key);
  if (std::find(kSensitiveKeys.begin(), kSensitiveKeys.end(), k) != kSensitiveKeys.end()) {
    return true;
  }
  return std::any_of(kSensitiveSuffixes.begin(), kSensitiveSuffixes.end(), [&](std::string_view s) {
    return k.size() > s.size() && std::string_view(k).substr(k.size() - s.size()) == s;
  });
}

}  // namespace

Json redact(const Json& value) {
  if (value.is_object()) {
    Json out = Json::object();
    for (auto it = value.begin(); it != value.end(); ++it) {
      out[it.key()] = is_sensitive(it.key()) ? Json("[REDACTED]") : redact(it.value());
    }
    return out;
  }
  if (value.is_array()) {
    Json out = Json::array();
    for (const auto& v : value) out.push_back(redact(v));
    return out;
  }
  return value;
}

}  // namespace jarvis

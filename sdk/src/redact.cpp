// Recursive, case-insensitive redaction of sensitive keys in event payloads and logs.
#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include "jarvis/events.h"

namespace jarvis {
namespace {

constexpr std::array<std::string_view, 13> kSensitiveKeys = {
    "password", "token",  "access_token", "refresh_token", "api_key", "authorization", "secret",
    "code",     "qrcode", "qr_code",      "pairing_code",  "phone",   "cookie"};

bool is_sensitive(const std::string& key) {
  std::string lower(key.size(), '\0');
  std::transform(key.begin(), key.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(kSensitiveKeys.begin(), kSensitiveKeys.end(), lower) != kSensitiveKeys.end();
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

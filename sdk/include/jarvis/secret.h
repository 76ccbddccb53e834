// jarvis/secret.h — a value that never prints: API keys, webhook secrets, passwords.
//
//   // plugin.yaml:  api_key: {type: string, env: HELLO_API_KEY, secret: true, required: true}
//   jarvis::Secret key = host.config().get_secret("api_key");
//   host.log()->info("key {}", key);               // logs "key [REDACTED]"
//   request.headers.set("Authorization", "Bearer " + key.reveal());   // the only way to the text
//
// Streaming (`<<`) and fmt/spdlog formatting print `[REDACTED]` (empty or not), there is no
// implicit conversion to std::string, and comparison is constant time. Call reveal() at the last
// moment, where the value leaves the process (a header, an HMAC key), and never store the result.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include <spdlog/fmt/fmt.h>

#include "jarvis/version.h"

namespace jarvis {

/// A secret string. Copyable; prints as `[REDACTED]`; only reveal() gives the text.
class Secret {
 public:
  /// What every printed form of a Secret shows.
  static constexpr std::string_view kRedacted = "[REDACTED]";

  /// An empty secret (unset).
  Secret() = default;
  /// Wraps `value` (the host builds these from config; plugins may wrap secrets they derive).
  explicit Secret(std::string value) : value_(std::move(value)) {}

  /// The secret text. The only way to the value: keep the result short-lived and never log it.
  const std::string& reveal() const { return value_; }
  /// True when no value is set.
  bool empty() const { return value_.empty(); }

  /// Constant-time comparison (no early exit on the first differing byte).
  friend bool operator==(const Secret& a, const Secret& b) {
    const std::string& x = a.value_;
    const std::string& y = b.value_;
    unsigned char diff = x.size() == y.size() ? 0 : 1;
    const std::size_t n = x.size() < y.size() ? x.size() : y.size();
    for (std::size_t i = 0; i < n; ++i) {
      diff |= static_cast<unsigned char>(x[i] ^ y[i]);
    }
    return diff == 0;
  }

  /// Prints `[REDACTED]`.
  friend std::ostream& operator<<(std::ostream& out, const Secret&) { return out << kRedacted; }

 private:
  std::string value_;
};

}  // namespace jarvis

/// fmt (and so spdlog) prints every Secret as `[REDACTED]`.
template <>
struct fmt::formatter<jarvis::Secret> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(const jarvis::Secret&, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(jarvis::Secret::kRedacted, ctx);
  }
};

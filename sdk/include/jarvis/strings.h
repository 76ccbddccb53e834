// jarvis/strings.h — the small ASCII string helpers every part of the host and plugins needs,
// once.
//
//   std::string_view v = jarvis::trim("  a b \r\n");       // "a b"
//   std::string k = jarvis::ascii_lower("Content-Type");   // "content-type"
//   if (jarvis::iequals(h, "chunked")) …
//
// ASCII only on purpose: header names, config values, cron fields and keywords are ASCII, and a
// locale must never change what a protocol token means. Bytes ≥ 0x80 pass through unchanged.
#pragma once

#include <string>
#include <string_view>

#include "jarvis/version.h"

namespace jarvis {

/// True for the ASCII blanks trim() removes: space, tab, CR, LF, vertical tab, form feed.
constexpr bool is_ascii_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/// `s` without leading and trailing ASCII blanks (a view into `s`: keep `s` alive).
constexpr std::string_view trim(std::string_view s) noexcept {
  std::size_t b = 0;
  std::size_t e = s.size();
  while (b < e && is_ascii_space(s[b])) ++b;
  while (e > b && is_ascii_space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

/// `trim(s)` as a new string.
inline std::string trimmed(std::string_view s) { return std::string(trim(s)); }

/// `c` with A–Z mapped to a–z; every other byte unchanged.
constexpr char ascii_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

/// `s` with A–Z mapped to a–z.
inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

/// ASCII case-insensitive equality.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

}  // namespace jarvis

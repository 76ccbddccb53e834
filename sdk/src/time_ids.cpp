// Timestamps (fixed-width ISO-8601 UTC) and random identifiers.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>

#include "jarvis/database.h"

namespace jarvis {

std::string iso_from_now(long long offset_ms) {
  using namespace std::chrono;
  // Arithmetic in milliseconds (system_clock counts nanoseconds and would overflow for offsets of
  // a few centuries), clamped to years 0001..9999 so the text stays fixed-width and sortable.
  constexpr long long kMinMs = -62135596800000LL;  // 0001-01-01T00:00:00.000Z
  constexpr long long kMaxMs = 253402300799999LL;  // 9999-12-31T23:59:59.999Z
  long long now_ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  long long ms = 0;
  if (__builtin_add_overflow(now_ms, offset_ms, &ms)) ms = offset_ms > 0 ? kMaxMs : kMinMs;
  ms = std::clamp(ms, kMinMs, kMaxMs);
  long long secs_ll = ms / 1000;
  int millis = static_cast<int>(ms % 1000);
  if (millis < 0) {
    millis += 1000;
    secs_ll -= 1;
  }
  std::time_t secs = static_cast<std::time_t>(secs_ll);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

std::string now_iso() { return iso_from_now(0); }

std::string new_id(const std::string& prefix) {
  thread_local std::mt19937_64 rng{[] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }()};
  static const char* hex = "0123456789abcdef";
  std::string out = prefix + "_";
  for (int i = 0; i < 2; ++i) {
    auto v = rng();
    for (int j = 0; j < 16; ++j) {
      out.push_back(hex[v & 0xF]);
      v >>= 4;
    }
  }
  return out;
}

}  // namespace jarvis

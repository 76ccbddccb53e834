// host/src/tasks/civil_time.h — proleptic-Gregorian calendar arithmetic on unix seconds, shared by
// the time-zone reader (time_zone.cpp) and the cron slot search (cron.cpp). Pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace jarvis::host::civil {

/// `s`, cut to 64 bytes with an ellipsis, for quoting user input in an error message.
/// (Built by append: `substr(0, 64) + "…"` trips GCC 12's -Warray-bounds false positive.)
inline std::string shown(const std::string& s) {
  if (s.size() <= 64) return s;
  std::string out;
  out.reserve(64 + 3);
  out.append(s, 0, 64).append("…");
  return out;
}

inline constexpr std::int64_t kSecondsPerDay = 86400;
inline constexpr std::int64_t kMinutesPerDay = 1440;
inline constexpr std::int64_t kCycleDays = 146097;  // 400 Gregorian years, exactly 20871 weeks
// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the instants cron schedules are evaluated on.
inline constexpr std::int64_t kMinInstant = -62135596800;
inline constexpr std::int64_t kMaxInstant = 253402300799;

inline std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

inline std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return -floor_div(-a, b); }

struct Civil {
  std::int64_t year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
};

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian, day 0 = 1970-01-01).
inline std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

inline Civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2 ? 1 : 0), m, d};
}

// 0 = Sunday.
inline int weekday(std::int64_t day) {
  return static_cast<int>((day + 4) - floor_div(day + 4, 7) * 7);
}

inline bool is_leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

inline unsigned days_in_month(std::int64_t y, unsigned m) {
  static constexpr std::array<unsigned, 13> kDays{0,  31, 28, 31, 30, 31, 30,
                                                  31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m];
}

inline std::int64_t year_of(std::int64_t t) {
  return civil_from_days(floor_div(t, kSecondsPerDay)).year;
}

}  // namespace jarvis::host::civil

// host/src/tasks/time_zone.h — IANA time zones read from TZif files (RFC 8536) with their POSIX-TZ
// footer (GCC 12's libstdc++ has no std::chrono::tzdb). Used by the cron slot search (cron.h).
//
// Usage:
//   auto tz = TimeZone::load("Europe/Berlin");   // throws Error(400, "invalid_timezone")
//   int offset = tz->offset_at(unix_seconds);    // seconds east of UTC
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace jarvis::host {

/// An IANA time zone read from a TZif file (RFC 8536, versions 1–4) including its POSIX-TZ
/// footer, so offsets are right after the last stored transition too. Immutable and thread-safe.
class TimeZone {
 public:
  /// A change of UTC offset at instant `at`: the offset is `offset_before` at `at - 1` and
  /// `offset_after` from `at` on (seconds east of UTC).
  struct Transition {
    std::int64_t at = 0;
    int offset_before = 0;
    int offset_after = 0;
  };

  /// Loads "UTC" (built in, needs no tzdata) or `<TZDIR or /usr/share/zoneinfo>/<name>`; cached,
  /// safe to call from any thread. Throws jarvis::Error(400, "invalid_timezone") for a malformed
  /// name (empty, "..", '.', absolute, odd characters), a missing zone, or a file that is not a
  /// usable TZif file (including leap-second "right/" zones).
  static std::shared_ptr<const TimeZone> load(const std::string& name);
  /// Parses TZif bytes (not cached). Throws jarvis::Error(400, "invalid_timezone") naming `name`.
  static std::shared_ptr<const TimeZone> from_tzif(const std::string& name,
                                                   const std::string& bytes);
  /// The fixed UTC zone.
  static std::shared_ptr<const TimeZone> utc();

  /// The name it was loaded under.
  const std::string& name() const { return name_; }
  /// UTC offset (seconds east of UTC) in effect at instant `t` (unix seconds).
  int offset_at(std::int64_t t) const;
  /// The first offset change strictly after `t`, if any.
  std::optional<Transition> next_transition(std::int64_t t) const;
  /// The last offset change at or before `t`, if any.
  std::optional<Transition> prev_transition(std::int64_t t) const;

  /// A POSIX TZ rule ("CET-1CEST,M3.5.0,M10.5.0/3") as used in TZif footers; public only so the
  /// implementation's helpers can build it.
  struct PosixRule {
    enum class DateKind { kJulianNoLeap, kZeroBased, kMonthWeekDay };
    struct Date {
      DateKind kind = DateKind::kMonthWeekDay;
      int day = 0;  ///< Jn: 1..365; n: 0..365; M: weekday 0..6
      int month = 0;
      int week = 0;
      int time = 7200;  ///< seconds after local midnight, may be negative or above 24 h
    };
    int std_offset = 0;  ///< seconds east of UTC
    bool has_dst = false;
    int dst_offset = 0;
    Date start;
    Date end;
  };

 private:
  TimeZone() = default;
  bool footer_applies(std::int64_t t) const;
  int footer_offset(std::int64_t t) const;
  void footer_candidates(std::int64_t year, std::vector<std::int64_t>& out) const;

  std::string name_;
  std::vector<std::int64_t> times_;  ///< stored transition instants, ascending
  std::vector<int> offsets_;         ///< offset from times_[i] on
  int initial_offset_ = 0;           ///< offset before the first stored transition
  std::vector<Transition> changes_;  ///< stored transitions that really change the offset
  std::optional<PosixRule> footer_;  ///< rule for instants after the last stored transition
};

/// Throws jarvis::Error(400, "invalid_timezone") unless `tz` names a loadable time zone.
void check_timezone(const std::string& tz);

}  // namespace jarvis::host

// host/src/tasks/cron.h — schedule expressions ("@every:N", 5-field cron, @daily, …) and the
// time zones they are evaluated in. Pure computation: no database, no clock, no threads of its own.
//
// Usage:
//   auto s = CronSchedule::parse("30 2 * * MON-FRI");             // throws Error(400,
//   "invalid_cron") std::int64_t next = s.next_after(now, "Europe/Berlin");       // unix seconds,
//   UTC std::vector<std::int64_t> due; std::int64_t missed = s.slots_between(last_run, now, 10,
//   due, "Europe/Berlin");
//
// Semantics (docs/decisions/0005-cron-semantics.md): day-of-month and day-of-week are OR-ed when
// neither field starts with '*' (Vixie cron); a "fixed-time" schedule (neither the minute nor the
// hour field starts with '*') fires once per local slot — a slot skipped by a DST gap fires at the
// first instant after the gap, a slot repeated by a DST overlap fires at its first occurrence; any
// other ("wildcard") schedule follows the real clock: skipped local minutes do not fire, repeated
// local minutes fire on both passes. Instants are handled from year 1 to year 9999.
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

/// A parsed schedule expression. Formats: "@every:N" (N ≥ 1 integer seconds), standard 5-field cron
/// "m h dom mon dow" (lists, ranges a-b, steps */n and a-b/n, month names JAN-DEC, weekday names
/// SUN-SAT, dow 0-7 with 7 = Sunday; when BOTH dom and dow are restricted they are OR-ed as in
/// Vixie cron),
/// "@hourly", "@daily" (= "@midnight"), "@weekly", "@monthly", "@yearly"/"@annually".
/// Immutable after parse; copies are cheap and const members are safe from any thread.
class CronSchedule {
 public:
  /// Returned by next_after when there is no later slot (beyond year 9999).
  static constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
  /// Largest accepted "@every" interval: 100 years of seconds.
  static constexpr std::int64_t kMaxIntervalSeconds = 3'155'760'000;

  /// Parses; throws jarvis::Error(400, "invalid_cron", "<reason naming the field and value>").
  /// Leading/trailing blanks are ignored; macros and names are case-insensitive. A cron
  /// expression that can never fire (e.g. "0 0 30 2 *") is rejected too.
  static CronSchedule parse(const std::string& expr);
  /// Non-throwing validation: empty string when valid, else the reason.
  static std::string validate(const std::string& expr);
  /// The first due time strictly after `after` (unix seconds, UTC) — cron slots are whole minutes
  /// evaluated in `tz` (an IANA name like "Europe/Berlin", or "UTC"); intervals are `after + N`.
  /// Returns kNever when there is none. Throws jarvis::Error(400, "invalid_timezone").
  std::int64_t next_after(std::int64_t after, const std::string& tz = "UTC") const;
  /// Due slots in (from, to]: at most `limit` of them (earliest first) in `slots` (which is
  /// cleared first), and the TOTAL count in (from, to] returned — computed WITHOUT scanning minute
  /// by minute (jump field by field; for intervals arithmetic), so a year of downtime is cheap.
  /// The slots are exactly those reached by chaining next_after from `from`; for an interval they
  /// are from + N, from + 2N, …. Throws jarvis::Error(400, "invalid_timezone").
  std::int64_t slots_between(std::int64_t from, std::int64_t to, std::size_t limit,
                             std::vector<std::int64_t>& slots, const std::string& tz = "UTC") const;
  /// True for "@every:N".
  bool is_interval() const { return interval_ > 0; }
  /// N for "@every:N"; 0 for cron.
  std::int64_t interval_seconds() const { return interval_; }
  /// The expression as given, without surrounding blanks.
  const std::string& expression() const { return expr_; }
  /// True for a cron schedule whose minute and hour fields both do not start with '*' (the
  /// Vixie "fixed-time" jobs, which get the DST catch-up/fire-once treatment).
  bool is_fixed_time() const { return fixed_time_; }

 private:
  CronSchedule() = default;
  bool day_matches(std::int64_t day) const;
  std::int64_t count_in_day(int first_minute, int last_minute) const;
  std::int64_t scan_minutes(std::int64_t m0, std::int64_t m1, std::size_t limit,
                            std::vector<std::int64_t>* out, std::int64_t stop_after) const;
  std::int64_t cycle_count() const;
  std::int64_t walk(std::int64_t a, std::int64_t b, std::size_t limit,
                    std::vector<std::int64_t>* out, std::int64_t stop_after,
                    const TimeZone& zone) const;

  std::string expr_;
  std::int64_t interval_ = 0;
  std::uint64_t minutes_ = 0;  ///< bit m: minute m (0..59)
  std::uint32_t hours_ = 0;    ///< bit h: hour h (0..23)
  std::uint32_t doms_ = 0;     ///< bit d: day of month d (1..31)
  std::uint32_t months_ = 0;   ///< bit m: month m (1..12)
  std::uint32_t dows_ = 0;     ///< bit w: weekday w (0 = Sunday .. 6)
  bool dom_star_ = false;      ///< day-of-month field starts with '*'
  bool dow_star_ = false;      ///< day-of-week field starts with '*'
  bool fixed_time_ = false;
  std::int64_t per_day_ = 0;  ///< matching minutes in a matching day
};

}  // namespace jarvis::host

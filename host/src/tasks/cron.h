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

#include "tasks/time_zone.h"

namespace jarvis::host {

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

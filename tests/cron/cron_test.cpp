// tests/cron/cron_test.cpp — CronSchedule parsing, slot computation, catch-up counting and the
// TZif time zone reader. Oracles are independent of the code under test: hand-checked tables,
// glibc's timegm/gmtime_r/localtime_r (which read the same tzdata through their own parser) and
// per-expression predicates written directly against `struct tm`.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "jarvis/error.h"
#include "tasks/cron.h"

namespace jarvis::host {
namespace {

// "2024-03-31T01:00" or "2024-03-31T01:00:30" (UTC) -> unix seconds, via glibc.
std::int64_t utc(const std::string& iso) {
  std::tm tm{};
  int sec = 0;
  const int n = std::sscanf(iso.c_str(), "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                            &tm.tm_hour, &tm.tm_min, &sec);
  if (n < 5) throw std::runtime_error("bad test timestamp " + iso);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_sec = sec;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string iso(std::int64_t t) {
  if (t == CronSchedule::kNever) return "never";
  const auto tt = static_cast<time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M", &tm);
  std::string s = buf;
  if (tm.tm_sec != 0) s += ":" + std::to_string(tm.tm_sec);
  return s;
}

std::vector<std::string> next_n(const CronSchedule& s, std::int64_t after, std::size_t n,
                                const std::string& tz = "UTC") {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) {
    after = s.next_after(after, tz);
    out.push_back(iso(after));
  }
  return out;
}

// Runs `f` and returns the jarvis::Error it throws (fails the test when it does not throw).
template <typename F>
jarvis::Error error_of(F f) {
  try {
    f();
  } catch (const jarvis::Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected a jarvis::Error";
  return jarvis::Error(500, "none", "none");
}

// Local broken-down time of `t` in zone `tz` through glibc.
class GlibcZone {
 public:
  explicit GlibcZone(const std::string& tz) {
    const char* old = std::getenv("TZ");
    had_old_ = old != nullptr;
    if (had_old_) old_ = old;
    setenv("TZ", (":" + tz).c_str(), 1);
    tzset();
  }
  ~GlibcZone() {
    if (had_old_) {
      setenv("TZ", old_.c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }
  GlibcZone(const GlibcZone&) = delete;
  GlibcZone& operator=(const GlibcZone&) = delete;
  std::tm local(std::int64_t t) const {
    const auto tt = static_cast<time_t>(t);
    std::tm tm{};
    localtime_r(&tt, &tm);
    return tm;
  }

 private:
  bool had_old_ = false;
  std::string old_;
};

// ---------------------------------------------------------------------------------------------
// Formats

struct NextCase {
  std::string expr;
  std::string after;
  std::vector<std::string> expected;
};

void PrintTo(const NextCase& c, std::ostream* os) {
  *os << '"' << c.expr << "\" after " << c.after;
}

class NextAfterTable : public ::testing::TestWithParam<NextCase> {};

TEST_P(NextAfterTable, FiresAtTheExpectedSlots) {
  const NextCase& c = GetParam();
  const CronSchedule s = CronSchedule::parse(c.expr);
  EXPECT_FALSE(s.is_interval());
  EXPECT_EQ(s.interval_seconds(), 0);
  EXPECT_EQ(next_n(s, utc(c.after), c.expected.size()), c.expected) << c.expr;
}

INSTANTIATE_TEST_SUITE_P(
    Formats, NextAfterTable,
    ::testing::Values(
        NextCase{"* * * * *",
                 "2024-01-01T00:00:30",
                 {"2024-01-01T00:01", "2024-01-01T00:02", "2024-01-01T00:03"}},
        NextCase{"*/15 * * * *",
                 "2024-01-01T00:00",
                 {"2024-01-01T00:15", "2024-01-01T00:30", "2024-01-01T00:45"}},
        NextCase{"5-20/5 * * * *",
                 "2024-01-01T00:00",
                 {"2024-01-01T00:05", "2024-01-01T00:10", "2024-01-01T00:15", "2024-01-01T00:20",
                  "2024-01-01T01:05"}},
        NextCase{"0 9-17/4 * * *",
                 "2024-01-01T00:00",
                 {"2024-01-01T09:00", "2024-01-01T13:00", "2024-01-01T17:00", "2024-01-02T09:00"}},
        NextCase{"0,30 8 * * *",
                 "2024-01-01T08:00",
                 {"2024-01-01T08:30", "2024-01-02T08:00", "2024-01-02T08:30"}},
        NextCase{"0 0 1,15 * *",
                 "2024-01-01T00:00",
                 {"2024-01-15T00:00", "2024-02-01T00:00", "2024-02-15T00:00"}},
        NextCase{"0 0 1 jan,Jul *",
                 "2024-01-01T00:00",
                 {"2024-07-01T00:00", "2025-01-01T00:00", "2025-07-01T00:00"}},
        NextCase{"15 10 * mar-may/2 *",
                 "2024-01-01T00:00",
                 {"2024-03-01T10:15", "2024-03-02T10:15", "2024-03-03T10:15"}},
        NextCase{"0 12 * * mon-FRI",
                 "2024-01-05T12:00",
                 {"2024-01-08T12:00", "2024-01-09T12:00", "2024-01-10T12:00"}},
        NextCase{"0 0 * * 7", "2024-01-01T00:00", {"2024-01-07T00:00", "2024-01-14T00:00"}},
        NextCase{"0 0 * * 0", "2024-01-01T00:00", {"2024-01-07T00:00", "2024-01-14T00:00"}},
        NextCase{"0 0 * * sun", "2024-01-01T00:00", {"2024-01-07T00:00", "2024-01-14T00:00"}},
        NextCase{"0 0 * * 5-7",
                 "2024-01-01T00:00",
                 {"2024-01-05T00:00", "2024-01-06T00:00", "2024-01-07T00:00", "2024-01-12T00:00"}},
        // Both day fields restricted: every 13th OR every Friday.
        NextCase{"0 0 13 * FRI",
                 "2024-09-01T00:00",
                 {"2024-09-06T00:00", "2024-09-13T00:00", "2024-09-20T00:00", "2024-09-27T00:00",
                  "2024-10-04T00:00", "2024-10-11T00:00", "2024-10-13T00:00", "2024-10-18T00:00"}},
        // Day-of-month starts with '*': AND (Vixie) — days 1, 11, 21, 31 that are Mondays.
        NextCase{"0 0 */10 * MON",
                 "2023-12-31T00:00",
                 {"2024-01-01T00:00", "2024-03-11T00:00", "2024-04-01T00:00"}},
        NextCase{"@hourly", "2024-01-01T00:30", {"2024-01-01T01:00", "2024-01-01T02:00"}},
        NextCase{"@daily", "2024-01-01T00:30", {"2024-01-02T00:00", "2024-01-03T00:00"}},
        NextCase{"@midnight", "2024-01-01T00:30", {"2024-01-02T00:00", "2024-01-03T00:00"}},
        NextCase{"@weekly", "2024-01-01T00:30", {"2024-01-07T00:00", "2024-01-14T00:00"}},
        NextCase{"@monthly", "2024-01-31T00:30", {"2024-02-01T00:00", "2024-03-01T00:00"}},
        NextCase{"@yearly", "2024-01-31T00:30", {"2025-01-01T00:00", "2026-01-01T00:00"}},
        NextCase{"@ANNUALLY", "2024-01-31T00:30", {"2025-01-01T00:00", "2026-01-01T00:00"}},
        NextCase{"  0   0 * *\t* ", "2024-01-01T00:00", {"2024-01-02T00:00"}},
        // Month and year boundaries, short months, leap days.
        NextCase{"0 0 31 * *",
                 "2024-01-31T00:00",
                 {"2024-03-31T00:00", "2024-05-31T00:00", "2024-07-31T00:00", "2024-08-31T00:00"}},
        NextCase{"59 23 31 12 *", "2024-12-31T23:59", {"2025-12-31T23:59"}},
        NextCase{"0 0 1 1 *", "2024-12-31T23:59:59", {"2025-01-01T00:00"}},
        NextCase{"0 0 29 2 *", "2024-03-01T00:00", {"2028-02-29T00:00", "2032-02-29T00:00"}},
        NextCase{"0 0 29 2 *", "2097-03-01T00:00", {"2104-02-29T00:00"}},  // 2100 is no leap year
        NextCase{"0 0 29 2 *", "2000-02-28T12:00", {"2000-02-29T00:00", "2004-02-29T00:00"}},
        NextCase{"30 * * * *", "1969-12-31T23:45", {"1970-01-01T00:30"}}));  // before the epoch

TEST(CronParse, IntervalFormat) {
  const CronSchedule s = CronSchedule::parse("@every:90");
  EXPECT_TRUE(s.is_interval());
  EXPECT_EQ(s.interval_seconds(), 90);
  EXPECT_EQ(s.expression(), "@every:90");
  EXPECT_EQ(s.next_after(1000), 1090);
  EXPECT_EQ(s.next_after(1000, "Europe/Berlin"), 1090);
  EXPECT_EQ(CronSchedule::parse("@EVERY:1").interval_seconds(), 1);
  EXPECT_EQ(CronSchedule::parse("@every:007").interval_seconds(), 7);
  EXPECT_EQ(CronSchedule::parse("@every:3155760000").interval_seconds(), 3155760000);
  EXPECT_EQ(CronSchedule::parse("@every:1").next_after(CronSchedule::kNever - 1),
            CronSchedule::kNever);
}

TEST(CronParse, ExpressionIsTrimmedAndCopiesBehaveTheSame) {
  const CronSchedule s = CronSchedule::parse("  */5 * * * *\n");
  EXPECT_EQ(s.expression(), "*/5 * * * *");
  const CronSchedule copy = s;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_EQ(copy.next_after(utc("2024-01-01T00:01")), utc("2024-01-01T00:05"));
  EXPECT_TRUE(CronSchedule::validate("*/5 * * * *").empty());
}

TEST(CronParse, FixedTimeFlagFollowsVixie) {
  EXPECT_TRUE(CronSchedule::parse("30 2 * * *").is_fixed_time());
  EXPECT_TRUE(CronSchedule::parse("@daily").is_fixed_time());
  EXPECT_TRUE(CronSchedule::parse("0 1-23/2 * * *").is_fixed_time());
  EXPECT_FALSE(CronSchedule::parse("@hourly").is_fixed_time());
  EXPECT_FALSE(CronSchedule::parse("*/5 3 * * *").is_fixed_time());
  EXPECT_FALSE(CronSchedule::parse("0 */2 * * *").is_fixed_time());
  EXPECT_FALSE(CronSchedule::parse("@every:60").is_fixed_time());
}

struct InvalidCase {
  std::string expr;
  std::string reason;  // a substring the message must contain
};

void PrintTo(const InvalidCase& c, std::ostream* os) { *os << '"' << c.expr << '"'; }

class InvalidTable : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidTable, IsRejectedWithAReason) {
  const InvalidCase& c = GetParam();
  const jarvis::Error e = error_of([&] { CronSchedule::parse(c.expr); });
  EXPECT_EQ(e.status(), 400);
  EXPECT_EQ(e.code(), "invalid_cron");
  EXPECT_NE(std::string(e.what()).find(c.reason), std::string::npos)
      << "expr: " << c.expr << "\nmessage: " << e.what();
  const std::string v = CronSchedule::validate(c.expr);
  EXPECT_EQ(v, e.what());
}

INSTANTIATE_TEST_SUITE_P(
    Forms, InvalidTable,
    ::testing::Values(
        InvalidCase{"", "empty expression"}, InvalidCase{"   \t ", "empty expression"},
        InvalidCase{"* * * *", "expected 5 fields"}, InvalidCase{"* * * * * *", "got 6"},
        InvalidCase{"0 0 * * * 2024", "got 6"}, InvalidCase{"* * * * * junk", "got 6"},
        InvalidCase{"60 * * * *", "minute field \"60\": value 60 is out of range 0-59"},
        InvalidCase{"* 24 * * *", "hour field \"24\": value 24 is out of range 0-23"},
        InvalidCase{"* * 0 * *", "day-of-month field \"0\": value 0 is out of range 1-31"},
        InvalidCase{"* * 32 * *", "day-of-month field \"32\""},
        InvalidCase{"* * * 13 *", "month field \"13\": value 13 is out of range 1-12"},
        InvalidCase{"* * * 0 *", "month field \"0\""},
        InvalidCase{"* * * * 8", "day-of-week field \"8\": value 8 is out of range 0-7"},
        InvalidCase{"99999 * * * *", "minute field \"99999\": value 99999 is out of range"},
        InvalidCase{"30-10 * * * *", "reversed range \"30-10\""},
        InvalidCase{"0 0 * * FRI-MON", "reversed range \"FRI-MON\""},
        InvalidCase{"*/0 * * * *", "step 0 is not allowed"},
        InvalidCase{"0 1-5/0 * * *", "hour field \"1-5/0\": step 0"},
        InvalidCase{"*/61 * * * *", "step 61 is larger than the field's range 0-59"},
        InvalidCase{"*/ * * * *", "step \"\" is not a positive whole number"},
        InvalidCase{"*/x * * * *", "step \"x\" is not a positive whole number"},
        InvalidCase{"1-5/2/3 * * * *", "step \"2/3\""},
        InvalidCase{"5/10 * * * *", "a step needs a range or '*'"},
        InvalidCase{"1,,2 * * * *", "empty list item"},
        InvalidCase{"1, * * * *", "empty list item"}, InvalidCase{"- * * * *", "missing value"},
        InvalidCase{"1- * * * *", "missing value"},
        InvalidCase{"1-2-3 * * * *", "\"2-3\" is not a number"},
        InvalidCase{"5x * * * *", "minute field \"5x\": \"5x\" is not a number"},
        InvalidCase{"1-5/2x * * * *", "step \"2x\""}, InvalidCase{"-1 * * * *", "missing value"},
        InvalidCase{"JAN * * * *", "minute field \"JAN\": \"JAN\" is not a number"},
        InvalidCase{"0 0 * FOO *", "month field \"FOO\": unknown name \"FOO\" (use JAN-DEC"},
        InvalidCase{"0 0 * * MONDAY", "unknown name \"MONDAY\" (use SUN-SAT"},
        InvalidCase{"0 0 * * MON-FOO", "unknown name \"FOO\""},
        InvalidCase{"0 0 * JAN-MON *", "unknown name \"MON\""},
        InvalidCase{"0 0 * * JAN", "unknown name \"JAN\""},
        InvalidCase{"0 0 30 2 *", "never fires"}, InvalidCase{"0 0 31 4,6,9,11 *", "never fires"},
        InvalidCase{"@every:0", "at least 1 second"}, InvalidCase{"@every:000", "at least 1"},
        InvalidCase{"@every:x", "\"x\" is not a whole number of seconds"},
        InvalidCase{"@every:1.5", "\"1.5\" is not a whole number of seconds"},
        InvalidCase{"@every:-5", "\"-5\" is not a whole number"},
        InvalidCase{"@every:10s", "\"10s\" is not a whole number"},
        InvalidCase{"@every:5 junk", "\"5 junk\" is not a whole number"},
        InvalidCase{"@every:", "@every needs a number of seconds"},
        InvalidCase{"@every:3155760001", "more than 100 years"},
        InvalidCase{"@every:99999999999999999999999", "more than 100 years"},
        InvalidCase{"@every 60", "unknown macro \"@every 60\""},
        InvalidCase{"@fortnightly", "unknown macro"}, InvalidCase{"@reboot", "unknown macro"},
        InvalidCase{"@daily junk", "unknown macro"},
        InvalidCase{std::string(600, '*'), "longer than 512"}));

// ---------------------------------------------------------------------------------------------
// slots_between against a brute-force minute scan (UTC)

struct Predicate {
  std::string expr;
  std::function<bool(const std::tm&)> fires;  // written against struct tm, not the parser
};

std::vector<Predicate> predicates() {
  return {
      {"* * * * *", [](const std::tm&) { return true; }},
      {"*/7 * * * *", [](const std::tm& t) { return t.tm_min % 7 == 0; }},
      {"10-40/15 */3 * * *",
       [](const std::tm& t) {
         return (t.tm_min == 10 || t.tm_min == 25 || t.tm_min == 40) && t.tm_hour % 3 == 0;
       }},
      {"0,30 9-17 * * MON-FRI",
       [](const std::tm& t) {
         return t.tm_min % 30 == 0 && t.tm_hour >= 9 && t.tm_hour <= 17 && t.tm_wday >= 1 &&
                t.tm_wday <= 5;
       }},
      {"45 23 13 * 5",
       [](const std::tm& t) {
         return t.tm_min == 45 && t.tm_hour == 23 && (t.tm_mday == 13 || t.tm_wday == 5);
       }},
      {"5 4 */2 * 0",  // dom starts with '*': AND
       [](const std::tm& t) {
         return t.tm_min == 5 && t.tm_hour == 4 && t.tm_mday % 2 == 1 && t.tm_wday == 0;
       }},
      {"0 12 1-7 FEB,AUG *",
       [](const std::tm& t) {
         return t.tm_min == 0 && t.tm_hour == 12 && t.tm_mday <= 7 &&
                (t.tm_mon == 1 || t.tm_mon == 7);
       }},
      {"@hourly", [](const std::tm& t) { return t.tm_min == 0; }},
      {"@weekly",
       [](const std::tm& t) { return t.tm_min == 0 && t.tm_hour == 0 && t.tm_wday == 0; }},
      {"0 0 29 2 *",
       [](const std::tm& t) {
         return t.tm_min == 0 && t.tm_hour == 0 && t.tm_mday == 29 && t.tm_mon == 1;
       }},
  };
}

// Brute force: every whole minute in (from, to] whose time in `tz` satisfies `fires`.
std::vector<std::int64_t> brute_force(const Predicate& p, std::int64_t from, std::int64_t to,
                                      const GlibcZone& zone) {
  std::vector<std::int64_t> out;
  for (std::int64_t t = (from / 60 + 1) * 60; t <= to; t += 60) {
    const std::tm tm = zone.local(t);
    if (tm.tm_sec == 0 && p.fires(tm)) out.push_back(t);
  }
  return out;
}

void expect_matches_brute_force(const std::string& tz, std::int64_t lo, std::int64_t hi,
                                int windows, std::int64_t max_len, std::uint32_t seed) {
  std::mt19937_64 rng(seed);
  GlibcZone zone(tz);
  for (const Predicate& p : predicates()) {
    const CronSchedule s = CronSchedule::parse(p.expr);
    for (int i = 0; i < windows; ++i) {
      const std::int64_t from =
          lo + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(hi - lo));
      const std::int64_t to =
          from + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(max_len));
      const std::vector<std::int64_t> expected = brute_force(p, from, to, zone);
      const std::size_t limit = rng() % 6;
      std::vector<std::int64_t> slots;
      const std::int64_t count = s.slots_between(from, to, limit, slots, tz);
      ASSERT_EQ(count, static_cast<std::int64_t>(expected.size()))
          << p.expr << " in " << tz << " over (" << iso(from) << ", " << iso(to) << "]";
      const std::vector<std::int64_t> head(
          expected.begin(),
          expected.begin() + static_cast<std::ptrdiff_t>(std::min(limit, expected.size())));
      ASSERT_EQ(slots, head) << p.expr << " from " << iso(from);
      // next_after agrees with the first slot (or the first one after the window).
      const std::int64_t next = s.next_after(from, tz);
      if (expected.empty()) {
        ASSERT_GT(next, to) << p.expr << " from " << iso(from);
      } else {
        ASSERT_EQ(next, expected.front()) << p.expr << " from " << iso(from);
      }
    }
  }
}

TEST(CronSlots, MatchBruteForceOnRandomWindowsUtc) {
  // 2019..2031, windows up to 4 days; the Feb-29 and weekly rows mostly see empty windows.
  expect_matches_brute_force("UTC", utc("2019-01-01T00:00"), utc("2031-01-01T00:00"), 150,
                             4 * 86400, 20240229);
}

TEST(CronSlots, MatchBruteForceAroundLeapDays) {
  expect_matches_brute_force("UTC", utc("2024-02-20T00:00"), utc("2024-03-05T00:00"), 40,
                             10 * 86400, 7);
}

TEST(CronSlots, WildcardSchedulesFollowTheRealClockInDstZones) {
  // Windows around the 2024 and 2025 transitions in Berlin and New York (a skipped and a repeated
  // hour each); glibc's localtime_r decides which instants carry a matching wall-clock minute.
  const std::vector<std::pair<std::string, std::vector<std::string>>> zones{
      {"Europe/Berlin", {"2024-03-31T00:00", "2024-10-27T00:00", "2025-03-30T00:00"}},
      {"America/New_York", {"2024-03-10T05:00", "2024-11-03T04:00", "2041-11-03T04:00"}},
  };
  std::uint32_t seed = 1;
  for (const auto& [tz, transitions] : zones) {
    for (const std::string& around : transitions) {
      const std::int64_t t = utc(around);
      // Only the wildcard rows (minute or hour field starting with '*') are compared here.
      std::mt19937_64 rng(seed++);
      GlibcZone zone(tz);
      for (const Predicate& p : predicates()) {
        const CronSchedule s = CronSchedule::parse(p.expr);
        if (s.is_fixed_time()) continue;
        for (int i = 0; i < 30; ++i) {
          const std::int64_t from = t - 6 * 3600 + static_cast<std::int64_t>(rng() % (8 * 3600));
          const std::int64_t to = from + static_cast<std::int64_t>(rng() % (6 * 3600));
          const std::vector<std::int64_t> expected = brute_force(p, from, to, zone);
          std::vector<std::int64_t> slots;
          ASSERT_EQ(s.slots_between(from, to, 1000, slots, tz),
                    static_cast<std::int64_t>(expected.size()))
              << p.expr << " in " << tz << " from " << iso(from) << " to " << iso(to);
          ASSERT_EQ(slots, expected) << p.expr << " in " << tz << " from " << iso(from);
        }
      }
    }
  }
}

TEST(CronSlots, SlotsAreWhatChainedNextAfterGives) {
  for (const char* tz : {"UTC", "Europe/Berlin", "Australia/Lord_Howe"}) {
    for (const char* expr :
         {"30 2 * * *", "0,30 1-3 * * *", "*/20 * * * *", "0 0 13 * FRI", "@every:3601"}) {
      const CronSchedule s = CronSchedule::parse(expr);
      const std::int64_t from = utc("2024-03-25T00:00");
      const std::int64_t to = utc("2024-11-05T00:00");
      std::vector<std::int64_t> slots;
      const std::int64_t count = s.slots_between(from, to, 100000, slots, tz);
      std::vector<std::int64_t> chained;
      for (std::int64_t t = s.next_after(from, tz); t <= to; t = s.next_after(t, tz)) {
        chained.push_back(t);
      }
      EXPECT_EQ(count, static_cast<std::int64_t>(chained.size())) << expr << " in " << tz;
      EXPECT_EQ(slots, chained) << expr << " in " << tz;
    }
  }
}

TEST(CronSlots, LimitKeepsTheEarliestAndCountStaysExact) {
  const CronSchedule s = CronSchedule::parse("*/10 * * * *");
  std::vector<std::int64_t> slots{42, 43};  // cleared first
  const std::int64_t from = utc("2024-01-01T00:00");
  EXPECT_EQ(s.slots_between(from, from + 86400, 3, slots), 144);
  EXPECT_EQ(slots, (std::vector<std::int64_t>{from + 600, from + 1200, from + 1800}));
  EXPECT_EQ(s.slots_between(from, from + 86400, 0, slots), 144);
  EXPECT_TRUE(slots.empty());
  EXPECT_EQ(s.slots_between(from, from, 5, slots), 0);
  EXPECT_EQ(s.slots_between(from + 10, from, 5, slots), 0);
  // (from, to]: the slot at `from` is excluded, the one at `to` included.
  EXPECT_EQ(s.slots_between(from, from + 600, 5, slots), 1);
  EXPECT_EQ(slots, (std::vector<std::int64_t>{from + 600}));
  EXPECT_EQ(s.slots_between(from - 1, from + 599, 5, slots), 1);
  EXPECT_EQ(slots, (std::vector<std::int64_t>{from}));
}

TEST(CronSlots, IntervalsAreArithmetic) {
  const CronSchedule s = CronSchedule::parse("@every:600");
  std::vector<std::int64_t> slots;
  EXPECT_EQ(s.slots_between(1000, 1000 + 3 * 365 * 86400, 2, slots), 3 * 365 * 144);
  EXPECT_EQ(slots, (std::vector<std::int64_t>{1600, 2200}));
  EXPECT_EQ(s.slots_between(1000, 1599, 2, slots), 0);
  EXPECT_TRUE(slots.empty());
  EXPECT_EQ(s.slots_between(1000, 1600, 2, slots), 1);
  const CronSchedule every_second = CronSchedule::parse("@every:1");
  EXPECT_EQ(every_second.slots_between(std::numeric_limits<std::int64_t>::min(),
                                       std::numeric_limits<std::int64_t>::max(), 1, slots),
            CronSchedule::kNever);
}

TEST(CronSlots, MultiYearWindowsAreExact) {
  std::vector<std::int64_t> slots;
  const std::int64_t from = utc("2020-01-01T00:00");
  const std::int64_t to = utc("2023-01-01T00:00");  // 1096 days
  EXPECT_EQ(CronSchedule::parse("@hourly").slots_between(from, to, 10, slots), 1096 * 24);
  EXPECT_EQ(slots.size(), 10u);
  EXPECT_EQ(slots.front(), from + 3600);
  EXPECT_EQ(CronSchedule::parse("*/5 * * * *").slots_between(from, to, 0, slots), 1096 * 288);
  EXPECT_EQ(CronSchedule::parse("@daily").slots_between(from, to, 0, slots), 1096);
  // In a whole-hour DST zone an hourly wildcard job fires once per real hour, a daily one per day.
  EXPECT_EQ(CronSchedule::parse("@hourly").slots_between(from, to, 0, slots, "Europe/Berlin"),
            1096 * 24);
  EXPECT_EQ(CronSchedule::parse("@daily").slots_between(from, to, 0, slots, "Europe/Berlin"), 1096);
  EXPECT_EQ(CronSchedule::parse("30 2 * * *").slots_between(from, to, 0, slots, "Europe/Berlin"),
            1096);
  // Every day from 1970-01-02 to 9999-12-31; leap days 1972..9996; Fridays-or-13ths over two
  // 400-year cycles (24983 per cycle).
  EXPECT_EQ(CronSchedule::parse("0 0 * * *").slots_between(0, 253402300799, 0, slots), 2932896);
  EXPECT_EQ(CronSchedule::parse("0 0 29 2 *").slots_between(0, 253402300799, 3, slots), 1947);
  EXPECT_EQ(slots, (std::vector<std::int64_t>{utc("1972-02-29T00:00"), utc("1976-02-29T00:00"),
                                              utc("1980-02-29T00:00")}));
  EXPECT_EQ(CronSchedule::parse("0 0 13 * FRI")
                .slots_between(utc("2000-01-01T00:00") - 1, utc("2800-01-01T00:00") - 1, 0, slots),
            2 * 24983);
  // Beyond year 9999 nothing is due.
  EXPECT_EQ(CronSchedule::parse("* * * * *")
                .slots_between(253402300799, std::numeric_limits<std::int64_t>::max(), 5, slots),
            0);
  EXPECT_EQ(CronSchedule::parse("* * * * *").next_after(253402300799), CronSchedule::kNever);
}

// ---------------------------------------------------------------------------------------------
// DST policy in Europe/Berlin (2024-03-31 02:00 CET -> 03:00 CEST at 01:00Z;
// 2024-10-27 03:00 CEST -> 02:00 CET at 01:00Z)

TEST(CronDst, SpringForwardFixedTimeSlotsInTheGapFireAtTheFirstInstantAfterIt) {
  const std::string tz = "Europe/Berlin";
  EXPECT_EQ(next_n(CronSchedule::parse("30 2 * * *"), utc("2024-03-30T12:00"), 3, tz),
            (std::vector<std::string>{"2024-03-31T01:00", "2024-04-01T00:30", "2024-04-02T00:30"}));
  EXPECT_EQ(next_n(CronSchedule::parse("0 3 * * *"), utc("2024-03-30T12:00"), 2, tz),
            (std::vector<std::string>{"2024-03-31T01:00", "2024-04-01T01:00"}));
  // 02:00 and 02:30 are skipped, collapse with 03:00 into one firing; 03:30 follows.
  EXPECT_EQ(next_n(CronSchedule::parse("0,30 2,3 * * *"), utc("2024-03-30T00:00"), 6, tz),
            (std::vector<std::string>{"2024-03-30T01:00", "2024-03-30T01:30", "2024-03-30T02:00",
                                      "2024-03-30T02:30", "2024-03-31T01:00", "2024-03-31T01:30"}));
  std::vector<std::int64_t> slots;
  EXPECT_EQ(CronSchedule::parse("0,30 2,3 * * *")
                .slots_between(utc("2024-03-30T12:00"), utc("2024-03-31T12:00"), 5, slots, tz),
            2);
  EXPECT_EQ(slots, (std::vector<std::int64_t>{utc("2024-03-31T01:00"), utc("2024-03-31T01:30")}));
  // A window starting exactly at the transition still sees the collapsed firing.
  EXPECT_EQ(CronSchedule::parse("30 2 * * *")
                .slots_between(utc("2024-03-31T01:00") - 1, utc("2024-03-31T01:00"), 5, slots, tz),
            1);
  EXPECT_EQ(CronSchedule::parse("30 2 * * *")
                .slots_between(utc("2024-03-31T01:00"), utc("2024-03-31T12:00"), 5, slots, tz),
            0);
}

TEST(CronDst, SpringForwardWildcardSlotsInTheGapAreSkipped) {
  const std::string tz = "Europe/Berlin";
  EXPECT_EQ(next_n(CronSchedule::parse("@hourly"), utc("2024-03-30T23:30"), 3, tz),
            (std::vector<std::string>{"2024-03-31T00:00", "2024-03-31T01:00", "2024-03-31T02:00"}));
  EXPECT_EQ(next_n(CronSchedule::parse("*/30 2 * * *"), utc("2024-03-30T12:00"), 1, tz),
            (std::vector<std::string>{"2024-04-01T00:00"}));
  std::vector<std::int64_t> slots;
  // Local day 2024-03-31 has 23 hours: 23 hourly firings in (00:00 CET, 00:00 CEST next day].
  EXPECT_EQ(CronSchedule::parse("@hourly").slots_between(utc("2024-03-30T23:00"),
                                                         utc("2024-03-31T22:00"), 0, slots, tz),
            23);
}

TEST(CronDst, FallBackFixedTimeFiresOnceAndWildcardFollowsTheClock) {
  const std::string tz = "Europe/Berlin";
  EXPECT_EQ(next_n(CronSchedule::parse("30 2 * * *"), utc("2024-10-26T12:00"), 2, tz),
            (std::vector<std::string>{"2024-10-27T00:30", "2024-10-28T01:30"}));
  EXPECT_EQ(next_n(CronSchedule::parse("0,30 2 * * *"), utc("2024-10-26T12:00"), 3, tz),
            (std::vector<std::string>{"2024-10-27T00:00", "2024-10-27T00:30", "2024-10-28T01:00"}));
  // Starting inside the repeated hour: its fixed slots already fired.
  EXPECT_EQ(next_n(CronSchedule::parse("30 2 * * *"), utc("2024-10-27T01:10"), 1, tz),
            (std::vector<std::string>{"2024-10-28T01:30"}));
  EXPECT_EQ(next_n(CronSchedule::parse("*/30 * * * *"), utc("2024-10-26T23:45"), 5, tz),
            (std::vector<std::string>{"2024-10-27T00:00", "2024-10-27T00:30", "2024-10-27T01:00",
                                      "2024-10-27T01:30", "2024-10-27T02:00"}));
  std::vector<std::int64_t> slots;
  EXPECT_EQ(CronSchedule::parse("@hourly").slots_between(utc("2024-10-26T22:00"),
                                                         utc("2024-10-27T23:00"), 0, slots, tz),
            25);
  EXPECT_EQ(CronSchedule::parse("@daily").slots_between(utc("2024-10-26T12:00"),
                                                        utc("2024-10-28T12:00"), 5, slots, tz),
            2);
  EXPECT_EQ(slots, (std::vector<std::int64_t>{utc("2024-10-26T22:00"), utc("2024-10-27T23:00")}));
}

TEST(CronDst, OtherZonesAndFarFuture) {
  // New York 2024-03-10 02:00 EST -> 03:00 EDT at 07:00Z; 2050 is past the stored transitions,
  // so the TZif footer rule decides.
  EXPECT_EQ(
      next_n(CronSchedule::parse("30 2 * * *"), utc("2024-03-09T12:00"), 2, "America/New_York"),
      (std::vector<std::string>{"2024-03-10T07:00", "2024-03-11T06:30"}));
  EXPECT_EQ(
      next_n(CronSchedule::parse("30 2 * * *"), utc("2050-03-12T12:00"), 2, "America/New_York"),
      (std::vector<std::string>{"2050-03-13T07:00", "2050-03-14T06:30"}));
  EXPECT_EQ(next_n(CronSchedule::parse("0 9 * * *"), utc("2024-01-01T00:00"), 1, "Asia/Kolkata"),
            (std::vector<std::string>{"2024-01-01T03:30"}));
  EXPECT_EQ(next_n(CronSchedule::parse("0 9 * * *"), utc("2024-06-01T00:00"), 1, "Etc/GMT+5"),
            (std::vector<std::string>{"2024-06-01T14:00"}));
  // Lord Howe shifts by 30 minutes (02:00 -> 02:30 local on 2024-10-06 at 2024-10-05T15:30Z).
  EXPECT_EQ(
      next_n(CronSchedule::parse("15 2 * * *"), utc("2024-10-05T12:00"), 2, "Australia/Lord_Howe"),
      (std::vector<std::string>{"2024-10-05T15:30", "2024-10-06T15:15"}));
}

// ---------------------------------------------------------------------------------------------
// Time zones

TEST(TimeZone, OffsetsAgreeWithGlibc) {
  std::mt19937_64 rng(99);
  for (const char* tz :
       {"Europe/Berlin", "America/New_York", "Australia/Sydney", "Australia/Lord_Howe",
        "Africa/Casablanca", "Asia/Kathmandu", "America/Sao_Paulo", "Pacific/Chatham",
        "Europe/Dublin", "Etc/GMT-14", "UTC"}) {
    const auto zone = TimeZone::load(tz);
    const GlibcZone glibc(tz);
    // 1901..2150: stored transitions and the footer rule beyond them.
    const std::int64_t lo = utc("1901-12-14T00:00");
    const std::int64_t hi = utc("2150-01-01T00:00");
    for (int i = 0; i < 3000; ++i) {
      const std::int64_t t =
          lo + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(hi - lo));
      ASSERT_EQ(zone->offset_at(t), glibc.local(t).tm_gmtoff) << tz << " at " << iso(t);
    }
    // Each transition changes the offset exactly at its instant, and the walk is consistent.
    std::int64_t t = utc("1990-01-01T00:00");
    for (int i = 0; i < 120; ++i) {
      const auto next = zone->next_transition(t);
      if (!next) break;
      ASSERT_GT(next->at, t);
      ASSERT_EQ(next->offset_before, glibc.local(next->at - 1).tm_gmtoff) << tz << iso(next->at);
      ASSERT_EQ(next->offset_after, glibc.local(next->at).tm_gmtoff) << tz << iso(next->at);
      const auto prev = zone->prev_transition(next->at);
      ASSERT_TRUE(prev.has_value());
      ASSERT_EQ(prev->at, next->at);
      t = next->at;
    }
  }
}

TEST(TimeZone, InvalidNamesAreRejected) {
  const std::vector<std::string> bad{"",
                                     "Mars/Olympus_Mons",
                                     "../../etc/passwd",
                                     "Europe/../Europe/Berlin",
                                     "/usr/share/zoneinfo/UTC",
                                     "Europe//Berlin",
                                     "Europe/Berlin/",
                                     "Europe",       // a directory
                                     "zone.tab",     // '.' is never part of a zone name
                                     "leapseconds",  // a file, but not TZif
                                     "right/Europe/Berlin",
                                     "Europe/Berlin\n",
                                     "utc"};
  const CronSchedule s = CronSchedule::parse("*/5 * * * *");
  const CronSchedule every = CronSchedule::parse("@every:60");
  for (const std::string& tz : bad) {
    if (tz == "right/Europe/Berlin" &&
        !std::filesystem::exists("/usr/share/zoneinfo/right/Europe/Berlin")) {
      continue;
    }
    for (const jarvis::Error& e : {error_of([&] { check_timezone(tz); }),
                                   error_of([&] { s.next_after(0, tz); }), error_of([&] {
                                     std::vector<std::int64_t> slots;
                                     every.slots_between(0, 100, 1, slots, tz);
                                   })}) {
      EXPECT_EQ(e.status(), 400) << tz;
      EXPECT_EQ(e.code(), "invalid_timezone") << tz;
    }
  }
  EXPECT_NO_THROW(check_timezone("UTC"));
  EXPECT_NO_THROW(check_timezone("Etc/UTC"));
  EXPECT_NO_THROW(check_timezone("America/Argentina/Buenos_Aires"));
  EXPECT_NO_THROW(check_timezone("Etc/GMT+5"));
  EXPECT_NE(std::string(error_of([] { check_timezone("Mars/Olympus_Mons"); }).what())
                .find("Mars/Olympus_Mons"),
            std::string::npos);
}

TEST(TimeZone, LoadsAreCachedAndShared) {
  EXPECT_EQ(TimeZone::load("Europe/Berlin").get(), TimeZone::load("Europe/Berlin").get());
  EXPECT_EQ(TimeZone::load("UTC").get(), TimeZone::utc().get());
  EXPECT_EQ(TimeZone::load("Europe/Berlin")->name(), "Europe/Berlin");
}

TEST(TimeZone, TruncatedOrCorruptTzifNeverCrashes) {
  std::ifstream in("/usr/share/zoneinfo/Europe/Berlin", std::ios::binary);
  std::ostringstream buf;
  buf << in.rdbuf();
  const std::string bytes = buf.str();
  ASSERT_GT(bytes.size(), 100u);
  const auto full = TimeZone::from_tzif("test", bytes);
  EXPECT_EQ(full->offset_at(utc("2024-07-01T00:00")), 7200);
  int accepted = 0;
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    try {
      TimeZone::from_tzif("test", bytes.substr(0, n));
      ++accepted;
    } catch (const jarvis::Error& e) {
      EXPECT_EQ(e.code(), "invalid_timezone");
    }
  }
  EXPECT_EQ(accepted, 0);  // the footer's closing newline is the last byte
  std::mt19937 rng(5);
  for (int i = 0; i < 2000; ++i) {
    std::string corrupt = bytes;
    for (int k = 0; k < 4; ++k) corrupt[rng() % corrupt.size()] = static_cast<char>(rng());
    try {
      const auto z = TimeZone::from_tzif("corrupt", corrupt);
      (void)z->offset_at(utc("2024-07-01T00:00"));
      (void)z->next_transition(utc("2024-07-01T00:00"));
    } catch (const jarvis::Error& e) {
      EXPECT_EQ(e.code(), "invalid_timezone");
    }
  }
  EXPECT_EQ(error_of([] {
              TimeZone::from_tzif("x",
                                  "not a tzif file at all, but long enough to "
                                  "have a header of forty-four bytes");
            }).code(),
            "invalid_timezone");
}

}  // namespace
}  // namespace jarvis::host

// host/src/tasks/cron.cpp — schedule expression parsing and slot computation (the time zones they
// are evaluated in are read by time_zone.cpp).
//
// Slot search never scans minute by minute: it walks the UTC range one constant-offset segment
// (between two DST transitions) at a time, and inside a segment one local day at a time, counting
// a matching day's minutes from the hour/minute bit sets. Ranges longer than a 400-year Gregorian
// cycle (146097 days, a whole number of weeks) are counted per cycle.
#include "tasks/cron.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string_view>
#include <system_error>

#include "jarvis/error.h"
#include "tasks/civil_time.h"
#include "jarvis/strings.h"

namespace jarvis::host {
namespace {

using namespace civil;  // NOLINT: the calendar arithmetic below is all from civil_time.h

// ---------------------------------------------------------------------------------------------
// Cron parsing

constexpr std::size_t kMaxExpressionLength = 512;

[[noreturn]] void fail_cron(const std::string& reason) {
  throw jarvis::Error(400, "invalid_cron", "invalid schedule: " + reason);
}

struct FieldSpec {
  const char* name;
  int min;
  int max;
  const std::array<const char*, 12>* names;  // null when the field takes no names
  int name_count;
  int name_base;
};

constexpr std::array<const char*, 12> kMonthNames{"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                  "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<const char*, 12> kDayNames{"SUN", "MON", "TUE", "WED", "THU", "FRI",
                                                "SAT", "",    "",    "",    "",    ""};

constexpr std::array<FieldSpec, 5> kFields{{
    {"minute", 0, 59, nullptr, 0, 0},
    {"hour", 0, 23, nullptr, 0, 0},
    {"day-of-month", 1, 31, nullptr, 0, 0},
    {"month", 1, 12, &kMonthNames, 12, 1},
    {"day-of-week", 0, 7, &kDayNames, 7, 0},
}};

class FieldParser {
 public:
  FieldParser(const FieldSpec& spec, const std::string& text) : spec_(spec), text_(text) {}

  std::uint64_t parse() {
    if (text_.empty()) fail("empty field");
    std::uint64_t bits = 0;
    std::size_t start = 0;
    while (true) {
      const std::size_t comma = text_.find(',', start);
      const std::string item =
          text_.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (item.empty()) fail("empty list item");
      bits |= parse_item(item);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return bits;
  }

 private:
  [[noreturn]] void fail(const std::string& reason) const {
    fail_cron(std::string(spec_.name) + " field \"" + shown(text_) + "\": " + reason);
  }

  std::uint64_t parse_item(const std::string& item) const {
    const std::size_t slash = item.find('/');
    const std::string base = item.substr(0, slash);
    int lo = 0;
    int hi = 0;
    if (base == "*") {
      lo = spec_.min;
      hi = spec_.max;
    } else {
      if (base.empty()) fail("missing value before '/'");
      const std::size_t dash = base.find('-');
      if (dash == std::string::npos) {
        lo = hi = value(base);
        if (slash != std::string::npos) {
          fail("a step needs a range or '*' (write " + base + "-" + std::to_string(spec_.max) +
               "/n or */n), got \"" + shown(item) + "\"");
        }
      } else {
        lo = value(base.substr(0, dash));
        hi = value(base.substr(dash + 1));
        if (lo > hi) {
          fail("reversed range \"" + shown(base) + "\" (" + std::to_string(lo) + " > " +
               std::to_string(hi) + ")");
        }
      }
    }
    int step = 1;
    if (slash != std::string::npos) {
      const std::string step_text = item.substr(slash + 1);
      if (step_text.empty() || step_text.size() > 3 ||
          !std::all_of(step_text.begin(), step_text.end(),
                       [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
        fail("step \"" + shown(step_text) + "\" is not a positive whole number");
      }
      step = std::stoi(step_text);
      if (step == 0) fail("step 0 is not allowed");
      if (step > spec_.max - spec_.min + 1) {
        fail("step " + std::to_string(step) + " is larger than the field's range " +
             std::to_string(spec_.min) + "-" + std::to_string(spec_.max));
      }
    }
    std::uint64_t bits = 0;
    for (int v = lo; v <= hi; v += step) bits |= std::uint64_t{1} << v;
    return bits;
  }

  int value(const std::string& token) const {
    if (token.empty()) fail("missing value in \"" + shown(text_) + "\"");
    if (std::all_of(token.begin(), token.end(),
                    [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
      const int v = token.size() > 3 ? 10000 : std::stoi(token);
      if (v < spec_.min || v > spec_.max) {
        fail("value " + shown(token) + " is out of range " + std::to_string(spec_.min) + "-" +
             std::to_string(spec_.max));
      }
      return v;
    }
    if (spec_.names != nullptr) {
      std::string upper = token;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      for (int i = 0; i < spec_.name_count; ++i) {
        if (upper == (*spec_.names)[static_cast<std::size_t>(i)]) return spec_.name_base + i;
      }
      fail("unknown name \"" + shown(token) + "\" (use " + (*spec_.names)[0] + "-" +
           (*spec_.names)[static_cast<std::size_t>(spec_.name_count - 1)] + " or numbers)");
    }
    fail("\"" + shown(token) + "\" is not a number");
  }

  const FieldSpec& spec_;
  const std::string& text_;
};

std::vector<std::string> split_fields(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ' ' || c == '\t') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

std::uint64_t bit_range(int lo, int hi) {
  if (lo > hi) return 0;
  const std::uint64_t upper = hi >= 63 ? ~std::uint64_t{0} : (std::uint64_t{1} << (hi + 1)) - 1;
  return upper & ~((std::uint64_t{1} << lo) - 1);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// CronSchedule

CronSchedule CronSchedule::parse(const std::string& expr) {
  CronSchedule s;
  s.expr_ = jarvis::trimmed(expr);
  const std::string& e = s.expr_;
  if (e.empty()) fail_cron("empty expression");
  if (e.size() > kMaxExpressionLength) fail_cron("expression longer than 512 characters");

  std::string fields_text = e;
  if (e.front() == '@') {
    const std::string macro = jarvis::ascii_lower(e);
    static constexpr std::string_view kEvery = "@every:";
    if (macro.rfind(kEvery, 0) == 0) {
      const std::string n = e.substr(kEvery.size());
      if (n.empty()) fail_cron("@every needs a number of seconds, as in @every:600");
      if (!std::all_of(n.begin(), n.end(),
                       [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
        fail_cron("@every: \"" + shown(n) + "\" is not a whole number of seconds");
      }
      const std::size_t first = n.find_first_not_of('0');
      if (first == std::string::npos) fail_cron("@every: the interval must be at least 1 second");
      if (n.size() - first > 10 || std::stoll(n.substr(first)) > kMaxIntervalSeconds) {
        fail_cron("@every: " + shown(n) + " seconds is more than 100 years");
      }
      s.interval_ = std::stoll(n.substr(first));
      return s;
    }
    static const std::map<std::string, std::string> kMacros{
        {"@hourly", "0 * * * *"},  {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
        {"@weekly", "0 0 * * 0"},  {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
        {"@annually", "0 0 1 1 *"}};
    const auto it = kMacros.find(macro);
    if (it == kMacros.end()) {
      fail_cron("unknown macro \"" + shown(e) +
                "\" (known: @every:N, @hourly, @daily, @midnight, @weekly, @monthly, @yearly, "
                "@annually)");
    }
    fields_text = it->second;
  }

  const std::vector<std::string> fields = split_fields(fields_text);
  if (fields.size() != 5) {
    fail_cron("expected 5 fields (minute hour day-of-month month day-of-week), got " +
              std::to_string(fields.size()) + " in \"" + shown(e) + "\"");
  }
  std::array<std::uint64_t, 5> bits{};
  for (std::size_t i = 0; i < 5; ++i) bits[i] = FieldParser(kFields[i], fields[i]).parse();
  if ((bits[4] >> 7) & 1) bits[4] = (bits[4] | 1) & ~(std::uint64_t{1} << 7);  // 7 = Sunday

  s.minutes_ = bits[0];
  s.hours_ = static_cast<std::uint32_t>(bits[1]);
  s.doms_ = static_cast<std::uint32_t>(bits[2]);
  s.months_ = static_cast<std::uint32_t>(bits[3]);
  s.dows_ = static_cast<std::uint32_t>(bits[4]);
  s.dom_star_ = fields[2].front() == '*';
  s.dow_star_ = fields[4].front() == '*';
  s.fixed_time_ = fields[0].front() != '*' && fields[1].front() != '*';
  s.per_day_ = std::popcount(s.minutes_) * std::popcount(s.hours_);

  // With day-of-week '*' only day-of-month decides: some listed day must exist in a listed month
  // (Feb counts 29 days — it fires in leap years). Any other combination fires somewhere.
  if (!s.dom_star_ && s.dow_star_) {
    bool possible = false;
    for (unsigned m = 1; m <= 12 && !possible; ++m) {
      if (((s.months_ >> m) & 1) == 0) continue;
      const unsigned max_day = m == 2 ? 29 : days_in_month(2001, m);
      possible = (s.doms_ & bit_range(1, static_cast<int>(max_day))) != 0;
    }
    if (!possible) {
      fail_cron("the schedule never fires: no day in day-of-month field \"" + shown(fields[2]) +
                "\" exists in month field \"" + shown(fields[3]) + "\"");
    }
  }
  return s;
}

std::string CronSchedule::validate(const std::string& expr) {
  try {
    parse(expr);
    return {};
  } catch (const jarvis::Error& e) {
    return e.what();
  }
}

bool CronSchedule::day_matches(std::int64_t day) const {
  const Civil c = civil_from_days(day);
  if (((months_ >> c.month) & 1) == 0) return false;
  const bool dom = ((doms_ >> c.day) & 1) != 0;
  const bool dow = ((dows_ >> weekday(day)) & 1) != 0;
  return (dom_star_ || dow_star_) ? (dom && dow) : (dom || dow);
}

std::int64_t CronSchedule::count_in_day(int first, int last) const {
  if (first == 0 && last == kMinutesPerDay - 1) return per_day_;
  const auto minutes_in = [this](int lo, int hi) {
    return static_cast<std::int64_t>(std::popcount(minutes_ & bit_range(lo, hi)));
  };
  const auto hour_on = [this](int h) { return ((hours_ >> h) & 1) != 0; };
  const int h0 = first / 60;
  const int h1 = last / 60;
  if (h0 == h1) return hour_on(h0) ? minutes_in(first % 60, last % 60) : 0;
  std::int64_t total = 0;
  if (hour_on(h0)) total += minutes_in(first % 60, 59);
  if (hour_on(h1)) total += minutes_in(0, last % 60);
  total += std::popcount(hours_ & bit_range(h0 + 1, h1 - 1)) * std::popcount(minutes_);
  return total;
}

std::int64_t CronSchedule::cycle_count() const {
  std::int64_t total = 0;
  for (std::int64_t d = 0; d < kCycleDays; ++d) {
    if (day_matches(d)) total += per_day_;
  }
  return total;
}

// Matching local minutes m in [m0, m1] (minutes since the local epoch): the first ones go to
// `out` until it holds `limit`; returns the count, stopping early once it reaches `stop_after`.
std::int64_t CronSchedule::scan_minutes(std::int64_t m0, std::int64_t m1, std::size_t limit,
                                        std::vector<std::int64_t>* out,
                                        std::int64_t stop_after) const {
  if (m0 > m1) return 0;
  std::int64_t total = 0;
  const std::int64_t d0 = floor_div(m0, kMinutesPerDay);
  const std::int64_t d1 = floor_div(m1, kMinutesPerDay);
  std::int64_t cycle = -1;
  for (std::int64_t d = d0; d <= d1;) {
    const bool room = out != nullptr && out->size() < limit;
    if (!room && d > d0 && d1 - d >= kCycleDays) {  // whole 400-year cycles of full days
      const std::int64_t k = (d1 - d) / kCycleDays;
      if (cycle < 0) cycle = cycle_count();
      total += k * cycle;
      d += k * kCycleDays;
      if (total >= stop_after) return total;
      continue;
    }
    if (!day_matches(d)) {
      ++d;
      continue;
    }
    const int first = d == d0 ? static_cast<int>(m0 - d * kMinutesPerDay) : 0;
    const int last = d == d1 ? static_cast<int>(m1 - d * kMinutesPerDay) : kMinutesPerDay - 1;
    if (room) {
      for (int h = first / 60; h <= last / 60; ++h) {
        if (((hours_ >> h) & 1) == 0) continue;
        const int lo = h == first / 60 ? first % 60 : 0;
        const int hi = h == last / 60 ? last % 60 : 59;
        for (int m = lo; m <= hi; ++m) {
          if (((minutes_ >> m) & 1) == 0) continue;
          if (out->size() < limit) out->push_back(d * kMinutesPerDay + h * 60 + m);
          ++total;
        }
      }
    } else {
      total += count_in_day(first, last);
    }
    if (total >= stop_after) return total;
    ++d;
  }
  return total;
}

// Firing instants in [a, b): appends the first ones to `out` (up to `limit` in all) and returns
// how many there are, stopping early once the count reaches `stop_after`.
std::int64_t CronSchedule::walk(std::int64_t a, std::int64_t b, std::size_t limit,
                                std::vector<std::int64_t>* out, std::int64_t stop_after,
                                const TimeZone& zone) const {
  std::int64_t total = 0;
  // The constant-offset segment holding `a` started at the last transition S (offset before: p).
  auto prev = zone.prev_transition(a);
  bool has_start = prev.has_value();
  std::int64_t seg_start = has_start ? prev->at : a;
  int prev_offset = has_start ? prev->offset_before : 0;
  std::int64_t cur = a;
  std::vector<std::int64_t> local;
  while (cur < b) {
    const int off = zone.offset_at(cur);
    const auto next = zone.next_transition(cur);
    const std::int64_t end = next && next->at < b ? next->at : b;
    std::int64_t lo_local = cur + off;  // local seconds of [cur, end)
    const std::int64_t hi_local = end + off;
    if (fixed_time_ && has_start && prev_offset < off && seg_start == cur) {
      // Gap: local [S+p, S+off) never happens; a slot there fires once, at S.
      const std::int64_t g0 = ceil_div(seg_start + prev_offset, 60);
      const std::int64_t g1 = ceil_div(seg_start + off, 60) - 1;
      if (scan_minutes(g0, g1, 0, nullptr, 1) > 0) {
        if (out != nullptr && out->size() < limit) out->push_back(seg_start);
        ++total;
        lo_local = std::max(lo_local, seg_start + off + 1);  // a slot at S+off is this firing
        if (total >= stop_after) return total;
      }
    }
    if (fixed_time_ && has_start && prev_offset > off) {
      // Overlap: local times before S+p already happened (and fired) before S.
      lo_local = std::max(lo_local, seg_start + prev_offset);
    }
    local.clear();
    const std::size_t room = out != nullptr && out->size() < limit ? limit - out->size() : 0;
    const std::int64_t n = scan_minutes(ceil_div(lo_local, 60), ceil_div(hi_local, 60) - 1, room,
                                        &local, stop_after - total);
    for (std::int64_t m : local) out->push_back(m * 60 - off);
    total += n;
    if (total >= stop_after || !next || next->at >= b) break;
    has_start = true;
    seg_start = next->at;
    prev_offset = next->offset_before;
    cur = next->at;
  }
  return total;
}

std::int64_t CronSchedule::next_after(std::int64_t after, const std::string& tz) const {
  const auto zone = TimeZone::load(tz);
  if (interval_ > 0) return after > kNever - interval_ ? kNever : after + interval_;
  if (after >= kMaxInstant) return kNever;
  const std::int64_t a = std::max(after + 1, kMinInstant);
  std::vector<std::int64_t> out;
  walk(a, kMaxInstant + 1, 1, &out, 1, *zone);
  return out.empty() ? kNever : out.front();
}

std::int64_t CronSchedule::slots_between(std::int64_t from, std::int64_t to, std::size_t limit,
                                         std::vector<std::int64_t>& slots,
                                         const std::string& tz) const {
  const auto zone = TimeZone::load(tz);
  slots.clear();
  if (to <= from) return 0;
  if (interval_ > 0) {
    const std::uint64_t span = static_cast<std::uint64_t>(to) - static_cast<std::uint64_t>(from);
    const std::uint64_t count = span / static_cast<std::uint64_t>(interval_);
    const std::uint64_t listed = std::min<std::uint64_t>(count, limit);
    slots.reserve(static_cast<std::size_t>(listed));
    for (std::uint64_t k = 1; k <= listed; ++k) {
      slots.push_back(static_cast<std::int64_t>(static_cast<std::uint64_t>(from) +
                                                k * static_cast<std::uint64_t>(interval_)));
    }
    return count > static_cast<std::uint64_t>(kNever) ? kNever : static_cast<std::int64_t>(count);
  }
  const std::int64_t a = std::max(from, kMinInstant - 1) + 1;
  const std::int64_t b = std::min(to, kMaxInstant) + 1;
  if (a >= b) return 0;
  return walk(a, b, limit, &slots, kNever, *zone);
}

}  // namespace jarvis::host

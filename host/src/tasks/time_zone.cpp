// host/src/tasks/time_zone.cpp — the TZif reader and POSIX-TZ rules behind TimeZone (time_zone.h).
#include "tasks/time_zone.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string_view>
#include <system_error>

#include "jarvis/error.h"
#include "tasks/civil_time.h"

namespace jarvis::host {
namespace {

using namespace civil;  // NOLINT: calendar arithmetic from civil_time.h

// ---------------------------------------------------------------------------------------------
// Time zones

[[noreturn]] void fail_tz(const std::string& name, const std::string& reason) {
  std::string shown = name.size() > 80 ? name.substr(0, 80) + "…" : name;
  throw jarvis::Error(400, "invalid_timezone", "time zone \"" + shown + "\": " + reason);
}

// Big-endian reader over the TZif bytes; every read is bounds-checked.
class TzifReader {
 public:
  TzifReader(const std::string& name, const std::string& bytes) : name_(name), bytes_(bytes) {}
  std::size_t pos() const { return pos_; }
  std::size_t remaining() const { return bytes_.size() - pos_; }
  void need(std::uint64_t n) const {
    if (n > remaining()) fail_tz(name_, "truncated TZif file");
  }
  void skip(std::uint64_t n) {
    need(n);
    pos_ += static_cast<std::size_t>(n);
  }
  std::uint8_t u8() {
    need(1);
    return static_cast<std::uint8_t>(bytes_[pos_++]);
  }
  std::uint32_t u32() {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | u8();
    return v;
  }
  std::int64_t i64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | u8();
    return static_cast<std::int64_t>(v);
  }
  std::int64_t i32() { return static_cast<std::int32_t>(u32()); }
  char ch() { return static_cast<char>(u8()); }

 private:
  const std::string& name_;
  const std::string& bytes_;
  std::size_t pos_ = 0;
};

struct TzifHeader {
  char version = 0;
  std::uint32_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;
};

TzifHeader read_header(TzifReader& r, const std::string& name) {
  r.need(44);
  if (r.ch() != 'T' || r.ch() != 'Z' || r.ch() != 'i' || r.ch() != 'f') {
    fail_tz(name, "not a TZif file");
  }
  TzifHeader h;
  h.version = r.ch();
  if (h.version != 0 && (h.version < '2' || h.version > '9')) {
    fail_tz(name, "unsupported TZif version");
  }
  r.skip(15);
  h.isutcnt = r.u32();
  h.isstdcnt = r.u32();
  h.leapcnt = r.u32();
  h.timecnt = r.u32();
  h.typecnt = r.u32();
  h.charcnt = r.u32();
  return h;
}

std::uint64_t block_size(const TzifHeader& h, std::uint64_t time_size) {
  return std::uint64_t{h.timecnt} * time_size + h.timecnt + std::uint64_t{h.typecnt} * 6 +
         h.charcnt + std::uint64_t{h.leapcnt} * (time_size + 4) + h.isstdcnt + h.isutcnt;
}

// Parses a POSIX TZ string (the TZif footer); nullopt when malformed.
class PosixParser {
 public:
  explicit PosixParser(const std::string& s) : s_(s) {}

  std::optional<TimeZone::PosixRule> parse() {
    TimeZone::PosixRule rule;
    if (!name()) return std::nullopt;
    auto std_off = hms(24);
    if (!std_off) return std::nullopt;
    rule.std_offset = -*std_off;
    if (at_end()) return rule;
    if (!name()) return std::nullopt;
    rule.has_dst = true;
    rule.dst_offset = rule.std_offset + 3600;
    if (!at_end() && s_[i_] != ',') {
      auto dst_off = hms(24);
      if (!dst_off) return std::nullopt;
      rule.dst_offset = -*dst_off;
    }
    if (at_end()) {  // no rules: the POSIX default glibc uses (US rules)
      rule.start = {TimeZone::PosixRule::DateKind::kMonthWeekDay, 0, 3, 2, 7200};
      rule.end = {TimeZone::PosixRule::DateKind::kMonthWeekDay, 0, 11, 1, 7200};
      return rule;
    }
    if (!consume(',')) return std::nullopt;
    auto start = date();
    if (!start || !consume(',')) return std::nullopt;
    auto end = date();
    if (!end || !at_end()) return std::nullopt;
    rule.start = *start;
    rule.end = *end;
    return rule;
  }

 private:
  bool at_end() const { return i_ >= s_.size(); }
  bool consume(char c) {
    if (at_end() || s_[i_] != c) return false;
    ++i_;
    return true;
  }
  bool name() {
    if (consume('<')) {
      const std::size_t start = i_;
      while (!at_end() && s_[i_] != '>') {
        const char c = s_[i_];
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-') return false;
        ++i_;
      }
      return i_ > start && consume('>');
    }
    const std::size_t start = i_;
    while (!at_end() && std::isalpha(static_cast<unsigned char>(s_[i_]))) ++i_;
    return i_ - start >= 3;
  }
  std::optional<int> number(int max_digits) {
    int v = 0;
    int digits = 0;
    while (!at_end() && std::isdigit(static_cast<unsigned char>(s_[i_])) && digits < max_digits) {
      v = v * 10 + (s_[i_] - '0');
      ++i_;
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    return v;
  }
  // [+-]hh[:mm[:ss]] in seconds (POSIX sign: positive = west of Greenwich for offsets).
  std::optional<int> hms(int max_hours) {
    int sign = 1;
    if (consume('-')) {
      sign = -1;
    } else {
      consume('+');
    }
    auto h = number(3);
    if (!h || *h > max_hours) return std::nullopt;
    int total = *h * 3600;
    if (consume(':')) {
      auto m = number(2);
      if (!m || *m > 59) return std::nullopt;
      total += *m * 60;
      if (consume(':')) {
        auto sec = number(2);
        if (!sec || *sec > 59) return std::nullopt;
        total += *sec;
      }
    }
    return sign * total;
  }
  std::optional<TimeZone::PosixRule::Date> date() {
    TimeZone::PosixRule::Date d;
    if (consume('J')) {
      d.kind = TimeZone::PosixRule::DateKind::kJulianNoLeap;
      auto n = number(3);
      if (!n || *n < 1 || *n > 365) return std::nullopt;
      d.day = *n;
    } else if (consume('M')) {
      d.kind = TimeZone::PosixRule::DateKind::kMonthWeekDay;
      auto m = number(2);
      if (!m || *m < 1 || *m > 12 || !consume('.')) return std::nullopt;
      auto w = number(1);
      if (!w || *w < 1 || *w > 5 || !consume('.')) return std::nullopt;
      auto wd = number(1);
      if (!wd || *wd > 6) return std::nullopt;
      d.month = *m;
      d.week = *w;
      d.day = *wd;
    } else {
      d.kind = TimeZone::PosixRule::DateKind::kZeroBased;
      auto n = number(3);
      if (!n || *n > 365) return std::nullopt;
      d.day = *n;
    }
    if (consume('/')) {
      auto t = hms(167);
      if (!t) return std::nullopt;
      d.time = *t;
    }
    return d;
  }

  const std::string& s_;
  std::size_t i_ = 0;
};

// Local (wall-clock) seconds since the epoch at which `d` happens in year `y`.
std::int64_t rule_local_seconds(const TimeZone::PosixRule::Date& d, std::int64_t y) {
  std::int64_t day = 0;
  switch (d.kind) {
    case TimeZone::PosixRule::DateKind::kJulianNoLeap:
      day = days_from_civil(y, 1, 1) + d.day - 1 + (is_leap(y) && d.day >= 60 ? 1 : 0);
      break;
    case TimeZone::PosixRule::DateKind::kZeroBased:
      day = days_from_civil(y, 1, 1) + d.day;
      break;
    case TimeZone::PosixRule::DateKind::kMonthWeekDay: {
      const auto month = static_cast<unsigned>(d.month);
      const std::int64_t first = days_from_civil(y, month, 1);
      day = first + (d.day - weekday(first) + 7) % 7 + std::int64_t{d.week - 1} * 7;
      while (day - first >= days_in_month(y, month)) day -= 7;
      break;
    }
  }
  return day * kSecondsPerDay + d.time;
}

std::int64_t rule_start_utc(const TimeZone::PosixRule& r, std::int64_t y) {
  return rule_local_seconds(r.start, y) - r.std_offset;
}
std::int64_t rule_end_utc(const TimeZone::PosixRule& r, std::int64_t y) {
  return rule_local_seconds(r.end, y) - r.dst_offset;
}

bool valid_zone_name(const std::string& name) {
  if (name.empty() || name.size() > 255 || name.front() == '/' || name.back() == '/') return false;
  if (name.find("//") != std::string::npos) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '+' ||
           c == '/';
  });
}

std::string zoneinfo_dir() {
  const char* dir = std::getenv("TZDIR");
  return dir != nullptr && *dir != '\0' ? dir : "/usr/share/zoneinfo";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// TimeZone

std::shared_ptr<const TimeZone> TimeZone::utc() {
  static const std::shared_ptr<const TimeZone> zone = [] {
    std::shared_ptr<TimeZone> z(new TimeZone());
    z->name_ = "UTC";
    return std::shared_ptr<const TimeZone>(std::move(z));
  }();
  return zone;
}

std::shared_ptr<const TimeZone> TimeZone::load(const std::string& name) {
  if (name == "UTC") return utc();
  if (!valid_zone_name(name)) fail_tz(name, "not a valid time zone name");
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const TimeZone>> cache;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache.find(name);
    if (it != cache.end()) return it->second;
  }
  const std::filesystem::path path = std::filesystem::path(zoneinfo_dir()) / name;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) fail_tz(name, "unknown time zone");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || size > 1024 * 1024) fail_tz(name, "unknown time zone");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (!in) fail_tz(name, "cannot read the time zone file");
  auto zone = from_tzif(name, bytes.str());
  std::lock_guard<std::mutex> lock(mutex);
  return cache.emplace(name, std::move(zone)).first->second;
}

std::shared_ptr<const TimeZone> TimeZone::from_tzif(const std::string& name,
                                                    const std::string& bytes) {
  TzifReader r(name, bytes);
  TzifHeader h = read_header(r, name);
  std::uint64_t time_size = 4;
  if (h.version != 0) {
    r.skip(block_size(h, 4));  // the 32-bit block; the 64-bit one follows
    h = read_header(r, name);
    time_size = 8;
  }
  if (h.leapcnt != 0) fail_tz(name, "uses leap seconds (a \"right/\" zone); use the POSIX zone");
  if (h.typecnt == 0) fail_tz(name, "no local time types");
  r.need(block_size(h, time_size));

  std::shared_ptr<TimeZone> z(new TimeZone());
  z->name_ = name;
  z->times_.reserve(h.timecnt);
  for (std::uint32_t i = 0; i < h.timecnt; ++i) {
    const std::int64_t t = time_size == 8 ? r.i64() : r.i32();
    if (!z->times_.empty() && t <= z->times_.back()) fail_tz(name, "transitions out of order");
    z->times_.push_back(t);
  }
  std::vector<std::uint8_t> type_of(h.timecnt);
  for (auto& idx : type_of) {
    idx = r.u8();
    if (idx >= h.typecnt) fail_tz(name, "transition names a missing local time type");
  }
  std::vector<int> type_offset(h.typecnt);
  for (auto& off : type_offset) {
    const std::int64_t utoff = r.i32();
    r.skip(2);  // isdst, desigidx
    if (utoff <= -90000 || utoff >= 93600) fail_tz(name, "UTC offset out of range");
    off = static_cast<int>(utoff);
  }
  r.skip(std::uint64_t{h.charcnt} + h.isstdcnt + h.isutcnt);

  z->initial_offset_ = type_offset[0];
  z->offsets_.reserve(h.timecnt);
  int before = z->initial_offset_;
  for (std::uint32_t i = 0; i < h.timecnt; ++i) {
    const int after = type_offset[type_of[i]];
    z->offsets_.push_back(after);
    if (after != before) z->changes_.push_back({z->times_[i], before, after});
    before = after;
  }

  if (time_size == 8) {
    if (r.remaining() == 0 || r.ch() != '\n') fail_tz(name, "missing TZ string footer");
    std::string footer;
    while (true) {
      if (r.remaining() == 0) fail_tz(name, "unterminated TZ string footer");
      const char c = r.ch();
      if (c == '\n') break;
      footer += c;
    }
    if (!footer.empty()) {
      auto rule = PosixParser(footer).parse();
      if (!rule) fail_tz(name, "malformed TZ string footer \"" + shown(footer) + "\"");
      z->footer_ = rule;
    }
  }
  return z;
}

bool TimeZone::footer_applies(std::int64_t t) const {
  return footer_.has_value() && (times_.empty() || t > times_.back());
}

int TimeZone::footer_offset(std::int64_t t) const {
  const PosixRule& r = *footer_;
  if (!r.has_dst) return r.std_offset;
  const std::int64_t y = year_of(t);
  const std::int64_t start = rule_start_utc(r, y);
  const std::int64_t end = rule_end_utc(r, y);
  const bool dst = start < end ? (start <= t && t < end) : !(end <= t && t < start);
  return dst ? r.dst_offset : r.std_offset;
}

void TimeZone::footer_candidates(std::int64_t year, std::vector<std::int64_t>& out) const {
  out.push_back(rule_start_utc(*footer_, year));
  out.push_back(rule_end_utc(*footer_, year));
}

int TimeZone::offset_at(std::int64_t t) const {
  if (footer_applies(t)) return footer_offset(t);
  if (times_.empty() || t < times_.front()) return initial_offset_;
  const auto it = std::upper_bound(times_.begin(), times_.end(), t);
  return offsets_[static_cast<std::size_t>(it - times_.begin() - 1)];
}

std::optional<TimeZone::Transition> TimeZone::next_transition(std::int64_t t) const {
  const auto it = std::upper_bound(changes_.begin(), changes_.end(), t,
                                   [](std::int64_t v, const Transition& c) { return v < c.at; });
  if (it != changes_.end()) return *it;
  if (!footer_ || !footer_->has_dst) return std::nullopt;
  const std::int64_t last =
      times_.empty() ? std::numeric_limits<std::int64_t>::min() : times_.back();
  const std::int64_t y = year_of(std::max(t, std::max(last, kMinInstant)));
  std::vector<std::int64_t> candidates;
  for (std::int64_t year = y - 1; year <= y + 2; ++year) footer_candidates(year, candidates);
  std::sort(candidates.begin(), candidates.end());
  for (std::int64_t c : candidates) {
    if (c <= t || c <= last) continue;
    const int before = offset_at(c - 1);
    const int after = offset_at(c);
    if (before != after) return Transition{c, before, after};
  }
  return std::nullopt;
}

std::optional<TimeZone::Transition> TimeZone::prev_transition(std::int64_t t) const {
  if (footer_applies(t) && footer_->has_dst) {
    const std::int64_t last =
        times_.empty() ? std::numeric_limits<std::int64_t>::min() : times_.back();
    const std::int64_t y = year_of(t);
    std::vector<std::int64_t> candidates;
    for (std::int64_t year = y - 2; year <= y + 1; ++year) footer_candidates(year, candidates);
    std::sort(candidates.begin(), candidates.end(), std::greater<>());
    for (std::int64_t c : candidates) {
      if (c > t || c <= last) continue;
      const int before = offset_at(c - 1);
      const int after = offset_at(c);
      if (before != after) return Transition{c, before, after};
    }
  }
  const auto it = std::upper_bound(changes_.begin(), changes_.end(), t,
                                   [](std::int64_t v, const Transition& c) { return v < c.at; });
  if (it == changes_.begin()) return std::nullopt;
  return *(it - 1);
}

void check_timezone(const std::string& tz) { TimeZone::load(tz); }

}  // namespace jarvis::host

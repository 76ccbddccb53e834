// host/src/tasks/cron.cpp — schedule expression parsing, slot computation and the TZif time
// zone reader behind it (GCC 12's libstdc++ has no std::chrono::tzdb).
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

namespace jarvis::host {
namespace {

constexpr std::int64_t kSecondsPerDay = 86400;
constexpr std::int64_t kMinutesPerDay = 1440;
constexpr std::int64_t kCycleDays = 146097;  // 400 Gregorian years, exactly 20871 weeks
// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the instants cron schedules are evaluated on.
constexpr std::int64_t kMinInstant = -62135596800;
constexpr std::int64_t kMaxInstant = 253402300799;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return -floor_div(-a, b); }

struct Civil {
  std::int64_t year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
};

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian, day 0 = 1970-01-01).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

Civil civil_from_days(std::int64_t z) {
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
int weekday(std::int64_t day) { return static_cast<int>((day + 4) - floor_div(day + 4, 7) * 7); }

bool is_leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(std::int64_t y, unsigned m) {
  static constexpr std::array<unsigned, 13> kDays{0,  31, 28, 31, 30, 31, 30,
                                                  31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m];
}

std::int64_t year_of(std::int64_t t) { return civil_from_days(floor_div(t, kSecondsPerDay)).year; }

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

// ---------------------------------------------------------------------------------------------
// Cron parsing

constexpr std::size_t kMaxExpressionLength = 512;

std::string shown(const std::string& s) { return s.size() > 64 ? s.substr(0, 64) + "…" : s; }

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

std::string trim(const std::string& s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  std::size_t b = 0;
  std::size_t e = s.size();
  while (b < e && blank(s[b])) ++b;
  while (e > b && blank(s[e - 1])) --e;
  return s.substr(b, e - b);
}

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

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::uint64_t bit_range(int lo, int hi) {
  if (lo > hi) return 0;
  const std::uint64_t upper = hi >= 63 ? ~std::uint64_t{0} : (std::uint64_t{1} << (hi + 1)) - 1;
  return upper & ~((std::uint64_t{1} << lo) - 1);
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

// ---------------------------------------------------------------------------------------------
// CronSchedule

CronSchedule CronSchedule::parse(const std::string& expr) {
  CronSchedule s;
  s.expr_ = trim(expr);
  const std::string& e = s.expr_;
  if (e.empty()) fail_cron("empty expression");
  if (e.size() > kMaxExpressionLength) fail_cron("expression longer than 512 characters");

  std::string fields_text = e;
  if (e.front() == '@') {
    const std::string macro = lower(e);
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

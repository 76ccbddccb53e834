// host/src/http/framing.cpp — the request framing rules and the Date field (see framing.h).
#include "http/framing.h"

#include <time.h>

#include <cctype>
#include <cstdio>

namespace jarvis::host {

namespace {

std::string trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

HeaderProblem check_framing(const FramingFacts& facts) {
  if (facts.host_fields > 1) return {400, "bad_request", "more than one Host header"};
  if (facts.version >= 11 && facts.host_fields == 0)
    return {400, "bad_request", "HTTP/1.1 request without Host"};
  if (facts.transfer_encodings.empty()) return {};
  std::vector<std::string> codings;
  for (std::string_view value : facts.transfer_encodings) {
    while (true) {
      auto comma = value.find(',');
      std::string token = trim_ows(value.substr(0, comma));
      if (!token.empty()) codings.push_back(std::move(token));
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
  if (facts.version < 11) return {400, "bad_request", "Transfer-Encoding in an HTTP/1.0 request"};
  if (facts.content_length_fields > 0) {
    return {400, "bad_request", "both Transfer-Encoding and Content-Length"};
  }
  if (codings.empty() || !iequals_ascii(codings.back(), "chunked")) {
    return {400, "bad_request", "the final transfer coding is not chunked"};
  }
  if (codings.size() > 1) {
    return {501, "not_implemented", "transfer codings other than chunked are not supported"};
  }
  return {};
}

bool has_obs_fold(std::string_view raw) {
  for (std::size_t at = raw.find("\r\n"); at != std::string_view::npos && at + 2 < raw.size();
       at = raw.find("\r\n", at + 2)) {
    if (raw[at + 2] == ' ' || raw[at + 2] == '\t') return true;
  }
  return false;
}

std::string_view http_date() {
  thread_local time_t cached_second = 0;
  thread_local char buf[64] = {};
  thread_local std::size_t len = 0;
  time_t now = ::time(nullptr);
  if (now != cached_second) {
    static const char* const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm {};
    ::gmtime_r(&now, &tm);
    int n = std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
                          tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                          tm.tm_sec);
    len = n > 0 ? static_cast<std::size_t>(n) : 0;
    cached_second = now;
  }
  return {buf, len};
}

}  // namespace jarvis::host

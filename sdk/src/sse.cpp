// Server-sent-events parser (jarvis/sse.h), after the WHATWG HTML event-stream rules.
#include "jarvis/sse.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include "jarvis/error.h"

namespace jarvis {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

}  // namespace

SseParser::SseParser(std::size_t max_event_bytes) : max_event_bytes_(max_event_bytes) {}

void SseParser::reset() {
  line_.clear();
  data_.clear();
  type_.clear();
  has_data_ = false;
  skip_lf_ = false;
  bom_matched_ = 0;
}

std::vector<SseEvent> SseParser::feed(std::string_view bytes) {
  std::vector<SseEvent> out;
  // A UTF-8 BOM at the very start is skipped; it may itself arrive split across chunks.
  while (bom_matched_ < kBom.size() && !bytes.empty()) {
    if (bytes[0] != kBom[bom_matched_]) {
      line_.append(kBom.substr(0, bom_matched_));  // not a BOM after all: those bytes are text
      bom_matched_ = kBom.size();
      break;
    }
    bytes.remove_prefix(1);
    ++bom_matched_;
  }
  std::size_t i = 0;
  if (skip_lf_ && !bytes.empty()) {
    if (bytes[0] == '\n') i = 1;
    skip_lf_ = false;
  }
  while (i < bytes.size()) {
    std::size_t end = bytes.find_first_of("\r\n", i);
    if (end == std::string_view::npos) {
      line_.append(bytes.substr(i));
      break;
    }
    line_.append(bytes.substr(i, end - i));
    if (line_.size() + data_.size() > max_event_bytes_) break;  // reported below
    process_line(out);
    i = end + 1;
    if (bytes[end] == '\r') {
      if (i < bytes.size()) {
        if (bytes[i] == '\n') ++i;
      } else {
        skip_lf_ = true;
      }
    }
  }
  if (line_.size() + data_.size() > max_event_bytes_) {
    throw Error(502, "sse_event_too_large",
                "server-sent event exceeds " + std::to_string(max_event_bytes_) + " bytes");
  }
  return out;
}

void SseParser::process_line(std::vector<SseEvent>& out) {
  std::string line;
  line.swap(line_);    // (a move-construction here trips GCC 12's -Wmaybe-uninitialized)
  if (line.empty()) {  // end of an event
    if (has_data_) {
      SseEvent ev;
      if (!type_.empty()) ev.type = type_;
      ev.data = std::move(data_);
      if (!ev.data.empty() && ev.data.back() == '\n') ev.data.pop_back();
      ev.id = last_id_;
      out.push_back(std::move(ev));
    }
    data_.clear();
    type_.clear();
    has_data_ = false;
    return;
  }
  if (line.front() == ':') return;  // comment (keep-alive)
  std::string_view field = line;
  std::string_view value;
  if (auto colon = line.find(':'); colon != std::string::npos) {
    field = std::string_view(line).substr(0, colon);
    value = std::string_view(line).substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    data_.append(value);
    data_.push_back('\n');
    has_data_ = true;
  } else if (field == "event") {
    type_ = std::string(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_ = std::string(value);
  } else if (field == "retry") {
    bool digits = !value.empty() && value.size() <= 18 &&
                  std::all_of(value.begin(), value.end(),
                              [](unsigned char c) { return c >= '0' && c <= '9'; });
    if (digits) retry_ms_ = std::stoll(std::string(value));
  }
}

}  // namespace jarvis

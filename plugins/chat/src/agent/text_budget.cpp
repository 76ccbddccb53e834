// chat/src/agent/text_budget.cpp — token estimates, UTF-8 checks and budget cuts.
#include "agent/text_budget.h"

namespace chat {
namespace {

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

}  // namespace

long estimate_tokens(std::string_view text) {
  return static_cast<long>((text.size() + kBytesPerToken - 1) / kBytesPerToken);
}

bool valid_utf8(std::string_view bytes) {
  std::size_t i = 0;
  const std::size_t n = bytes.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;  // continuation byte first, 0xC0/0xC1 (overlong) or > 0xF4
    }
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(bytes[i + k]);
      if (!is_continuation(cc)) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;  // overlong
    if (cp >= 0xD800 && cp <= 0xDFFF) return false;                            // surrogate
    if (cp > 0x10FFFF) return false;
    i += len;
  }
  return true;
}

std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t end = max_bytes;
  while (end > 0 && is_continuation(static_cast<unsigned char>(text[end]))) --end;
  return text.substr(0, end);
}

std::string_view utf8_suffix(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t begin = text.size() - max_bytes;
  while (begin < text.size() && is_continuation(static_cast<unsigned char>(text[begin]))) ++begin;
  return text.substr(begin);
}

std::string truncate_middle(std::string_view text, long max_tokens) {
  if (max_tokens <= 0) return {};
  if (estimate_tokens(text) <= max_tokens) return std::string(text);
  const auto max_bytes = static_cast<std::size_t>(max_tokens * kBytesPerToken);
  if (max_bytes <= kTruncatedMarker.size()) return std::string(utf8_prefix(text, max_bytes));
  const std::size_t room = max_bytes - kTruncatedMarker.size();
  const std::size_t head = room * 2 / 3;
  const std::size_t tail = room - head;
  std::string out(utf8_prefix(text, head));
  out += kTruncatedMarker;
  out += utf8_suffix(text, tail);
  return out;
}

std::string preview(std::string_view text, std::size_t max_bytes) {
  std::string_view cut = utf8_prefix(text, max_bytes);
  std::string out;
  out.reserve(cut.size() + 3);
  for (char c : cut) out.push_back(c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
  if (cut.size() < text.size()) out += "…";
  return out;
}

}  // namespace chat

// memory/src/text_features.cpp — word tokens, stop words, token estimates.
#include "text_features.h"

#include <algorithm>
#include <array>

namespace jarvis::memory {

std::vector<std::string> word_tokens(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const bool word = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
    if (word) {
      cur.push_back(ch);
    } else if (c >= 'A' && c <= 'Z') {
      cur.push_back(static_cast<char>(c - 'A' + 'a'));
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

bool is_stop_word(std::string_view w) {
  static constexpr std::array<std::string_view, 48> kStop = {
      "a",    "an",   "and",   "are",  "as",   "at",  "be",  "but", "by",   "do",   "for",  "from",
      "had",  "has",  "have",  "he",   "her",  "his", "i",   "if",  "in",   "is",   "it",   "its",
      "me",   "my",   "no",    "not",  "of",   "on",  "or",  "our", "she",  "so",   "that", "the",
      "them", "then", "there", "they", "this", "to",  "was", "we",  "were", "what", "with", "you"};
  return std::find(kStop.begin(), kStop.end(), w) != kStop.end();
}

long estimate_tokens(std::string_view text) { return static_cast<long>((text.size() + 3) / 4); }

std::string utf8_prefix(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  std::size_t n = max_bytes;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return std::string(text.substr(0, n));
}

}  // namespace jarvis::memory

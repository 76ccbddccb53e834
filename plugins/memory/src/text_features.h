// memory/src/text_features.h — the one tokenizer of the memory plugin: words for the local
// embedder and for the full-text query builder, stop words, token estimates.
//
//   std::vector<std::string> w = jarvis::memory::word_tokens("Don't use NEAR(a b)*!");
//   // {"don", "t", "use", "near", "a", "b"}
//   long t = jarvis::memory::estimate_tokens(text);   // chars / 4, as chat's prompt builder
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace jarvis::memory {

/// Lower-cased words: maximal runs of ASCII letters and digits and of bytes >= 0x80 (UTF-8 text
/// stays whole). Every other byte separates words, so no punctuation or operator survives.
std::vector<std::string> word_tokens(std::string_view text);

/// True for a small English stop-word list ("the", "is", "and", …).
bool is_stop_word(std::string_view lower_word);

/// Estimated tokens of `text` the way chat's prompt builder estimates them: ceil(bytes / 4).
long estimate_tokens(std::string_view text);

/// `text` cut to at most `max_bytes` bytes without splitting a UTF-8 sequence.
std::string utf8_prefix(std::string_view text, std::size_t max_bytes);

}  // namespace jarvis::memory

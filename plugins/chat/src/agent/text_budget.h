// chat/src/agent/text_budget.h — token estimates and budget-safe text cutting for the prompt.
//
//   long t = chat::estimate_tokens(text);                 // ceil(bytes / 4)
//   std::string s = chat::truncate_middle(text, 500);     // ≤ 500 tokens, head + marker + tail
//   if (!chat::valid_utf8(bytes)) reject();
//
// Tokens are *estimated*, never counted with a tokenizer: one token per 4 bytes of UTF-8,
// rounded up. That is close for English with the common BPE vocabularies, conservative (it
// over-counts) for most other Latin-script text, and deterministic, so every budget decision is
// reproducible in a test. Every cut lands on a UTF-8 character boundary, so a cut string is still
// valid UTF-8 (providers serialise it as JSON, which must be valid UTF-8).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace chat {

/// Bytes per estimated token.
inline constexpr long kBytesPerToken = 4;

/// The marker put where text was cut out.
inline constexpr std::string_view kTruncatedMarker = "\n[…truncated for budget…]\n";

/// Estimated tokens of `text`: ceil(bytes / 4); 0 for empty text.
long estimate_tokens(std::string_view text);

/// True when `bytes` is well-formed UTF-8 (no overlong forms, surrogates or values > U+10FFFF).
bool valid_utf8(std::string_view bytes);

/// The longest prefix of `text` of at most `max_bytes` bytes that ends on a character boundary
/// (assumes `text` is valid UTF-8).
std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes);

/// The longest suffix of `text` of at most `max_bytes` bytes that starts on a character boundary.
std::string_view utf8_suffix(std::string_view text, std::size_t max_bytes);

/// `text` unchanged when it fits in `max_tokens`; otherwise the first two thirds of the allowed
/// bytes, kTruncatedMarker, and the last third, all within max_tokens * 4 bytes. When even the
/// marker does not fit, a plain UTF-8-safe prefix of max_tokens * 4 bytes (empty for 0).
std::string truncate_middle(std::string_view text, long max_tokens);

/// Like truncate_middle() but keeping only the beginning (for one-line previews): the first
/// `max_bytes` bytes on a character boundary, plus "…" when something was cut. Line breaks
/// become spaces.
std::string preview(std::string_view text, std::size_t max_bytes);

}  // namespace chat

// whatsapp/src/util.h — small pure helpers: base64, MIME sniffing from bytes, splitting long
// replies at WhatsApp's limit on UTF-8 boundaries.
//
//   std::optional<std::string> bytes = base64_decode(b64);      // nullopt when not base64
//   std::string mime = sniff_mime(first_bytes);                // "audio/ogg", "image/png", …
//   for (const auto& part : split_message(reply, 4096)) send(part);
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace whatsapp {

/// Standard base64 (RFC 4648) with padding.
std::string base64_encode(std::string_view bytes);
/// Decodes standard or URL-safe base64 (padding optional, whitespace ignored; a `data:…;base64,`
/// prefix is skipped); nullopt on any other character.
std::optional<std::string> base64_decode(std::string_view text);
/// Upper bound of the decoded size of `text` (without decoding it).
std::size_t base64_decoded_size(std::string_view text);

/// The MIME type the leading bytes of a file prove (magic numbers), or
/// "application/octet-stream" when none matches. Declared types are never consulted.
std::string sniff_mime(std::string_view head);
/// File extension (without the dot) for a sniffed MIME type; "bin" when unknown.
std::string extension_for(const std::string& mime);

/// `text` cut into parts of at most `max_chars` Unicode code points, preferring to cut after a
/// newline, then after a space, never inside a UTF-8 sequence. Empty text gives no parts.
std::vector<std::string> split_message(const std::string& text, std::size_t max_chars);

/// True when `s` is valid UTF-8.
bool valid_utf8(std::string_view s);
/// `s` with invalid UTF-8 sequences replaced by U+FFFD.
std::string sanitize_utf8(std::string_view s);

}  // namespace whatsapp

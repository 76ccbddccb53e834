// whatsapp/src/util.cpp — see util.h.
#include "util.h"

#include <array>
#include <cstdint>

namespace whatsapp {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

std::string_view strip_data_url(std::string_view text) {
  if (text.substr(0, 5) == "data:") {
    auto comma = text.find(',');
    if (comma != std::string_view::npos) return text.substr(comma + 1);
  }
  return text;
}

// Length of the UTF-8 sequence starting with `c` (0 for a continuation or invalid byte).
int seq_len(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) return c >= 0xC2 ? 2 : 0;
  if ((c & 0xF0) == 0xE0) return 3;
  if ((c & 0xF8) == 0xF0) return c <= 0xF4 ? 4 : 0;
  return 0;
}

bool starts(std::string_view s, std::string_view magic, std::size_t at = 0) {
  return s.size() >= at + magic.size() && s.substr(at, magic.size()) == magic;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    std::uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) |
                      (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                      static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < bytes.size()) {
    std::uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::size_t base64_decoded_size(std::string_view text) {
  return strip_data_url(text).size() / 4 * 3 + 3;
}

std::optional<std::string> base64_decode(std::string_view text) {
  text = strip_data_url(text);
  std::string out;
  out.reserve(text.size() / 4 * 3);
  std::uint32_t acc = 0;
  int bits = 0;
  bool padding = false;
  for (char c : text) {
    if (c == '=') {
      padding = true;
      continue;
    }
    if (c == '\n' || c == '\r' || c == ' ' || c == '\t') continue;
    int v = b64_value(c);
    if (v < 0 || padding) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

std::string sniff_mime(std::string_view h) {
  if (starts(h, "OggS")) {
    if (h.find("OpusHead") != std::string_view::npos || h.size() < 64) return "audio/ogg";
    return "audio/ogg";
  }
  if (starts(h, "\xFF\xD8\xFF")) return "image/jpeg";
  if (starts(h, "\x89PNG\r\n\x1A\n")) return "image/png";
  if (starts(h, "GIF87a") || starts(h, "GIF89a")) return "image/gif";
  if (starts(h, "RIFF") && starts(h, "WEBP", 8)) return "image/webp";
  if (starts(h, "RIFF") && starts(h, "WAVE", 8)) return "audio/wav";
  if (starts(h, "%PDF-")) return "application/pdf";
  if (starts(h, "ID3") || (h.size() >= 2 && static_cast<unsigned char>(h[0]) == 0xFF &&
                           (static_cast<unsigned char>(h[1]) & 0xE0) == 0xE0 &&
                           (static_cast<unsigned char>(h[1]) & 0x06) != 0)) {
    return "audio/mpeg";
  }
  if (starts(h, "ftyp", 4)) {
    if (starts(h, "M4A ", 8) || starts(h, "M4B ", 8)) return "audio/mp4";
    return "video/mp4";
  }
  if (starts(h, "\x1A\x45\xDF\xA3")) return "video/webm";
  if (starts(h, "PK\x03\x04")) return "application/zip";
  if (starts(h, "#!AMR")) return "audio/amr";
  return "application/octet-stream";
}

std::string extension_for(const std::string& mime) {
  static const std::array<std::pair<const char*, const char*>, 14> kExt{{{"audio/ogg", "ogg"},
                                                                         {"image/jpeg", "jpg"},
                                                                         {"image/png", "png"},
                                                                         {"image/gif", "gif"},
                                                                         {"image/webp", "webp"},
                                                                         {"audio/wav", "wav"},
                                                                         {"application/pdf", "pdf"},
                                                                         {"audio/mpeg", "mp3"},
                                                                         {"audio/mp4", "m4a"},
                                                                         {"video/mp4", "mp4"},
                                                                         {"video/webm", "webm"},
                                                                         {"application/zip", "zip"},
                                                                         {"audio/amr", "amr"},
                                                                         {"text/plain", "txt"}}};
  for (const auto& [m, e] : kExt) {
    if (mime == m) return e;
  }
  return "bin";
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    int n = seq_len(static_cast<unsigned char>(s[i]));
    if (n == 0 || i + n > s.size()) return false;
    for (int k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

std::string sanitize_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    int n = seq_len(static_cast<unsigned char>(s[i]));
    bool ok = n > 0 && i + n <= s.size();
    for (int k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (ok) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

std::vector<std::string> split_message(const std::string& text, std::size_t max_chars) {
  std::vector<std::string> parts;
  if (max_chars == 0) max_chars = 1;
  std::size_t pos = 0;
  while (pos < text.size()) {
    // Walk max_chars code points; remember the last newline and space seen.
    std::size_t i = pos;
    std::size_t chars = 0;
    std::size_t last_nl = std::string::npos;
    std::size_t last_sp = std::string::npos;
    while (i < text.size() && chars < max_chars) {
      int n = seq_len(static_cast<unsigned char>(text[i]));
      if (n == 0) n = 1;
      if (text[i] == '\n') last_nl = i + 1;
      if (text[i] == ' ') last_sp = i + 1;
      i = std::min(text.size(), i + static_cast<std::size_t>(n));
      ++chars;
    }
    std::size_t cut = i;
    if (i < text.size()) {
      if (last_nl != std::string::npos && last_nl > pos + (i - pos) / 2) {
        cut = last_nl;
      } else if (last_sp != std::string::npos && last_sp > pos + (i - pos) / 2) {
        cut = last_sp;
      }
    }
    parts.push_back(text.substr(pos, cut - pos));
    pos = cut;
  }
  return parts;
}

}  // namespace whatsapp

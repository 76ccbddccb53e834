// host/src/http/framing.h — the HTTP/1.1 wire rules the server adds to what Beast 1.74 enforces
// (RFC 9112 §3.2, §5.2, §6.1, §6.3): Transfer-Encoding / Content-Length / Host checks and obs-fold
// detection on requests, and the Date field of responses. No Beast here: the server extracts the
// few facts these rules need from its parser, and tests call them directly.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace jarvis::host {

/// The parts of a request header the framing rules look at.
struct FramingFacts {
  unsigned version = 11;  ///< 10 = HTTP/1.0, 11 = HTTP/1.1
  std::size_t host_fields = 0;
  std::size_t content_length_fields = 0;
  /// The value of every Transfer-Encoding field, in order (usually none).
  std::vector<std::string_view> transfer_encodings;
};

/// A refusal: status 0 = the header is acceptable.
struct HeaderProblem {
  int status = 0;
  const char* code = "";
  std::string message;
};

/// Checks the framing rules: Transfer-Encoding must end in `chunked` (400), may not list another
/// coding before it (501 `not_implemented`: we decode none), may not come with Content-Length or in
/// HTTP/1.0 (400); HTTP/1.1 needs exactly one Host and no request may have two (400).
HeaderProblem check_framing(const FramingFacts& facts);

/// True when the raw header block has an obs-fold line (CRLF followed by SP or HTAB): refused
/// before Beast unfolds it.
bool has_obs_fold(std::string_view raw_header);

/// The current time as an IMF-fixdate for the Date field, formatted once per second per thread.
std::string_view http_date();

/// ASCII case-insensitive comparison (header names and codings).
bool iequals_ascii(std::string_view a, std::string_view b);

}  // namespace jarvis::host

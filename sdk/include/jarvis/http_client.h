// jarvis/http_client.h — outbound HTTP (libcurl in the host) with timeouts, size caps, an SSRF
// guard for user-supplied URLs, and deterministic outage classes.
//
//   OutboundRequest r{.method = "GET", .url = provider_url + "/models"};
//   OutboundResponse res = host.http().send(r);
//   if (!res.ok()) log->warn("provider down: {} ({})", res.error_class, res.error_message);
//
// Streaming and cancelling (SDK 1.1) — read an LLM provider's SSE answer as it arrives and stop
// the upstream request when the task is asked to stop (see also jarvis/sse.h):
//
//   jarvis::SseParser sse;
//   OutboundRequest r{.method = "POST", .url = url, .body = json, .timeout_ms = 300000,
//                     .cancel = jarvis::CancelToken::when(ctx.should_stop)};
//   r.on_chunk = [&](std::string_view bytes) {
//     for (const auto& ev : sse.feed(bytes)) emit_token(ev.data);
//     return true;                                   // false stops the transfer ("cancelled")
//   };
//   OutboundResponse res = host.http().send(r);     // res.error_class == "cancelled" if stopped
//
// Uploading a file as multipart/form-data (a whisper-style transcription endpoint):
//
//   OutboundRequest up{.method = "POST", .url = base + "/v1/audio/transcriptions"};
//   up.multipart = {{.name = "model", .data = "whisper-1"},
//                   {.name = "file", .content_type = "audio/ogg", .file = "/var/media/1.ogg"}};
//   OutboundResponse res = host.http().send(up);
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "jarvis/cancel.h"
#include "jarvis/http.h"
#include "jarvis/version.h"

namespace jarvis {

/// Restrictions for fetching URLs that came from users or the network (not from operator config).
struct UrlGuard {
  bool enabled = false;                               ///< off for operator-configured URLs
  std::vector<std::string> allowed_schemes{"https"};  ///< checked for every hop
  /// If non-empty, the host (exact or a subdomain of an entry) must be listed.
  std::vector<std::string> allowed_hosts;
  /// Private, loopback, link-local and other non-public addresses are refused unless true.
  bool allow_private_addresses = false;
};

/// One part of a `multipart/form-data` request body (RFC 7578), see OutboundRequest::multipart.
struct MultipartPart {
  /// Form field name; required. CR, LF, NUL and `"` are refused (std::invalid_argument).
  std::string name;
  /// `filename="…"` of a file upload. Defaults to the base name of `file` for file parts; empty
  /// means a plain form field. CR, LF, NUL and `"` are refused.
  std::string filename;
  /// The part's Content-Type; defaults to `application/octet-stream` for parts with a filename and
  /// to none for plain fields. Control characters are refused.
  std::string content_type;
  /// The part's bytes (any binary content), used when `file` is empty.
  std::string data;
  /// Path of a local file streamed as the part's bytes (never loaded into memory). A file that
  /// cannot be read throws std::system_error before any network traffic.
  std::string file;
};

/// An outbound request. At most one of `body`, `body_file` and `multipart` may be set, and
/// `on_chunk` excludes `output_file` (std::invalid_argument otherwise).
struct OutboundRequest {
  std::string method = "GET";  ///< an HTTP token (GET, POST, …)
  std::string url;             ///< absolute http(s) URL
  Headers headers;             ///< names must be tokens; CR, LF and NUL in values are refused
  std::string body;            ///< request body bytes (see also body_file, multipart)
  long connect_timeout_ms = 5000;
  long timeout_ms = 30000;                    ///< whole transfer
  std::size_t max_response_bytes = 10 << 20;  ///< larger bodies fail with "too_large"
  int max_redirects = 0;                      ///< each hop is re-checked by the guard
  UrlGuard guard;
  /// If set, the body is streamed to this file instead of memory (still size-capped).
  std::string output_file;
  /// Stops the request when cancelled (SDK 1.1): before it starts, while the guard resolves the
  /// host, or mid-transfer — the connection is closed within about 100 ms and the response has
  /// `error_class == "cancelled"`. Feed it from `CancelToken::when(ctx.should_stop)` in a task.
  CancelToken cancel;
  /// Streaming (SDK 1.1): called on the calling thread with the bytes of a 2xx response body as
  /// they arrive, in order, each call with the next chunk (chunk sizes are arbitrary). Those bytes
  /// are then not kept in `OutboundResponse::body`. Returning false stops the transfer
  /// (`error_class == "cancelled"`); an exception it throws stops the transfer and is rethrown by
  /// send(). Non-2xx bodies (error pages, redirects) are not streamed; they land in `body` as
  /// usual. `max_response_bytes` and `timeout_ms` still bound the whole streamed body.
  std::function<bool(std::string_view chunk)> on_chunk;
  /// Path of a local file sent as the request body with its size as Content-Length, streamed
  /// from disk (SDK 1.1). Content-Type defaults to `application/octet-stream`. A file that cannot
  /// be read throws std::system_error before any network traffic. The file must not change while
  /// the request runs.
  std::string body_file;
  /// A `multipart/form-data` body built from these parts (SDK 1.1). The client picks a random
  /// boundary, sets `Content-Type: multipart/form-data; boundary=…` (replacing any Content-Type
  /// header of the request) and a Content-Length; file parts stream from disk.
  std::vector<MultipartPart> multipart;
  /// Idle timeout (SDK 1.1): when > 0, the request fails with `error_class == "timeout"` once no
  /// byte moved in either direction (response headers or body received, request body sent) for
  /// this many milliseconds — a streamed answer that stalls fails here long before `timeout_ms`,
  /// which bounds the whole transfer. The clock starts when the connection is being made (so a
  /// server that accepts and never answers also trips it) and is checked at least every 100 ms.
  /// 0 (the default): no idle limit.
  long idle_timeout_ms = 0;
};

/// Result of an outbound request. Transport failures never throw; they set `error_class`.
struct OutboundResponse {
  int status = 0;    ///< 0 when no HTTP response was received
  Headers headers;   ///< of the final response
  std::string body;  ///< empty when streamed to `output_file` or `on_chunk`
  /// "" on success, else one of: dns_resolution, timeout, network_unreachable,
  /// provider_unavailable, too_large, blocked_url, invalid_url, cancelled (the request's
  /// `cancel` token fired or `on_chunk` returned false; `status` keeps the status of a response
  /// already under way).
  std::string error_class;
  std::string error_message;  ///< human-readable detail of error_class
  std::string final_url;      ///< URL of the last hop

  /// True for a 2xx response without error_class.
  bool ok() const { return error_class.empty() && status >= 200 && status < 300; }
};

/// Outbound HTTP client. Thread-safe.
class JARVIS_API HttpClient {
 public:
  virtual ~HttpClient();
  /// Performs `request` on the calling thread and returns its outcome. Network outcomes never
  /// throw (see OutboundResponse::error_class); invalid requests throw std::invalid_argument and
  /// local file errors std::system_error.
  virtual OutboundResponse send(const OutboundRequest& request) = 0;
};

}  // namespace jarvis

// jarvis/http.h — the SDK's own HTTP request/response types and the route registry.
//
// Plugins never see the HTTP engine. A route handler receives a `Request` (raw body bytes, headers,
// path and query parameters, the caller's `Principal`) and returns a `Response`.
//
//   host.routes().add({.method = "GET", .path = "/api/v1/hello/{name}", .auth = Auth::Public,
//                      .summary = "Greets someone",
//                      .handler = [](Request& req) {
//                        return Response::json(200, {{"hello", req.path_param("name")}});
//                      }});
//
// Streaming (SDK 1.1): a handler may answer with a body that is written over time — server-sent
// events or any chunked body — through a `ResponseStream` the host implements. The start callback
// runs on the handler thread right after the handler returns; it may write at once, or keep the
// shared_ptr and write later from any thread (the handler thread is then free again):
//
//   host.routes().add({.method = "GET", .path = "/api/v1/ticks", .auth = Auth::User,
//                      .summary = "Streams ticks",
//                      .handler = [this](Request&) {
//                        return Response::sse([this](std::shared_ptr<ResponseStream> s) {
//                          s->on_close([this, raw = s.get()] { forget(raw); });  // client gone
//                          remember(std::move(s));  // a worker calls send_event(), then end()
//                        });
//                      }});
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jarvis/cancel.h"
#include "jarvis/json.h"
#include "jarvis/principal.h"
#include "jarvis/version.h"

namespace jarvis {

/// Authentication level a route declares; the host enforces it before the handler runs.
enum class Auth {
  Public,   ///< anyone
  User,     ///< any authenticated user (401 otherwise)
  Admin,    ///< admins only (401 anonymous, 403 users)
  Webhook,  ///< no session; the handler verifies the caller itself (HMAC, shared secret)
};

/// "public", "user", "admin" or "webhook".
JARVIS_API const char* to_string(Auth a);

/// Ordered, case-insensitive HTTP header list (duplicates kept in arrival order).
class JARVIS_API Headers {
 public:
  /// First value of header `name` (case-insensitive), or nullopt.
  std::optional<std::string> get(const std::string& name) const;
  /// Replaces every value of `name` with `value`.
  void set(const std::string& name, std::string value);
  /// Appends a value (e.g. a second Set-Cookie).
  void add(const std::string& name, std::string value);
  bool has(const std::string& name) const { return get(name).has_value(); }
  const std::vector<std::pair<std::string, std::string>>& all() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

/// An inbound HTTP request as the host hands it to a route handler.
struct JARVIS_API Request {
  std::string method;  ///< "GET", "POST", …
  std::string target;  ///< raw request target, e.g. "/api/v1/bugs?status=open"
  std::string path;    ///< decoded path without the query, e.g. "/api/v1/bugs"
  std::map<std::string, std::string> query;        ///< decoded query parameters (last one wins)
  std::map<std::string, std::string> path_params;  ///< values of `{name}` segments
  Headers headers;
  std::string body;            ///< exact body bytes (webhook signatures are computed over these)
  std::string remote_address;  ///< peer IP address
  std::string request_id;      ///< also sent back as X-Request-Id
  Principal principal;         ///< the authenticated caller (anonymous on public routes)

  /// Path parameter `name`; throws Error(400) if absent (a router bug, never user input).
  const std::string& path_param(const std::string& name) const;
  /// Query parameter or nullopt.
  std::optional<std::string> query_param(const std::string& name) const;
  /// Integer query parameter within [min, max], `fallback` when absent; 400 `invalid_query` if not
  /// an integer or out of range (the message names the parameter).
  long long query_int(const std::string& name, long long fallback, long long min,
                      long long max) const;
  /// Body parsed as a JSON object; 400 `invalid_json` when not JSON or not an object, 400
  /// `json_too_deep` when it nests deeper than kMaxJsonDepth (see jarvis/json.h).
  Json json_body() const;
};

/// The body of a streamed response, written while the client is connected (SDK 1.1). Implemented
/// by the host and handed to the plugin as a `std::shared_ptr` by Response::stream / Response::sse.
///
/// Thread-safe: every member may be called from any thread, concurrently. No call blocks: bytes
/// are queued and the host's I/O threads send them as the client reads. The response ends when
/// the plugin calls end() or drops its last reference to the stream (whichever comes first); the
/// host then sends what is queued and terminates the body.
///
/// The host closes the stream early — writes return false from then on, `cancelled()` fires and
/// the on_close callbacks run — when the client disconnects, when the client reads so slowly that
/// more than JARVIS_STREAM_MAX_BUFFER_BYTES would be queued (the connection is dropped), when a
/// write makes no progress for the idle timeout, after JARVIS_STREAM_MAX_SECONDS (when set) and at
/// host shutdown. Stop upstream work then and release the stream.
class JARVIS_API ResponseStream {
 public:
  virtual ~ResponseStream();

  /// Queues `bytes` as the next part of the body (one HTTP/1.1 chunk). Returns false, and writes
  /// nothing, once the stream is closed — including when this write would queue more than the
  /// buffer cap, which drops the client. An empty write is a no-op that returns !closed().
  virtual bool write(std::string_view bytes) = 0;
  /// Ends the response normally: what is queued is sent, then the end of the body. Later writes
  /// return false. Idempotent; dropping the last reference does the same.
  virtual void end() = 0;
  /// True once no more bytes are accepted (ended, client gone, dropped, timed out, shutdown).
  virtual bool closed() const = 0;
  /// Cancelled when the host closes the stream (client gone, dropped, timeout, shutdown) — not by
  /// end(). Hand it to outbound calls (`OutboundRequest::cancel`) so they stop with the client.
  virtual CancelToken cancelled() const = 0;
  /// Runs `callback` once when the stream closes for any reason, end() included; at once (on the
  /// calling thread) when it is already closed. Callbacks never run on a host I/O thread: they
  /// run on the thread that ended or released the stream, or — when the host closes it (client
  /// gone, dropped, timeout, shutdown) — on the host's stream-callback thread, after the token's
  /// on_cancel callbacks. That thread is shared by every stream: keep callbacks short. They count
  /// as in-flight calls of your plugin. Exceptions are logged and ignored. A callback may capture
  /// the stream: the host drops the callbacks once they ran.
  virtual void on_close(std::function<void()> callback) = 0;
  /// Bytes queued and not yet handed to the client's connection: a producer that can wait may
  /// pace itself with it instead of running into the cap.
  virtual std::size_t buffered_bytes() const = 0;

  /// Queues one server-sent event (`format_sse_event`). Returns false once closed. Throws
  /// jarvis::Error(500, "invalid_sse_field") when `event` or `id` contains CR or LF.
  bool send_event(std::string_view event, std::string_view data, std::string_view id = {});
  /// Queues an SSE comment line (`: text`), which clients ignore; the host already sends
  /// `: keep-alive` on idle SSE streams every JARVIS_SSE_KEEPALIVE_SECONDS.
  bool comment(std::string_view text);
};

/// The start callback of a streamed response: receives the stream once the handler returned.
using StreamStart = std::function<void(std::shared_ptr<ResponseStream>)>;

/// One server-sent event in the text/event-stream format: `event: <event>` (omitted when empty),
/// `id: <id>` (omitted when empty), one `data: ` line per line of `data` (split at LF, CRLF or CR),
/// then a blank line. Throws jarvis::Error(500, "invalid_sse_field") when `event` or `id` contains
/// CR or LF (they would end the field and let data forge events).
JARVIS_API std::string format_sse_event(std::string_view event, std::string_view data,
                                        std::string_view id = {});
/// An SSE comment: one `: <line>` per line of `text`, then a blank line.
JARVIS_API std::string format_sse_comment(std::string_view text);

/// An HTTP response returned by a route handler.
struct JARVIS_API Response {
  int status = 200;
  Headers headers;
  std::string body;
  /// Set (by stream() / sse()) for a streamed response: `body` is then ignored and the host sends
  /// the headers, then runs this on the handler thread with the stream (SDK 1.1).
  StreamStart stream_start;

  /// True when this is a streamed response.
  bool is_stream() const { return static_cast<bool>(stream_start); }

  /// JSON body with `Content-Type: application/json`.
  static Response json(int status, const Json& body);
  /// Plain text body.
  static Response text(int status, std::string body,
                       std::string content_type = "text/plain; charset=utf-8");
  /// 204 No Content.
  static Response no_content();
  /// A chunked body written through a ResponseStream (see there); `start` runs on the handler
  /// thread after the headers were queued. Streamed responses close the connection when they end.
  static Response stream(int status, std::string content_type, StreamStart start);
  /// `200 text/event-stream` (server-sent events) with `Cache-Control: no-cache` and
  /// `X-Accel-Buffering: no` (so proxies do not buffer it); write with send_event().
  static Response sse(StreamStart start);
};

/// Handler of a route: runs on an HTTP worker thread; may throw jarvis::Error.
using RouteHandler = std::function<Response(Request&)>;

/// A route a plugin (or the host) contributes. The route table is the single source of truth for
/// auth checks, the RBAC test matrix and the API reference.
struct RouteSpec {
  std::string method;  ///< HTTP method, upper case
  std::string path;    ///< path pattern; `{name}` matches one segment, e.g. "/api/v1/bugs/{id}"
  Auth auth = Auth::User;
  std::string summary;  ///< one line for the API reference
  RouteHandler handler;
  /// Body size limit in bytes; 0 = the host default (JARVIS_HTTP_MAX_BODY_BYTES).
  std::size_t max_body_bytes = 0;
};

/// Registry of HTTP routes. Registering the same method+path twice is refused with an error that
/// names both owners.
class JARVIS_API RouteRegistry {
 public:
  virtual ~RouteRegistry();
  /// Adds a route. Throws jarvis::Error(409, "duplicate_route") on a duplicate.
  virtual void add(RouteSpec spec) = 0;
};

}  // namespace jarvis

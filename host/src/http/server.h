// host/src/http/server.h — the HTTP/1.1 server: one listening port, Boost.Beast on Boost.Asio,
// keep-alive, limits and timeouts, graceful shutdown. Requests are converted to jarvis::Request and
// handed to the Dispatcher. Beast/Asio headers stay in server.cpp/session.cpp (and http/upgrade.h
// for the WebSocket engine); this header is cheap to include.
//
// Threading: one io_context run by `threads` I/O threads (0 = hardware cores) parses requests and
// writes responses; each connection runs on its own strand. Route handlers run on a bounded
// handler pool (`handler_threads`, `handler_queue`): the I/O thread posts dispatch() there and the
// response write is posted back to the connection's strand. Routes registered with
// RouteExecution::IoThread (/healthz) and the server's own rejections are answered on the I/O
// thread; RouteExecution::System routes (/readyz, /metrics, which may wait for the database) run
// on a separate two-thread system pool. Neither ever queues behind application handlers. A full
// pool answers 503 `overloaded` with Retry-After: 1.
//
// Limits (RFC 9112 framing): Transfer-Encoding must end in `chunked` and may not come with
// Content-Length, HTTP/1.1 needs exactly one Host, obs-fold lines are refused (400, close); chunk
// extensions and trailers are bounded (400 / 431, close). Open connections are capped globally and
// per client address; at a cap the oldest idle connection (no complete request header yet) is
// shed, else the new one is refused at once (503, close).
//
// Streamed responses (SSE, chunked): the handler's start callback runs on the pool thread, then
// the connection is handed to a stream session (http/stream_session.h) that sends what the
// producer queues from any thread, without holding a pool thread. It keeps its connection slot,
// counts as in flight, and is ended cleanly at shutdown.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace jarvis::host {

class Dispatcher;
/// An HTTP connection handed over for a protocol upgrade (WebSocket). Defined in http/upgrade.h,
/// which includes Beast; only the engine files (server.cpp, session.cpp, the WebSocket code)
/// include it.
struct UpgradeConnection;

/// Takes ownership of a connection whose request asked for `Upgrade: websocket` on the registered
/// path. Runs on the connection's strand; must not block (start async work and return). The server
/// no longer tracks the connection: the handler closes it on shutdown.
using UpgradeHandler = std::function<void(std::unique_ptr<UpgradeConnection> connection)>;

/// Listening address, pool size, limits and timeouts.
struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8000;  ///< 0 = any free port (see HttpServer::port())
  int threads = 0;       ///< 0 = hardware cores
  std::size_t max_body_bytes =
      1 << 20;  ///< default body limit; RouteSpec::max_body_bytes overrides
  /// A new connection must deliver a complete request header within this time, and every request
  /// header must complete within it once its first byte arrived.
  std::chrono::milliseconds header_timeout{10000};
  /// How long a keep-alive connection may wait for its next request; also bounds reading a body
  /// and writing a response.
  std::chrono::milliseconds idle_timeout{60000};
  /// Route-handler threads; 0 = default_handler_threads() (config/host_settings.h, decision 0094).
  std::size_t handler_threads = 0;
  /// Requests that may wait for a free handler thread before new ones get 503 `overloaded`.
  std::size_t handler_queue = 256;
  /// Open connections (including upgraded WebSockets); 0 = derived from RLIMIT_NOFILE at start()
  /// (see default_max_connections in http/connection_limits.h).
  std::size_t max_connections = 0;
  /// Open connections per client address; 0 = 90% of max_connections (one address can never
  /// take the last places).
  std::size_t max_connections_per_ip = 0;
  /// Streamed responses (jarvis::Response::stream / sse): unsent bytes per stream before a client
  /// that does not read is dropped (JARVIS_STREAM_MAX_BUFFER_BYTES).
  std::size_t stream_max_buffer_bytes = 1 << 20;
  /// `: keep-alive` comment on an SSE stream idle this long; 0 = never
  /// (JARVIS_SSE_KEEPALIVE_SECONDS).
  std::chrono::milliseconds sse_keepalive{15000};
  /// Streams are ended cleanly after this long; 0 = no limit (JARVIS_STREAM_MAX_SECONDS).
  std::chrono::milliseconds stream_max_duration{0};
};

/// A snapshot of the server's load, for /readyz and tests.
struct ServerStats {
  std::size_t connections = 0;  ///< open connections, upgraded ones included
  std::size_t max_connections = 0;
  std::size_t max_connections_per_ip = 0;
  std::uint64_t connections_shed = 0;     ///< idle connections closed to make room
  std::uint64_t connections_refused = 0;  ///< new connections refused at a cap
  std::size_t handler_threads = 0;
  std::size_t handler_busy = 0;
  std::size_t handler_queued = 0;
  std::size_t handler_queue_limit = 0;
  std::size_t streams_active = 0;     ///< streamed responses now open (counted in connections)
  std::uint64_t streams_dropped = 0;  ///< streams dropped: the client read too slowly or stalled
};

/// The HTTP server. start() once; shutdown() (or the destructor) once.
class HttpServer {
 public:
  /// `dispatcher` must outlive the server.
  HttpServer(ServerOptions options, Dispatcher& dispatcher);
  /// Calls shutdown(0) if still running.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Routes `Upgrade: websocket` requests for exactly `path` (e.g. "/ws") to `handler` instead of
  /// the dispatcher. Call before start(). Without a handler such requests are dispatched normally.
  void set_upgrade_handler(std::string path, UpgradeHandler handler);

  /// Binds and listens without accepting yet (connections wait in the backlog), so a caller can
  /// fail fast on a busy port before starting anything else. Throws std::runtime_error
  /// ("cannot listen on 127.0.0.1:8000: address already in use") when the port cannot be bound.
  /// Idempotent; start() calls it when needed.
  void listen();
  /// Listens (if listen() was not called), starts the I/O threads, the handler pool and
  /// accepting. Throws like listen().
  void start();
  /// The bound port (the real one when options.port was 0); 0 before start().
  uint16_t port() const;
  /// Closes the listener: new connections are refused; open connections and in-flight requests
  /// continue. Idempotent. Do not call from a request handler.
  void stop_accepting();
  /// Queues `fn` on the I/O threads' io_context (the systemd watchdog's liveness no-op: it runs
  /// only while the event loop makes progress). Never runs it inline; after shutdown() it is
  /// queued and never runs.
  void post_to_io(std::function<void()> fn);
  /// Stops accepting, closes idle keep-alive connections, lets in-flight requests finish (each is
  /// answered with `Connection: close`) for up to `grace`, then stops the pool and joins its
  /// threads. Idempotent. Do not call from a request handler.
  void shutdown(std::chrono::milliseconds grace);
  /// Requests whose header was read and whose response is not yet fully written.
  std::size_t in_flight() const;
  /// Connection and handler-pool counters (all zero before start()).
  ServerStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jarvis::host

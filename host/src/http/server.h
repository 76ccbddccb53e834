// host/src/http/server.h — the HTTP/1.1 server: one listening port, Boost.Beast on Boost.Asio,
// keep-alive, limits and timeouts, graceful shutdown. Requests are converted to jarvis::Request and
// handed to the Dispatcher. Beast/Asio headers stay in server.cpp (and http/upgrade.h for the
// WebSocket engine); this header is cheap to include.
//
// Threading: one io_context run by `threads` threads (0 = hardware cores). Each connection runs on
// its own strand and dispatch() runs inline on the thread that read the request, so a handler
// that blocks (e.g. on the database) occupies one pool thread while the others keep serving. Slow
// work belongs in tasks, not in handlers.
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
/// which includes Beast; only the engine files (server.cpp, the WebSocket code) include it.
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

  /// Binds, listens and starts the worker threads. Throws std::runtime_error
  /// ("cannot listen on 127.0.0.1:8000: address already in use") when the port cannot be bound.
  void start();
  /// The bound port (the real one when options.port was 0); 0 before start().
  uint16_t port() const;
  /// Closes the listener: new connections are refused; open connections and in-flight requests
  /// continue. Idempotent. Do not call from a request handler.
  void stop_accepting();
  /// Stops accepting, closes idle keep-alive connections, lets in-flight requests finish (each is
  /// answered with `Connection: close`) for up to `grace`, then stops the pool and joins its
  /// threads. Idempotent. Do not call from a request handler.
  void shutdown(std::chrono::milliseconds grace);
  /// Requests whose header was read and whose response is not yet fully written.
  std::size_t in_flight() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jarvis::host

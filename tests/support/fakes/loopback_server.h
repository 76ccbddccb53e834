// tests/support/fakes/loopback_server.h — a small HTTP/1.1 server on 127.0.0.1 for tests: plain
// sockets, one thread per connection, keep-alive, Content-Length and chunked request bodies.
// A handler answers each request with a full response or streams chunks (with pauses), and the
// server records every request and every time a client closed a connection while a response was
// still being written (what cancel tests wait for). FakeLlmServer is built on it.
//
//   using namespace jarvis::test::fakes;
//   LoopbackServer server([](const HttpRequest& req, Responder& out) {
//     if (req.path == "/plain") return (void)out.respond(200, "hello", {{"Content-Type",
//     "text/plain"}}); out.start_stream(200, {{"Content-Type", "text/event-stream"}});
//     out.send_chunk("data: 1\n\n");
//     out.wait_until_client_closes();          // a stalled stream: hangs until the client goes
//   });
//   http("GET", server.url("/plain"));         // any client, over real loopback TCP
//   EXPECT_TRUE(server.wait_client_closed(std::chrono::seconds(10)));
//
// Thread-safety: requests(), client_closes() and wait_client_closed() may be called from any
// thread; the handler runs on the connection's thread (several at once for parallel clients).
// The destructor stops accepting, unblocks every handler (Responder::stopping() turns true, pauses
// and waits return) and joins all threads.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace jarvis::test::fakes {

/// Response header lines in the order written: {"Content-Type", "application/json"}.
using Headers = std::vector<std::pair<std::string, std::string>>;

/// One parsed request.
struct HttpRequest {
  std::string method;  ///< "GET", "POST", …
  std::string target;  ///< path and query exactly as sent: "/v1beta/models/m:generateContent?key=k"
  std::string path;    ///< target before '?'
  std::string query;   ///< target after '?' ("" when none)
  std::map<std::string, std::string> headers;  ///< lower-case names; repeats joined with ", "
  std::string body;                            ///< de-chunked body

  /// The header's value, "" when absent. `name` in any case.
  std::string header(std::string_view name) const;
  /// The percent-decoded value of query parameter `name`, "" when absent.
  std::string query_param(std::string_view name) const;
};

/// What a handler writes with. Every write returns false once the client closed the connection
/// (or the server is stopping); the handler should then return.
class Responder {
 public:
  /// A complete response with Content-Length (Content-Type is the caller's header to set).
  bool respond(int status, std::string_view body, const Headers& headers = {});
  /// Starts a chunked response (Transfer-Encoding: chunked is added).
  bool start_stream(int status, const Headers& headers = {});
  /// One chunk of a started stream (an empty `data` is skipped: it would end the body).
  bool send_chunk(std::string_view data);
  /// The terminating chunk; the connection may then serve the next request.
  bool end_stream();
  /// Raw bytes, for responses no well-behaved server sends (a head without a body, …).
  bool write_raw(std::string_view bytes);
  /// Sleeps `d`, returning false early when the client closed the connection or the server stops.
  bool pause(std::chrono::milliseconds d);
  /// Blocks until the client closes the connection (true) or the server stops (false).
  bool wait_until_client_closes();
  /// Closes the connection now (FIN): a stream ends without its terminating chunk, a
  /// Content-Length body stays short. No write succeeds afterwards.
  void close_connection();
  /// True once the client was seen closing the connection.
  bool client_closed() const { return client_closed_; }
  /// True while the server is being destroyed.
  bool stopping() const;

 private:
  friend class LoopbackServer;
  Responder(int fd, class LoopbackServer& server) : fd_(fd), server_(server) {}
  void saw_client_close();
  static std::string head(int status, const Headers& headers, const std::string& framing);

  int fd_;
  LoopbackServer& server_;
  bool client_closed_ = false;
  bool closed_ = false;     ///< close_connection() ran
  bool started_ = false;    ///< any response byte written
  bool complete_ = false;   ///< a full response was written: the connection may be reused
  bool keep_alive_ = true;  ///< the request allows reuse
};

/// The request handler: answers one request through the Responder.
using Handler = std::function<void(const HttpRequest&, Responder&)>;

/// A loopback HTTP/1.1 server on a free (or given) port.
class LoopbackServer {
 public:
  /// Binds `address`:`port` (0 = a free port) and starts accepting. Throws std::runtime_error when
  /// it cannot listen.
  explicit LoopbackServer(Handler handler, const std::string& address = "127.0.0.1", int port = 0);
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  /// The bound port.
  int port() const { return port_; }
  /// "http://127.0.0.1:<port>" + `path`.
  std::string url(const std::string& path = "") const;
  /// Every request read so far, in arrival order.
  std::vector<HttpRequest> requests() const;
  /// How many times a client closed a connection while a handler was still answering on it
  /// (mid-stream, during a stall or a first-byte delay).
  int client_closes() const;
  /// Waits until client_closes() > 0; false if that did not happen within `timeout`.
  bool wait_client_closed(std::chrono::milliseconds timeout) const;
  /// Waits until client_closes() >= `count`.
  bool wait_client_closes(int count, std::chrono::milliseconds timeout) const;

 private:
  friend class Responder;
  struct Connection {
    int fd = -1;
    std::thread thread;
    std::atomic<bool> done{false};
  };
  void accept_loop();
  void serve(Connection& conn);
  void reap_finished();
  void record_client_close();

  Handler handler_;
  std::string address_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<HttpRequest> requests_;
  int client_closes_ = 0;
  std::list<std::unique_ptr<Connection>> connections_;  ///< guarded by conn_mu_
  std::mutex conn_mu_;
  std::thread accept_thread_;
};

}  // namespace jarvis::test::fakes

// tests/http/streaming_test.cpp — streamed responses (jarvis::Response::sse / stream) on the real
// server over loopback: SSE framing and headers, chunked bodies, writes from another thread after
// the handler returned, a client that disconnects mid-stream (handler told, stream released), a
// client that never reads (dropped at the buffer cap, the host keeps answering), keep-alive
// comments, shutdown with open streams, the start callback throwing, HEAD and HTTP/1.0, the
// connection caps, and the access log and metrics. No timing thresholds: every wait is for a
// condition, with a generous deadline.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "events/io_thread.h"
#include "http/dispatcher.h"
#include "http/router.h"
#include "http/server.h"
#include "jarvis/error.h"
#include "jarvis/http.h"
#include "jarvis/sse.h"
#include "observability/metrics.h"
#include "support/raw_http_client.h"
#include "support/support.h"

namespace streaming_test {

using jarvis::host::Dispatcher;
using jarvis::host::HttpServer;
using jarvis::host::MetricsRegistry;
using jarvis::host::Owner;
using jarvis::host::Router;
using jarvis::host::ServerOptions;

namespace {

using namespace std::chrono_literals;

using jarvis::test::eventually;

// A client that reads a streamed response piece by piece (chunked or close-delimited).
class StreamClient {
 public:
  explicit StreamClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~StreamClient() { close(); }
  StreamClient(const StreamClient&) = delete;
  StreamClient& operator=(const StreamClient&) = delete;

  bool connected() const { return connected_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  void send(const std::string& data) { ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL); }
  void get(const std::string& target, const std::string& version = "HTTP/1.1",
           const std::string& method = "GET") {
    send(method + " " + target + " " + version + "\r\nHost: t\r\n\r\n");
  }

  // The status line and headers (lower-cased names); status 0 when the connection ended first.
  int read_head() {
    std::string head;
    if (!read_until("\r\n\r\n", head)) return 0;
    std::istringstream in(head);
    std::string line;
    std::getline(in, line);
    int status = line.size() >= 12 ? std::stoi(line.substr(9, 3)) : 0;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      headers[name] = value;
    }
    return status;
  }

  // The next chunk's data; nullopt at the last chunk (sets `ended`) or when the connection ended
  // without one (sets `truncated`).
  std::optional<std::string> next_chunk() {
    std::string line;
    if (!read_until("\r\n", line)) {
      truncated = true;
      return std::nullopt;
    }
    std::size_t size = std::stoul(line, nullptr, 16);
    if (size == 0) {
      std::string trailer;
      read_until("\r\n", trailer);
      ended = true;
      return std::nullopt;
    }
    while (buf_.size() < size + 2) {
      if (!fill()) {
        truncated = true;
        return std::nullopt;
      }
    }
    std::string data = buf_.substr(0, size);
    buf_.erase(0, size + 2);
    return data;
  }

  // Every chunk until the end (or the connection's end), concatenated.
  std::string read_body() {
    std::string body;
    while (auto c = next_chunk()) body += *c;
    return body;
  }

  // Chunks until `marker` appeared in the body read so far.
  bool read_body_until(const std::string& marker, std::string& body) {
    while (body.find(marker) == std::string::npos) {
      auto c = next_chunk();
      if (!c) return false;
      body += *c;
    }
    return true;
  }

  // Everything until the server closes (HTTP/1.0 close-delimited bodies).
  std::string read_to_close() {
    while (fill()) {
    }
    std::string out = std::move(buf_);
    buf_.clear();
    return out;
  }

  // True when the server closed the connection (EOF or reset) with nothing else to read.
  bool closed_by_peer() {
    while (fill()) {
    }
    return buf_.empty();
  }

  std::map<std::string, std::string> headers;
  bool ended = false;
  bool truncated = false;

 private:
  bool read_until(const std::string& marker, std::string& out) {
    std::size_t at;
    while ((at = buf_.find(marker)) == std::string::npos) {
      if (!fill()) return false;
    }
    out = buf_.substr(0, at);
    buf_.erase(0, at + marker.size());
    return true;
  }
  bool fill() {
    if (fd_ < 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 30000) <= 0) return false;
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

// Streams a handler kept, shared with the test body (and worker threads).
struct Held {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::shared_ptr<jarvis::ResponseStream>> streams;
  std::vector<std::weak_ptr<jarvis::ResponseStream>> weak;
  std::atomic<int> closed{0};
  std::atomic<int> cancelled{0};

  void keep(std::shared_ptr<jarvis::ResponseStream> s) {
    std::lock_guard lock(mu);
    weak.push_back(s);
    streams.push_back(std::move(s));
    cv.notify_all();
  }
  std::shared_ptr<jarvis::ResponseStream> wait_for(std::size_t index) {
    std::unique_lock lock(mu);
    cv.wait_for(lock, 20s, [&] { return streams.size() > index; });
    return streams.size() > index ? streams[index] : nullptr;
  }
  void release_all() {
    std::lock_guard lock(mu);
    streams.clear();
  }
};

jarvis::RouteSpec route(const std::string& method, const std::string& path,
                        jarvis::RouteHandler h) {
  jarvis::RouteSpec s;
  s.method = method;
  s.path = path;
  s.auth = jarvis::Auth::Public;
  s.handler = std::move(h);
  return s;
}

class StreamingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router.add(Owner{}, route("GET", "/hello", [](jarvis::Request&) {
                 return jarvis::Response::text(200, "hello");
               }));
    // Three events written at once from the start callback, then the end (last reference).
    router.add(Owner{}, route("GET", "/sse/sync", [](jarvis::Request&) {
                 return jarvis::Response::sse([](std::shared_ptr<jarvis::ResponseStream> s) {
                   s->send_event("greeting", "hello", "1");
                   s->send_event("", "two\nlines", "2");
                   s->comment("just a comment");
                   s->send_event("bye", "", "");
                 });
               }));
    // A stream the test drives: kept in `held`, told through on_close and its token.
    router.add(Owner{}, route("GET", "/sse/held", [this](jarvis::Request&) {
                 return jarvis::Response::sse([this](std::shared_ptr<jarvis::ResponseStream> s) {
                   s->cancelled().on_cancel([this] { held.cancelled.fetch_add(1); });
                   s->on_close([this] { held.closed.fetch_add(1); });
                   s->send_event("open", "ready");
                   held.keep(std::move(s));
                 });
               }));
    // A plain chunked body, written by a worker thread after the handler returned.
    router.add(Owner{}, route("GET", "/chunked", [this](jarvis::Request&) {
                 return jarvis::Response::stream(
                     200, "text/plain", [this](std::shared_ptr<jarvis::ResponseStream> s) {
                       std::lock_guard lock(workers_mu);
                       workers.emplace_back([this, s] {
                         std::unique_lock gate(gate_mu);
                         gate_cv.wait_for(gate, 20s, [this] { return gate_open; });
                         s->write("alpha,");
                         s->write("beta,");
                         s->write("gamma");
                         s->end();
                         late_write_result = s->write("too late") ? 1 : 0;
                       });
                     });
               }));
    // A stream whose on_close callback blocks until the test opens `blocker_gate` (with a
    // deadline, so a callback wrongly run on the I/O thread ends the test instead of hanging it).
    router.add(Owner{}, route("GET", "/sse/blocking", [this](jarvis::Request&) {
                 return jarvis::Response::sse([this](std::shared_ptr<jarvis::ResponseStream> s) {
                   s->cancelled().on_cancel(
                       [this] { cancel_on_io_thread = jarvis::host::on_io_thread() ? 1 : 0; });
                   s->on_close([this, raw = s.get()] {
                     close_on_io_thread = jarvis::host::on_io_thread() ? 1 : 0;
                     token_cancelled_in_close = raw->cancelled().cancelled() ? 1 : 0;
                     blocker_entered = true;
                     std::unique_lock gate(gate_mu);
                     gate_cv.wait_for(gate, 20s, [this] { return blocker_gate; });
                     blocker_returned = true;
                   });
                   s->send_event("open", "ready");
                   held.keep(std::move(s));  // open until the client goes away
                 });
               }));
    router.add(Owner{}, route("GET", "/sse/throws", [](jarvis::Request&) {
                 return jarvis::Response::sse([](std::shared_ptr<jarvis::ResponseStream> s) {
                   s->send_event("x", "before the throw");
                   throw std::runtime_error("start callback exploded");
                 });
               }));
  }

  void TearDown() override {
    open_gate();
    held.release_all();
    {
      std::lock_guard lock(workers_mu);
      for (auto& t : workers) t.join();
      workers.clear();
    }
    if (server) server->shutdown(5s);
  }

  void start(ServerOptions o = {}, int io_threads = 2) {
    o.port = 0;
    o.threads = io_threads;
    server = std::make_unique<HttpServer>(o, dispatcher);
    server->start();
    ASSERT_NE(server->port(), 0);
  }

  void open_gate() {
    std::lock_guard lock(gate_mu);
    gate_open = true;
    blocker_gate = true;
    gate_cv.notify_all();
  }
  void open_blocker_gate() {
    std::lock_guard lock(gate_mu);
    blocker_gate = true;
    gate_cv.notify_all();
  }

  Router router;
  MetricsRegistry metrics;
  Dispatcher dispatcher{router, metrics};
  std::unique_ptr<HttpServer> server;
  Held held;
  std::mutex workers_mu;
  std::vector<std::thread> workers;
  std::mutex gate_mu;
  std::condition_variable gate_cv;
  bool gate_open = false;
  bool blocker_gate = false;
  std::atomic<int> late_write_result{-1};
  std::atomic<int> cancel_on_io_thread{-1};
  std::atomic<int> close_on_io_thread{-1};
  std::atomic<int> token_cancelled_in_close{-1};
  std::atomic<bool> blocker_entered{false};
  std::atomic<bool> blocker_returned{false};
};

}  // namespace

TEST(SseFormat, EventsCommentsAndMultiLineData) {
  EXPECT_EQ(jarvis::format_sse_event("tick", "1", "7"), "event: tick\nid: 7\ndata: 1\n\n");
  EXPECT_EQ(jarvis::format_sse_event("", "a\nb\r\nc\rd"), "data: a\ndata: b\ndata: c\ndata: d\n\n")
      << "every line break of the data starts a new data: line";
  EXPECT_EQ(jarvis::format_sse_event("", ""), "data: \n\n");
  EXPECT_EQ(jarvis::format_sse_event("", "end\n"), "data: end\ndata: \n\n");
  EXPECT_EQ(jarvis::format_sse_comment("keep\nalive"), ": keep\n: alive\n\n");
}

TEST(SseFormat, DataCannotForgeAnotherEvent) {
  // Caller-controlled data with blank lines and field names stays inside one event's data.
  std::string wire = jarvis::format_sse_event("msg", "x\n\nevent: forged\r\nid: 99\rdata: y");
  jarvis::SseParser parser;
  auto events = parser.feed(wire);
  ASSERT_EQ(events.size(), 1u) << wire;
  EXPECT_EQ(events[0].type, "msg");
  EXPECT_EQ(events[0].data, "x\n\nevent: forged\nid: 99\ndata: y");
  EXPECT_EQ(events[0].id, "");
}

TEST(SseFormat, LineBreaksInEventOrIdAreRefused) {
  for (const char* bad : {"a\nb", "a\rb", "\n"}) {
    try {
      jarvis::format_sse_event(bad, "x");
      ADD_FAILURE() << "event name with a line break accepted";
    } catch (const jarvis::Error& e) {
      EXPECT_EQ(e.code(), "invalid_sse_field");
    }
    EXPECT_THROW(jarvis::format_sse_event("e", "x", bad), jarvis::Error);
  }
}

TEST_F(StreamingTest, SseHeadersAndFraming) {
  start();
  StreamClient c(server->port());
  ASSERT_TRUE(c.connected());
  c.get("/sse/sync");
  ASSERT_EQ(c.read_head(), 200);
  EXPECT_EQ(c.headers["content-type"], "text/event-stream; charset=utf-8");
  EXPECT_EQ(c.headers["cache-control"], "no-cache");
  EXPECT_EQ(c.headers["x-accel-buffering"], "no");
  EXPECT_EQ(c.headers["transfer-encoding"], "chunked");
  EXPECT_EQ(c.headers["connection"], "close");
  EXPECT_EQ(c.headers.count("content-length"), 0u);
  EXPECT_FALSE(c.headers["x-request-id"].empty());
  EXPECT_FALSE(c.headers["date"].empty());
  EXPECT_EQ(c.read_body(),
            "event: greeting\nid: 1\ndata: hello\n\n"
            "id: 2\ndata: two\ndata: lines\n\n"
            ": just a comment\n\n"
            "event: bye\ndata: \n\n");
  EXPECT_TRUE(c.ended) << "the body ends with the last chunk";
  EXPECT_TRUE(c.closed_by_peer()) << "a stream is the connection's last response";
}

TEST_F(StreamingTest, ChunkedBodyFromAnotherThreadAfterTheHandlerReturned) {
  ServerOptions o;
  o.handler_threads = 1;
  start(o);
  StreamClient c(server->port());
  c.get("/chunked");
  ASSERT_EQ(c.read_head(), 200);
  EXPECT_EQ(c.headers["content-type"], "text/plain");
  EXPECT_EQ(c.headers["transfer-encoding"], "chunked");
  // The handler returned and its pool thread is free while the stream is open: the only handler
  // thread serves another request.
  jarvis::test::RawHttpClient other(server->port());
  other.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(other.read_response().status, 200);
  EXPECT_EQ(server->stats().streams_active, 1u);
  open_gate();
  EXPECT_EQ(c.read_body(), "alpha,beta,gamma");
  EXPECT_TRUE(c.ended);
  EXPECT_TRUE(eventually([&] { return late_write_result.load() != -1; }));
  EXPECT_EQ(late_write_result.load(), 0) << "a write after end() returns false";
}

TEST_F(StreamingTest, ClientDisconnectMidStreamTellsTheHandlerAndReleasesTheStream) {
  start();
  {
    StreamClient c(server->port());
    c.get("/sse/held");
    ASSERT_EQ(c.read_head(), 200);
    std::string body;
    ASSERT_TRUE(c.read_body_until("data: ready\n\n", body));
    auto s = held.wait_for(0);
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->send_event("tick", "1"));
    ASSERT_TRUE(c.read_body_until("data: 1\n\n", body));
    EXPECT_FALSE(s->closed());
    c.close();  // the client goes away mid-stream
    EXPECT_TRUE(eventually([&] { return held.closed.load() == 1; })) << "on_close ran";
    EXPECT_EQ(held.cancelled.load(), 1) << "the token was cancelled";
    EXPECT_TRUE(s->closed());
    EXPECT_TRUE(s->cancelled().cancelled());
    EXPECT_FALSE(s->send_event("tick", "2")) << "writes after the close return false";
    EXPECT_FALSE(s->write("x"));
  }
  // The handler drops its references: nothing else keeps the stream alive.
  held.release_all();
  EXPECT_TRUE(held.weak[0].expired()) << "the stream object was destroyed";
  EXPECT_TRUE(eventually([&] { return server->stats().streams_active == 0; }));
  EXPECT_TRUE(eventually([&] { return server->stats().connections == 0; }));
  EXPECT_TRUE(eventually([&] { return server->in_flight() == 0; }));
  EXPECT_TRUE(eventually([&] {
    return metrics.value("jarvis_http_streams_total",
                         {{"route", "/sse/held"}, {"outcome", "client_gone"}}) == 1;
  }));
  EXPECT_EQ(held.closed.load(), 1) << "on_close runs once";
}

// Issue 9 leftover: a client going away is noticed on an I/O thread, but the handler's on_close
// and on_cancel callbacks must run elsewhere — with one I/O thread, a blocking on_close would
// otherwise stall every other connection.
TEST_F(StreamingTest, ABlockingOnCloseCallbackRunsOffTheIoThreadAndStallsNoConnection) {
  start({}, /*io_threads=*/1);  // one I/O thread serves every connection
  StreamClient c(server->port());
  c.get("/sse/blocking");
  ASSERT_EQ(c.read_head(), 200);
  std::string body;
  ASSERT_TRUE(c.read_body_until("data: ready\n\n", body));
  c.close();  // noticed by the connection's read on the (only) I/O thread
  ASSERT_TRUE(eventually([&] { return blocker_entered.load(); })) << "on_close ran";
  // While that callback blocks, the I/O thread still serves new connections and requests.
  jarvis::test::RawHttpClient other(server->port());
  other.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  auto r = other.read_response();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello");
  StreamClient second(server->port());
  second.get("/sse/sync");
  EXPECT_EQ(second.read_head(), 200);
  EXPECT_EQ(second.read_body().substr(0, 15), "event: greeting");
  EXPECT_FALSE(blocker_returned.load())
      << "the other requests were answered only after the blocking callback returned";
  open_blocker_gate();
  EXPECT_TRUE(eventually([&] { return blocker_returned.load(); }));
  EXPECT_EQ(close_on_io_thread.load(), 0) << "on_close ran on an I/O thread";
  EXPECT_EQ(cancel_on_io_thread.load(), 0) << "the token's on_cancel ran on an I/O thread";
  EXPECT_EQ(token_cancelled_in_close.load(), 1) << "the token is cancelled before on_close runs";
  EXPECT_TRUE(eventually([&] {
    return metrics.value("jarvis_http_streams_total",
                         {{"route", "/sse/blocking"}, {"outcome", "client_gone"}}) == 1;
  }));
}

TEST_F(StreamingTest, ReleasingTheLastReferenceEndsTheStream) {
  start();
  StreamClient c(server->port());
  c.get("/sse/held");
  ASSERT_EQ(c.read_head(), 200);
  auto s = held.wait_for(0);
  ASSERT_TRUE(s);
  s->send_event("last", "one");
  s.reset();
  held.release_all();
  EXPECT_EQ(c.read_body(), "event: open\ndata: ready\n\nevent: last\ndata: one\n\n");
  EXPECT_TRUE(c.ended);
  // The last reference may be the pool thread's, released just after the callback returned.
  EXPECT_TRUE(eventually([&] { return held.closed.load() == 1; }));
  EXPECT_EQ(held.cancelled.load(), 0) << "a normal end does not cancel the token";
}

TEST_F(StreamingTest, ClientThatNeverReadsIsDroppedAtTheBufferCap) {
  ServerOptions o;
  o.stream_max_buffer_bytes = 64 * 1024;
  start(o);
  StreamClient c(server->port());
  c.get("/sse/held");
  auto s = held.wait_for(0);
  ASSERT_TRUE(s);
  // The client reads nothing: the kernel buffers fill, then the host's queue reaches the cap.
  const std::string piece(16 * 1024, 'x');
  std::size_t written = 0;
  bool refused = false;
  while (written < (std::size_t{1} << 30)) {
    if (!s->write(piece)) {
      refused = true;
      break;
    }
    written += piece.size();
    if (s->buffered_bytes() > 32 * 1024) std::this_thread::sleep_for(1ms);  // let the I/O run
  }
  ASSERT_TRUE(refused) << "a write beyond the cap is refused";
  EXPECT_LE(s->buffered_bytes(), o.stream_max_buffer_bytes);
  EXPECT_TRUE(s->closed());
  EXPECT_TRUE(eventually([&] { return held.cancelled.load() == 1; }));
  EXPECT_TRUE(eventually([&] { return server->stats().streams_dropped == 1; }));
  EXPECT_TRUE(eventually([&] {
    return metrics.value("jarvis_http_streams_total",
                         {{"route", "/sse/held"}, {"outcome", "dropped_slow_client"}}) == 1;
  }));
  EXPECT_TRUE(eventually([&] { return server->stats().streams_active == 0; }));
  // The host still answers.
  jarvis::test::RawHttpClient other(server->port());
  other.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(other.read_response().status, 200);
}

TEST_F(StreamingTest, IdleSseStreamsGetKeepAliveComments) {
  ServerOptions o;
  o.sse_keepalive = 20ms;
  start(o);
  StreamClient c(server->port());
  c.get("/sse/held");
  ASSERT_EQ(c.read_head(), 200);
  std::string body;
  ASSERT_TRUE(c.read_body_until(": keep-alive\n\n", body));
  EXPECT_EQ(body.rfind("event: open\ndata: ready\n\n", 0), 0u) << body;
  ASSERT_TRUE(c.read_body_until(": keep-alive\n\n: keep-alive\n\n", body)) << "repeated";
  held.release_all();
  while (auto chunk = c.next_chunk()) body += *chunk;
  EXPECT_TRUE(c.ended);
}

TEST_F(StreamingTest, ChunkedStreamsGetNoKeepAliveComments) {
  ServerOptions o;
  o.sse_keepalive = 1ms;
  start(o);
  StreamClient c(server->port());
  c.get("/chunked");
  ASSERT_EQ(c.read_head(), 200);
  // Wait until several keep-alive periods certainly passed for the connection.
  EXPECT_TRUE(eventually([&] { return server->stats().streams_active == 1; }));
  std::this_thread::sleep_for(50ms);
  open_gate();
  EXPECT_EQ(c.read_body(), "alpha,beta,gamma") << "a non-SSE body is never altered";
}

TEST_F(StreamingTest, AStreamPastItsMaximumDurationEndsCleanly) {
  ServerOptions o;
  o.stream_max_duration = 30ms;
  start(o);
  StreamClient c(server->port());
  c.get("/sse/held");
  ASSERT_EQ(c.read_head(), 200);
  EXPECT_EQ(c.read_body(), "event: open\ndata: ready\n\n");
  EXPECT_TRUE(c.ended) << "ended with the last chunk, not cut off";
  EXPECT_TRUE(eventually([&] { return held.cancelled.load() == 1; })) << "the handler is told";
  // Then on_close, on the stream-callback thread (the expiry timer fired on an I/O thread).
  EXPECT_TRUE(eventually([&] { return held.closed.load() == 1; }));
  EXPECT_FALSE(held.wait_for(0)->write("late"));
  EXPECT_TRUE(eventually([&] {
    return metrics.value("jarvis_http_streams_total",
                         {{"route", "/sse/held"}, {"outcome", "expired"}}) == 1;
  }));
}

TEST_F(StreamingTest, ShutdownEndsOpenStreamsCleanlyAndTellsTheHandler) {
  start();
  std::vector<std::unique_ptr<StreamClient>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<StreamClient>(server->port()));
    clients.back()->get("/sse/held");
    ASSERT_EQ(clients.back()->read_head(), 200);
    ASSERT_TRUE(held.wait_for(static_cast<std::size_t>(i)));
  }
  // The handler keeps every stream: shutdown must not wait for it.
  std::thread stopper([&] { server->shutdown(20s); });
  for (auto& c : clients) {
    EXPECT_EQ(c->read_body(), "event: open\ndata: ready\n\n");
    EXPECT_TRUE(c->ended) << "the stream ends with its last chunk";
  }
  stopper.join();
  EXPECT_EQ(held.closed.load(), 3);
  EXPECT_EQ(held.cancelled.load(), 3) << "the handlers are told to stop upstream work";
  EXPECT_FALSE(held.wait_for(0)->send_event("late", "x"));
  EXPECT_EQ(
      metrics.value("jarvis_http_streams_total", {{"route", "/sse/held"}, {"outcome", "shutdown"}}),
      3);
  held.release_all();
  EXPECT_TRUE(held.weak[0].expired());
}

TEST_F(StreamingTest, AStartCallbackThatThrowsIsCountedAndTruncatesTheBody) {
  start();
  StreamClient c(server->port());
  c.get("/sse/throws");
  // The connection is dropped as soon as the host sees the failure: perhaps before the headers.
  int status = c.read_head();
  EXPECT_TRUE(status == 0 || status == 200) << status;
  c.read_body();
  EXPECT_FALSE(c.ended) << "no last chunk: the client sees a truncated body";
  EXPECT_TRUE(eventually([&] {
    return metrics.value("jarvis_plugin_handler_errors_total", {{"plugin", "host"}}) == 1;
  }));
  EXPECT_TRUE(eventually([&] {
    return metrics.value("jarvis_http_streams_total",
                         {{"route", "/sse/throws"}, {"outcome", "start_failed"}}) == 1;
  }));
}

TEST_F(StreamingTest, HeadGetsTheHeadersWithoutRunningTheStream) {
  start();
  StreamClient c(server->port());
  c.get("/sse/held", "HTTP/1.1", "HEAD");
  ASSERT_EQ(c.read_head(), 200);
  EXPECT_EQ(c.headers["content-type"], "text/event-stream; charset=utf-8");
  // The connection stays usable: the next response follows directly.
  c.get("/hello");
  EXPECT_EQ(c.read_head(), 200);
  EXPECT_EQ(held.streams.size(), 0u) << "the start callback never ran";
}

TEST_F(StreamingTest, Http10ClientsGetACloseDelimitedBody) {
  start();
  StreamClient c(server->port());
  c.get("/sse/sync", "HTTP/1.0");
  ASSERT_EQ(c.read_head(), 200);
  EXPECT_EQ(c.headers.count("transfer-encoding"), 0u);
  EXPECT_EQ(c.read_to_close(),
            "event: greeting\nid: 1\ndata: hello\n\n"
            "id: 2\ndata: two\ndata: lines\n\n"
            ": just a comment\n\n"
            "event: bye\ndata: \n\n");
}

TEST_F(StreamingTest, StreamsCountAgainstTheConnectionCap) {
  ServerOptions o;
  o.max_connections = 2;
  o.max_connections_per_ip = 2;
  start(o);
  StreamClient a(server->port()), b(server->port());
  a.get("/sse/held");
  b.get("/sse/held");
  ASSERT_EQ(a.read_head(), 200);
  ASSERT_EQ(b.read_head(), 200);
  ASSERT_TRUE(held.wait_for(1));
  EXPECT_EQ(server->stats().connections, 2u);
  // Nothing idle to shed: a streaming connection is never shed.
  jarvis::test::RawHttpClient third(server->port());
  auto r = third.read_response();
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("too_many_connections"), std::string::npos);
  held.release_all();
  a.read_body();
  b.read_body();
  EXPECT_TRUE(eventually([&] { return server->stats().connections == 0; }));
}

TEST_F(StreamingTest, AccessLogAndMetricsCoverTheWholeStream) {
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  auto logger = std::make_shared<spdlog::logger>("capture", sink);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(logger);
  start();
  std::string id;
  {
    StreamClient c(server->port());
    c.send("GET /sse/sync HTTP/1.1\r\nHost: t\r\nX-Request-Id: stream-req-1\r\n\r\n");
    ASSERT_EQ(c.read_head(), 200);
    id = c.headers["x-request-id"];
    c.read_body();
  }
  bool logged = eventually([&] {
    return metrics.value("jarvis_http_streams_total",
                         {{"route", "/sse/sync"}, {"outcome", "complete"}}) == 1;
  });
  server->shutdown(5s);
  spdlog::set_default_logger(previous);
  ASSERT_TRUE(logged);
  EXPECT_EQ(id, "stream-req-1");
  EXPECT_EQ(metrics.value("jarvis_http_requests_total",
                          {{"route", "/sse/sync"}, {"method", "GET"}, {"status", "200"}}),
            1);
  const double body_bytes = std::string(
                                "event: greeting\nid: 1\ndata: hello\n\n"
                                "id: 2\ndata: two\ndata: lines\n\n"
                                ": just a comment\n\n"
                                "event: bye\ndata: \n\n")
                                .size();
  EXPECT_EQ(metrics.value("jarvis_http_stream_bytes_total", {{"route", "/sse/sync"}}), body_bytes);
  EXPECT_EQ(metrics.value("jarvis_http_streams_active"), 0);
  std::string log = captured.str();
  EXPECT_NE(log.find("GET /sse/sync 200"), std::string::npos) << log;
  EXPECT_NE(log.find("id=stream-req-1 stream=complete bytes=" +
                     std::to_string(static_cast<long long>(body_bytes))),
            std::string::npos)
      << log;
}

}  // namespace streaming_test

// tests/http/server_test.cpp — the real Beast server on 127.0.0.1 (port 0) over real sockets:
// keep-alive without a Connection header, pipelining, HTTP/1.0, HEAD, 100-continue, body limits,
// malformed requests, JSON 404/405, path parameters, the upgrade seam and graceful shutdown.
#include "http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "http/dispatcher.h"
#include "http/upgrade.h"

#include <boost/asio/write.hpp>
#include "jarvis/error.h"
#include "support/raw_http_client.h"
#include "support/support.h"

namespace server_test {

using jarvis::host::Dispatcher;
using jarvis::host::HttpServer;
using jarvis::host::MetricsRegistry;
using jarvis::host::Owner;
using jarvis::host::Router;
using jarvis::host::ServerOptions;

namespace {

using RawClient = jarvis::test::RawHttpClient;

jarvis::RouteSpec route(const std::string& method, const std::string& path, jarvis::RouteHandler h,
                        std::size_t max_body = 0) {
  jarvis::RouteSpec s;
  s.method = method;
  s.path = path;
  s.auth = jarvis::Auth::Public;
  s.handler = std::move(h);
  s.max_body_bytes = max_body;
  return s;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router.add(Owner{}, route("GET", "/hello", [](jarvis::Request& r) {
                 return jarvis::Response::text(200, "hello from " + r.remote_address);
               }));
    router.add(Owner{}, route("GET", "/api/v1/items/{id}", [](jarvis::Request& r) {
                 return jarvis::Response::json(
                     200, {{"id", r.path_param("id")}, {"q", r.query_param("q").value_or("")}});
               }));
    router.add(Owner{}, route("POST", "/echo", [](jarvis::Request& r) {
                 return jarvis::Response::text(200, r.body);
               }));
    router.add(Owner{},
               route(
                   "POST", "/small",
                   [](jarvis::Request& r) { return jarvis::Response::text(200, r.body); }, 10));
    router.add(Owner{}, route("GET", "/headers", [](jarvis::Request& r) {
                 std::string names;
                 for (const auto& [k, v] : r.headers.all()) names += k + "=" + v + ";";
                 return jarvis::Response::text(200, names);
               }));
    router.add(Owner{}, route("DELETE", "/gone",
                              [](jarvis::Request&) { return jarvis::Response::no_content(); }));
  }

  void start(ServerOptions o = {}) {
    o.port = 0;
    o.threads = 2;
    server = std::make_unique<HttpServer>(o, dispatcher);
    server->start();
    ASSERT_NE(server->port(), 0);
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server->port()) + path;
  }

  Router router;
  MetricsRegistry metrics;
  Dispatcher dispatcher{router, metrics};
  std::unique_ptr<HttpServer> server;
};

}  // namespace

TEST_F(ServerTest, KeepAliveByDefaultOnHttp11) {
  start();
  RawClient c(server->port());
  ASSERT_TRUE(c.connected());
  c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  auto r1 = c.read_response();
  EXPECT_EQ(r1.status, 200);
  EXPECT_EQ(r1.body, "hello from 127.0.0.1");
  EXPECT_EQ(r1.headers.count("connection"), 0u)
      << "no Connection: close on a persistent connection";
  EXPECT_FALSE(r1.headers["x-request-id"].empty());
  EXPECT_FALSE(r1.headers["date"].empty());
  c.send("GET /api/v1/items/7 HTTP/1.1\r\nHost: t\r\n\r\n");
  auto r2 = c.read_response();
  EXPECT_EQ(r2.status, 200) << "second request answered on the same connection";
  EXPECT_EQ(jarvis::Json::parse(r2.body)["id"], "7");
  EXPECT_NE(r1.headers["x-request-id"], r2.headers["x-request-id"]);

  c.send("GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  auto r3 = c.read_response();
  EXPECT_EQ(r3.status, 200);
  EXPECT_EQ(r3.headers["connection"], "close");
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(ServerTest, PipelinedRequestsAnsweredInOrder) {
  start();
  RawClient c(server->port());
  c.send(
      "GET /api/v1/items/1 HTTP/1.1\r\nHost: t\r\n\r\n"
      "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n"
      "GET /api/v1/items/3 HTTP/1.1\r\nHost: t\r\n\r\n");
  auto a = c.read_response();
  auto b = c.read_response(/*head=*/true);
  auto d = c.read_response();
  EXPECT_EQ(jarvis::Json::parse(a.body)["id"], "1");
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(b.headers["content-length"], std::to_string(std::string("hello from 127.0.0.1").size()))
      << "HEAD reports the GET length without a body";
  EXPECT_EQ(jarvis::Json::parse(d.body)["id"], "3") << "no HEAD body bytes leaked into the stream";
}

TEST_F(ServerTest, Http10ClosesUnlessKeepAliveRequested) {
  start();
  {
    RawClient c(server->port());
    c.send("GET /hello HTTP/1.0\r\n\r\n");
    auto r = c.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(c.closed_by_peer());
  }
  {
    RawClient c(server->port());
    c.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    auto r = c.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.headers["connection"], "keep-alive");
    c.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    EXPECT_EQ(c.read_response().status, 200);
  }
}

TEST_F(ServerTest, JsonNotFoundAndMethodNotAllowed) {
  start();
  auto nf = jarvis::test::http("GET", url("/api/v1/nope"));
  EXPECT_EQ(nf.status, 404);
  auto j = jarvis::Json::parse(nf.body);
  EXPECT_EQ(j["error"]["code"], "not_found");
  EXPECT_EQ(j["error"]["request_id"], nf.headers["x-request-id"]);
  auto na = jarvis::test::http("POST", url("/gone"), "x");
  EXPECT_EQ(na.status, 405);
  EXPECT_EQ(na.headers["allow"], "DELETE");
  EXPECT_EQ(jarvis::Json::parse(na.body)["error"]["code"], "method_not_allowed");
}

TEST_F(ServerTest, PathParamsAndQueryEndToEnd) {
  start();
  auto r = jarvis::test::http("GET", url("/api/v1/items/a%20b%2Fc?q=x+y%21"));
  ASSERT_EQ(r.status, 200);
  auto j = jarvis::Json::parse(r.body);
  EXPECT_EQ(j["id"], "a b/c");
  EXPECT_EQ(j["q"], "x y!");
}

TEST_F(ServerTest, HeaderNamesPreservedAndBodyExact) {
  start();
  RawClient c(server->port());
  c.send("GET /headers HTTP/1.1\r\nHost: t\r\nX-Custom-Thing: v1\r\nx-lower: v2\r\n\r\n");
  auto r = c.read_response();
  EXPECT_NE(r.body.find("X-Custom-Thing=v1;"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("x-lower=v2;"), std::string::npos) << r.body;
  std::string binary("a\0b\r\n\xff", 6);
  c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\n" + binary);
  EXPECT_EQ(c.read_response().body, binary);
  c.send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
      "chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  EXPECT_EQ(c.read_response().body, "abcde");
}

TEST_F(ServerTest, OversizedBodyGets413) {
  ServerOptions o;
  o.max_body_bytes = 1000;
  start(o);
  {  // Declared length over the server default: refused before the body is read.
    RawClient c(server->port());
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n" +
           std::string(5000, 'x'));
    auto r = c.read_response();
    EXPECT_EQ(r.status, 413);
    auto j = jarvis::Json::parse(r.body);
    EXPECT_EQ(j["error"]["code"], "payload_too_large");
    EXPECT_EQ(j["error"]["request_id"], r.headers["x-request-id"]);
    EXPECT_EQ(r.headers["connection"], "close");
    EXPECT_TRUE(c.closed_by_peer());
  }
  {  // Per-route limit (10 bytes) beats the server default.
    RawClient c(server->port());
    c.send("POST /small HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n0123456789");
    EXPECT_EQ(c.read_response().status, 200);
    c.send("POST /small HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\n0123456789A");
    EXPECT_EQ(c.read_response().status, 413);
  }
  {  // Chunked bodies have no declared length: the parser's limit catches them.
    RawClient c(server->port());
    c.send(
        "POST /small HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
        "chunked\r\n\r\n8\r\n01234567\r\n8\r\n89ABCDEF\r\n0\r\n\r\n");
    auto r = c.read_response();
    EXPECT_EQ(r.status, 413);
    EXPECT_EQ(jarvis::Json::parse(r.body)["error"]["code"], "payload_too_large");
  }
  // And through libcurl (which may use Expect: 100-continue).
  auto big = jarvis::test::http("POST", url("/echo"), std::string(4000, 'y'));
  EXPECT_EQ(big.status, 413);
  auto ok = jarvis::test::http("POST", url("/echo"), std::string(900, 'y'));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body.size(), 900u);
}

TEST_F(ServerTest, ExpectContinue) {
  start();
  RawClient c(server->port());
  c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(c.read_until("\r\n\r\n"), "HTTP/1.1 100 Continue\r\n\r\n");
  c.send("hello");
  auto r = c.read_response();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello");
  // Too large: the final 413 comes instead of 100 Continue.
  c.send("POST /small HTTP/1.1\r\nHost: t\r\nContent-Length: 50\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 413);
}

TEST_F(ServerTest, MalformedRequestGets400ThenClose) {
  start();
  for (const char* bad : {"GARBAGE\r\n\r\n", "GET /x HTTP/9.9\r\n\r\n", "GET  HTTP/1.1\r\n\r\n",
                          "GET /x HTTP/1.1\r\nBad Header\r\n\r\n"}) {
    RawClient c(server->port());
    c.send(bad);
    auto r = c.read_response();
    EXPECT_EQ(r.status, 400) << bad;
    if (r.status == 400) {
      auto j = jarvis::Json::parse(r.body);
      EXPECT_EQ(j["error"]["code"], "bad_request");
      EXPECT_EQ(j["error"]["request_id"], r.headers["x-request-id"]);
    }
    EXPECT_TRUE(c.closed_by_peer()) << bad;
  }
  // The server is unharmed.
  EXPECT_EQ(jarvis::test::http("GET", url("/hello")).status, 200);
}

TEST_F(ServerTest, OversizedHeaderGets431) {
  start();
  RawClient c(server->port());
  c.send("GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
  auto r = c.read_response();
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(jarvis::Json::parse(r.body)["error"]["code"], "request_header_too_large");
}

TEST_F(ServerTest, SilentAndSlowClientsAreDisconnected) {
  ServerOptions o;
  o.header_timeout = std::chrono::milliseconds(200);
  o.idle_timeout = std::chrono::milliseconds(300);
  start(o);
  RawClient silent(server->port());  // connects, sends nothing
  RawClient slow(server->port());    // starts a header and never finishes it
  slow.send("GET /hello HTTP/1.1\r\nHost: t\r\n");
  RawClient idle(server->port());  // one request, then stays idle on keep-alive
  idle.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(idle.read_response().status, 200);
  EXPECT_TRUE(silent.closed_by_peer());
  EXPECT_TRUE(slow.closed_by_peer());
  EXPECT_TRUE(idle.closed_by_peer());
  EXPECT_EQ(server->in_flight(), 0u);
}

TEST_F(ServerTest, ListenFailureIsClear) {
  start();
  ServerOptions o;
  o.port = server->port();
  HttpServer second(o, dispatcher);
  try {
    second.start();
    FAIL() << "bound an occupied port";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot listen on 127.0.0.1:" + std::to_string(server->port()) +
                  ": address already in use");
  }
  ServerOptions bad;
  bad.host = "256.1.1.1";
  bad.port = 0;
  HttpServer third(bad, dispatcher);
  try {
    third.start();
    FAIL() << "bound an invalid address";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("cannot listen on 256.1.1.1:0: ", 0), 0u) << e.what();
  }
}

TEST_F(ServerTest, GracefulShutdownFinishesInFlightRequests) {
  std::promise<void> entered;
  std::promise<void> release;
  auto release_future = release.get_future().share();
  router.add(Owner{}, route("GET", "/slow", [&, release_future](jarvis::Request&) {
               entered.set_value();
               release_future.wait();
               return jarvis::Response::text(200, "finished");
             }));
  start();
  uint16_t port = server->port();

  RawClient idle(port);  // a keep-alive connection with no request in flight
  idle.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_EQ(idle.read_response().status, 200);

  RawClient busy(port);
  busy.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
  entered.get_future().wait();
  // The idle connection's response may still be completing on the server side: wait for it.
  for (int i = 0; i < 2000 && server->in_flight() != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(server->in_flight(), 1u) << "only the slow request is in flight";

  auto stopped =
      std::async(std::launch::async, [&] { server->shutdown(std::chrono::seconds(60)); });
  // The idle connection is closed while the slow request is still running.
  EXPECT_TRUE(idle.closed_by_peer());
  // New connections are refused as soon as the listener is closed.
  bool refused = false;
  for (int i = 0; i < 1000 && !refused; ++i) {
    RawClient probe(port);
    refused = !probe.connected();
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(refused);
  EXPECT_EQ(stopped.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout)
      << "shutdown waits for the in-flight request";

  release.set_value();
  auto r = busy.read_response();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "finished");
  EXPECT_EQ(r.headers["connection"], "close");
  stopped.get();
  EXPECT_EQ(server->in_flight(), 0u);
  RawClient after(port);
  EXPECT_FALSE(after.connected());
}

TEST_F(ServerTest, UpgradeSeamHandsOverTheConnection) {
  std::promise<std::string> seen;
  ServerOptions o;
  o.port = 0;
  o.threads = 1;
  server = std::make_unique<HttpServer>(o, dispatcher);
  server->set_upgrade_handler("/ws", [&](std::unique_ptr<jarvis::host::UpgradeConnection> conn) {
    seen.set_value(conn->jarvis_request.path + "|" + conn->jarvis_request.query["token"] + "|" +
                   std::string(conn->request[boost::beast::http::field::upgrade]));
    static const char reply[] =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    boost::beast::error_code ec;
    boost::asio::write(conn->stream.socket(), boost::asio::buffer(reply, sizeof reply - 1), ec);
    conn->stream.socket().close(ec);
  });
  server->start();
  RawClient c(server->port());
  c.send(
      "GET /ws?token=abc HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 101);
  EXPECT_EQ(seen.get_future().get(), "/ws|abc|websocket");
  // A plain GET /ws (no upgrade) still goes to the dispatcher.
  EXPECT_EQ(jarvis::test::http("GET", url("/ws")).status, 404);
}

TEST_F(ServerTest, ShutdownWithoutTrafficAndDestructorAreSafe) {
  start();
  server->stop_accepting();
  server->stop_accepting();
  server->shutdown(std::chrono::milliseconds(100));
  server->shutdown(std::chrono::milliseconds(100));
  server.reset();
  HttpServer never_started(ServerOptions{}, dispatcher);
  EXPECT_EQ(never_started.port(), 0);
}

}  // namespace server_test

// tests/security/http_smuggling_test.cpp — issue 8 finding 3: request framing (RFC 9112 §3.2,
// §5.2, §6.1, §6.3, §7.1) on the real server over raw sockets. Every ambiguous framing is refused
// with 400 (or 431 / 501) and the connection is closed, so nothing after it on the connection can
// be parsed as a second, smuggled request.
#include <atomic>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "http/dispatcher.h"
#include "http/router.h"
#include "http/server.h"
#include "observability/metrics.h"
#include "support/raw_http_client.h"

namespace http_smuggling_test {

using jarvis::host::Dispatcher;
using jarvis::host::HttpServer;
using jarvis::host::MetricsRegistry;
using jarvis::host::Owner;
using jarvis::host::Router;
using jarvis::host::ServerOptions;
using jarvis::test::RawHttpClient;

namespace {

jarvis::RouteSpec route(const std::string& method, const std::string& path,
                        jarvis::RouteHandler h) {
  jarvis::RouteSpec s;
  s.method = method;
  s.path = path;
  s.auth = jarvis::Auth::Public;
  s.handler = std::move(h);
  return s;
}

// The request a smuggler hides behind a badly framed one.
const std::string kSmuggled = "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n";

class HttpSmugglingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router.add(Owner{}, route("POST", "/echo", [](jarvis::Request& r) {
                 return jarvis::Response::text(200, r.body);
               }));
    router.add(Owner{}, route("GET", "/hello", [](jarvis::Request&) {
                 return jarvis::Response::text(200, "hello");
               }));
    router.add(Owner{}, route("GET", "/smuggled", [this](jarvis::Request&) {
                 ++smuggled;
                 return jarvis::Response::text(200, "smuggled");
               }));
    ServerOptions o;
    o.port = 0;
    o.threads = 2;
    server = std::make_unique<HttpServer>(o, dispatcher);
    server->start();
  }

  // Sends `request`, expects one refusal with `status`, then a closed connection (no answer for
  // anything that followed).
  void expect_refused_and_closed(const std::string& request, int status, const std::string& what) {
    RawHttpClient c(server->port());
    ASSERT_TRUE(c.connected());
    c.send(request);
    auto r = c.read_response();
    EXPECT_EQ(r.status, status) << what;
    if (request.find(" HTTP/1.0\r\n") == std::string::npos) {
      EXPECT_EQ(r.headers["connection"], "close") << what;
    }
    c.shutdown_send();
    EXPECT_TRUE(c.closed_by_peer()) << what << ": a second response followed: " << c.pending();
  }

  // The server keeps serving other connections afterwards.
  void expect_alive() {
    RawHttpClient c(server->port());
    c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    EXPECT_EQ(c.read_response().status, 200);
  }

  std::atomic<int> smuggled{0};
  Router router;
  MetricsRegistry metrics;
  Dispatcher dispatcher{router, metrics};
  std::unique_ptr<HttpServer> server;
};

TEST_F(HttpSmugglingTest, Finding3_TransferEncodingWhoseFinalCodingIsNotChunkedIsRefused) {
  for (const char* te :
       {"foo", "xchunked", "chunked, identity", "identity", "chunked, foo", "chunkedx", ""}) {
    std::string body = "0\r\n\r\n" + kSmuggled;
    expect_refused_and_closed("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: " +
                                  std::string(te) + "\r\n\r\n" + body,
                              400, std::string("Transfer-Encoding: ") + te);
  }
  // Split over two fields, the last one decides: "chunked" then "foo" is not chunked.
  expect_refused_and_closed(
      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: foo\r\n"
      "\r\n0\r\n\r\n" +
          kSmuggled,
      400, "chunked then foo");
  EXPECT_EQ(smuggled.load(), 0);
  expect_alive();
}

TEST_F(HttpSmugglingTest, Finding3_UnsupportedCodingBeforeChunkedIs501) {
  expect_refused_and_closed(
      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501,
      "gzip, chunked");
}

TEST_F(HttpSmugglingTest, Finding3_ContentLengthTogetherWithTransferEncodingIsRefused) {
  for (const std::string& fields :
       {std::string("Transfer-Encoding: foo\r\nContent-Length: 5\r\n"),
        std::string("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"),
        std::string("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")}) {
    expect_refused_and_closed(
        "POST /echo HTTP/1.1\r\nHost: t\r\n" + fields + "\r\n0\r\n\r\n" + kSmuggled, 400, fields);
  }
  EXPECT_EQ(smuggled.load(), 0);
}

TEST_F(HttpSmugglingTest, Finding3_DifferingContentLengthsAreRefused) {
  for (const std::string& fields : {std::string("Content-Length: 5\r\nContent-Length: 6\r\n"),
                                    std::string("Content-Length: 5, 6\r\n")}) {
    expect_refused_and_closed(
        "POST /echo HTTP/1.1\r\nHost: t\r\n" + fields + "\r\nhello!" + kSmuggled, 400, fields);
  }
  EXPECT_EQ(smuggled.load(), 0);
}

TEST_F(HttpSmugglingTest, Finding3_TransferEncodingInHttp10IsRefused) {
  expect_refused_and_closed(
      "POST /echo HTTP/1.0\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
      "HTTP/1.0 with Transfer-Encoding");
}

TEST_F(HttpSmugglingTest, Finding3_Http11WithoutExactlyOneHostIsRefused) {
  expect_refused_and_closed("GET /hello HTTP/1.1\r\n\r\n", 400, "no Host");
  expect_refused_and_closed("GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "two Hosts");
  // HTTP/1.0 does not require Host.
  RawHttpClient c(server->port());
  c.send("GET /hello HTTP/1.0\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 200);
}

TEST_F(HttpSmugglingTest, Finding3_ObsFoldHeaderLinesAreRefused) {
  expect_refused_and_closed("GET /hello HTTP/1.1\r\nHost: t\r\nX-A: a\r\n b\r\n\r\n", 400,
                            "obs-fold with SP");
  expect_refused_and_closed("GET /hello HTTP/1.1\r\nHost: t\r\nX-A: a\r\n\tb\r\n\r\n", 400,
                            "obs-fold with HTAB");
  // A folded Transfer-Encoding would hide "chunked" from one parser and not another.
  expect_refused_and_closed(
      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", 400,
      "folded Transfer-Encoding");
}

TEST_F(HttpSmugglingTest, Finding3_ChunkedBodiesStillWork) {
  RawHttpClient c(server->port());
  c.send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: ok\r\n\r\n");
  auto r = c.read_response();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello world");
  // Keep-alive: the next request on the same connection is served.
  c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 200);
}

TEST_F(HttpSmugglingTest, Finding3_ChunkExtensionsAreBounded) {
  // One long extension on a chunk line.
  expect_refused_and_closed(
      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;x=" +
          std::string(4000, 'a') + "\r\nhello\r\n0\r\n\r\n",
      400, "4 KB chunk extension");
  // A chunk line that never ends: refused once it exceeds the read buffer, not buffered forever.
  RawHttpClient c(server->port());
  c.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5;x=");
  c.send(std::string(64 * 1024, 'a'));
  auto r = c.read_response();
  EXPECT_TRUE(r.status == 400 || r.status == 431) << r.status;
  c.shutdown_send();
  EXPECT_TRUE(c.closed_by_peer());
  expect_alive();
}

TEST_F(HttpSmugglingTest, Finding3_OversizedTrailerGets431AndCloses) {
  // A 70 KB trailer field (over Beast's 64 KB field size, where it used to throw "field value too
  // large" out of the I/O thread and drop the connection without an answer).
  RawHttpClient c(server->port());
  c.send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n"
      "X-Big: " +
      std::string(70 * 1024, 'b') + "\r\n\r\n");
  auto r = c.read_response();
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(r.headers["connection"], "close");
  c.shutdown_send();
  EXPECT_TRUE(c.closed_by_peer());
  // Many small trailer fields over the header limit: the same.
  std::string fields;
  for (int i = 0; i < 2000; ++i) fields += "X-T" + std::to_string(i) + ": vvvvvvvvvv\r\n";
  expect_refused_and_closed(
      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\n" +
          fields + "\r\n",
      431, "trailer of 2000 fields");
  expect_alive();
}

}  // namespace

}  // namespace http_smuggling_test

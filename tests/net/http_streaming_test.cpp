// Tests of CurlHttpClient's SDK 1.1 modes against real servers on 127.0.0.x: on_chunk streaming
// (events seen before the response ends), cancellation (source, predicate, on_chunk returning
// false) that really closes the upstream connection, size caps / SSRF guard / redirects in
// streaming mode, multipart/form-data and body_file uploads, and refused injections.
// No timing thresholds: each step waits for a condition (bounded only to turn a hang into a
// failure).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "jarvis/cancel.h"
#include "jarvis/sse.h"
#include "net/http_client.h"
#include "support/fakes/loopback_server.h"
#include "support/support.h"

namespace http_streaming_test {

namespace {

using jarvis::CancelSource;
using jarvis::CancelToken;
using jarvis::MultipartPart;
using jarvis::OutboundRequest;
using jarvis::OutboundResponse;
using jarvis::host::CurlHttpClient;
using jarvis::host::HttpClientOptions;

/// Upper bound for "wait until": a hang becomes a failure instead of a stuck test.
constexpr auto kPatience = std::chrono::seconds(20);

using jarvis::test::eventually;

using Received = jarvis::test::fakes::HttpRequest;

/// One accepted connection, handed to the test's handler after the request was read: raw writes
/// through LoopbackServer's Responder (the handlers write whole responses themselves).
class Conn {
 public:
  explicit Conn(jarvis::test::fakes::Responder& out) : out_(out) {}
  bool send(const std::string& data) { return out_.write_raw(data); }
  /// One chunk of a chunked response body.
  bool chunk(const std::string& data) { return out_.send_chunk(data); }
  /// Waits until the client closed the connection (false if it did not within kPatience, or the
  /// server stopped).
  bool wait_disconnect(const std::atomic<bool>&) {
    return !out_.pause(kPatience) && out_.client_closed();
  }

 private:
  jarvis::test::fakes::Responder& out_;
};

/// A loopback server (tests/support/fakes/loopback_server.h) whose connections each serve one
/// request: a handler's raw response is never taken as complete, so the connection closes after it.
class Server {
 public:
  using Handler = std::function<void(const Received&, Conn&, const std::atomic<bool>& stopping)>;

  explicit Server(Handler handler, const std::string& address = "127.0.0.1")
      : server_(
            [handler = std::move(handler)](const Received& r, jarvis::test::fakes::Responder& out) {
              static const std::atomic<bool> kNever{false};  // the Responder knows when to stop
              Conn conn(out);
              handler(r, conn, kNever);
            },
            address) {}

  int port() const { return server_.port(); }
  std::string url(const std::string& path = "/") const { return server_.url(path); }
  std::vector<Received> requests() const { return server_.requests(); }

 private:
  jarvis::test::fakes::LoopbackServer server_;
};

const std::string kSseHead =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
    "Connection: close\r\n\r\n";

std::string plain(int status, const std::string& body,
                  const std::vector<std::string>& extra_headers = {}) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " X\r\nConnection: close\r\n";
  for (const auto& h : extra_headers) out += h + "\r\n";
  return out + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

jarvis::UrlGuard loopback_guard() {
  return {.enabled = true, .allowed_schemes = {"http"}, .allow_private_addresses = true};
}

/// State shared between a streaming test's server and client.
struct Progress {
  std::atomic<int> client_events{0};  ///< events the client's on_chunk has parsed
  std::atomic<bool> disconnected{false};
  std::atomic<bool> server_gave_up{false};
};

// ---------------------------------------------------------------------------------------------
// Streaming.

TEST(HttpStreaming, ChunkCallbackSeesEventsBeforeTheResponseEnds) {
  // The server sends the next event only after the client has seen the previous one: a client
  // that buffered the whole response would never get past the first event.
  Progress progress;
  Server server([&](const Received&, Conn& c, const std::atomic<bool>&) {
    c.send(kSseHead);
    for (int i = 1; i <= 3; ++i) {
      c.chunk(": keep-alive\n\nid: " + std::to_string(i) +
              "\ndata: {\"token\":" + std::to_string(i) + "}\n\n");
      if (!eventually([&] { return progress.client_events.load() >= i; })) {
        progress.server_gave_up = true;
        return;
      }
    }
    c.chunk("data: [DONE]\n\n");
    c.send("0\r\n\r\n");
  });
  CurlHttpClient client;
  jarvis::SseParser sse;
  std::vector<std::string> data;
  OutboundRequest req{.method = "POST", .url = server.url("/v1/stream"), .body = "{}"};
  req.on_chunk = [&](std::string_view bytes) {
    for (const auto& ev : sse.feed(bytes)) {
      data.push_back(ev.data);
      ++progress.client_events;
    }
    return true;
  };
  OutboundResponse res = client.send(req);
  EXPECT_TRUE(res.ok()) << res.error_class << " " << res.error_message;
  EXPECT_FALSE(progress.server_gave_up);
  EXPECT_EQ(data, (std::vector<std::string>{"{\"token\":1}", "{\"token\":2}", "{\"token\":3}",
                                            "[DONE]"}));
  EXPECT_EQ(sse.last_event_id(), "3");
  EXPECT_TRUE(res.body.empty());  // streamed bytes are not kept
  EXPECT_EQ(res.headers.get("content-type").value_or(""), "text/event-stream");
}

/// A server that sends one event and then nothing, waiting for the client to go away.
Server::Handler one_event_then_idle(Progress& progress) {
  return [&progress](const Received&, Conn& c, const std::atomic<bool>& stopping) {
    c.send(kSseHead);
    c.chunk("data: first\n\n");
    progress.disconnected = c.wait_disconnect(stopping);
  };
}

TEST(HttpStreaming, CancelMidStreamClosesTheUpstreamConnection) {
  Progress progress;
  Server server(one_event_then_idle(progress));
  CancelSource source;
  std::thread canceller([&] {
    if (eventually([&] { return progress.client_events.load() >= 1; })) source.cancel();
  });
  CurlHttpClient client;
  OutboundRequest req{.url = server.url(), .timeout_ms = 120000, .cancel = source.token()};
  req.on_chunk = [&](std::string_view) {
    ++progress.client_events;
    return true;
  };
  OutboundResponse res = client.send(req);
  canceller.join();
  EXPECT_EQ(res.error_class, "cancelled") << res.error_message;
  EXPECT_FALSE(res.ok());
  EXPECT_EQ(res.status, 200);  // the response was under way
  EXPECT_TRUE(eventually([&] { return progress.disconnected.load(); }));
}

TEST(HttpStreaming, PredicateTokenStopsTheRequest) {
  // CancelToken::when(pred): the way a task feeds TaskContext::should_stop into a request.
  Progress progress;
  Server server(one_event_then_idle(progress));
  std::atomic<bool> stop{false};
  CurlHttpClient client;
  OutboundRequest req{.url = server.url(), .timeout_ms = 120000, .cancel = CancelToken::when([&] {
                                                                   return stop.load();
                                                                 })};
  req.on_chunk = [&](std::string_view) {
    stop = true;  // e.g. the user pressed "stop" while tokens were arriving
    return true;
  };
  OutboundResponse res = client.send(req);
  EXPECT_EQ(res.error_class, "cancelled") << res.error_message;
  EXPECT_TRUE(eventually([&] { return progress.disconnected.load(); }));
}

TEST(HttpStreaming, ChunkCallbackReturningFalseStopsTheTransfer) {
  Progress progress;
  Server server(one_event_then_idle(progress));
  CurlHttpClient client;
  int calls = 0;
  OutboundRequest req{.url = server.url(), .timeout_ms = 120000};
  req.on_chunk = [&](std::string_view) {
    ++calls;
    return false;
  };
  OutboundResponse res = client.send(req);
  EXPECT_EQ(res.error_class, "cancelled");
  EXPECT_NE(res.error_message.find("on_chunk"), std::string::npos) << res.error_message;
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(eventually([&] { return progress.disconnected.load(); }));
}

TEST(HttpStreaming, ChunkCallbackExceptionIsRethrown) {
  Progress progress;
  Server server(one_event_then_idle(progress));
  CurlHttpClient client;
  OutboundRequest req{.url = server.url(), .timeout_ms = 120000};
  req.on_chunk = [](std::string_view) -> bool { throw std::runtime_error("bad token json"); };
  EXPECT_THROW(client.send(req), std::runtime_error);
  EXPECT_TRUE(eventually([&] { return progress.disconnected.load(); }));
}

TEST(HttpStreaming, AlreadyCancelledTokenSendsNothing) {
  Server server(
      [](const Received&, Conn& c, const std::atomic<bool>&) { c.send(plain(200, "x")); });
  CancelSource source;
  source.cancel();
  CurlHttpClient client;
  OutboundResponse res = client.send({.url = server.url(), .cancel = source.token()});
  EXPECT_EQ(res.error_class, "cancelled");
  EXPECT_EQ(res.status, 0);
  EXPECT_TRUE(server.requests().empty());
}

TEST(HttpStreaming, CancelBeforeResponseHeadersStopsWaiting) {
  // The server accepts and never answers; cancelling frees the caller long before the timeout.
  Progress progress;
  std::atomic<bool> got_request{false};
  Server server([&](const Received&, Conn& c, const std::atomic<bool>& stopping) {
    got_request = true;
    progress.disconnected = c.wait_disconnect(stopping);
  });
  CancelSource source;
  std::thread canceller([&] {
    if (eventually([&] { return got_request.load(); })) source.cancel();
  });
  CurlHttpClient client;
  OutboundResponse res =
      client.send({.url = server.url(), .timeout_ms = 600000, .cancel = source.token()});
  canceller.join();
  EXPECT_EQ(res.error_class, "cancelled");
  EXPECT_EQ(res.status, 0);
  EXPECT_TRUE(eventually([&] { return progress.disconnected.load(); }));
}

TEST(HttpStreaming, CancelledDownloadLeavesNoFile) {
  Progress progress;
  Server server([&](const Received&, Conn& c, const std::atomic<bool>& stopping) {
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + std::string(1000, 'x'));
    progress.disconnected = c.wait_disconnect(stopping);
  });
  jarvis::test::TempDir dir;
  std::atomic<bool> stop{false};
  CurlHttpClient client;
  std::thread canceller([&] {
    // Cancel once the part file has bytes in it.
    eventually([&] {
      for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
        if (std::filesystem::file_size(e.path()) > 0) return true;
      }
      return false;
    });
    stop = true;
  });
  OutboundResponse res = client.send({.url = server.url(),
                                      .timeout_ms = 120000,
                                      .output_file = dir.file("media.bin"),
                                      .cancel = CancelToken::when([&] { return stop.load(); })});
  canceller.join();
  EXPECT_EQ(res.error_class, "cancelled");
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  EXPECT_TRUE(eventually([&] { return progress.disconnected.load(); }));
}

TEST(HttpStreaming, ErrorResponsesAreNotStreamed) {
  Server server([](const Received&, Conn& c, const std::atomic<bool>&) {
    c.send(plain(429, R"({"error":"rate limited"})", {"Retry-After: 3"}));
  });
  CurlHttpClient client;
  int calls = 0;
  OutboundRequest req{.url = server.url()};
  req.on_chunk = [&](std::string_view) {
    ++calls;
    return true;
  };
  OutboundResponse res = client.send(req);
  EXPECT_EQ(res.status, 429);
  EXPECT_EQ(res.error_class, "");
  EXPECT_EQ(res.body, R"({"error":"rate limited"})");
  EXPECT_EQ(calls, 0);
}

TEST(HttpStreaming, SizeCapAppliesToStreamedBodies) {
  Server server([](const Received&, Conn& c, const std::atomic<bool>&) {
    if (!c.send(kSseHead)) return;
    std::string event = "data: " + std::string(1000, 'z') + "\n\n";
    for (int i = 0; i < 100000 && c.chunk(event); ++i) {
    }
  });
  CurlHttpClient client;
  std::size_t streamed = 0;
  OutboundRequest req{.url = server.url(), .max_response_bytes = 50000};
  req.on_chunk = [&](std::string_view bytes) {
    streamed += bytes.size();
    return true;
  };
  OutboundResponse res = client.send(req);
  EXPECT_EQ(res.error_class, "too_large") << res.error_message;
  EXPECT_LE(streamed, 50000u);
  EXPECT_GT(streamed, 0u);
}

TEST(HttpStreaming, GuardAndRedirectRulesStillApply) {
  // A "public" server (127.0.0.2, exempted) redirects a streaming request to a loopback service.
  std::atomic<int> internal_hits{0};
  Server internal([&](const Received&, Conn& c, const std::atomic<bool>&) {
    ++internal_hits;
    c.send(plain(200, "data: secret\n\n"));
  });
  Server final_hop(
      [](const Received&, Conn& c, const std::atomic<bool>&) {
        c.send(kSseHead);
        c.chunk("data: ok\n\n");
        c.send("0\r\n\r\n");
      },
      "127.0.0.2");
  std::string internal_url = internal.url("/admin");
  std::string final_url = final_hop.url("/final");
  Server public_server(
      [&](const Received& r, Conn& c, const std::atomic<bool>&) {
        c.send(plain(302, "redirect body, not streamed",
                     {"Location: " + (r.target == "/to-internal" ? internal_url : final_url)}));
      },
      "127.0.0.2");
  HttpClientOptions opts;
  opts.guard_address_exemptions = {"127.0.0.2"};
  CurlHttpClient client(opts);
  jarvis::UrlGuard g{.enabled = true, .allowed_schemes = {"http"}};
  std::string streamed;
  auto collect = [&](std::string_view bytes) {
    streamed.append(bytes);
    return true;
  };

  OutboundRequest direct{.url = internal.url(), .guard = g};
  direct.on_chunk = collect;
  OutboundResponse res = client.send(direct);
  EXPECT_EQ(res.error_class, "blocked_url") << res.error_message;

  OutboundRequest via_redirect{
      .url = public_server.url("/to-internal"), .max_redirects = 3, .guard = g};
  via_redirect.on_chunk = collect;
  res = client.send(via_redirect);
  EXPECT_EQ(res.error_class, "blocked_url") << res.error_message;
  EXPECT_EQ(internal_hits.load(), 0);
  EXPECT_TRUE(streamed.empty());

  OutboundRequest good{.url = public_server.url("/ok"), .max_redirects = 3, .guard = g};
  good.on_chunk = collect;
  res = client.send(good);
  EXPECT_TRUE(res.ok()) << res.error_class << " " << res.error_message;
  EXPECT_EQ(streamed, "data: ok\n\n");  // only the final 2xx body was streamed
  EXPECT_EQ(res.final_url, final_url);
}

// ---------------------------------------------------------------------------------------------
// Request bodies: multipart/form-data and body_file.

/// Minimal multipart/form-data parser for the fake server: parts by name.
struct ParsedPart {
  std::string disposition;
  std::string content_type;
  std::string data;
};

std::vector<ParsedPart> parse_multipart(const std::string& body, const std::string& boundary) {
  std::vector<ParsedPart> parts;
  std::string delim = "--" + boundary;
  std::size_t pos = body.find(delim);
  if (pos != 0) return parts;
  for (;;) {
    pos += delim.size();
    if (body.compare(pos, 4, "--\r\n") == 0 && pos + 4 == body.size()) break;  // final delimiter
    if (body.compare(pos, 2, "\r\n") != 0) return {};
    pos += 2;
    std::size_t head_end = body.find("\r\n\r\n", pos);
    if (head_end == std::string::npos) return {};
    ParsedPart part;
    std::string head = body.substr(pos, head_end - pos + 2);
    for (std::size_t l = 0; l < head.size();) {
      std::size_t e = head.find("\r\n", l);
      std::string line = head.substr(l, e - l);
      if (line.rfind("Content-Disposition: ", 0) == 0) part.disposition = line.substr(21);
      if (line.rfind("Content-Type: ", 0) == 0) part.content_type = line.substr(14);
      l = e + 2;
    }
    std::size_t data_start = head_end + 4;
    std::size_t next = body.find("\r\n" + delim, data_start);
    if (next == std::string::npos) return {};
    part.data = body.substr(data_start, next - data_start);
    parts.push_back(std::move(part));
    pos = next + 2;
  }
  return parts;
}

TEST(HttpUpload, MultipartFormDataWithAFilePart) {
  std::string audio;
  for (int i = 0; i < 70000; ++i) audio.push_back(static_cast<char>(i % 256));  // every byte value
  jarvis::test::TempDir dir;
  jarvis::test::write_file(dir.file("voice note.ogg"), audio);
  Server server([](const Received&, Conn& c, const std::atomic<bool>&) {
    c.send(plain(200, R"({"text":"hello"})"));
  });
  CurlHttpClient client;
  OutboundRequest req{.method = "POST", .url = server.url("/v1/audio/transcriptions")};
  req.headers.set("Authorization", "Bearer k");
  req.headers.set("Content-Type", "application/json");  // replaced by the multipart type
  req.multipart = {
      {.name = "model", .data = "whisper-1"},
      {.name = "language", .data = "en\r\n--not-a-boundary"},
      {.name = "file", .content_type = "audio/ogg", .file = dir.file("voice note.ogg")},
      {.name = "extra", .filename = "notes.txt", .data = "inline file"}};
  OutboundResponse res = client.send(req);
  ASSERT_TRUE(res.ok()) << res.error_class << " " << res.error_message;

  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  const Received& r = seen[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.headers.at("authorization"), "Bearer k");
  const std::string& type = r.headers.at("content-type");
  ASSERT_EQ(type.rfind("multipart/form-data; boundary=", 0), 0u) << type;
  std::string boundary = type.substr(std::string("multipart/form-data; boundary=").size());
  EXPECT_GE(boundary.size(), 30u);
  EXPECT_EQ(std::stoul(r.headers.at("content-length")), r.body.size());

  auto parts = parse_multipart(r.body, boundary);
  ASSERT_EQ(parts.size(), 4u) << r.body.substr(0, 400);
  EXPECT_EQ(parts[0].disposition, R"(form-data; name="model")");
  EXPECT_EQ(parts[0].content_type, "");
  EXPECT_EQ(parts[0].data, "whisper-1");
  EXPECT_EQ(parts[1].data, "en\r\n--not-a-boundary");
  EXPECT_EQ(parts[2].disposition, R"(form-data; name="file"; filename="voice note.ogg")");
  EXPECT_EQ(parts[2].content_type, "audio/ogg");
  EXPECT_EQ(parts[2].data, audio);
  EXPECT_EQ(parts[3].disposition, R"(form-data; name="extra"; filename="notes.txt")");
  EXPECT_EQ(parts[3].content_type, "application/octet-stream");
  EXPECT_EQ(parts[3].data, "inline file");

  // A second request gets another boundary.
  client.send(req);
  auto again = server.requests();
  ASSERT_EQ(again.size(), 2u);
  EXPECT_NE(again[1].headers.at("content-type"), type);
}

TEST(HttpUpload, BodyFileIsSentWithContentLength) {
  std::string payload(300000, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7);
  jarvis::test::TempDir dir;
  jarvis::test::write_file(dir.file("upload.bin"), payload);
  Server target([](const Received& r, Conn& c, const std::atomic<bool>&) {
    c.send(plain(200, r.method + " " + std::to_string(r.body.size())));
  });
  std::string target_url = target.url("/final");
  Server first([&](const Received&, Conn& c, const std::atomic<bool>&) {
    c.send(plain(307, "", {"Location: " + target_url}));
  });
  CurlHttpClient client;
  OutboundResponse res =
      client.send({.method = "PUT", .url = target.url(), .body_file = dir.file("upload.bin")});
  ASSERT_TRUE(res.ok()) << res.error_class << " " << res.error_message;
  EXPECT_EQ(res.body, "PUT 300000");
  auto seen = target.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].headers.at("content-length"), "300000");
  EXPECT_EQ(seen[0].headers.at("content-type"), "application/octet-stream");
  EXPECT_EQ(seen[0].body, payload);

  // 307 keeps method and body: the file is sent again, from its start, to the next hop.
  OutboundRequest post{.method = "POST",
                       .url = first.url(),
                       .max_redirects = 1,
                       .body_file = dir.file("upload.bin")};
  post.headers.set("Content-Type", "audio/ogg");
  res = client.send(post);
  ASSERT_TRUE(res.ok()) << res.error_class << " " << res.error_message;
  seen = target.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].method, "POST");
  EXPECT_EQ(seen[1].headers.at("content-type"), "audio/ogg");
  EXPECT_EQ(seen[1].body, payload);

  // An empty file is an empty body with Content-Length: 0.
  jarvis::test::write_file(dir.file("empty"), "");
  res = client.send({.method = "POST", .url = target.url(), .body_file = dir.file("empty")});
  EXPECT_EQ(res.body, "POST 0");
}

TEST(HttpUpload, MissingFilesThrowBeforeAnyTraffic) {
  Server server([](const Received&, Conn& c, const std::atomic<bool>&) { c.send(plain(200, "")); });
  CurlHttpClient client;
  EXPECT_THROW(
      client.send(
          {.method = "POST", .url = server.url(), .body_file = "/nonexistent-dir-xyz/file"}),
      std::system_error);
  OutboundRequest req{.method = "POST", .url = server.url()};
  req.multipart = {{.name = "file", .file = "/nonexistent-dir-xyz/a.ogg"}};
  EXPECT_THROW(client.send(req), std::system_error);
  jarvis::test::TempDir dir;
  req.multipart = {{.name = "file", .file = dir.path()}};  // a directory is not a body
  EXPECT_THROW(client.send(req), std::system_error);
  EXPECT_TRUE(server.requests().empty());
}

TEST(HttpUpload, InjectionAndConflictingModesAreRefused) {
  Server server([](const Received&, Conn& c, const std::atomic<bool>&) { c.send(plain(200, "")); });
  CurlHttpClient client;
  auto with_parts = [&](std::vector<MultipartPart> parts) {
    OutboundRequest r{.method = "POST", .url = server.url()};
    r.multipart = std::move(parts);
    return r;
  };
  EXPECT_THROW(client.send(with_parts({{.name = "a\r\nX-Injected: 1", .data = "x"}})),
               std::invalid_argument);
  EXPECT_THROW(client.send(with_parts({{.name = "a\"; filename=\"evil", .data = "x"}})),
               std::invalid_argument);
  EXPECT_THROW(client.send(with_parts({{.name = "", .data = "x"}})), std::invalid_argument);
  EXPECT_THROW(client.send(with_parts({{.name = "f", .filename = "a\nb.ogg", .data = "x"}})),
               std::invalid_argument);
  EXPECT_THROW(client.send(with_parts({{.name = "f", .filename = "a\".ogg", .data = "x"}})),
               std::invalid_argument);
  EXPECT_THROW(
      client.send(with_parts({{.name = "f", .content_type = "audio/ogg\r\nX: 1", .data = "x"}})),
      std::invalid_argument);
  EXPECT_THROW(client.send(with_parts({{.name = "f", .data = "x", .file = "/etc/hostname"}})),
               std::invalid_argument);
  jarvis::test::TempDir dir;
  jarvis::test::write_file(dir.file("bad\"name.ogg"), "x");
  EXPECT_THROW(client.send(with_parts({{.name = "f", .file = dir.file("bad\"name.ogg")}})),
               std::invalid_argument);  // a default filename is checked too

  OutboundRequest both = with_parts({{.name = "a", .data = "x"}});
  both.body = "raw";
  EXPECT_THROW(client.send(both), std::invalid_argument);
  OutboundRequest file_and_body{
      .method = "POST", .url = server.url(), .body = "raw", .body_file = "/etc/hostname"};
  EXPECT_THROW(client.send(file_and_body), std::invalid_argument);
  OutboundRequest stream_and_file{.url = server.url(), .output_file = dir.file("x")};
  stream_and_file.on_chunk = [](std::string_view) { return true; };
  EXPECT_THROW(client.send(stream_and_file), std::invalid_argument);
  OutboundRequest bad_header{.url = server.url()};
  bad_header.headers.set("X-A", "1\r\nX-B: 2");
  bad_header.on_chunk = [](std::string_view) { return true; };
  EXPECT_THROW(client.send(bad_header), std::invalid_argument);
  EXPECT_TRUE(server.requests().empty());
}

TEST(HttpUpload, CancelWhileTheBodyIsStillBeingSent) {
  // The server reads the request head and then stops reading: the upload blocks on a full socket
  // buffer until the token fires; the connection is then closed.
  jarvis::test::TempDir dir;
  std::string big = dir.file("big.bin");
  {
    std::FILE* f = std::fopen(big.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(::ftruncate(::fileno(f), 256 << 20), 0);  // sparse: no disk needed
    std::fclose(f);
  }
  int listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listen_fd, 4), 0);
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::atomic<bool> got_head{false}, cancelled{false}, disconnected{false};
  std::thread server([&] {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    std::string head;
    char c;
    while (head.find("\r\n\r\n") == std::string::npos && ::recv(fd, &c, 1, 0) == 1) head += c;
    got_head = true;
    eventually([&] { return cancelled.load(); });
    char buf[65536];
    std::size_t drained = 0;
    for (;;) {  // what is left in the buffers, then EOF or a reset
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      drained += static_cast<std::size_t>(n);
    }
    disconnected = drained < (256u << 20);
    ::close(fd);
  });
  CancelSource source;
  std::thread canceller([&] {
    if (eventually([&] { return got_head.load(); })) source.cancel();
    cancelled = true;
  });
  CurlHttpClient client;
  OutboundResponse res =
      client.send({.method = "POST",
                   .url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/upload",
                   .timeout_ms = 600000,
                   .cancel = source.token(),
                   .body_file = big});
  canceller.join();
  server.join();
  ::close(listen_fd);
  EXPECT_EQ(res.error_class, "cancelled") << res.error_message;
  EXPECT_TRUE(disconnected);  // the server saw the connection end before the whole body came
}

TEST(HttpUpload, MultipartThroughTheGuard) {
  // The guard applies to uploads like to any request: a loopback target is refused unless allowed.
  Server server(
      [](const Received&, Conn& c, const std::atomic<bool>&) { c.send(plain(200, "ok")); });
  CurlHttpClient client;
  OutboundRequest req{.method = "POST",
                      .url = server.url(),
                      .guard = {.enabled = true, .allowed_schemes = {"http"}}};
  req.multipart = {{.name = "a", .data = "x"}};
  EXPECT_EQ(client.send(req).error_class, "blocked_url");
  EXPECT_TRUE(server.requests().empty());
  req.guard = loopback_guard();
  EXPECT_TRUE(client.send(req).ok());
}

}  // namespace

}  // namespace http_streaming_test

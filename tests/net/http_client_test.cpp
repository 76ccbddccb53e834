// Tests of CurlHttpClient against real HTTP servers on 127.0.0.x (a small blocking socket server
// in a thread): methods, bodies, headers, outage classes, size caps, streaming to a file, and the
// SSRF guard (schemes, host allowlist, private addresses, userinfo, redirects re-checked per hop).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <curl/curl.h>
#include <gtest/gtest.h>

#include "net/http_client.h"
#include "support/support.h"

namespace http_client_test {

namespace {

using jarvis::OutboundRequest;
using jarvis::OutboundResponse;
using jarvis::host::CurlHttpClient;
using jarvis::host::HttpClientOptions;

// ---------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 server: one connection at a time, one request per connection.

struct Received {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  ///< lower-case names
  std::string body;
};

bool send_all(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

std::string response(int status, const std::string& body,
                     const std::vector<std::string>& extra_headers = {}) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " X\r\nConnection: close\r\n";
  for (const auto& h : extra_headers) out += h + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return out;
}

class TestServer {
 public:
  /// What to do with a request: write a raw response to `fd` (or hang until `stopping`).
  using Handler = std::function<void(const Received&, int fd, const std::atomic<bool>& stopping)>;

  explicit TestServer(Handler handler, const std::string& address = "127.0.0.1")
      : handler_(std::move(handler)), address_(address) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    ::inet_pton(AF_INET, address.c_str(), &addr.sin_addr);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 64) != 0) {
      throw std::runtime_error("test server cannot listen on " + address);
    }
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~TestServer() {
    stopping_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path = "/") const {
    return "http://" + address_ + ":" + std::to_string(port_) + path;
  }
  std::vector<Received> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void loop() {
    while (!stopping_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      Received r;
      if (read_request(fd, r)) {
        {
          std::lock_guard lock(mu_);
          requests_.push_back(r);
        }
        handler_(r, fd, stopping_);
      }
      ::shutdown(fd, SHUT_WR);
      ::close(fd);
    }
  }

  bool read_request(int fd, Received& r) {
    std::string data;
    char buf[8192];
    std::size_t head_end;
    while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) return false;
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return false;
      data.append(buf, static_cast<std::size_t>(n));
    }
    std::string head = data.substr(0, head_end);
    std::size_t line_end = head.find("\r\n");
    std::string request_line = head.substr(0, line_end);
    auto sp1 = request_line.find(' ');
    auto sp2 = request_line.find(' ', sp1 + 1);
    r.method = request_line.substr(0, sp1);
    r.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      std::size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      std::string line = head.substr(pos, e - pos);
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        r.headers[name] = value;
      }
      pos = e + 2;
    }
    std::size_t want = 0;
    if (auto it = r.headers.find("content-length"); it != r.headers.end())
      want = std::stoul(it->second);
    r.body = data.substr(head_end + 4);
    while (r.body.size() < want) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return false;
      r.body.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }

  Handler handler_;
  std::string address_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::vector<Received> requests_;
  std::thread thread_;
};

/// A handler answering every request with the same raw response.
TestServer::Handler answer(std::string raw) {
  return [raw](const Received&, int fd, const std::atomic<bool>&) { send_all(fd, raw); };
}

/// A guard that permits this machine's test servers (loopback) over plain http.
jarvis::UrlGuard loopback_guard() {
  jarvis::UrlGuard g;
  g.enabled = true;
  g.allowed_schemes = {"http"};
  g.allow_private_addresses = true;
  return g;
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename());
  return out;
}

// ---------------------------------------------------------------------------------------------
// Plain requests.

TEST(CurlHttpClient, GetReturnsStatusBodyAndHeaders) {
  TestServer server(
      answer(response(200, "hello", {"X-Test: a", "Set-Cookie: s=1", "Set-Cookie: t=2"})));
  CurlHttpClient client;
  OutboundRequest req;
  req.url = server.url("/path?q=1");
  req.headers.set("X-Req", "one");
  OutboundResponse res = client.send(req);
  EXPECT_TRUE(res.ok()) << res.error_class << " " << res.error_message;
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "hello");
  EXPECT_EQ(res.headers.get("x-test").value_or(""), "a");
  int cookies = 0;
  for (const auto& [k, v] : res.headers.all()) cookies += (k == "Set-Cookie");
  EXPECT_EQ(cookies, 2);
  EXPECT_EQ(res.final_url, server.url("/path?q=1"));

  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].target, "/path?q=1");
  EXPECT_EQ(seen[0].headers["x-req"], "one");
  EXPECT_EQ(seen[0].headers["user-agent"], "jarvis");
}

TEST(CurlHttpClient, PostSendsBodyAndHeaders) {
  TestServer server([](const Received& r, int fd, const std::atomic<bool>&) {
    send_all(fd, response(201, "echo:" + r.body));
  });
  HttpClientOptions opts;
  opts.user_agent = "jarvis-test/1";
  CurlHttpClient client(opts);
  OutboundRequest req;
  req.method = "POST";
  req.url = server.url("/submit");
  req.body = std::string(200000, 'b') + R"({"a":1})";  // large enough to tempt 100-continue
  req.headers.set("Content-Type", "application/json");
  req.headers.set("Authorization", "Bearer secret");
  OutboundResponse res = client.send(req);
  EXPECT_TRUE(res.ok()) << res.error_message;
  EXPECT_EQ(res.status, 201);
  EXPECT_EQ(res.body, "echo:" + req.body);
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].headers["content-type"], "application/json");
  EXPECT_EQ(seen[0].headers["authorization"], "Bearer secret");
  EXPECT_EQ(seen[0].headers["user-agent"], "jarvis-test/1");
  EXPECT_EQ(seen[0].headers.count("expect"), 0u);
}

TEST(CurlHttpClient, OtherMethods) {
  TestServer server([](const Received& r, int fd, const std::atomic<bool>&) {
    send_all(fd, response(200, r.method + ":" + r.body));
  });
  CurlHttpClient client;
  for (std::string m : {"PUT", "PATCH", "DELETE"}) {
    OutboundRequest req;
    req.method = m;
    req.url = server.url();
    req.body = m == "DELETE" ? "" : "data";
    OutboundResponse res = client.send(req);
    EXPECT_EQ(res.body, m + ":" + req.body) << m;
  }
  OutboundRequest head;
  head.method = "HEAD";
  head.url = server.url();
  OutboundResponse res = client.send(head);
  EXPECT_EQ(res.status, 200);
  EXPECT_TRUE(res.body.empty());
  EXPECT_EQ(server.requests().back().method, "HEAD");
}

TEST(CurlHttpClient, HttpErrorsKeepStatus) {
  TestServer not_found(answer(response(404, "nope")));
  CurlHttpClient client;
  OutboundResponse res = client.send({.url = not_found.url()});
  EXPECT_FALSE(res.ok());
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.error_class, "");
  EXPECT_EQ(res.body, "nope");

  TestServer error(answer(response(500, "boom")));
  res = client.send({.url = error.url()});
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(res.error_class, "");

  for (int code : {502, 503, 504}) {
    TestServer down(answer(response(code, "down")));
    res = client.send({.url = down.url()});
    EXPECT_EQ(res.status, code);
    EXPECT_EQ(res.error_class, "provider_unavailable") << code;
    EXPECT_NE(res.error_message.find(std::to_string(code)), std::string::npos);
    EXPECT_FALSE(res.ok());
  }
}

TEST(CurlHttpClient, InvalidRequestsThrow) {
  CurlHttpClient client;
  OutboundRequest req{.method = "GE T", .url = "http://127.0.0.1:1/"};
  EXPECT_THROW(client.send(req), std::invalid_argument);
  req.method = "GET";
  req.headers.set("X-Evil", "a\r\nInjected: yes");
  EXPECT_THROW(client.send(req), std::invalid_argument);
  OutboundRequest bad_name{.url = "http://127.0.0.1:1/"};
  bad_name.headers.set("Bad Name", "x");
  EXPECT_THROW(client.send(bad_name), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// Outage classes.

TEST(CurlHttpClient, ServerThatNeverAnswersIsTimeout) {
  TestServer server([](const Received&, int, const std::atomic<bool>& stopping) {
    while (!stopping) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  });
  CurlHttpClient client;
  OutboundResponse res = client.send({.url = server.url(), .timeout_ms = 300});
  EXPECT_EQ(res.error_class, "timeout");
  EXPECT_EQ(res.status, 0);
  EXPECT_FALSE(res.ok());
}

TEST(CurlHttpClient, ConnectionRefusedIsProviderUnavailable) {
  int port = jarvis::test::free_port();
  CurlHttpClient client;
  OutboundResponse res = client.send({.url = "http://127.0.0.1:" + std::to_string(port) + "/"});
  EXPECT_EQ(res.error_class, "provider_unavailable");
  EXPECT_EQ(res.status, 0);
  EXPECT_FALSE(res.error_message.empty());
}

TEST(CurlHttpClient, UnresolvableHostIsDnsResolution) {
  CurlHttpClient client;
  OutboundResponse res = client.send({.url = "http://nonexistent.invalid/"});
  EXPECT_EQ(res.error_class, "dns_resolution") << res.error_message;
  // The guard resolves names itself; its failure has the same class.
  res = client.send({.url = "https://nonexistent.invalid/", .guard = {.enabled = true}});
  EXPECT_EQ(res.error_class, "dns_resolution") << res.error_message;
  EXPECT_NE(res.error_message.find("nonexistent.invalid"), std::string::npos);
}

TEST(CurlHttpClient, CurlErrorClassification) {
  using jarvis::host::outage_class_for_curl_error;
  EXPECT_EQ(outage_class_for_curl_error(CURLE_OK, 0), "");
  EXPECT_EQ(outage_class_for_curl_error(CURLE_COULDNT_RESOLVE_HOST, 0), "dns_resolution");
  EXPECT_EQ(outage_class_for_curl_error(CURLE_OPERATION_TIMEDOUT, 0), "timeout");
  EXPECT_EQ(outage_class_for_curl_error(CURLE_COULDNT_CONNECT, ECONNREFUSED),
            "provider_unavailable");
  EXPECT_EQ(outage_class_for_curl_error(CURLE_COULDNT_CONNECT, ENETUNREACH), "network_unreachable");
  EXPECT_EQ(outage_class_for_curl_error(CURLE_COULDNT_CONNECT, EHOSTUNREACH),
            "network_unreachable");
  EXPECT_EQ(outage_class_for_curl_error(CURLE_COULDNT_CONNECT, ETIMEDOUT), "timeout");
  EXPECT_EQ(outage_class_for_curl_error(CURLE_SSL_CONNECT_ERROR, 0), "provider_unavailable");
  EXPECT_EQ(outage_class_for_curl_error(CURLE_RECV_ERROR, ECONNRESET), "provider_unavailable");
  EXPECT_EQ(outage_class_for_curl_error(CURLE_FILESIZE_EXCEEDED, 0), "too_large");
  EXPECT_EQ(outage_class_for_curl_error(CURLE_URL_MALFORMAT, 0), "invalid_url");
}

TEST(CurlHttpClient, InvalidUrls) {
  CurlHttpClient client;
  for (std::string url : {"not a url", "ftp://example.com/x", "file:///etc/passwd", "http://",
                          "http://exa mple.com/", "http://example.com:99999/", ""}) {
    OutboundResponse res = client.send({.url = url});
    EXPECT_EQ(res.error_class, "invalid_url") << url << ": " << res.error_message;
    EXPECT_EQ(res.status, 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Size caps and streaming to a file.

TEST(CurlHttpClient, AnnouncedTooLargeBody) {
  TestServer server([](const Received&, int fd, const std::atomic<bool>&) {
    send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n" + std::string(1000, 'x'));
  });
  CurlHttpClient client;
  OutboundResponse res = client.send({.url = server.url(), .max_response_bytes = 5000});
  EXPECT_EQ(res.error_class, "too_large");
  EXPECT_NE(res.error_message.find("5000"), std::string::npos) << res.error_message;
  EXPECT_FALSE(res.ok());
}

TEST(CurlHttpClient, UnannouncedTooLargeBodyIsCutOff) {
  // No Content-Length: the body ends when the connection closes; the client must stop reading.
  TestServer server([](const Received&, int fd, const std::atomic<bool>&) {
    if (!send_all(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")) return;
    std::string chunk(65536, 'z');
    for (int i = 0; i < 1000 && send_all(fd, chunk); ++i) {
    }
  });
  CurlHttpClient client;
  OutboundResponse res = client.send({.url = server.url(), .max_response_bytes = 100000});
  EXPECT_EQ(res.error_class, "too_large");
  EXPECT_LE(res.body.size(), 100000u);
}

TEST(CurlHttpClient, BodyExactlyAtTheCapIsAccepted) {
  TestServer server(answer(response(200, std::string(4096, 'a'))));
  CurlHttpClient client;
  OutboundResponse res = client.send({.url = server.url(), .max_response_bytes = 4096});
  EXPECT_TRUE(res.ok()) << res.error_class;
  EXPECT_EQ(res.body.size(), 4096u);
}

TEST(CurlHttpClient, StreamsToOutputFile) {
  std::string payload;
  for (int i = 0; i < 50000; ++i) payload.push_back(static_cast<char>('a' + i % 26));
  TestServer server(answer(response(200, payload)));
  jarvis::test::TempDir dir;
  CurlHttpClient client;
  OutboundResponse res = client.send({.url = server.url(), .output_file = dir.file("out.bin")});
  EXPECT_TRUE(res.ok()) << res.error_class << " " << res.error_message;
  EXPECT_TRUE(res.body.empty());
  EXPECT_EQ(jarvis::test::read_file(dir.file("out.bin")), payload);
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"out.bin"});  // no temp file left
}

TEST(CurlHttpClient, OutputFileReplacesAnExistingFileOnlyOnSuccess) {
  TestServer ok(answer(response(200, "new")));
  TestServer big(answer(response(200, std::string(10000, 'x'))));
  jarvis::test::TempDir dir;
  jarvis::test::write_file(dir.file("f"), "old");
  CurlHttpClient client;
  OutboundResponse res =
      client.send({.url = big.url(), .max_response_bytes = 100, .output_file = dir.file("f")});
  EXPECT_EQ(res.error_class, "too_large");
  EXPECT_EQ(jarvis::test::read_file(dir.file("f")), "old");
  res = client.send({.url = ok.url(), .output_file = dir.file("f")});
  EXPECT_TRUE(res.ok());
  EXPECT_EQ(jarvis::test::read_file(dir.file("f")), "new");
  EXPECT_EQ(list_dir(dir.path()).size(), 1u);
}

TEST(CurlHttpClient, OutputFileIsRemovedWhenTooLarge) {
  TestServer server([](const Received&, int fd, const std::atomic<bool>&) {
    if (!send_all(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")) return;
    std::string chunk(65536, 'z');
    for (int i = 0; i < 100 && send_all(fd, chunk); ++i) {
    }
  });
  jarvis::test::TempDir dir;
  CurlHttpClient client;
  OutboundResponse res = client.send(
      {.url = server.url(), .max_response_bytes = 200000, .output_file = dir.file("big.bin")});
  EXPECT_EQ(res.error_class, "too_large");
  EXPECT_TRUE(list_dir(dir.path()).empty());
}

TEST(CurlHttpClient, ErrorResponseIsNotWrittenToTheOutputFile) {
  TestServer server(answer(response(404, "missing")));
  jarvis::test::TempDir dir;
  CurlHttpClient client;
  OutboundResponse res = client.send({.url = server.url(), .output_file = dir.file("x")});
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.body, "missing");
  EXPECT_TRUE(list_dir(dir.path()).empty());
}

TEST(CurlHttpClient, OutputFileInMissingDirectoryThrows) {
  TestServer server(answer(response(200, "x")));
  CurlHttpClient client;
  EXPECT_THROW(client.send({.url = server.url(), .output_file = "/nonexistent-dir-xyz/file"}),
               std::system_error);
  EXPECT_TRUE(server.requests().empty());  // failed before any network traffic
}

// ---------------------------------------------------------------------------------------------
// The SSRF guard.

TEST(UrlGuard, LoopbackRefusedUnlessPrivateAllowed) {
  TestServer server(answer(response(200, "internal")));
  CurlHttpClient client;
  jarvis::UrlGuard g;
  g.enabled = true;
  g.allowed_schemes = {"http"};
  OutboundResponse res = client.send({.url = server.url(), .guard = g});
  EXPECT_EQ(res.error_class, "blocked_url");
  EXPECT_NE(res.error_message.find("loopback"), std::string::npos) << res.error_message;
  EXPECT_TRUE(server.requests().empty());

  g.allow_private_addresses = true;
  res = client.send({.url = server.url(), .guard = g});
  EXPECT_TRUE(res.ok()) << res.error_class << " " << res.error_message;
  EXPECT_EQ(res.body, "internal");
}

TEST(UrlGuard, ObfuscatedLoopbackFormsAreRefused) {
  TestServer server(answer(response(200, "internal")));
  CurlHttpClient client;
  jarvis::UrlGuard g{.enabled = true, .allowed_schemes = {"http"}};
  std::string port = std::to_string(server.port());
  for (std::string host : {"127.1", "2130706433", "0x7f.0.0.1", "0177.0.0.1", "[::ffff:127.0.0.1]",
                           "[::1]", "0.0.0.0", "localhost", "LocalHost"}) {
    OutboundResponse res = client.send({.url = "http://" + host + ":" + port + "/", .guard = g});
    EXPECT_EQ(res.error_class, "blocked_url") << host << ": " << res.error_message;
  }
  EXPECT_TRUE(server.requests().empty());
}

TEST(UrlGuard, SchemeAllowlist) {
  TestServer server(answer(response(200, "x")));
  CurlHttpClient client;
  jarvis::UrlGuard g{.enabled = true, .allow_private_addresses = true};  // default: https only
  OutboundResponse res = client.send({.url = server.url(), .guard = g});
  EXPECT_EQ(res.error_class, "blocked_url");
  EXPECT_NE(res.error_message.find("scheme 'http'"), std::string::npos) << res.error_message;
  EXPECT_TRUE(server.requests().empty());
}

TEST(UrlGuard, HostAllowlistExactAndSubdomain) {
  CurlHttpClient client;
  jarvis::UrlGuard g{.enabled = true,
                     .allowed_schemes = {"http"},
                     .allowed_hosts = {"example.invalid"},
                     .allow_private_addresses = true};
  // Allowed names get past the allowlist (and then fail DNS: .invalid never resolves).
  for (std::string url : {"http://example.invalid/", "http://api.example.invalid/x",
                          "http://A.B.Example.Invalid./"}) {
    OutboundResponse res = client.send({.url = url, .guard = g});
    EXPECT_EQ(res.error_class, "dns_resolution") << url << ": " << res.error_message;
  }
  for (std::string url : {"http://badexample.invalid/", "http://example.invalid.evil.test/",
                          "http://invalid/", "http://127.0.0.1/"}) {
    OutboundResponse res = client.send({.url = url, .guard = g});
    EXPECT_EQ(res.error_class, "blocked_url") << url;
    EXPECT_NE(res.error_message.find("allowed hosts"), std::string::npos) << res.error_message;
  }
}

TEST(UrlGuard, AllowedHostnameIsResolvedAndPinned) {
  TestServer server(answer(response(200, "via-name")));
  HttpClientOptions opts;
  opts.guard_address_exemptions = {"127.0.0.1", "::1"};
  CurlHttpClient client(opts);
  jarvis::UrlGuard g{.enabled = true, .allowed_schemes = {"http"}, .allowed_hosts = {"localhost"}};
  OutboundResponse res =
      client.send({.url = "http://localhost:" + std::to_string(server.port()) + "/", .guard = g});
  EXPECT_TRUE(res.ok()) << res.error_class << " " << res.error_message;
  EXPECT_EQ(res.body, "via-name");
}

TEST(UrlGuard, UserinfoRefused) {
  TestServer server(answer(response(200, "x")));
  CurlHttpClient client;
  OutboundResponse res =
      client.send({.url = "http://user:pass@127.0.0.1:" + std::to_string(server.port()) + "/",
                   .guard = loopback_guard()});
  EXPECT_EQ(res.error_class, "blocked_url");
  EXPECT_NE(res.error_message.find("credentials"), std::string::npos) << res.error_message;
  res = client.send({.url = "http://user@127.0.0.1:" + std::to_string(server.port()) + "/",
                     .guard = loopback_guard()});
  EXPECT_EQ(res.error_class, "blocked_url");
  EXPECT_TRUE(server.requests().empty());
}

TEST(UrlGuard, RedirectToPrivateAddressIsRefused) {
  // "public" stands for an allowed internet host: 127.0.0.2 is exempted from the private-range
  // check for this client only. It redirects to a loopback service, which must stay unreached.
  TestServer internal(answer(response(200, "secret")));
  std::string internal_url = internal.url("/admin");
  std::string by_name = "http://localhost:" + std::to_string(internal.port()) + "/admin";
  TestServer public_server(
      [&](const Received& r, int fd, const std::atomic<bool>&) {
        send_all(fd, response(302, "",
                              {"Location: " + (r.target == "/by-name" ? by_name : internal_url)}));
      },
      "127.0.0.2");
  HttpClientOptions opts;
  opts.guard_address_exemptions = {"127.0.0.2"};
  CurlHttpClient client(opts);
  jarvis::UrlGuard g{.enabled = true, .allowed_schemes = {"http"}};

  OutboundResponse res =
      client.send({.url = public_server.url("/go"), .max_redirects = 3, .guard = g});
  EXPECT_EQ(res.error_class, "blocked_url");
  EXPECT_NE(res.error_message.find("127.0.0.1"), std::string::npos) << res.error_message;

  res = client.send({.url = public_server.url("/by-name"), .max_redirects = 3, .guard = g});
  EXPECT_EQ(res.error_class, "blocked_url");
  EXPECT_NE(res.error_message.find("localhost"), std::string::npos) << res.error_message;

  EXPECT_EQ(public_server.requests().size(), 2u);
  EXPECT_TRUE(internal.requests().empty());

  // Without redirects allowed, the 302 itself is the answer.
  res = client.send({.url = public_server.url("/go"), .guard = g});
  EXPECT_EQ(res.status, 302);
  EXPECT_EQ(res.error_class, "");
  EXPECT_EQ(res.headers.get("location").value_or(""), internal_url);
}

TEST(UrlGuard, RedirectToHostOutsideAllowlistIsRefused) {
  TestServer other(answer(response(200, "other")));
  std::string target = "http://localhost:" + std::to_string(other.port()) + "/";
  TestServer first(answer(response(301, "", {"Location: " + target})));
  CurlHttpClient client;
  jarvis::UrlGuard g = loopback_guard();
  g.allowed_hosts = {"127.0.0.1"};
  OutboundResponse res = client.send({.url = first.url(), .max_redirects = 5, .guard = g});
  EXPECT_EQ(res.error_class, "blocked_url");
  EXPECT_NE(res.error_message.find("localhost"), std::string::npos) << res.error_message;
  EXPECT_TRUE(other.requests().empty());
}

// ---------------------------------------------------------------------------------------------
// Redirects.

TEST(Redirects, FollowedWithMethodRulesAndCredentialStripping) {
  TestServer target([](const Received& r, int fd, const std::atomic<bool>&) {
    send_all(fd, response(200, r.method + "|" + r.body));
  });
  std::string target_url = target.url("/final");
  TestServer start([&](const Received& r, int fd, const std::atomic<bool>&) {
    if (r.target == "/303")
      send_all(fd, response(303, "", {"Location: " + target_url}));
    else if (r.target == "/307")
      send_all(fd, response(307, "", {"Location: " + target_url}));
    else
      send_all(fd, response(302, "", {"Location: /303"}));  // relative
  });
  CurlHttpClient client;
  OutboundRequest req{.method = "POST",
                      .url = start.url("/303"),
                      .body = "payload",
                      .max_redirects = 2,
                      .guard = loopback_guard()};
  req.headers.set("Authorization", "Bearer t");
  req.headers.set("X-Keep", "k");
  OutboundResponse res = client.send(req);
  EXPECT_TRUE(res.ok()) << res.error_class << " " << res.error_message;
  EXPECT_EQ(res.body, "GET|");  // 303 turns POST into GET and drops the body
  EXPECT_EQ(res.final_url, target_url);
  auto seen = target.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].headers.count("authorization"), 0u);  // another origin (port)
  EXPECT_EQ(seen[0].headers["x-keep"], "k");

  req.url = start.url("/307");
  res = client.send(req);
  EXPECT_EQ(res.body, "POST|payload");  // 307 keeps method and body

  req.url = start.url("/relative");  // 302 to a relative /303, then 303 to the target
  res = client.send(req);
  EXPECT_EQ(res.body, "GET|");
  auto first_hops = start.requests();
  EXPECT_EQ(first_hops.back().target, "/303");
  EXPECT_EQ(first_hops.back().headers["authorization"], "Bearer t");  // same origin keeps it
}

TEST(Redirects, TooManyRedirectsReturnsTheLastRedirect) {
  TestServer loop(answer(response(302, "", {"Location: /again"})));
  CurlHttpClient client;
  OutboundResponse res = client.send({.url = loop.url(), .max_redirects = 2});
  EXPECT_EQ(res.status, 302);
  EXPECT_FALSE(res.ok());
  EXPECT_EQ(loop.requests().size(), 3u);
}

// ---------------------------------------------------------------------------------------------
// Concurrency and helpers.

TEST(CurlHttpClient, ConcurrentRequests) {
  TestServer server([](const Received& r, int fd, const std::atomic<bool>&) {
    send_all(fd, response(200, r.target));
  });
  CurlHttpClient client;
  constexpr int kThreads = 6, kEach = 10;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        std::string path = "/t" + std::to_string(t) + "/" + std::to_string(i);
        OutboundResponse res = client.send({.url = server.url(path), .guard = loopback_guard()});
        if (res.ok() && res.body == path) ++good;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), kThreads * kEach);
}

TEST(CurlHttpClient, UrlForLogDropsSecrets) {
  using jarvis::host::url_for_log;
  EXPECT_EQ(url_for_log("https://user:pw@api.example.com:8443/v1/x?key=SECRET#frag"),
            "https://api.example.com:8443/v1/x");
  EXPECT_EQ(url_for_log("http://example.com/"), "http://example.com/");
  EXPECT_EQ(url_for_log("::nonsense"), "<unparseable URL>");
}

}  // namespace

}  // namespace http_client_test

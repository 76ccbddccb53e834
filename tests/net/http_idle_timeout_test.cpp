// Tests of OutboundRequest::idle_timeout_ms (SDK 1.1) against real servers on 127.0.0.1: a
// streamed answer that stalls after its first event fails with error_class "timeout" (long before
// timeout_ms) and the upstream connection is closed; a server that accepts and never answers trips
// it too; a stream that keeps sending stays alive past the idle limit; 0 means no idle limit.
// No timing thresholds: outcomes are checked, waits are bounded only to turn a hang into a failure.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "jarvis/sse.h"
#include "net/http_client.h"

namespace http_idle_timeout_test {

namespace {

using jarvis::OutboundRequest;
using jarvis::OutboundResponse;
using jarvis::host::CurlHttpClient;

constexpr auto kPatience = std::chrono::seconds(20);

/// A one-connection-at-a-time server: reads the request head, then runs the handler with the
/// socket; `closed_by_client` is set when the handler saw the client hang up.
class IdleServer {
 public:
  using Handler = std::function<void(int fd, IdleServer& self)>;

  explicit IdleServer(Handler handler) : handler_(std::move(handler)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 8) != 0) {
      throw std::runtime_error("test server cannot listen");
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~IdleServer() {
    stopping = true;
    thread_.join();
    ::close(fd_);
  }
  IdleServer(const IdleServer&) = delete;
  IdleServer& operator=(const IdleServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/stream"; }

  static bool send_all(int fd, const std::string& data) {
    std::size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }
  static bool chunk(int fd, const std::string& data) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    return send_all(fd, size + data + "\r\n");
  }
  /// Waits (bounded) until the client closes the connection.
  bool wait_client_close(int fd) const {
    auto until = std::chrono::steady_clock::now() + kPatience;
    char buf[1024];
    while (!stopping && std::chrono::steady_clock::now() < until) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      if (::recv(fd, buf, sizeof buf, 0) <= 0) return true;
    }
    return false;
  }

  std::atomic<bool> stopping{false};
  std::atomic<bool> closed_by_client{false};

 private:
  void loop() {
    while (!stopping) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::string head;
      char buf[4096];
      while (head.find("\r\n\r\n") == std::string::npos) {
        pollfd q{c, POLLIN, 0};
        if (::poll(&q, 1, 5000) <= 0) break;
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        head.append(buf, static_cast<std::size_t>(n));
      }
      handler_(c, *this);
      ::shutdown(c, SHUT_WR);
      ::close(c);
    }
  }

  Handler handler_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

const std::string kSseHead =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
    "Connection: close\r\n\r\n";

TEST(HttpIdleTimeout, StalledStreamFailsAsTimeoutAndClosesTheConnection) {
  IdleServer server([](int fd, IdleServer& self) {
    IdleServer::send_all(fd, kSseHead);
    IdleServer::chunk(fd, "data: {\"token\":1}\n\n");
    // Then nothing: the client must give up on its own and close the connection.
    self.closed_by_client = self.wait_client_close(fd);
  });
  CurlHttpClient client;
  jarvis::SseParser sse;
  int events = 0;
  OutboundRequest r{.method = "GET", .url = server.url(), .timeout_ms = 60000};
  r.idle_timeout_ms = 300;
  r.on_chunk = [&](std::string_view bytes) {
    events += static_cast<int>(sse.feed(bytes).size());
    return true;
  };
  OutboundResponse res = client.send(r);
  EXPECT_EQ(res.error_class, "timeout");
  EXPECT_NE(res.error_message.find("idle timeout"), std::string::npos) << res.error_message;
  EXPECT_EQ(res.status, 200);  // the response was under way
  EXPECT_EQ(events, 1);
  auto until = std::chrono::steady_clock::now() + kPatience;
  while (!server.closed_by_client && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(server.closed_by_client);
}

TEST(HttpIdleTimeout, ServerThatNeverAnswersTripsIt) {
  IdleServer server([](int fd, IdleServer& self) {
    self.closed_by_client = self.wait_client_close(fd);  // accepts, reads, never answers
  });
  CurlHttpClient client;
  OutboundRequest r{.method = "POST", .url = server.url(), .body = "{}", .timeout_ms = 60000};
  r.idle_timeout_ms = 300;
  OutboundResponse res = client.send(r);
  EXPECT_EQ(res.error_class, "timeout");
  EXPECT_EQ(res.status, 0);
}

TEST(HttpIdleTimeout, StreamThatKeepsSendingOutlivesTheIdleLimit) {
  // Events every 20 ms for 1.6 s, with an idle limit of 1 s: the stream as a whole outlasts the
  // idle limit, but no gap between bytes comes near it (a fiftyfold margin for loaded machines).
  IdleServer server([](int fd, IdleServer&) {
    IdleServer::send_all(fd, kSseHead);
    for (int i = 0; i < 80; ++i) {
      if (!IdleServer::chunk(fd, "data: {\"token\":" + std::to_string(i) + "}\n\n")) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    IdleServer::send_all(fd, "0\r\n\r\n");
  });
  CurlHttpClient client;
  jarvis::SseParser sse;
  int events = 0;
  OutboundRequest r{.method = "GET", .url = server.url(), .timeout_ms = 60000};
  r.idle_timeout_ms = 1000;
  r.on_chunk = [&](std::string_view bytes) {
    events += static_cast<int>(sse.feed(bytes).size());
    return true;
  };
  OutboundResponse res = client.send(r);
  EXPECT_TRUE(res.ok()) << res.error_class << " " << res.error_message;
  EXPECT_EQ(events, 80);
}

TEST(HttpIdleTimeout, ZeroMeansNoIdleLimit) {
  // A pause well past what the other tests use as idle limit, with none set: the request waits.
  IdleServer server([](int fd, IdleServer&) {
    IdleServer::send_all(fd, kSseHead);
    IdleServer::chunk(fd, "data: a\n\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    IdleServer::chunk(fd, "data: b\n\n");
    IdleServer::send_all(fd, "0\r\n\r\n");
  });
  CurlHttpClient client;
  jarvis::SseParser sse;
  int events = 0;
  OutboundRequest r{.method = "GET", .url = server.url(), .timeout_ms = 60000};
  r.on_chunk = [&](std::string_view bytes) {
    events += static_cast<int>(sse.feed(bytes).size());
    return true;
  };
  OutboundResponse res = client.send(r);
  EXPECT_TRUE(res.ok()) << res.error_class << " " << res.error_message;
  EXPECT_EQ(events, 2);
}

}  // namespace

}  // namespace http_idle_timeout_test

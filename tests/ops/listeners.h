// tests/ops/listeners.h — raw TCP listeners on 127.0.0.1 for the doctor tests: SilentListener
// completes handshakes (the kernel's backlog) and never reads or answers (what a hung server looks
// like: a timeout, over HTTP or TLS); PlainHttpAnswer writes an HTTP 400 the moment a connection
// is accepted, without reading (a plain HTTP server behind an https:// URL: no TLS handshake).
//
//   ops_test::SilentListener silent;
//   probe_http(silent.url() + "/v1/models", 500);   // → timeout
//   ops_test::PlainHttpAnswer plain;
//   probe_http(plain.https_url() + "/", 2000);       // → tls_handshake
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

namespace ops_test {

/// A TCP listener that completes handshakes (the kernel's backlog) and never reads or answers.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0) {
      ADD_FAILURE() << "listen failed";
    }
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  /// "http://127.0.0.1:PORT" (no path).
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  /// The same port as https://.
  std::string https_url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  /// The listening socket.
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

/// Accepts connections and answers each at once with an HTTP 400 and a close, reading nothing
/// (on a SilentListener's socket).
class PlainHttpAnswer {
 public:
  PlainHttpAnswer() {
    thread_ = std::thread([this] {
      static const char kAnswer[] =
          "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      while (!stop_) {
        int c = ::accept(socket_.fd(), nullptr, nullptr);
        if (c < 0) break;
        [[maybe_unused]] ssize_t n = ::write(c, kAnswer, sizeof kAnswer - 1);
        ::close(c);
      }
    });
  }
  ~PlainHttpAnswer() {
    stop_ = true;
    ::shutdown(socket_.fd(), SHUT_RDWR);  // wakes accept()
    thread_.join();
  }
  PlainHttpAnswer(const PlainHttpAnswer&) = delete;
  PlainHttpAnswer& operator=(const PlainHttpAnswer&) = delete;
  /// "https://127.0.0.1:PORT" (no path): TLS to a server that speaks plain HTTP.
  std::string https_url() const { return socket_.https_url(); }

 private:
  SilentListener socket_;  // bound and listening before the thread starts; closed after it ends
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace ops_test

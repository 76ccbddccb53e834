// tests/support/raw_http_client.h — a raw HTTP/1.x client on one TCP connection, optionally from a
// chosen loopback source address (127.0.0.2 …): the server tests watch connection reuse and
// closing, the hardening tests send bytes no HTTP library sends (smuggling) or nothing at all
// (connection caps).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <map>
#include <string>

namespace jarvis::test {

class RawHttpClient {
 public:
  /// Connects to 127.0.0.1:`port` from `source` (any port).
  explicit RawHttpClient(int port, const char* source = "127.0.0.1") {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, source, &local.sin_addr);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawHttpClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawHttpClient(const RawHttpClient&) = delete;
  RawHttpClient& operator=(const RawHttpClient&) = delete;

  bool connected() const { return connected_; }

  void send(const std::string& data) {
    std::size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<std::size_t>(n);
    }
  }

  struct Response {
    int status = 0;  ///< 0 = connection closed before a complete response
    std::map<std::string, std::string> headers;  ///< lower-cased names
    std::string body;
  };

  /// Reads one response (Content-Length framed, as the server always sends). `head` = the request
  /// was HEAD (a Content-Length without a body).
  Response read_response(bool head = false) {
    Response r;
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return r;
    }
    std::string header = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    std::size_t line_end = header.find("\r\n");
    std::string status_line = header.substr(0, line_end);
    if (status_line.size() < 12) return r;
    int status = std::stoi(status_line.substr(9, 3));
    std::size_t pos = line_end;
    while (pos != std::string::npos && pos < header.size()) {
      std::size_t next = header.find("\r\n", pos + 2);
      std::string line =
          header.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        r.headers[name] = value;
      }
      pos = next;
    }
    std::size_t length = 0;
    if (auto it = r.headers.find("content-length"); it != r.headers.end())
      length = std::stoul(it->second);
    if (head || status == 204 || status == 304 || status < 200) length = 0;
    while (buf_.size() < length) {
      if (!fill()) return r;
    }
    r.status = status;
    r.body = buf_.substr(0, length);
    buf_.erase(0, length);
    return r;
  }

  /// True when the server closed the connection (EOF or reset) with nothing more pending.
  bool closed_by_peer() {
    if (!buf_.empty()) return false;
    while (fill()) {
      // Drain anything the server still sends (there must be no second response: checked by
      // callers through buf_ being empty before).
      if (!buf_.empty()) return false;
    }
    return true;
  }

  /// Reads raw bytes until `marker` arrived; returns everything read up to and including it
  /// ("" when the connection ended first).
  std::string read_until(const std::string& marker) {
    std::size_t at;
    while ((at = buf_.find(marker)) == std::string::npos) {
      if (!fill()) return {};
    }
    std::string out = buf_.substr(0, at + marker.size());
    buf_.erase(0, at + marker.size());
    return out;
  }

  /// Half-closes (no more requests): a server that lingers to drain an unread body sees EOF.
  void shutdown_send() { ::shutdown(fd_, SHUT_WR); }

  /// Everything received and not yet consumed.
  const std::string& pending() const { return buf_; }

 private:
  bool fill() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 30000) <= 0) return false;  // a hung server fails the test, not the suite
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

}  // namespace jarvis::test

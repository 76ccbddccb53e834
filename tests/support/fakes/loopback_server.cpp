// tests/support/fakes/loopback_server.cpp — the loopback HTTP/1.1 test server (see the header).
#include "support/fakes/loopback_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace jarvis::test::fakes {

namespace {

/// Largest request head or body the server reads (a test sending more is broken).
constexpr std::size_t kMaxRequestBytes = 64u << 20;
/// How often blocked loops look at the stopping flag.
constexpr int kPollMs = 20;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string reason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Payload Too Large";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 529:
      return "Site Overloaded";
    default:
      return "Status";
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

/// Reads from `fd` into `buf` until it holds at least `want` bytes. False on close, error, stop.
bool fill(int fd, std::string& buf, std::size_t want, const std::atomic<bool>& stopping) {
  char tmp[16384];
  while (buf.size() < want) {
    if (stopping) return false;
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, kPollMs);
    if (r < 0 && errno != EINTR) return false;
    if (r <= 0) continue;
    ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buf.append(tmp, static_cast<std::size_t>(n));
  }
  return true;
}

/// Reads up to and including the next CRLF; the line without it. False on close or overlong.
bool read_line(int fd, std::string& buf, std::string& line, const std::atomic<bool>& stopping) {
  std::size_t pos;
  while ((pos = buf.find("\r\n")) == std::string::npos) {
    if (buf.size() > kMaxRequestBytes || !fill(fd, buf, buf.size() + 1, stopping)) return false;
  }
  line = buf.substr(0, pos);
  buf.erase(0, pos + 2);
  return true;
}

bool send_all(int fd, std::string_view data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

/// Reads one request from `fd` (`buf` keeps bytes read past it). False when the connection
/// closed or the request cannot be parsed (the connection is then dropped).
bool read_request(int fd, std::string& buf, HttpRequest& r, const std::atomic<bool>& stopping) {
  std::size_t head_end;
  while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
    if (buf.size() > kMaxRequestBytes || !fill(fd, buf, buf.size() + 1, stopping)) return false;
  }
  std::string head = buf.substr(0, head_end);
  buf.erase(0, head_end + 4);
  std::size_t line_end = head.find("\r\n");
  std::string request_line = head.substr(0, line_end);
  auto sp1 = request_line.find(' ');
  auto sp2 = request_line.find(' ', sp1 == std::string::npos ? sp1 : sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos) return false;
  r.method = request_line.substr(0, sp1);
  r.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  auto q = r.target.find('?');
  r.path = r.target.substr(0, q);
  r.query = q == std::string::npos ? "" : r.target.substr(q + 1);
  std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    std::size_t e = head.find("\r\n", pos);
    if (e == std::string::npos) e = head.size();
    std::string line = head.substr(pos, e - pos);
    pos = e + 2;
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = lower(line.substr(0, colon));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t") + 1);
    auto [it, fresh] = r.headers.emplace(name, value);
    if (!fresh) it->second += ", " + value;
  }
  if (lower(r.header("expect")) == "100-continue") {
    if (!send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n")) return false;
  }
  if (lower(r.header("transfer-encoding")).find("chunked") != std::string::npos) {
    while (true) {
      std::string size_line;
      if (!read_line(fd, buf, size_line, stopping)) return false;
      std::size_t size = 0;
      for (char c : size_line) {
        int v = hex_value(c);
        if (v < 0) break;  // chunk extensions (";name=value") are ignored
        size = size * 16 + static_cast<std::size_t>(v);
        if (size > kMaxRequestBytes) return false;
      }
      if (size == 0) {
        std::string trailer;
        do {
          if (!read_line(fd, buf, trailer, stopping)) return false;
        } while (!trailer.empty());
        return true;
      }
      if (!fill(fd, buf, size + 2, stopping)) return false;
      r.body.append(buf, 0, size);
      buf.erase(0, size + 2);
      if (r.body.size() > kMaxRequestBytes) return false;
    }
  }
  std::size_t want = 0;
  if (auto cl = r.header("content-length"); !cl.empty()) {
    try {
      want = std::stoul(cl);
    } catch (const std::exception&) {
      return false;
    }
    if (want > kMaxRequestBytes) return false;
  }
  if (!fill(fd, buf, want, stopping)) return false;
  r.body = buf.substr(0, want);
  buf.erase(0, want);
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// HttpRequest

std::string HttpRequest::header(std::string_view name) const {
  auto it = headers.find(lower(std::string(name)));
  return it == headers.end() ? "" : it->second;
}

std::string HttpRequest::query_param(std::string_view name) const {
  std::string_view q = query;
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    auto eq = pair.find('=');
    if (percent_decode(pair.substr(0, eq)) == name) {
      return eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// Responder

std::string Responder::head(int status, const Headers& headers, const std::string& framing) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) + "\r\n";
  for (const auto& [name, value] : headers) out += name + ": " + value + "\r\n";
  return out + framing + "\r\n";
}

bool Responder::stopping() const { return server_.stopping_; }

void Responder::saw_client_close() {
  if (client_closed_) return;
  client_closed_ = true;
  server_.record_client_close();
}

bool Responder::write_raw(std::string_view bytes) {
  if (closed_ || client_closed_ || stopping()) return false;
  started_ = true;
  if (!send_all(fd_, bytes)) {
    if (!stopping()) saw_client_close();  // else the destructor's shutdown() failed the send
    return false;
  }
  return true;
}

bool Responder::respond(int status, std::string_view body, const Headers& headers) {
  std::string framing = "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (!keep_alive_) framing += "Connection: close\r\n";
  std::string out = head(status, headers, framing);
  out += body;
  if (!write_raw(out)) return false;
  complete_ = true;
  return true;
}

bool Responder::start_stream(int status, const Headers& headers) {
  std::string framing = "Transfer-Encoding: chunked\r\n";
  if (!keep_alive_) framing += "Connection: close\r\n";
  return write_raw(head(status, headers, framing));
}

bool Responder::send_chunk(std::string_view data) {
  if (data.empty()) return !closed_ && !client_closed_;
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  std::string out = size;
  out += data;
  out += "\r\n";
  return write_raw(out);
}

bool Responder::end_stream() {
  if (!write_raw("0\r\n\r\n")) return false;
  complete_ = true;
  return true;
}

bool Responder::pause(std::chrono::milliseconds d) {
  auto until = std::chrono::steady_clock::now() + d;
  while (true) {
    if (client_closed_ || closed_ || stopping()) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return true;
    pollfd p{fd_, POLLIN | POLLRDHUP, 0};
    int wait = static_cast<int>(std::min<long long>(left.count(), kPollMs));
    int r = ::poll(&p, 1, wait);
    if (r <= 0) continue;
    if (stopping()) return false;  // the destructor's shutdown() woke us: not the client
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) {
      saw_client_close();
      return false;
    }
    // Bytes from the client mid-response (a pipelined request): leave them, look again later.
    char c;
    ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      saw_client_close();
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(wait, 5)));
  }
}

bool Responder::wait_until_client_closes() {
  while (pause(std::chrono::hours(1))) {
  }
  return client_closed_;
}

void Responder::close_connection() {
  if (closed_) return;
  closed_ = true;
  ::shutdown(fd_, SHUT_RDWR);
}

// ---------------------------------------------------------------------------------------------
// LoopbackServer

LoopbackServer::LoopbackServer(Handler handler, const std::string& address, int port)
    : handler_(std::move(handler)), address_(address) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("loopback server: socket() failed");
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1 ||
      ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 128) != 0) {
    int err = errno;
    ::close(listen_fd_);
    throw std::runtime_error("loopback server cannot listen on " + address + ":" +
                             std::to_string(port) + ": " + std::strerror(err));
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  accept_thread_ = std::thread([this] { accept_loop(); });
}

LoopbackServer::~LoopbackServer() {
  stopping_ = true;
  accept_thread_.join();
  ::close(listen_fd_);
  std::list<std::unique_ptr<Connection>> conns;
  {
    std::lock_guard lock(conn_mu_);
    conns.swap(connections_);
  }
  for (auto& c : conns) {
    ::shutdown(c->fd, SHUT_RDWR);  // unblocks a send() into a client that stopped reading
  }
  for (auto& c : conns) {
    c->thread.join();
    ::close(c->fd);
  }
}

std::string LoopbackServer::url(const std::string& path) const {
  return "http://" + address_ + ":" + std::to_string(port_) + path;
}

std::vector<HttpRequest> LoopbackServer::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

int LoopbackServer::client_closes() const {
  std::lock_guard lock(mu_);
  return client_closes_;
}

bool LoopbackServer::wait_client_closed(std::chrono::milliseconds timeout) const {
  return wait_client_closes(1, timeout);
}

bool LoopbackServer::wait_client_closes(int count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return client_closes_ >= count; });
}

void LoopbackServer::record_client_close() {
  {
    std::lock_guard lock(mu_);
    ++client_closes_;
  }
  cv_.notify_all();
}

void LoopbackServer::reap_finished() {
  std::lock_guard lock(conn_mu_);
  for (auto it = connections_.begin(); it != connections_.end();) {
    if ((*it)->done) {
      (*it)->thread.join();
      ::close((*it)->fd);
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
}

void LoopbackServer::accept_loop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, kPollMs) <= 0) {
      reap_finished();
      continue;
    }
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    reap_finished();
    auto conn = std::make_unique<Connection>();
    conn->fd = fd;
    Connection& ref = *conn;
    std::lock_guard lock(conn_mu_);
    connections_.push_back(std::move(conn));
    ref.thread = std::thread([this, &ref] {
      serve(ref);
      ref.done = true;
    });
  }
}

void LoopbackServer::serve(Connection& conn) {
  std::string buf;
  while (!stopping_) {
    HttpRequest req;
    if (!read_request(conn.fd, buf, req, stopping_)) break;
    {
      std::lock_guard lock(mu_);
      requests_.push_back(req);
    }
    Responder out(conn.fd, *this);
    out.keep_alive_ = lower(req.header("connection")) != "close";
    try {
      handler_(req, out);
    } catch (const std::exception& e) {
      if (!out.started_) out.respond(500, std::string("test handler threw: ") + e.what());
    }
    if (!out.started_ && !out.closed_ && !out.client_closed_) {
      out.respond(500, "test handler wrote no response");
    }
    if (!out.complete_ || out.closed_ || out.client_closed_ || !out.keep_alive_) break;
  }
  ::shutdown(conn.fd, SHUT_RDWR);
}

}  // namespace jarvis::test::fakes

// bench/sse_bench.cpp — server-sent-events benchmark client (not a test): opens N concurrent
// streams to GET /api/v1/sse_bench (the test-only fixture plugin sse_bench) on a running
// `jarvis serve`, each receiving E events, and measures delivery: events/s over the run (first
// byte of the first stream to the last `done`) and the latency of every event (the send time the
// producer wrote into its data, steady clock = CLOCK_MONOTONIC, shared by both processes, to its
// receipt here). A stream answered 503 (handler pool queue full while N requests arrive at once)
// is retried after 10 ms and counted. Built and run by bench/sse.sh.
//
//   sse_bench --port 8000 [--streams 1000] [--events 100] [--interval-ms 20]
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>
#include <cerrno>

namespace {

using Clock = std::chrono::steady_clock;

long long now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

struct Stream {
  int fd = -1;
  std::string buf;
  bool head_done = false;
  bool finished = false;
  int status = 0;
  long long events = 0;
  std::string line_acc;  // SSE bytes after dechunking, up to the next line break
  // chunk decoder state
  std::size_t chunk_left = 0;
  bool in_chunk_data = false;
  bool need_crlf = false;
};

struct Options {
  int port = 8000;
  int streams = 1000;
  int events = 100;
  int interval_ms = 20;
};

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (k == "--port")
      o.port = v;
    else if (k == "--streams")
      o.streams = v;
    else if (k == "--events")
      o.events = v;
    else if (k == "--interval-ms")
      o.interval_ms = v;
  }
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &rl);

  const std::string request = "GET /api/v1/sse_bench?events=" + std::to_string(o.events) +
                              "&interval_ms=" + std::to_string(o.interval_ms) +
                              " HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n";
  int ep = ::epoll_create1(0);
  std::vector<Stream> streams(static_cast<std::size_t>(o.streams));
  std::vector<double> latencies_ms;
  latencies_ms.reserve(static_cast<std::size_t>(o.streams) * static_cast<std::size_t>(o.events));
  long long retries = 0, failed = 0, finished = 0;
  long long first_byte_ns = 0, last_done_ns = 0;

  auto open = [&](std::size_t i) {
    Stream& s = streams[i];
    s = Stream{};
    s.fd = connect_to(o.port);
    if (s.fd < 0) return false;
    ::send(s.fd, request.data(), request.size(), MSG_NOSIGNAL);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, s.fd, &ev);
    return true;
  };

  // One SSE line (dechunked): "data: <seq> <ns>" is a tick; "event: done" ends the stream.
  auto on_line = [&](Stream& s, const std::string& line, long long received) {
    if (line.rfind("data: ", 0) == 0) {
      const char* p = line.c_str() + 6;
      char* end = nullptr;
      std::strtoll(p, &end, 10);
      if (end && *end == ' ') {
        long long sent = std::strtoll(end + 1, nullptr, 10);
        latencies_ms.push_back(static_cast<double>(received - sent) / 1e6);
        ++s.events;
      }
    } else if (line == "event: done") {
      s.finished = true;
    }
  };

  auto feed_sse = [&](Stream& s, const char* data, std::size_t n, long long received) {
    for (std::size_t i = 0; i < n; ++i) {
      if (data[i] == '\n') {
        on_line(s, s.line_acc, received);
        s.line_acc.clear();
      } else {
        s.line_acc.push_back(data[i]);
      }
    }
  };

  // Dechunks s.buf into SSE bytes.
  auto drain = [&](Stream& s, long long received) {
    while (!s.buf.empty()) {
      if (s.need_crlf) {
        if (s.buf.size() < 2) return;
        s.buf.erase(0, 2);
        s.need_crlf = false;
      }
      if (s.in_chunk_data) {
        std::size_t take = std::min(s.chunk_left, s.buf.size());
        feed_sse(s, s.buf.data(), take, received);
        s.buf.erase(0, take);
        s.chunk_left -= take;
        if (s.chunk_left == 0) {
          s.in_chunk_data = false;
          s.need_crlf = true;
        }
        continue;
      }
      auto eol = s.buf.find("\r\n");
      if (eol == std::string::npos) return;
      std::size_t size = std::strtoul(s.buf.c_str(), nullptr, 16);
      s.buf.erase(0, eol + 2);
      if (size == 0) {
        s.finished = true;
        return;
      }
      s.chunk_left = size;
      s.in_chunk_data = true;
    }
  };

  for (std::size_t i = 0; i < streams.size(); ++i) {
    if (!open(i)) ++failed;
  }
  long long open_streams = o.streams - failed;
  long long started_ns = now_ns();
  std::vector<epoll_event> ready(1024);
  char tmp[65536];
  while (finished + failed < o.streams) {
    int n = ::epoll_wait(ep, ready.data(), static_cast<int>(ready.size()), 60000);
    if (n <= 0) {
      std::fprintf(stderr, "no progress for 60 s: %lld finished, %lld failed, %lld open\n",
                   finished, failed, open_streams - finished);
      break;
    }
    long long received = now_ns();
    for (int k = 0; k < n; ++k) {
      std::size_t i = ready[k].data.u64;
      Stream& s = streams[i];
      bool closed = false;
      for (;;) {
        ssize_t got = ::recv(s.fd, tmp, sizeof tmp, 0);
        if (got > 0) {
          if (first_byte_ns == 0) first_byte_ns = received;
          s.buf.append(tmp, static_cast<std::size_t>(got));
          continue;
        }
        if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) closed = true;
        break;
      }
      if (!s.head_done) {
        auto end = s.buf.find("\r\n\r\n");
        if (end != std::string::npos) {
          s.status = std::atoi(s.buf.c_str() + 9);
          s.head_done = true;
          s.buf.erase(0, end + 4);
          if (s.status == 503) {  // handler pool queue full: retry shortly
            ::epoll_ctl(ep, EPOLL_CTL_DEL, s.fd, nullptr);
            ::close(s.fd);
            ++retries;
            ::usleep(10000);
            if (!open(i)) ++failed;
            continue;
          }
          if (s.status != 200) {
            std::fprintf(stderr, "stream %zu: status %d\n", i, s.status);
            closed = true;
            s.finished = true;
          }
        }
      }
      if (s.head_done && s.status == 200) drain(s, received);
      if (s.finished || closed) {
        ::epoll_ctl(ep, EPOLL_CTL_DEL, s.fd, nullptr);
        ::close(s.fd);
        s.fd = -1;
        if (s.events == o.events) {
          ++finished;
          last_done_ns = received;
        } else {
          ++failed;
          std::fprintf(stderr, "stream %zu ended after %lld of %d events\n", i, s.events, o.events);
        }
      }
    }
  }
  long long total = 0;
  for (const auto& s : streams) total += s.events;
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto pct = [&](double p) {
    if (latencies_ms.empty()) return 0.0;
    std::size_t at = static_cast<std::size_t>(p * static_cast<double>(latencies_ms.size() - 1));
    return latencies_ms[at];
  };
  double secs =
      static_cast<double>(last_done_ns - (first_byte_ns ? first_byte_ns : started_ns)) / 1e9;
  std::printf("streams %d (complete %lld, failed %lld, 503 retries %lld), events %lld\n", o.streams,
              finished, failed, retries, total);
  std::printf("delivery %.2f s: %.0f events/s\n", secs,
              secs > 0 ? static_cast<double>(total) / secs : 0.0);
  std::printf("latency ms: p50 %.2f  p99 %.2f  max %.2f\n", pct(0.50), pct(0.99),
              latencies_ms.empty() ? 0.0 : latencies_ms.back());
  return failed == 0 ? 0 : 1;
}

// bench/chat_bench.cpp — chat step benchmark client (not a test): measures one agent step of a
// running `jarvis serve` (chat plugin, the fake OpenAI server as its provider) against the same
// fake called directly, in the same run. Built and run by bench/chat.sh.
//
//   chat_bench --host-port P --fake-port F --token T [--steps 300] [--concurrency 50]
//              [--duration 10] [--slow 10]
//
// Phases (sequential; the fake answers instantly unless scripted):
//   1. latency: `--steps` steps one after another. Through the host: POST /threads/{id}/messages
//      with Accept: text/event-stream; t0 = the response head (sent after the user message and its
//      task are committed), first token = t0 → first `delta`, done = t0 → `done`. Direct: POST
//      {fake}/v1/chat/completions stream=true; first token = request sent → first content delta,
//      done = → [DONE]. The host's overhead is the difference of the two at the same percentile.
//   2. throughput: `--concurrency` clients for `--duration` s, each with its own chat thread,
//      steps back to back (host), or streamed completions back to back (direct).
//   3. a ~1 s streamed reply (20 deltas 50 ms apart, scripted on the fake), `--slow` times each
//      way: request sent → done / [DONE]; the host's share of it in percent.
// Every request uses a fresh connection (both ways). Threads are rotated every 10 steps so the
// prompt (the thread's history) stays small.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

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
  return fd;
}

// One HTTP/1.1 exchange on a fresh connection, reading the (chunked or length-delimited or
// until-close) body incrementally; `on_line` gets each body line (SSE) as it arrives and returns
// false to stop. Times: sent, head (status line + headers received).
struct Exchange {
  int status = 0;
  std::string head;
  std::string body;  // kept only when keep_body
  Clock::time_point sent, head_at;
  bool ok = false;
};

Exchange exchange(int port, const std::string& request, bool keep_body,
                  const std::function<bool(const std::string&)>& on_line) {
  Exchange ex;
  int fd = connect_to(port);
  if (fd < 0) return ex;
  ex.sent = Clock::now();
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return ex;
  }
  std::string buf, line;
  bool head_done = false, chunked = false, stop = false;
  long long content_left = -1;
  std::size_t chunk_left = 0;
  bool in_chunk = false, need_crlf = false;
  char tmp[16384];
  auto feed = [&](const char* p, std::size_t n) {
    if (keep_body) ex.body.append(p, n);
    for (std::size_t i = 0; i < n && !stop; ++i) {
      if (p[i] == '\n') {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (on_line && !on_line(line)) stop = true;
        line.clear();
      } else {
        line.push_back(p[i]);
      }
    }
  };
  while (!stop) {
    ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) break;
    buf.append(tmp, static_cast<std::size_t>(n));
    if (!head_done) {
      auto end = buf.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      ex.head_at = Clock::now();
      ex.head = buf.substr(0, end);
      buf.erase(0, end + 4);
      head_done = true;
      ex.status = std::atoi(ex.head.c_str() + 9);
      std::string lower = ex.head;
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      chunked = lower.find("transfer-encoding: chunked") != std::string::npos;
      if (auto cl = lower.find("content-length:"); cl != std::string::npos) {
        content_left = std::atoll(lower.c_str() + cl + 15);
      }
    }
    if (!chunked) {
      feed(buf.data(), buf.size());
      if (content_left >= 0) {
        content_left -= static_cast<long long>(buf.size());
        if (content_left <= 0) stop = true;
      }
      buf.clear();
      continue;
    }
    for (;;) {
      if (need_crlf) {
        if (buf.size() < 2) break;
        buf.erase(0, 2);
        need_crlf = false;
      }
      if (in_chunk) {
        std::size_t take = std::min(chunk_left, buf.size());
        feed(buf.data(), take);
        buf.erase(0, take);
        chunk_left -= take;
        if (chunk_left > 0) break;
        in_chunk = false;
        need_crlf = true;
        continue;
      }
      auto eol = buf.find("\r\n");
      if (eol == std::string::npos) break;
      chunk_left = std::strtoull(buf.c_str(), nullptr, 16);
      buf.erase(0, eol + 2);
      if (chunk_left == 0) {
        stop = true;
        break;
      }
      in_chunk = true;
    }
  }
  ::close(fd);
  ex.ok = head_done;
  return ex;
}

std::string http_request(const std::string& method, const std::string& path,
                         const std::string& body, const std::string& extra_headers) {
  std::string r =
      method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extra_headers;
  if (!body.empty() || method == "POST") {
    r +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return r + "\r\n" + body;
}

struct Options {
  int host_port = 0, fake_port = 0;
  std::string token;
  int steps = 300, concurrency = 50, duration = 10, slow = 10;
};

struct Sample {
  double first_ms = -1, done_ms = -1, total_ms = -1;  // total: request sent → done
  bool ok = false;
};

// A new chat thread on the host; "" on failure.
std::string new_thread(const Options& o) {
  Exchange ex = exchange(o.host_port,
                         http_request("POST", "/api/v1/threads", R"({"channel":"cli"})",
                                      "Authorization: Bearer " + o.token + "\r\n"),
                         true, nullptr);
  auto p = ex.body.find("\"id\":\"");
  if (ex.status != 201 || p == std::string::npos) return "";
  return ex.body.substr(p + 6, ex.body.find('"', p + 6) - p - 6);
}

Sample host_step(const Options& o, const std::string& thread, int n) {
  Sample s;
  std::string body = R"({"content":"benchmark message )" + std::to_string(n) + "\"}";
  std::string ev;
  Clock::time_point first{}, done{};
  bool got_first = false;
  Exchange ex = exchange(
      o.host_port,
      http_request("POST", "/api/v1/threads/" + thread + "/messages", body,
                   "Authorization: Bearer " + o.token + "\r\nAccept: text/event-stream\r\n"),
      false, [&](const std::string& line) {
        if (line.rfind("event: ", 0) == 0) {
          ev = line.substr(7);
        } else if (line.rfind("data: ", 0) == 0) {
          if (ev == "delta" && !got_first) {
            got_first = true;
            first = Clock::now();
          } else if (ev == "done") {
            done = Clock::now();
            return false;
          }
        }
        return true;
      });
  if (ex.status == 200 && got_first && done != Clock::time_point{}) {
    s.ok = true;
    s.first_ms = ms_since(ex.head_at, first);
    s.done_ms = ms_since(ex.head_at, done);
    s.total_ms = ms_since(ex.sent, done);
  }
  return s;
}

Sample direct_completion(const Options& o, int n) {
  Sample s;
  // The request the host's openai provider sends for one message (a ~3 KB system prompt from
  // the main bundle, usage in the stream), so both ways get the same events from the fake.
  static const std::string system_prompt(3200, 'x');
  std::string body =
      R"({"model":"fake-model","stream":true,"stream_options":{"include_usage":true},)"
      R"("max_tokens":4096,"messages":[{"role":"system","content":")" +
      system_prompt + R"("},{"role":"user","content":"benchmark message )" + std::to_string(n) +
      "\"}]}";
  Clock::time_point first{}, done{};
  bool got_first = false;
  Exchange ex = exchange(
      o.fake_port,
      http_request("POST", "/v1/chat/completions", body, "Authorization: Bearer sk-bench\r\n"),
      false, [&](const std::string& line) {
        if (line.rfind("data: ", 0) != 0) return true;
        if (line == "data: [DONE]") {
          done = Clock::now();
          return false;
        }
        if (!got_first && line.find("\"content\":\"") != std::string::npos &&
            line.find("\"content\":\"\"") == std::string::npos) {
          got_first = true;
          first = Clock::now();
        }
        return true;
      });
  if (ex.status == 200 && got_first && done != Clock::time_point{}) {
    s.ok = true;
    s.first_ms = ms_since(ex.sent, first);
    s.done_ms = ms_since(ex.sent, done);
    s.total_ms = s.done_ms;
  }
  return s;
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  std::size_t i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

std::vector<double> field(const std::vector<Sample>& s, double Sample::*f) {
  std::vector<double> out;
  for (const auto& x : s) {
    if (x.ok) out.push_back(x.*f);
  }
  return out;
}

int failures(const std::vector<Sample>& s) {
  return static_cast<int>(std::count_if(s.begin(), s.end(), [](const Sample& x) { return !x.ok; }));
}

// Scripts `n` replies of ~1 s (20 deltas, 50 ms apart) on the fake.
bool script_slow(const Options& o, int n) {
  std::string one =
      R"({"kind":"text","text":"one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty","chunks":20,"chunk_delay_ms":50})";
  std::string arr = "[";
  for (int i = 0; i < n; ++i) arr += (i ? "," : "") + one;
  arr += "]";
  Exchange ex =
      exchange(o.fake_port, http_request("POST", "/_fake/script", arr, ""), true, nullptr);
  return ex.status == 200;
}

// `clients` threads doing `work(client, n)` back to back for `seconds`; completed per second.
double throughput(int clients, int seconds, const std::function<bool(int, int)>& work,
                  int& failed) {
  std::atomic<long long> done{0}, bad{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> ts;
  auto start = Clock::now();
  for (int c = 0; c < clients; ++c) {
    ts.emplace_back([&, c] {
      for (int n = 0; !stop.load(); ++n) {
        if (work(c, n)) {
          ++done;
        } else {
          ++bad;
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (auto& t : ts) t.join();
  double secs = ms_since(start, Clock::now()) / 1000.0;
  failed = static_cast<int>(bad.load());
  return static_cast<double>(done.load()) / secs;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--host-port") o.host_port = std::atoi(v.c_str());
    if (k == "--fake-port") o.fake_port = std::atoi(v.c_str());
    if (k == "--token") o.token = v;
    if (k == "--steps") o.steps = std::atoi(v.c_str());
    if (k == "--concurrency") o.concurrency = std::atoi(v.c_str());
    if (k == "--duration") o.duration = std::atoi(v.c_str());
    if (k == "--slow") o.slow = std::atoi(v.c_str());
  }
  if (!o.host_port || !o.fake_port || o.token.empty()) {
    std::fprintf(stderr, "usage: chat_bench --host-port P --fake-port F --token T [...]\n");
    return 2;
  }

  // Warm-up: a few of each (connections, the first prompt build, SQLite pages).
  std::string thread = new_thread(o);
  if (thread.empty()) {
    std::fprintf(stderr, "chat_bench: cannot create a thread on the host\n");
    return 1;
  }
  for (int i = 0; i < 10; ++i) {
    direct_completion(o, i);
    host_step(o, thread, i);
  }

  // 1. latency, one step at a time, direct and host interleaved.
  std::vector<Sample> direct, host;
  for (int i = 0; i < o.steps; ++i) {
    if (i % 10 == 0) thread = new_thread(o);
    direct.push_back(direct_completion(o, i));
    host.push_back(host_step(o, thread, i));
  }
  auto d_first = field(direct, &Sample::first_ms), d_done = field(direct, &Sample::done_ms);
  auto h_first = field(host, &Sample::first_ms), h_done = field(host, &Sample::done_ms);
  std::printf("latency, %d sequential steps (ms)       p50      p99      max\n", o.steps);
  std::printf("  direct fake  first token         %8.2f %8.2f %8.2f\n", pct(d_first, 50),
              pct(d_first, 99), pct(d_first, 100));
  std::printf("  direct fake  [DONE]              %8.2f %8.2f %8.2f\n", pct(d_done, 50),
              pct(d_done, 99), pct(d_done, 100));
  std::printf("  host  stored -> first delta      %8.2f %8.2f %8.2f\n", pct(h_first, 50),
              pct(h_first, 99), pct(h_first, 100));
  std::printf("  host  stored -> done             %8.2f %8.2f %8.2f\n", pct(h_done, 50),
              pct(h_done, 99), pct(h_done, 100));
  std::printf("  host overhead, first token       %8.2f %8.2f   (target p99 <= 10 ms: %s)\n",
              pct(h_first, 50) - pct(d_first, 50), pct(h_first, 99) - pct(d_first, 99),
              pct(h_first, 99) - pct(d_first, 99) <= 10.0 ? "met" : "NOT met");
  std::printf("  host overhead, done              %8.2f %8.2f\n", pct(h_done, 50) - pct(d_done, 50),
              pct(h_done, 99) - pct(d_done, 99));
  std::printf("  failed: direct %d, host %d\n", failures(direct), failures(host));

  // 2. throughput with `concurrency` clients.
  std::vector<std::string> threads(static_cast<std::size_t>(o.concurrency));
  for (auto& t : threads) t = new_thread(o);
  int d_failed = 0, h_failed = 0;
  double d_rate = throughput(
      o.concurrency, o.duration, [&](int, int n) { return direct_completion(o, n).ok; }, d_failed);
  std::mutex mu;
  double h_rate = throughput(
      o.concurrency, o.duration,
      [&](int c, int n) {
        std::string t;
        if (n > 0 && n % 10 == 0) {
          std::string fresh = new_thread(o);
          std::lock_guard lock(mu);
          if (!fresh.empty()) threads[static_cast<std::size_t>(c)] = fresh;
        }
        {
          std::lock_guard lock(mu);
          t = threads[static_cast<std::size_t>(c)];
        }
        return host_step(o, t, n).ok;
      },
      h_failed);
  std::printf("throughput, %d concurrent clients, %d s\n", o.concurrency, o.duration);
  std::printf("  direct fake  %9.1f completions/s (failed %d)\n", d_rate, d_failed);
  std::printf("  host         %9.1f steps/s       (failed %d)\n", h_rate, h_failed);

  // 3. a ~1 s streamed reply.
  std::vector<Sample> d_slow, h_slow;
  if (!script_slow(o, o.slow)) std::fprintf(stderr, "chat_bench: scripting the fake failed\n");
  for (int i = 0; i < o.slow; ++i) d_slow.push_back(direct_completion(o, i));
  if (!script_slow(o, o.slow)) std::fprintf(stderr, "chat_bench: scripting the fake failed\n");
  for (int i = 0; i < o.slow; ++i) {
    if (i % 10 == 0) thread = new_thread(o);
    h_slow.push_back(host_step(o, thread, i));
  }
  auto ds = field(d_slow, &Sample::total_ms), hs = field(h_slow, &Sample::total_ms);
  double share = (pct(hs, 50) - pct(ds, 50)) / pct(ds, 50) * 100.0;
  std::printf("~1 s streamed reply (20 deltas, 50 ms apart), %d each (ms)  p50      max\n", o.slow);
  std::printf("  direct fake  sent -> [DONE]      %8.1f %8.1f\n", pct(ds, 50), pct(ds, 100));
  std::printf("  host         sent -> done        %8.1f %8.1f\n", pct(hs, 50), pct(hs, 100));
  std::printf("  host adds %.2f %% (target <= 5 %%: %s); failed: direct %d, host %d\n", share,
              share <= 5.0 ? "met" : "NOT met", failures(d_slow), failures(h_slow));
  return 0;
}

// bench/ws_fanout.cpp — WebSocket fan-out benchmark client (not a test): opens N connections to a
// running `jarvis serve` as an admin, subscribes each to the system channel, then toggles the
// lockdown with POST /api/v1/system/lockdown R times. Every toggle emits one system event
// (lockdown.triggered / lockdown.cleared) that all N clients receive; the delivery latency of a
// client is the time from sending the POST to that client receiving the event. Prints p50, p99
// and max over all N × R deliveries. Built and run by bench/ws_fanout.sh.
//
//   ws_fanout --port 8000 --token TOKEN [--clients 1000] [--rounds 5]
#include <utility>  // before Asio/Beast

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Shared {
  std::string token;
  std::atomic<int> ready{0};
  std::atomic<int> failed{0};
  std::atomic<long long> round_start_ns{0};
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::atomic<int> delivered{0};
};

long long now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

/// One subscribed client: connect, handshake, wait for auth.ok, subscribe_system, then read
/// forever and time every lockdown.* push.
class Subscriber : public std::enable_shared_from_this<Subscriber> {
 public:
  Subscriber(net::io_context& ioc, Shared& shared, tcp::endpoint ep)
      : ws_(net::make_strand(ioc)), shared_(shared), ep_(ep) {}

  void start() {
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(60));
    beast::get_lowest_layer(ws_).async_connect(
        ep_, [self = shared_from_this()](beast::error_code ec) {
          if (ec) return self->fail("connect", ec);
          beast::get_lowest_layer(self->ws_).expires_never();
          self->ws_.set_option(websocket::stream_base::decorator(
              [t = self->shared_.token](websocket::request_type& r) {
                r.set(http::field::authorization, "Bearer " + t);
              }));
          self->ws_.async_handshake("127.0.0.1", "/ws", [self](beast::error_code ec2) {
            if (ec2) return self->fail("handshake", ec2);
            self->read();
          });
        });
  }

 private:
  void fail(const char* what, beast::error_code ec) {
    if (shared_.failed++ < 5) std::cerr << "client " << what << ": " << ec.message() << "\n";
  }

  void read() {
    ws_.async_read(buf_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->fail("read", ec);
      long long at = now_ns();
      std::string msg = beast::buffers_to_string(self->buf_.data());
      self->buf_.consume(self->buf_.size());
      if (msg.find("\"auth.ok\"") != std::string::npos) {
        self->send(R"({"action":"subscribe_system"})");
      } else if (msg.find("\"subscribed.system\"") != std::string::npos) {
        ++self->shared_.ready;
      } else if (msg.find("\"lockdown.") != std::string::npos &&
                 msg.find("\"lockdown.code_rotated\"") == std::string::npos) {
        double ms = static_cast<double>(at - self->shared_.round_start_ns.load()) / 1e6;
        {
          std::lock_guard lock(self->shared_.mu);
          self->shared_.latencies_ms.push_back(ms);
        }
        ++self->shared_.delivered;
      }
      self->read();
    });
  }

  void send(std::string text) {
    auto msg = std::make_shared<std::string>(std::move(text));
    ws_.async_write(net::buffer(*msg),
                    [self = shared_from_this(), msg](beast::error_code ec, std::size_t) {
                      if (ec) self->fail("write", ec);
                    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buf_;
  Shared& shared_;
  tcp::endpoint ep_;
};

int post_lockdown(const tcp::endpoint& ep, const std::string& token, bool on) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(ep);
  http::request<http::string_body> req{http::verb::post, "/api/v1/system/lockdown", 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::authorization, "Bearer " + token);
  req.set(http::field::content_type, "application/json");
  req.body() = on ? R"({"lockdown":true,"reason":"bench"})" : R"({"lockdown":false})";
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer b;
  http::response<http::string_body> res;
  http::read(stream, b, res);
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return res.result_int();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  int port = 8000, clients = 1000, rounds = 5;
  Shared shared;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--port")
      port = std::atoi(argv[i + 1]);
    else if (k == "--token")
      shared.token = argv[i + 1];
    else if (k == "--clients")
      clients = std::atoi(argv[i + 1]);
    else if (k == "--rounds")
      rounds = std::atoi(argv[i + 1]);
  }
  if (shared.token.empty()) {
    std::cerr << "usage: ws_fanout --port P --token ADMIN_TOKEN [--clients N] [--rounds R]\n";
    return 2;
  }
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);

  tcp::endpoint ep(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port));
  net::io_context ioc;
  auto guard = net::make_work_guard(ioc);
  std::thread runner([&] { ioc.run(); });
  for (int i = 0; i < clients; ++i) std::make_shared<Subscriber>(ioc, shared, ep)->start();
  auto deadline = Clock::now() + std::chrono::seconds(120);
  while (shared.ready.load() + shared.failed.load() < clients && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::printf("subscribed: %d / %d (failed %d)\n", shared.ready.load(), clients,
              shared.failed.load());
  int subscribed = shared.ready.load();

  // The server starts unlocked or locked; make sure the first toggle changes the state.
  post_lockdown(ep, shared.token, false);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  shared.delivered = 0;
  {
    std::lock_guard lock(shared.mu);
    shared.latencies_ms.clear();
  }
  for (int r = 0; r < rounds; ++r) {
    int before = shared.delivered.load();
    shared.round_start_ns = now_ns();
    int status = post_lockdown(ep, shared.token, r % 2 == 0);
    if (status != 200) std::fprintf(stderr, "POST /api/v1/system/lockdown -> %d\n", status);
    auto until = Clock::now() + std::chrono::seconds(30);
    while (shared.delivered.load() - before < subscribed && Clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (rounds % 2 == 1) post_lockdown(ep, shared.token, false);
  std::vector<double> lat;
  {
    std::lock_guard lock(shared.mu);
    lat = shared.latencies_ms;
  }
  std::printf("deliveries: %zu (expected %d)\n", lat.size(), subscribed * rounds);
  std::printf("latency ms: p50 %.2f  p99 %.2f  max %.2f\n", percentile(lat, 0.5),
              percentile(lat, 0.99), lat.empty() ? 0.0 : *std::max_element(lat.begin(), lat.end()));
  guard.reset();
  ioc.stop();
  runner.join();
  return lat.size() == static_cast<std::size_t>(subscribed) * static_cast<std::size_t>(rounds) ? 0
                                                                                               : 1;
}

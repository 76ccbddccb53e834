// tests/security/http_handler_pool_test.cpp — issue 8 finding 7: /healthz (and the other inline
// system routes) must never queue behind application handlers. Slow handlers occupy the bounded
// handler pool; the I/O threads keep answering /healthz; a full pool answers 503 `overloaded` with
// Retry-After instead of queueing without bound. No timing: the slow handler waits on a gate the
// test opens, and the test waits on the server's own counters.
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http/dispatcher.h"
#include "http/router.h"
#include "http/server.h"
#include "observability/metrics.h"
#include "support/raw_http_client.h"
#include "support/support.h"

namespace http_handler_pool_test {

using jarvis::host::Dispatcher;
using jarvis::host::HttpServer;
using jarvis::host::MetricsRegistry;
using jarvis::host::Owner;
using jarvis::host::RouteExecution;
using jarvis::host::Router;
using jarvis::host::ServerOptions;
using jarvis::test::RawHttpClient;

namespace {

// Blocks handlers until opened.
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return open_; });
  }
  void open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

jarvis::RouteSpec route(const std::string& path, jarvis::RouteHandler h) {
  jarvis::RouteSpec s;
  s.method = "GET";
  s.path = path;
  s.auth = jarvis::Auth::Public;
  s.handler = std::move(h);
  return s;
}

using jarvis::test::eventually;

class HttpHandlerPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router.add(
        Owner{},
        route("/healthz", [](jarvis::Request&) { return jarvis::Response::text(200, "ok"); }),
        RouteExecution::IoThread);
    router.add(Owner{}, route("/slow", [this](jarvis::Request&) {
                 gate.wait();
                 return jarvis::Response::text(200, "slow");
               }));
    router.add(Owner{}, route("/fast", [](jarvis::Request&) {
                 return jarvis::Response::text(200, "fast");
               }));
  }
  void TearDown() override {
    gate.open();
    if (server) server->shutdown(std::chrono::seconds(5));
  }

  void start(std::size_t handler_threads, std::size_t queue) {
    ServerOptions o;
    o.port = 0;
    o.threads = 2;  // as many I/O threads as this machine's cores
    o.handler_threads = handler_threads;
    o.handler_queue = queue;
    server = std::make_unique<HttpServer>(o, dispatcher);
    server->start();
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server->port()) + path;
  }

  Gate gate;
  Router router;
  MetricsRegistry metrics;
  Dispatcher dispatcher{router, metrics};
  std::unique_ptr<HttpServer> server;
};

TEST_F(HttpHandlerPoolTest, Finding7_HealthzAnswersWhileEveryHandlerIsBusy) {
  start(2, 1);
  // More slow requests than I/O threads: before the pool they blocked both I/O threads.
  std::vector<std::unique_ptr<RawHttpClient>> slow;
  for (int i = 0; i < 2; ++i) {
    slow.push_back(std::make_unique<RawHttpClient>(server->port()));
    slow.back()->send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
  }
  ASSERT_TRUE(eventually([&] { return server->stats().handler_busy == 2; }));
  slow.push_back(std::make_unique<RawHttpClient>(server->port()));
  slow.back()->send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(eventually([&] { return server->stats().handler_queued == 1; }));

  // Liveness is answered on the I/O thread, not behind the handlers.
  for (int i = 0; i < 5; ++i) {
    auto health = jarvis::test::http("GET", url("/healthz"));
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(health.body, "ok");
  }

  // Pool and queue are full: a further request is refused at once.
  auto over = jarvis::test::http("GET", url("/fast"));
  EXPECT_EQ(over.status, 503);
  EXPECT_EQ(over.headers["retry-after"], "1");
  auto body = nlohmann::json::parse(over.body);
  EXPECT_EQ(body["error"]["code"], "overloaded");
  EXPECT_FALSE(body["error"]["request_id"].get<std::string>().empty());

  // Once the handlers finish, every held request gets its answer and the pool serves again.
  gate.open();
  for (auto& c : slow) {
    auto r = c->read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "slow");
  }
  EXPECT_EQ(jarvis::test::http("GET", url("/fast")).status, 200);
}

TEST_F(HttpHandlerPoolTest, Finding7_ShutdownDrainsQueuedHandlers) {
  start(1, 4);
  std::vector<std::unique_ptr<RawHttpClient>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<RawHttpClient>(server->port()));
    held.back()->send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
  }
  ASSERT_TRUE(eventually([&] {
    auto st = server->stats();
    return st.handler_busy == 1 && st.handler_queued == 2;
  }));
  // Shut down while one handler runs and two wait: all three are answered before it returns.
  std::thread stopper([this] { server->shutdown(std::chrono::seconds(10)); });
  gate.open();
  stopper.join();
  for (auto& c : held) {
    auto r = c->read_response();
    EXPECT_EQ(r.status, 200);
  }
}

}  // namespace

}  // namespace http_handler_pool_test

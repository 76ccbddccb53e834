// tests/security/http_connections_test.cpp — issue 8 finding 6: open connections are bounded
// globally and per client address; at a cap the oldest idle connection is shed (or a new one is
// refused at once), so a client from another address is still served while one address floods.
// Upgraded connections keep their place. The last test runs the real `jarvis serve` and checks
// the caps, the fd limit and the count in /readyz. Small caps via options/env; no timing.
#include <utility>  // before Asio/Beast (Boost 1.74 + GCC 12 + C++20)

#include <sys/resource.h>

#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http/connection_limits.h"
#include "http/dispatcher.h"
#include "http/router.h"
#include "http/server.h"
#include "http/upgrade.h"

#include <boost/asio/post.hpp>
#include "observability/metrics.h"
#include "support/raw_http_client.h"
#include "support/support.h"

namespace http_connections_test {

using jarvis::host::ConnectionCaps;
using jarvis::host::ConnectionLimiter;
using jarvis::host::Dispatcher;
using jarvis::host::HttpServer;
using jarvis::host::MetricsRegistry;
using jarvis::host::Owner;
using jarvis::host::RouteExecution;
using jarvis::host::Router;
using jarvis::host::ServerOptions;
using jarvis::host::UpgradeConnection;
using jarvis::test::RawHttpClient;

namespace {

using jarvis::test::eventually;

jarvis::RouteSpec route(const std::string& path, jarvis::RouteHandler h) {
  jarvis::RouteSpec s;
  s.method = "GET";
  s.path = path;
  s.auth = jarvis::Auth::Public;
  s.handler = std::move(h);
  return s;
}

class HttpConnectionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router.add(
        Owner{},
        route("/healthz", [](jarvis::Request&) { return jarvis::Response::text(200, "ok"); }),
        RouteExecution::IoThread);
    router.add(Owner{}, route("/slow", [this](jarvis::Request&) {
                 release.wait();
                 return jarvis::Response::text(200, "slow");
               }));
  }
  void TearDown() override {
    if (!released) opener.set_value();
    if (server) server->shutdown(std::chrono::seconds(5));
  }

  void start(std::size_t max_total, std::size_t max_per_ip) {
    ServerOptions o;
    o.port = 0;
    o.threads = 2;
    o.max_connections = max_total;
    o.max_connections_per_ip = max_per_ip;
    server = std::make_unique<HttpServer>(o, dispatcher);
    if (upgrade) server->set_upgrade_handler("/ws", upgrade);
    server->start();
  }

  // A request from `source` on a fresh connection; the status, or 0 when refused without one.
  int get_from(const char* source, const std::string& path = "/healthz") {
    RawHttpClient c(server->port(), source);
    if (!c.connected()) return 0;
    c.send("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n");
    return c.read_response().status;
  }

  std::promise<void> opener;
  std::shared_future<void> release = opener.get_future().share();
  bool released = false;
  jarvis::host::UpgradeHandler upgrade;
  Router router;
  MetricsRegistry metrics;
  Dispatcher dispatcher{router, metrics};
  std::unique_ptr<HttpServer> server;
};

TEST_F(HttpConnectionsTest, Finding6_PerAddressCapShedsTheOldestIdleAndOthersAreServed) {
  start(100, 5);
  // 127.0.0.1 floods with connections that never send a request.
  std::vector<std::unique_ptr<RawHttpClient>> flood;
  for (int i = 0; i < 20; ++i) {
    flood.push_back(std::make_unique<RawHttpClient>(server->port(), "127.0.0.1"));
    ASSERT_TRUE(flood.back()->connected());
  }
  ASSERT_TRUE(eventually([&] { return server->stats().connections_shed >= 15; }));
  EXPECT_LE(server->stats().connections, 5u);
  // The oldest were shed (closed by the server), the newest are still open.
  EXPECT_TRUE(flood.front()->closed_by_peer());
  // Another address is answered while the flood holds its cap.
  EXPECT_EQ(get_from("127.0.0.2"), 200);
  // The flooding address itself still gets in (its oldest idle connection makes room).
  EXPECT_EQ(get_from("127.0.0.1"), 200);
}

TEST_F(HttpConnectionsTest, Finding6_GlobalCapShedsIdleConnectionsForANewClient) {
  start(10, 10);
  std::vector<std::unique_ptr<RawHttpClient>> flood;
  for (int i = 0; i < 10; ++i) {
    flood.push_back(std::make_unique<RawHttpClient>(server->port(), "127.0.0.1"));
  }
  ASSERT_TRUE(eventually([&] { return server->stats().connections == 10; }));
  EXPECT_EQ(get_from("127.0.0.2"), 200);
  EXPECT_EQ(get_from("127.0.0.3"), 200);
  EXPECT_LE(server->stats().connections, 10u);
  EXPECT_GE(server->stats().connections_shed, 1u);
}

TEST_F(HttpConnectionsTest, Finding6_BusyConnectionsAreNotShedNewOnesAreRefusedAtOnce) {
  start(3, 3);
  std::vector<std::unique_ptr<RawHttpClient>> busy;
  for (int i = 0; i < 3; ++i) {
    busy.push_back(std::make_unique<RawHttpClient>(server->port(), "127.0.0.1"));
    busy.back()->send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
  }
  ASSERT_TRUE(eventually([&] { return server->stats().handler_busy == 3; }));
  // Every place holds a request in progress: nothing to shed, the newcomer is refused with a
  // minimal 503 and closed (never left waiting).
  {
    RawHttpClient c(server->port(), "127.0.0.2");
    auto r = c.read_response();
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.headers["retry-after"], "1");
    EXPECT_NE(r.body.find("too_many_connections"), std::string::npos);
    EXPECT_TRUE(c.closed_by_peer());
  }
  EXPECT_GE(server->stats().connections_refused, 1u);
  opener.set_value();
  released = true;
  for (auto& c : busy) EXPECT_EQ(c->read_response().status, 200);
  busy.clear();
  EXPECT_TRUE(eventually([&] { return server->stats().connections == 0; }));
  EXPECT_EQ(get_from("127.0.0.2"), 200);
}

TEST_F(HttpConnectionsTest, Finding6_UpgradedConnectionsKeepTheirPlace) {
  std::promise<void> upgraded;
  std::unique_ptr<UpgradeConnection> held;
  upgrade = [&](std::unique_ptr<UpgradeConnection> conn) {
    held = std::move(conn);  // the "engine" keeps the connection (and its slot)
    upgraded.set_value();
  };
  start(10, 2);
  RawHttpClient ws(server->port(), "127.0.0.1");
  ws.send("GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
  upgraded.get_future().wait();
  EXPECT_EQ(server->stats().connections, 1u);
  EXPECT_EQ(server->stats().max_connections_per_ip, 2u);
  // The upgraded connection is never shed as idle: a flood from its address sheds only idle ones.
  std::vector<std::unique_ptr<RawHttpClient>> flood;
  for (int i = 0; i < 5; ++i) {
    flood.push_back(std::make_unique<RawHttpClient>(server->port(), "127.0.0.1"));
  }
  ASSERT_TRUE(eventually([&] { return server->stats().connections_shed >= 4; }));
  EXPECT_EQ(server->stats().connections, 2u);
  EXPECT_TRUE(held && held->slot);
  // Destroying the upgraded connection frees its place.
  boost::asio::post(held->stream.get_executor(), [&held] { held.reset(); });
  EXPECT_TRUE(eventually([&] { return server->stats().connections == 1; }));
}

TEST(ConnectionLimiterTest, Finding6_ShedsOldestIdleFirstAndRefusesWhenNoneIsIdle) {
  auto limiter =
      std::make_shared<ConnectionLimiter>(ConnectionCaps{.max_total = 3, .max_per_ip = 2});
  std::vector<int> shed;
  std::vector<std::function<void()>> to_shed;
  auto a1 = limiter->admit(
      "a", [&] { shed.push_back(1); }, to_shed);
  auto a2 = limiter->admit(
      "a", [&] { shed.push_back(2); }, to_shed);
  a1.set_idle(false);  // a1 is busy: a2 is the oldest idle of "a"
  auto a3 = limiter->admit(
      "a", [&] { shed.push_back(3); }, to_shed);
  for (auto& f : to_shed) f();
  to_shed.clear();
  EXPECT_EQ(shed, std::vector<int>{2});
  EXPECT_TRUE(a3);
  a3.set_idle(false);
  // "a" has two busy connections: a third from "a" is refused.
  auto a4 = limiter->admit(
      "a", [] {}, to_shed);
  EXPECT_FALSE(a4);
  auto b1 = limiter->admit(
      "b", [&] { shed.push_back(4); }, to_shed);
  EXPECT_TRUE(b1);
  EXPECT_EQ(limiter->count(), 3u);
  // Global cap reached: "c" sheds the oldest idle overall (b1).
  auto c1 = limiter->admit(
      "c", [] {}, to_shed);
  for (auto& f : to_shed) f();
  EXPECT_TRUE(c1);
  EXPECT_EQ(shed, (std::vector<int>{2, 4}));
  b1.release();  // already shed: no double free
  EXPECT_EQ(limiter->count(), 3u);
  a1.release();
  EXPECT_EQ(limiter->count(), 2u);
  EXPECT_EQ(limiter->count("a"), 1u);
}

// A connection shed while its request header was arriving has lost its place: marking it busy
// says so, and the server closes it instead of serving it uncounted (the caps could be escaped
// one race at a time otherwise).
TEST(ConnectionLimiterTest, Finding6_AShedConnectionCannotBecomeBusyAgain) {
  auto limiter =
      std::make_shared<ConnectionLimiter>(ConnectionCaps{.max_total = 0, .max_per_ip = 1});
  std::vector<std::function<void()>> to_shed;
  auto first = limiter->admit(
      "a", [] {}, to_shed);
  auto second = limiter->admit(
      "a", [] {}, to_shed);  // sheds `first`
  ASSERT_TRUE(second);
  EXPECT_EQ(to_shed.size(), 1u);
  EXPECT_FALSE(first.set_idle(false));
  EXPECT_TRUE(second.set_idle(false));
  EXPECT_EQ(limiter->count("a"), 1u);
}

TEST(HttpConnectionsServeTest, Finding6_ServeRaisesTheFdLimitAndReportsCapsInReadyz) {
  jarvis::test::TempDir dir;
  std::map<std::string, std::string> env{{"APP_DB", dir.file("jarvis.db")},
                                         {"JARVIS_HTTP_MAX_CONNECTIONS_PER_IP", "4"}};
  jarvis::test::ServerProcess server(dir.path(), env);
  ASSERT_TRUE(server.ready()) << server.output();
  // 127.0.0.1 holds more than its cap of idle connections …
  std::vector<std::unique_ptr<RawHttpClient>> flood;
  for (int i = 0; i < 12; ++i) {
    flood.push_back(std::make_unique<RawHttpClient>(server.port(), "127.0.0.1"));
  }
  // … and another address is answered.
  RawHttpClient other(server.port(), "127.0.0.2");
  other.send("GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n");
  auto r = other.read_response();
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = nlohmann::json::parse(r.body);
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  EXPECT_EQ(body["http"]["fd_limit"].get<std::uint64_t>(), static_cast<std::uint64_t>(rl.rlim_max));
  EXPECT_EQ(body["http"]["max_connections_per_ip"], 4);
  EXPECT_EQ(body["http"]["max_connections"].get<std::uint64_t>(),
            jarvis::host::default_max_connections(rl.rlim_max));
  EXPECT_GE(body["http"]["connections"].get<int>(), 1);
  EXPECT_LE(body["http"]["connections"].get<int>(), 5);
  EXPECT_GE(body["http"]["connections_shed"].get<int>(), 8);
  EXPECT_GE(body["http"]["handler_threads"].get<int>(), 4);
}

}  // namespace

}  // namespace http_connections_test

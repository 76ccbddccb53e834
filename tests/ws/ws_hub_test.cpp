// tests/ws/ws_hub_test.cpp — /ws end to end: the real HttpServer on 127.0.0.1 with the WsHub as
// its upgrade handler, and real Boost.Beast WebSocket clients. Time limits below only bound a
// failing test; nothing asserts on speed.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "http/dispatcher.h"
#include "http/router.h"
#include "http/server.h"
#include "observability/metrics.h"
#include "ws/ws_hub.h"
#include "support/ws_client.h"

namespace jarvis::host {
namespace {

using namespace std::chrono_literals;
using jarvis::test::WsClient;

const std::map<std::string, jarvis::Principal> kTokens = {
    {"tok-alice", {"usr_alice", "alice", jarvis::Role::User, true}},
    {"tok-bob", {"usr_bob", "bob", jarvis::Role::User, true}},
    {"tok-admin", {"usr_admin", "root", jarvis::Role::Admin, true}},
};
const std::map<std::string, std::string> kThreadOwners = {{"thr_alice", "usr_alice"},
                                                          {"thr_bob", "usr_bob"}};

/// HttpServer + Dispatcher + WsHub on a free port.
struct Server {
  explicit Server(WsOptions options = {}) : dispatcher(router, metrics) {
    hub = std::make_unique<WsHub>(
        std::move(options),
        [](const std::string& token) -> std::optional<jarvis::Principal> {
          auto it = kTokens.find(token);
          if (it == kTokens.end()) return std::nullopt;
          return it->second;
        },
        [](const jarvis::Principal& p, const std::string& thread) {
          auto it = kThreadOwners.find(thread);
          return it != kThreadOwners.end() && p.may_access(it->second);
        },
        &metrics);
    server = std::make_unique<HttpServer>(
        ServerOptions{.host = "127.0.0.1", .port = 0, .threads = 2}, dispatcher);
    server->set_upgrade_handler("/ws", hub->upgrade_handler());
    server->start();
  }
  ~Server() {
    hub->close_all(2s);
    server->shutdown(1s);
  }
  void publish(const std::string& type, const std::string& thread,
               jarvis::Json payload = jarvis::Json::object()) {
    jarvis::Event e;
    e.type = type;
    e.thread_id = thread;
    e.payload = std::move(payload);
    e.id = "evt_" + std::to_string(++seq);
    e.created_at = "2026-01-01T00:00:00.000Z";
    e.component = "test";
    hub->publish(e);
  }
  /// Polls `pred` until true or 20 s passed.
  template <class P>
  static bool eventually(P pred) {
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(5ms);
    }
    return pred();
  }

  Router router;
  MetricsRegistry metrics;
  Dispatcher dispatcher;
  std::unique_ptr<WsHub> hub;
  std::unique_ptr<HttpServer> server;
  int seq = 0;
};

std::pair<std::string, std::string> bearer(const std::string& t) {
  return {"Authorization", "Bearer " + t};
}

TEST(WsHub, BearerAuthGetsAuthOk) {
  Server s;
  WsClient c;
  ASSERT_TRUE(c.connect(s.server->port(), {bearer("tok-alice")})) << c.error;
  auto m = c.read();
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["type"], "auth.ok");
  EXPECT_EQ((*m)["user_id"], "usr_alice");
  EXPECT_EQ((*m)["role"], "user");
  EXPECT_TRUE(Server::eventually([&] { return s.hub->connection_count() == 1; }));
}

TEST(WsHub, SessionCookieAuthGetsAuthOk) {
  WsOptions o;
  o.allowed_origins = {"https://app.example.com"};
  Server s(o);
  // A cookie-authenticated handshake needs an allowed Origin (cross-site WebSocket hijacking).
  WsClient bare;
  EXPECT_FALSE(bare.connect(s.server->port(), {{"Cookie", "jarvis_session=tok-admin"}}));
  WsClient c;
  ASSERT_TRUE(c.connect(s.server->port(), {{"Cookie", "theme=dark; jarvis_session=tok-admin"},
                                           {"Origin", "https://app.example.com"}}))
      << c.error;
  auto m = c.read();
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["type"], "auth.ok");
  EXPECT_EQ((*m)["role"], "admin");
}

TEST(WsHub, QueryTokenIsRefusedWith1008EvenWithValidHeader) {
  Server s;
  WsClient c;
  ASSERT_TRUE(c.connect(s.server->port(), {bearer("tok-alice")}, "/ws?token=tok-alice")) << c.error;
  EXPECT_FALSE(c.read());
  EXPECT_EQ(c.close_code, 1008u);
  EXPECT_EQ(c.close_reason, "token in query string refused");
  EXPECT_EQ(s.hub->stats().accepted_total, 0u);
  EXPECT_EQ(s.hub->stats().refused_total, 1u);
}

TEST(WsHub, MissingOrInvalidCredentialsCloseWith1008) {
  Server s;
  WsClient none;
  ASSERT_TRUE(none.connect(s.server->port(), {})) << none.error;
  EXPECT_FALSE(none.read());
  EXPECT_EQ(none.close_code, 1008u);
  EXPECT_EQ(none.close_reason, "authentication required");
  WsClient wrong;
  ASSERT_TRUE(wrong.connect(s.server->port(), {bearer("tok-nobody")})) << wrong.error;
  EXPECT_FALSE(wrong.read());
  EXPECT_EQ(wrong.close_code, 1008u);
  EXPECT_EQ(wrong.close_reason, "invalid token");
}

TEST(WsHub, ForeignOriginIsRefusedBeforeTheUpgrade) {
  WsOptions o;
  o.allowed_origins = {"https://app.example.com"};
  Server s(o);
  uint16_t port = s.server->port();
  WsClient evil;
  EXPECT_FALSE(evil.connect(port, {bearer("tok-alice"), {"Origin", "http://evil.example"}}));
  // An Origin equal to the Host header is not trusted by itself: the server's own origins are
  // configured (WEB_PUBLIC_ORIGIN, or derived from BIND_HOST/BIND_PORT by WsOptions::from).
  WsClient own;
  EXPECT_FALSE(own.connect(
      port, {bearer("tok-alice"), {"Origin", "http://127.0.0.1:" + std::to_string(port)}}));
  WsClient listed;
  ASSERT_TRUE(listed.connect(port, {bearer("tok-alice"), {"Origin", "https://app.example.com"}}))
      << listed.error;
  ASSERT_TRUE(listed.read());
  EXPECT_EQ(s.hub->stats().refused_total, 2u);
}

TEST(WsHub, SubscribeOwnThreadReceivesItsEventsOnly) {
  Server s;
  WsClient c;
  ASSERT_TRUE(c.connect(s.server->port(), {bearer("tok-alice")})) << c.error;
  ASSERT_TRUE(c.read());  // auth.ok
  c.send(R"({"action":"subscribe","thread_id":"thr_alice"})");
  auto m = c.read();
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["type"], "subscribed");
  EXPECT_EQ((*m)["thread_id"], "thr_alice");

  s.publish("message.new", "thr_bob", {{"text", "not for alice"}});
  s.publish("agent.thinking", "", {{"x", 1}});  // a system event
  s.publish("message.new", "thr_alice", {{"text", "hello"}, {"token", "secret-value"}});
  auto ev = c.read();
  ASSERT_TRUE(ev);
  EXPECT_EQ((*ev)["type"], "message.new");
  EXPECT_EQ((*ev)["thread_id"], "thr_alice");
  EXPECT_EQ((*ev)["payload"]["text"], "hello");
  EXPECT_EQ((*ev)["payload"]["token"], "[REDACTED]");
  EXPECT_EQ((*ev)["component"], "test");
  EXPECT_TRUE(ev->contains("id"));
  EXPECT_TRUE(ev->contains("created_at"));

  c.send(R"({"action":"unsubscribe","thread_id":"thr_alice"})");
  auto u = c.read();
  ASSERT_TRUE(u);
  EXPECT_EQ((*u)["type"], "unsubscribed");
  s.publish("message.new", "thr_alice", {{"text", "after unsubscribe"}});
  c.send(R"({"action":"ping-me"})");
  auto next = c.read();  // the error answer, not the unsubscribed thread's event
  ASSERT_TRUE(next);
  EXPECT_EQ((*next)["type"], "error");
  EXPECT_EQ((*next)["detail"], "unknown action");
}

TEST(WsHub, ForeignOrMissingThreadIsForbidden) {
  Server s;
  WsClient c;
  ASSERT_TRUE(c.connect(s.server->port(), {bearer("tok-alice")})) << c.error;
  ASSERT_TRUE(c.read());
  c.send(R"({"action":"subscribe","thread_id":"thr_bob"})");
  auto m = c.read();
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["type"], "error");
  EXPECT_EQ((*m)["detail"], "forbidden");
  c.send(R"({"action":"subscribe","thread_id":"thr_nope"})");
  auto n = c.read();
  ASSERT_TRUE(n);
  EXPECT_EQ((*n)["detail"], "forbidden");
  // An admin may subscribe to anyone's thread.
  WsClient admin;
  ASSERT_TRUE(admin.connect(s.server->port(), {bearer("tok-admin")})) << admin.error;
  ASSERT_TRUE(admin.read());
  admin.send(R"({"action":"subscribe","thread_id":"thr_bob"})");
  auto a = admin.read();
  ASSERT_TRUE(a);
  EXPECT_EQ((*a)["type"], "subscribed");
}

TEST(WsHub, SystemChannelIsAdminOnly) {
  Server s;
  WsClient user;
  ASSERT_TRUE(user.connect(s.server->port(), {bearer("tok-alice")})) << user.error;
  ASSERT_TRUE(user.read());
  user.send(R"({"action":"subscribe_system"})");
  auto m = user.read();
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["type"], "error");
  EXPECT_EQ((*m)["detail"], "forbidden");

  WsClient admin;
  ASSERT_TRUE(admin.connect(s.server->port(), {bearer("tok-admin")})) << admin.error;
  ASSERT_TRUE(admin.read());
  admin.send(R"({"action":"subscribe_system"})");
  auto ok = admin.read();
  ASSERT_TRUE(ok);
  EXPECT_EQ((*ok)["type"], "subscribed.system");
  s.publish("message.new", "thr_alice");  // thread events do not go to the system channel
  s.publish("lockdown.triggered", "", {{"reason", "manual"}});
  auto ev = admin.read();
  ASSERT_TRUE(ev);
  EXPECT_EQ((*ev)["type"], "lockdown.triggered");
  EXPECT_TRUE((*ev)["thread_id"].is_null());
  EXPECT_EQ((*ev)["payload"]["reason"], "manual");
}

TEST(WsHub, MalformedMessagesGetErrorsAndTheConnectionSurvives) {
  Server s;
  WsClient c;
  ASSERT_TRUE(c.connect(s.server->port(), {bearer("tok-alice")})) << c.error;
  ASSERT_TRUE(c.read());
  c.send("{this is not json");
  auto a = c.read();
  ASSERT_TRUE(a);
  EXPECT_EQ((*a)["type"], "error");
  EXPECT_EQ((*a)["detail"], "invalid json");
  c.send(R"({"action":"subscribe"})");
  auto b = c.read();
  ASSERT_TRUE(b);
  EXPECT_EQ((*b)["detail"], "thread_id required");
  c.send(R"({"action":"launch"})");
  auto d = c.read();
  ASSERT_TRUE(d);
  EXPECT_EQ((*d)["detail"], "unknown action");
  c.send(R"({"action":"subscribe","thread_id":"thr_alice"})");
  auto e = c.read();
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["type"], "subscribed");
}

TEST(WsHub, SlowConsumerIsClosedWhileFastClientGetsEverything) {
  WsOptions o;
  o.max_queue_messages = 32;
  o.close_grace = 300ms;
  Server s(o);
  uint16_t port = s.server->port();

  WsClient slow;  // tiny receive buffer, never reads after subscribing
  ASSERT_TRUE(slow.connect(port, {bearer("tok-alice")}, "/ws", 4096)) << slow.error;
  ASSERT_TRUE(slow.read());
  slow.send(R"({"action":"subscribe","thread_id":"thr_alice"})");
  ASSERT_TRUE(slow.read());

  WsClient fast;
  ASSERT_TRUE(fast.connect(port, {bearer("tok-admin")})) << fast.error;
  ASSERT_TRUE(fast.read());
  fast.send(R"({"action":"subscribe","thread_id":"thr_alice"})");
  ASSERT_TRUE(fast.read());

  std::atomic<int> received{0};
  std::atomic<bool> in_order{true};
  std::atomic<int> expected_total{-1};
  std::thread reader([&] {
    for (;;) {
      auto m = fast.read(30s);
      if (!m) return;
      int n = (*m)["payload"]["n"].get<int>();
      if (n != received.load()) in_order = false;
      ++received;
      if (expected_total.load() == received.load()) return;
    }
  });

  const std::string filler(16 * 1024, 'x');
  int published = 0;
  auto publish_paced = [&] {
    s.publish("message.new", "thr_alice", {{"n", published}, {"filler", filler}});
    ++published;
    // Keep the fast client close behind: only the slow one falls too far back.
    Server::eventually([&] { return published - received.load() < 8; });
  };
  while (s.hub->stats().slow_consumer_closes_total == 0 && published < 20000) publish_paced();
  ASSERT_EQ(s.hub->stats().slow_consumer_closes_total, 1u) << "published " << published;
  for (int i = 0; i < 50; ++i) publish_paced();
  expected_total = published;
  reader.join();
  EXPECT_EQ(received.load(), published);
  EXPECT_TRUE(in_order.load());
  EXPECT_TRUE(Server::eventually([&] { return s.hub->connection_count() == 1; }));

  // The slow client finds its stream ended; if the close frame got through, it names the cause.
  int drained = 0;
  while (slow.read(20s)) ++drained;
  if (slow.close_code != 0) {
    EXPECT_EQ(slow.close_code, 1008u);
    EXPECT_EQ(slow.close_reason, "slow consumer");
  }
  EXPECT_LT(drained, published);
}

TEST(WsHub, KeepAlivePingsKeepAReadingClientAndDropASilentOne) {
  WsOptions o;
  o.idle_timeout = 2s;  // a ping after 1 s of silence; a peer silent for 2 s is dropped
  Server s(o);
  WsClient live;
  std::atomic<int> pings{0};
  ASSERT_TRUE(live.connect(s.server->port(), {bearer("tok-admin")})) << live.error;
  live.on_ping([&] { ++pings; });
  ASSERT_TRUE(live.read());
  live.send(R"({"action":"subscribe_system"})");
  ASSERT_TRUE(live.read());

  WsClient silent;  // never reads again, so never answers a ping
  ASSERT_TRUE(silent.connect(s.server->port(), {bearer("tok-bob")})) << silent.error;
  ASSERT_TRUE(silent.read());
  ASSERT_TRUE(Server::eventually([&] { return s.hub->connection_count() == 2; }));

  std::atomic<bool> got_event{false};
  std::thread reader([&] {
    auto m = live.read(30s);  // answers pings while waiting
    got_event = m && (*m)["type"] == "after.pings";
  });
  ASSERT_TRUE(Server::eventually([&] { return s.hub->connection_count() == 1; }))
      << "the silent client was not dropped";
  ASSERT_TRUE(Server::eventually([&] { return pings.load() >= 2; }));
  s.publish("after.pings", "");
  reader.join();
  EXPECT_TRUE(got_event.load());
}

TEST(WsHub, CloseAllSendsGoingAwayAndRefusesNewConnections) {
  Server s;
  WsClient c;
  ASSERT_TRUE(c.connect(s.server->port(), {bearer("tok-alice")})) << c.error;
  ASSERT_TRUE(c.read());
  std::thread closer([&] { s.hub->close_all(5s); });
  EXPECT_FALSE(c.read());
  closer.join();
  EXPECT_EQ(c.close_code, 1001u);
  EXPECT_EQ(c.close_reason, "server shutting down");
  EXPECT_EQ(s.hub->connection_count(), 0u);
  WsClient late;
  EXPECT_FALSE(late.connect(s.server->port(), {bearer("tok-alice")}));
}

}  // namespace
}  // namespace jarvis::host

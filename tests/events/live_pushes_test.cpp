// tests/events/live_pushes_test.cpp — transient thread pushes (ThreadRegistry::publish/listen):
// local fan-out to /ws and listeners, the size cap, cancel, nothing stored, never on an I/O
// thread, and across two hosts on a real PostgreSQL through the relay's LISTEN jarvis_live.
#include <gtest/gtest.h>

#include <utility>  // before Asio (Boost 1.74 + GCC 12 + C++20)

#include <mutex>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "db/migrations.h"
#include "db/sql_database.h"
#include "events/event_relay.h"
#include "events/io_thread.h"
#include "events/live_pushes.h"
#include "jarvis/error.h"
#include "tasks/task_test_env.h"

namespace jarvis::host {
namespace {

using namespace std::chrono_literals;
using testing::wait_until;

// Collects what a listener or the /ws sink received.
struct Inbox {
  std::mutex mu;
  std::vector<jarvis::LivePush> got;
  std::vector<std::thread::id> threads;
  void add(const jarvis::LivePush& p) {
    std::lock_guard lock(mu);
    got.push_back(p);
    threads.push_back(std::this_thread::get_id());
  }
  std::size_t size() {
    std::lock_guard lock(mu);
    return got.size();
  }
};

long long stored_events(jarvis::Database& db) {
  auto sql = db.session();
  long long n = -1;
  *sql << "SELECT COUNT(*) FROM events", soci::into(n);
  return n;
}

TEST(LivePushes, ReachTheThreadsSinkAndListenersOnlyAndAreNotStored) {
  jarvis::test::TempDir dir;
  auto db = testing::open_db(testing::Db::Sqlite, dir, 2);
  LivePushes live(db.get());
  Inbox ws, mine, other;
  live.set_ws_sink([&](const jarvis::LivePush& p) { ws.add(p); });
  auto sub =
      live.listen(Owner{"chat", {}}, "thr_1", [&](const jarvis::LivePush& p) { mine.add(p); });
  auto sub2 =
      live.listen(Owner{"chat", {}}, "thr_2", [&](const jarvis::LivePush& p) { other.add(p); });
  live.publish(Owner{"chat", {}}, "thr_1", {{"kind", "token"}, {"text", "Hel"}});
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine.got[0].thread_id, "thr_1");
  EXPECT_EQ(mine.got[0].component, "chat");
  EXPECT_EQ(mine.got[0].message["text"], "Hel");
  EXPECT_EQ(mine.threads[0], std::this_thread::get_id());  // the publisher's thread
  EXPECT_EQ(ws.size(), 1u);
  EXPECT_EQ(other.size(), 0u);
  EXPECT_EQ(stored_events(*db), 0);
  // Cancel: no more deliveries; remove_owner cancels the plugin's listeners.
  sub->cancel();
  live.publish(Owner{"chat", {}}, "thr_1", {{"n", 2}});
  EXPECT_EQ(mine.size(), 1u);
  live.remove_owner("chat");
  EXPECT_EQ(live.listener_count(), 0u);
  live.publish(Owner{"chat", {}}, "thr_2", {{"n", 3}});
  EXPECT_EQ(other.size(), 0u);
  EXPECT_EQ(ws.size(), 3u);  // /ws still gets them (its subscribers are the hub's business)
}

TEST(LivePushes, OversizeAndBadThreadIdsAreRefused) {
  LivePushes live(nullptr);
  std::string big(jarvis::kMaxLivePushBytes, 'x');  // with quotes the dump is 2 bytes over
  try {
    live.publish(Owner{"chat", {}}, "thr_1", jarvis::Json(big));
    FAIL() << "oversize push accepted";
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.status(), 413);
    EXPECT_EQ(e.code(), "push_too_large");
  }
  live.publish(Owner{"chat", {}}, "thr_1",
               jarvis::Json(std::string(jarvis::kMaxLivePushBytes - 2, 'x')));  // exactly the cap
  for (const std::string& bad : {std::string(), std::string(129, 't')}) {
    try {
      live.publish(Owner{"chat", {}}, bad, {{"a", 1}});
      FAIL() << "bad thread id accepted";
    } catch (const jarvis::Error& e) {
      EXPECT_EQ(e.code(), "invalid_field");
    }
  }
  EXPECT_EQ(live.published(), 1);
}

TEST(LivePushes, ListenersNeverRunOnAnIoThread) {
  LivePushes live(nullptr);
  Inbox inbox;
  std::mutex mu;
  bool io_in_listener = true;
  auto sub = live.listen(Owner{"chat", {}}, "thr_1", [&](const jarvis::LivePush& p) {
    {
      std::lock_guard lock(mu);
      io_in_listener = on_io_thread();
    }
    inbox.add(p);
  });
  boost::asio::io_context io;
  std::thread::id io_thread;
  boost::asio::post(io, [&] {
    io_thread = std::this_thread::get_id();
    live.publish(Owner{"ws", {}}, "thr_1", {{"n", 1}});
  });
  std::thread runner([&] { io.run(); });
  runner.join();
  ASSERT_TRUE(wait_until([&] { return inbox.size() == 1; }));
  std::lock_guard lock(inbox.mu);
  EXPECT_NE(inbox.threads[0], io_thread);
  std::lock_guard lock2(mu);
  EXPECT_FALSE(io_in_listener);
}

TEST(LivePushes, NotificationsFromOurOwnOriginOrMalformedAreIgnored) {
  EXPECT_FALSE(LivePushes::parse_notification("not json", "me"));
  EXPECT_FALSE(LivePushes::parse_notification(R"({"o":"me","c":"chat","t":"thr","m":1})", "me"));
  EXPECT_FALSE(LivePushes::parse_notification(R"({"o":"you","c":"chat","m":1})", "me"));
  auto p = LivePushes::parse_notification(R"({"o":"you","c":"chat","t":"thr","m":{"a":1}})", "me");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->thread_id, "thr");
  EXPECT_EQ(p->message["a"], 1);
}

// Two "hosts": their own pools, relays and LivePushes on one PostgreSQL database.
TEST(LivePushesPg, ReachListenersAndSinksOfOtherHostsOnceAndAreNotStored) {
  std::string url = jarvis::test::pg_fresh_database();
  ASSERT_FALSE(url.empty());
  std::string suffix = jarvis::new_id("t").substr(2, 10);
  auto db_a = SqlDatabase::open(url, 2, "live-a-" + suffix);
  MigrationRunner(*db_a).apply({{"host", std::string(JARVIS_SOURCE_DIR) + "/migrations"}});
  auto db_b = SqlDatabase::open(url, 2, "live-b-" + suffix);
  LivePushes live_a(db_a.get()), live_b(db_b.get());
  Inbox a_listener, b_listener, b_ws;
  live_b.set_ws_sink([&](const jarvis::LivePush& p) { b_ws.add(p); });
  auto sub_a = live_a.listen(Owner{"chat", {}}, "thr_x",
                             [&](const jarvis::LivePush& p) { a_listener.add(p); });
  auto sub_b = live_b.listen(Owner{"chat", {}}, "thr_x",
                             [&](const jarvis::LivePush& p) { b_listener.add(p); });
  auto relay_for = [](SqlDatabase& db, LivePushes& live) {
    auto r = std::make_unique<EventRelay>(db, [](const jarvis::Event&) {});
    r->set_live_handler([&db, &live](const std::string& payload) {
      if (auto p = LivePushes::parse_notification(payload, db.origin())) live.deliver_remote(*p);
    });
    r->start();
    return r;
  };
  auto relay_a = relay_for(*db_a, live_a);
  auto relay_b = relay_for(*db_b, live_b);
  ASSERT_TRUE(wait_until([&] { return relay_a->listening() && relay_b->listening(); }));

  live_a.publish(Owner{"chat", {}}, "thr_x", {{"text", "streamed"}});
  ASSERT_TRUE(wait_until([&] { return b_listener.size() == 1 && b_ws.size() == 1; }));
  {
    std::lock_guard lock(b_listener.mu);
    EXPECT_EQ(b_listener.got[0].component, "chat");
    EXPECT_EQ(b_listener.got[0].message["text"], "streamed");
  }
  // A marker push from B proves A's relay has processed everything before it: A's own push came
  // back to A only locally (once), never through its relay.
  live_b.publish(Owner{"chat", {}}, "thr_x", {{"text", "marker"}});
  ASSERT_TRUE(wait_until([&] { return a_listener.size() == 2; }));
  {
    std::lock_guard lock(a_listener.mu);
    EXPECT_EQ(a_listener.got[0].message["text"], "streamed");
    EXPECT_EQ(a_listener.got[1].message["text"], "marker");
  }
  EXPECT_EQ(live_a.received_remote(), 1);
  EXPECT_EQ(stored_events(*db_a), 0);
  // The cap holds on PostgreSQL too (NOTIFY would refuse > 8000 bytes).
  EXPECT_THROW(live_a.publish(Owner{"chat", {}}, "thr_x",
                              jarvis::Json(std::string(jarvis::kMaxLivePushBytes + 1, 'x'))),
               jarvis::Error);
  relay_a->stop();
  relay_b->stop();
}

}  // namespace
}  // namespace jarvis::host

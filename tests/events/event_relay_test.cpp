// tests/events/event_relay_test.cpp — cross-host event delivery on a real PostgreSQL: events
// stored through another pool (another "host") reach the relay in order, bulk inserts included;
// the relay's own events are skipped; a dropped LISTEN connection is re-opened.
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "db/migrations.h"
#include "db/sql_database.h"
#include "events/event_relay.h"
#include "registry/event_bus.h"
#include "support/support.h"

namespace jarvis::host {
namespace {

using namespace std::chrono_literals;

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = 30s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

class EventRelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = jarvis::test::pg_fresh_database();
    ASSERT_FALSE(url_.empty());
    // Origins unique per test: tests run in parallel against one server, and the reconnect test
    // finds the relay's backend by its origin.
    std::string suffix = jarvis::new_id("t").substr(2, 10);
    origin_b_ = "test-b-" + suffix;
    host_a_ = SqlDatabase::open(url_, 2, "test-a-" + suffix);
    MigrationRunner(*host_a_).apply({{"host", std::string(JARVIS_SOURCE_DIR) + "/migrations"}});
    host_b_ = SqlDatabase::open(url_, 2, origin_b_);
    bus_a_ = std::make_unique<EventBusImpl>(host_a_.get(), nullptr);
    bus_b_ = std::make_unique<EventBusImpl>(host_b_.get(), nullptr);
    relay_ = std::make_unique<EventRelay>(*host_b_, [this](const jarvis::Event& e) {
      std::lock_guard lock(mu_);
      got_.push_back(e);
    });
    relay_->start();
    ASSERT_TRUE(eventually([&] { return relay_->listening(); }));
  }

  std::vector<jarvis::Event> got() {
    std::lock_guard lock(mu_);
    return got_;
  }

  std::string url_, origin_b_;
  std::unique_ptr<SqlDatabase> host_a_, host_b_;
  std::unique_ptr<EventBusImpl> bus_a_, bus_b_;
  std::unique_ptr<EventRelay> relay_;
  std::mutex mu_;
  std::vector<jarvis::Event> got_;
};

TEST_F(EventRelayTest, OtherHostsEventsArriveInOrderAndOwnEventsAreSkipped) {
  bus_b_->emit(Owner{"host"}, {.type = "own.event"});  // host B delivers it locally already
  std::string id = bus_a_->emit(Owner{"bugs"}, {.type = "bug.created",
                                                .payload = {{"n", 1}, {"password", "hunter2"}},
                                                .thread_id = "thr_1",
                                                .trace_id = "trc_1",
                                                .actor_type = "user",
                                                .actor_id = "usr_1"});
  std::vector<jarvis::Event> batch;
  for (int i = 0; i < 700; ++i)
    batch.push_back({.type = "schedule.trigger", .payload = {{"i", i}}});
  bus_a_->emit_all(Owner{"host"}, batch);
  ASSERT_TRUE(eventually([&] { return got().size() >= 701; })) << got().size();
  auto events = got();
  ASSERT_EQ(events.size(), 701u);
  EXPECT_EQ(events[0].id, id);
  EXPECT_EQ(events[0].type, "bug.created");
  EXPECT_EQ(events[0].component, "bugs");
  EXPECT_EQ(events[0].thread_id, "thr_1");
  EXPECT_EQ(events[0].trace_id, "trc_1");
  EXPECT_EQ(events[0].actor_id, "usr_1");
  EXPECT_EQ(events[0].payload["n"], 1);
  EXPECT_EQ(events[0].payload["password"], "[REDACTED]");
  for (int i = 0; i < 700; ++i) EXPECT_EQ(events[1 + i].payload["i"], i);
  for (const auto& e : events) EXPECT_NE(e.type, "own.event");
  EXPECT_EQ(relay_->relayed(), 701);
}

TEST_F(EventRelayTest, ADroppedConnectionIsReopened) {
  {
    auto sql = host_a_->session();
    *sql << "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
            "current_database() AND pid <> pg_backend_pid() AND query LIKE '%" +
                origin_b_ + "-listen%LISTEN jarvis_events%'";
  }
  // The relay notices within its poll interval, reconnects (0.5 s backoff) and listens again.
  ASSERT_TRUE(eventually([&] { return !relay_->listening(); }, 10s));
  ASSERT_TRUE(eventually([&] { return relay_->listening(); }));
  bus_a_->emit(Owner{"host"}, {.type = "after.reconnect"});
  ASSERT_TRUE(eventually([&] { return !got().empty(); }));
  EXPECT_EQ(got().back().type, "after.reconnect");
}

TEST_F(EventRelayTest, StopIsPromptAndIdempotent) {
  relay_->stop();
  EXPECT_FALSE(relay_->listening());
  relay_->stop();
  bus_a_->emit(Owner{"host"}, {.type = "after.stop"});
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(got().empty());
}

TEST(EventRelay, RefusesSqliteAndBadOrigins) {
  jarvis::test::TempDir dir;
  auto db = SqlDatabase::open(dir.file("e.db"), 1);
  EXPECT_THROW(EventRelay(*db, [](const jarvis::Event&) {}), std::runtime_error);
  EXPECT_THROW(SqlDatabase::open(dir.file("f.db"), 1, "bad'origin"), std::runtime_error);
  EXPECT_EQ(db->origin(), SqlDatabase::process_origin());
  EXPECT_EQ(SqlDatabase::process_origin().rfind("jarvis-", 0), 0u);
}

}  // namespace
}  // namespace jarvis::host

// tests/registry/event_bus_test.cpp — the event store and bus: stored redacted, delivered by type
// prefix, a throwing subscriber isolated and counted, registrations dropped with their owner; the
// command table refuses duplicates naming both owners.
#include <gtest/gtest.h>

#include "db/migrations.h"
#include "db/sql_database.h"
#include "jarvis/error.h"
#include "observability/metrics.h"
#include "registry/command_table.h"
#include "registry/event_bus.h"
#include "support/support.h"

using namespace jarvis::host;

namespace {

class EventBusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = SqlDatabase::open(dir_.file("e.db"), 2);
    MigrationRunner(*db_).apply({{"host", std::string(JARVIS_SOURCE_DIR) + "/migrations"}});
  }
  jarvis::test::TempDir dir_;
  std::unique_ptr<SqlDatabase> db_;
  MetricsRegistry metrics_;
};

TEST_F(EventBusTest, StoresRedactedAndDeliversByPrefix) {
  EventBusImpl bus(db_.get(), &metrics_);
  std::vector<std::string> got_all, got_bug;
  bus.subscribe(Owner{"a"}, "", [&](const jarvis::Event& e) { got_all.push_back(e.type); });
  bus.subscribe(Owner{"b"}, "bug.", [&](const jarvis::Event& e) {
    got_bug.push_back(e.type);
    EXPECT_EQ(e.payload["nested"]["api_key"],
              "[REDACTED]");  // subscribers see the redacted payload
  });
  std::string id =
      bus.emit(Owner{"bugs"}, {.type = "bug.created",
                               .payload = {{"id", "bug_1"}, {"nested", {{"api_key", "k-123"}}}},
                               .thread_id = "thr_1"});
  bus.emit(Owner{"maintenance"}, {.type = "maintenance.heartbeat"});
  EXPECT_EQ(got_all, (std::vector<std::string>{"bug.created", "maintenance.heartbeat"}));
  EXPECT_EQ(got_bug, (std::vector<std::string>{"bug.created"}));

  auto sql = db_->session();
  std::string payload, component, thread;
  soci::indicator thread_ind;
  *sql << "SELECT payload, component, thread_id FROM events WHERE id = :id", soci::use(id),
      soci::into(payload), soci::into(component), soci::into(thread, thread_ind);
  EXPECT_EQ(component, "bugs");
  EXPECT_EQ(thread, "thr_1");
  EXPECT_EQ(payload.find("k-123"), std::string::npos) << payload;
  int system_events = 0;
  *sql << "SELECT COUNT(*) FROM events WHERE thread_id IS NULL", soci::into(system_events);
  EXPECT_EQ(system_events, 1);  // the heartbeat: no thread → stored as NULL
}

TEST_F(EventBusTest, EmitAllStoresEveryEventRedactedAndDeliversThemInOrder) {
  EventBusImpl bus(db_.get(), &metrics_);
  std::vector<int> delivered;
  bus.subscribe(Owner{"a"}, "schedule.", [&](const jarvis::Event& e) {
    delivered.push_back(e.payload["n"].get<int>());
    EXPECT_EQ(e.payload["token"], "[REDACTED]");
  });
  std::vector<jarvis::Event> batch;
  const int n = 450;  // more than one multi-row statement
  for (int i = 0; i < n; ++i) {
    batch.push_back({.type = "schedule.trigger",
                     .payload = {{"n", i}, {"token", "secret-" + std::to_string(i)}},
                     .thread_id = i % 2 ? "thr_odd" : ""});
  }
  auto ids = bus.emit_all(Owner{"host"}, batch);
  ASSERT_EQ(ids.size(), static_cast<std::size_t>(n));
  ASSERT_EQ(delivered.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) EXPECT_EQ(delivered[i], i);
  EXPECT_TRUE(bus.emit_all(Owner{"host"}, {}).empty());

  auto sql = db_->session();
  int stored = 0, with_thread = 0, leaked = 0;
  *sql << "SELECT COUNT(*) FROM events WHERE type = 'schedule.trigger' AND component = 'host'",
      soci::into(stored);
  *sql << "SELECT COUNT(*) FROM events WHERE thread_id = 'thr_odd'", soci::into(with_thread);
  *sql << "SELECT COUNT(*) FROM events WHERE payload LIKE '%secret-%'", soci::into(leaked);
  EXPECT_EQ(stored, n);
  EXPECT_EQ(with_thread, n / 2);
  EXPECT_EQ(leaked, 0);
  std::string payload;
  *sql << "SELECT payload FROM events WHERE id = :id", soci::use(ids[7]), soci::into(payload);
  EXPECT_EQ(jarvis::Json::parse(payload)["n"], 7);
  // An event without a type is refused before anything is stored.
  EXPECT_THROW(bus.emit_all(Owner{"host"}, {{.type = "ok.type"}, {.type = ""}}), jarvis::Error);
  *sql << "SELECT COUNT(*) FROM events WHERE type = 'ok.type'", soci::into(stored);
  EXPECT_EQ(stored, 0);
}

TEST_F(EventBusTest, ThrowingSubscriberIsIsolatedAndCounted) {
  EventBusImpl bus(db_.get(), &metrics_);
  int after = 0;
  bus.subscribe(Owner{"bad"}, "", [](const jarvis::Event&) { throw std::runtime_error("boom"); });
  bus.subscribe(Owner{"good"}, "", [&](const jarvis::Event&) { ++after; });
  EXPECT_NO_THROW(bus.emit(Owner{}, {.type = "x.y"}));
  EXPECT_EQ(after, 1);
  EXPECT_EQ(bus.subscriber_failures(), 1);
  EXPECT_EQ(metrics_.value("jarvis_plugin_errors_total", {{"plugin", "bad"}}), 1);
  bus.remove_owner("bad");
  bus.emit(Owner{}, {.type = "x.z"});
  EXPECT_EQ(bus.subscriber_failures(), 1);
  EXPECT_EQ(after, 2);
}

TEST_F(EventBusTest, EventWithoutTypeIsRefused) {
  EventBusImpl bus(db_.get(), &metrics_);
  EXPECT_THROW(bus.emit(Owner{}, {}), jarvis::Error);
}

TEST(CommandTableTest, DuplicatesNameBothOwners) {
  CommandTable t;
  auto spec = jarvis::CommandSpec{.group = "g",
                                  .name = "n",
                                  .summary = "",
                                  .usage = "",
                                  .handler = [](jarvis::CommandContext&) { return 0; }};
  t.add(Owner{"first"}, spec);
  try {
    t.add(Owner{"second"}, spec);
    FAIL();
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.code(), "duplicate_command");
    EXPECT_NE(std::string(e.what()).find("first"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("second"), std::string::npos);
  }
  EXPECT_TRUE(t.has_group("g"));
  EXPECT_FALSE(t.has_group("h"));
  t.remove_owner("first");
  EXPECT_EQ(t.find("g", "n"), nullptr);
  EXPECT_THROW(t.add(Owner{}, jarvis::CommandSpec{.group = "g"}), jarvis::Error);
}

TEST(CommandTableTest, ANamelessCommandIsTheWholeGroupAndExcludesNamedOnes) {
  CommandTable t;
  auto handler = [](jarvis::CommandContext&) { return 0; };
  t.add(Owner{"chat"}, jarvis::CommandSpec{.group = "ask", .name = "", .handler = handler});
  EXPECT_TRUE(t.has_group("ask"));
  EXPECT_NE(t.find("ask", ""), nullptr);
  try {
    t.add(Owner{"other"}, jarvis::CommandSpec{.group = "ask", .name = "x", .handler = handler});
    FAIL();
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.code(), "duplicate_command");
    EXPECT_NE(std::string(e.what()).find("chat"), std::string::npos) << e.what();
  }
  t.add(Owner{"bugs"}, jarvis::CommandSpec{.group = "bugs", .name = "list", .handler = handler});
  EXPECT_THROW(
      t.add(Owner{"other"}, jarvis::CommandSpec{.group = "bugs", .name = "", .handler = handler}),
      jarvis::Error);
  EXPECT_THROW(t.add(Owner{"chat"}, jarvis::CommandSpec{.group = "ask", .handler = handler}),
               jarvis::Error);
  EXPECT_THROW(t.add(Owner{}, jarvis::CommandSpec{.group = "", .handler = handler}), jarvis::Error);
}

}  // namespace

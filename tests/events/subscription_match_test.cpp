// tests/events/subscription_match_test.cpp — exact-type and prefix subscriptions (decision 0084):
// a durable Exact subscription to `a.b` queues a task for `a.b` only — never for `a.b.c` or
// `a.bc` — counted as task rows, whichever way the event is emitted (on its own, in a
// transaction, in a batch); the SDK 1.0 positional form and EventMatch::Prefix still match by
// prefix; in-process subscriptions follow the same rule; invalid Exact types are refused. Real
// SQLite and real PostgreSQL (the ctest `pg` fixture).
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "db/transaction.h"
#include "jarvis/error.h"
#include "registry/event_bus.h"
#include "tasks/task_service.h"
#include "tasks/task_test_env.h"

namespace jarvis::host {
namespace {

using namespace std::chrono_literals;
using testing::Db;

// The event types every test emits: the subscribed one, a follow-up under it, a sibling that
// shares its characters, and its parent.
const std::vector<std::string> kMatchTestTypes = {"a.b", "a.b.c", "a.bc", "a"};

class SubscriptionMatchTest : public ::testing::TestWithParam<Db> {
 protected:
  void SetUp() override {
    db_ = testing::open_db(GetParam(), dir_, 4);
    ASSERT_TRUE(db_);
    bus_ = std::make_unique<EventBusImpl>(db_.get(), nullptr);
    tasks_ = std::make_unique<TaskService>(*db_, bus_.get(), nullptr);
    for (const char* name : {"test.exact", "test.prefix", "test.legacy"}) {
      tasks_->add(Owner{"test", {}}, {.name = name, .handler = [](jarvis::TaskContext&) {
                                        return jarvis::Json::object();
                                      }});
    }
  }

  // Task rows of `task`, and of `task` for events of `type`.
  long long tasks_of(const std::string& task, const std::string& type = "") {
    auto sql = db_->session();
    long long n = -1;
    if (type.empty()) {
      *sql << "SELECT COUNT(*) FROM tasks WHERE name = :n", soci::use(task), soci::into(n);
      return n;
    }
    // The payload is the stored event; its own payload is empty, so "type" appears once.
    std::string like = "%\"type\":\"" + type + "\"%";
    *sql << "SELECT COUNT(*) FROM tasks WHERE name = :n AND payload LIKE :l", soci::use(task),
        soci::use(like), soci::into(n);
    return n;
  }

  // Emits every type of kMatchTestTypes once each way: plain, in a transaction, in a batch.
  void emit_every_type_three_ways() {
    const Owner producer{"producer", {}};
    for (const auto& t : kMatchTestTypes) bus_->emit(producer, jarvis::Event{.type = t});
    {
      HostTransaction tx(*db_, 5s);
      for (const auto& t : kMatchTestTypes) bus_->emit(producer, jarvis::Event{.type = t}, tx);
      tx.commit();
    }
    std::vector<jarvis::Event> batch;
    for (const auto& t : kMatchTestTypes) batch.push_back(jarvis::Event{.type = t});
    bus_->emit_all(producer, std::move(batch));
  }

  jarvis::test::TempDir dir_;
  std::unique_ptr<SqlDatabase> db_;
  std::unique_ptr<EventBusImpl> bus_;
  std::unique_ptr<TaskService> tasks_;
};

TEST_P(SubscriptionMatchTest, DurableExactSubscriptionQueuesNoTaskForLongerTypes) {
  bus_->subscribe_durable(Owner{"sub", {}}, {.type = "a.b", .task = "test.exact"});
  emit_every_type_three_ways();
  // One task per a.b event (3), none for a.b.c, a.bc or a.
  EXPECT_EQ(tasks_of("test.exact"), 3);
  EXPECT_EQ(tasks_of("test.exact", "a.b"), 3);
  EXPECT_EQ(tasks_of("test.exact", "a.b.c"), 0);
  EXPECT_EQ(tasks_of("test.exact", "a.bc"), 0);
  // Every event was stored all the same.
  auto sql = db_->session();
  long long events = -1;
  *sql << "SELECT COUNT(*) FROM events", soci::into(events);
  EXPECT_EQ(events, 12);
}

TEST_P(SubscriptionMatchTest, PrefixSubscriptionsStillMatchEveryTypeUnderThePrefix) {
  // The SDK 1.0 positional form keeps its prefix meaning; EventMatch::Prefix asks for it.
  bus_->subscribe_durable(Owner{"sub", {}}, "a.b", "test.legacy");
  bus_->subscribe_durable(
      Owner{"sub", {}}, {.type = "a.", .task = "test.prefix", .match = jarvis::EventMatch::Prefix});
  emit_every_type_three_ways();
  EXPECT_EQ(tasks_of("test.legacy"), 9);  // a.b, a.b.c, a.bc — three times each
  EXPECT_EQ(tasks_of("test.legacy", "a.b.c"), 3);
  EXPECT_EQ(tasks_of("test.legacy", "a"), 0);
  EXPECT_EQ(tasks_of("test.prefix"), 9);  // a.b, a.b.c, a.bc; "a" itself does not start with "a."
  EXPECT_EQ(tasks_of("test.prefix", "a"), 0);
  // An empty prefix is every event.
  bus_->subscribe_durable(Owner{"sub", {}},
                          {.type = "", .task = "test.exact", .match = jarvis::EventMatch::Prefix});
  bus_->emit(Owner{"producer", {}}, jarvis::Event{.type = "z"});
  EXPECT_EQ(tasks_of("test.exact"), 1);
}

TEST_P(SubscriptionMatchTest, SubscribingTheSameSpecTwiceQueuesOneTaskPerEvent) {
  bus_->subscribe_durable(Owner{"sub", {}}, {.type = "a.b", .task = "test.exact"});
  bus_->subscribe_durable(Owner{"sub", {}}, {.type = "a.b", .task = "test.exact"});
  EXPECT_EQ(bus_->durable_subscriptions().size(), 1u);
  bus_->emit(Owner{"producer", {}}, jarvis::Event{.type = "a.b"});
  EXPECT_EQ(tasks_of("test.exact"), 1);
  bus_->remove_owner("sub");
  bus_->emit(Owner{"producer", {}}, jarvis::Event{.type = "a.b"});
  EXPECT_EQ(tasks_of("test.exact"), 1);
}

TEST_P(SubscriptionMatchTest, InProcessSubscriptionsFollowTheSameRule) {
  std::mutex mu;
  std::vector<std::string> exact, prefix, legacy;
  auto recorder = [&mu](std::vector<std::string>& into) {
    return [&mu, &into](const jarvis::Event& e) {
      std::lock_guard lock(mu);
      into.push_back(e.type);
    };
  };
  bus_->subscribe(Owner{"sub", {}}, {.type = "a.b", .handler = recorder(exact)});
  bus_->subscribe(
      Owner{"sub", {}},
      {.type = "a.b", .handler = recorder(prefix), .match = jarvis::EventMatch::Prefix});
  bus_->subscribe(Owner{"sub", {}}, "a.b", recorder(legacy));
  emit_every_type_three_ways();
  std::lock_guard lock(mu);
  EXPECT_EQ(exact, (std::vector<std::string>{"a.b", "a.b", "a.b"}));
  EXPECT_EQ(prefix.size(), 9u);
  EXPECT_EQ(legacy, prefix);
}

TEST_P(SubscriptionMatchTest, InvalidExactTypesAndMissingHandlersAreRefused) {
  auto code_of = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const jarvis::Error& e) {
      return std::to_string(e.status()) + " " + e.code();
    }
    return std::string("accepted");
  };
  const Owner sub{"sub", {}};
  // Empty ("all" is a prefix), ending in '.' (a prefix), longer than a type.
  for (const std::string& bad : {std::string(), std::string("a."), std::string(201, 'a')}) {
    EXPECT_EQ(code_of([&] { bus_->subscribe_durable(sub, {.type = bad, .task = "test.exact"}); }),
              "400 invalid_subscription")
        << bad;
    EXPECT_EQ(code_of([&] {
                bus_->subscribe(sub, {.type = bad, .handler = [](const jarvis::Event&) {}});
              }),
              "400 invalid_subscription")
        << bad;
  }
  EXPECT_EQ(code_of([&] { bus_->subscribe_durable(sub, {.type = "a.b", .task = "bad task"}); }),
            "400 invalid_subscription");
  EXPECT_EQ(code_of([&] { bus_->subscribe(sub, {.type = "a.b"}); }), "400 invalid_subscription");
  EXPECT_TRUE(bus_->durable_subscriptions().empty());
  // The same strings are valid prefixes.
  EXPECT_EQ(code_of([&] {
              bus_->subscribe_durable(
                  sub, {.type = "a.", .task = "test.prefix", .match = jarvis::EventMatch::Prefix});
            }),
            "accepted");
  EXPECT_EQ(code_of([&] {
              bus_->subscribe(sub, {.type = "",
                                    .handler = [](const jarvis::Event&) {},
                                    .match = jarvis::EventMatch::Prefix});
            }),
            "accepted");
}

TEST(EventTypeMatches, ExactComparesTheWholeTypePrefixItsStart) {
  using jarvis::EventMatch;
  EXPECT_TRUE(jarvis::event_type_matches("a.b", "a.b", EventMatch::Exact));
  EXPECT_FALSE(jarvis::event_type_matches("a.b.c", "a.b", EventMatch::Exact));
  EXPECT_FALSE(jarvis::event_type_matches("a.bc", "a.b", EventMatch::Exact));
  EXPECT_FALSE(jarvis::event_type_matches("a", "a.b", EventMatch::Exact));
  EXPECT_TRUE(jarvis::event_type_matches("a.b.c", "a.b", EventMatch::Prefix));
  EXPECT_TRUE(jarvis::event_type_matches("a.b", "a.b", EventMatch::Prefix));
  EXPECT_FALSE(jarvis::event_type_matches("a", "a.b", EventMatch::Prefix));
  EXPECT_TRUE(jarvis::event_type_matches("anything", "", EventMatch::Prefix));
}

INSTANTIATE_TEST_SUITE_P(Dialects, SubscriptionMatchTest,
                         ::testing::Values(Db::Sqlite, Db::Postgresql), testing::db_name);

}  // namespace
}  // namespace jarvis::host

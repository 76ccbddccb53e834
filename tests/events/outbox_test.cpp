// tests/events/outbox_test.cpp — transactions that events and tasks join (the outbox), durable
// subscriptions, the session pool's timeout, and the rule that subscribers never run on an Asio
// I/O thread. Real SQLite and real PostgreSQL (the ctest `pg` fixture).
#include <gtest/gtest.h>

#include <utility>  // before Asio (Boost 1.74 + GCC 12 + C++20)

#include <atomic>
#include <mutex>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "db/sql_access.h"
#include "db/transaction.h"
#include "events/io_thread.h"
#include "jarvis/error.h"
#include "registry/event_bus.h"
#include "tasks/task_queue.h"
#include "tasks/task_service.h"
#include "tasks/task_test_env.h"

namespace jarvis::host {
namespace {

using namespace std::chrono_literals;
using testing::Db;
using testing::wait_until;

class OutboxTest : public ::testing::TestWithParam<Db> {
 protected:
  void SetUp() override {
    db_ = testing::open_db(GetParam(), dir_, 4, &url_);
    ASSERT_TRUE(db_);
    {
      auto sql = db_->session();
      *sql << "CREATE TABLE outbox_rows (id TEXT PRIMARY KEY)";
    }
    bus_ = std::make_unique<EventBusImpl>(db_.get(), nullptr);
    bus_->subscribe(Owner{"test", {}}, "order.", [this](const jarvis::Event& e) {
      std::lock_guard lock(mu_);
      seen_.push_back(e.id);
    });
    bus_->set_forwarder([this](const jarvis::Event&) { ++forwarded_; });
    tasks_ = std::make_unique<TaskService>(*db_, bus_.get(), nullptr);
    tasks_->add(Owner{"test", {}}, {.name = "test.work", .handler = [](jarvis::TaskContext&) {
                                      return jarvis::Json::object();
                                    }});
  }

  long long count(const std::string& query) {
    auto sql = db_->session();
    long long n = -1;
    *sql << query, soci::into(n);
    return n;
  }
  std::size_t seen() {
    std::lock_guard lock(mu_);
    return seen_.size();
  }
  // Writes a row, an event and a task in `tx`.
  void write_all(HostTransaction& tx) {
    tx.session() << "INSERT INTO outbox_rows(id) VALUES('r1')";
    bus_->emit(Owner{"test", {}}, jarvis::Event{.type = "order.placed"}, tx);
    tasks_->enqueue("test.work", {}, tx);
  }

  jarvis::test::TempDir dir_;
  std::string url_;
  std::unique_ptr<SqlDatabase> db_;
  std::unique_ptr<EventBusImpl> bus_;
  std::unique_ptr<TaskService> tasks_;
  std::mutex mu_;
  std::vector<std::string> seen_;
  std::atomic<int> forwarded_{0};
};

TEST_P(OutboxTest, RolledBackTransactionLeavesNoRowEventTaskOrDelivery) {
  {
    HostTransaction tx(*db_, 5s);
    write_all(tx);
    tx.rollback();
  }
  {
    HostTransaction tx(*db_, 5s);
    write_all(tx);
    // destroyed without commit: an exception or an early return
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM outbox_rows"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE type = 'order.placed'"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM tasks WHERE name = 'test.work'"), 0);
  EXPECT_EQ(seen(), 0u);
  EXPECT_EQ(forwarded_.load(), 0);
}

TEST_P(OutboxTest, CommittedTransactionStoresAllAndDeliversOnlyAfterCommit) {
  HostTransaction tx(*db_, 5s);
  write_all(tx);
  EXPECT_EQ(seen(), 0u) << "delivered before the commit";
  EXPECT_EQ(forwarded_.load(), 0);
  tx.commit();
  EXPECT_FALSE(tx.active());
  EXPECT_EQ(count("SELECT COUNT(*) FROM outbox_rows"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE type = 'order.placed'"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM tasks WHERE name = 'test.work' AND status = 'queued'"), 1);
  EXPECT_EQ(seen(), 1u);
  EXPECT_EQ(forwarded_.load(), 1);
  EXPECT_THROW(tx.commit(), jarvis::Error);  // transaction_closed
}

TEST_P(OutboxTest, PlainWritesInsideAnOpenTransactionAreRefusedNotDeadlocked) {
  HostTransaction tx(*db_, 5s);
  try {
    bus_->emit(Owner{"test", {}}, jarvis::Event{.type = "order.placed"});
    FAIL() << "plain emit inside a transaction";
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.code(), "transaction_open");
  }
  try {
    tasks_->enqueue("test.work", {});
    FAIL() << "plain enqueue inside a transaction";
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.code(), "transaction_open");
  }
  EXPECT_THROW(HostTransaction(*db_, 1s), jarvis::Error);  // nested on the same thread
  tx.rollback();
  bus_->emit(Owner{"test", {}}, jarvis::Event{.type = "order.placed"});  // fine afterwards
  EXPECT_EQ(seen(), 1u);
}

TEST_P(OutboxTest, DurableSubscriptionEnqueuesItsTaskWithTheEventKeyedByEventId) {
  bus_->subscribe_durable(Owner{"sub", {}}, "order.", "test.work");
  std::string id = bus_->emit(Owner{"producer", {}},
                              jarvis::Event{.type = "order.placed", .payload = {{"n", 1}}});
  std::vector<TaskRecord> rows = TaskQueue(*db_).list({.name = "test.work"});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].idempotency_key.value_or(""), id + ":test.work");
  jarvis::Json payload = jarvis::parse_json(rows[0].payload);
  EXPECT_EQ(payload["id"], id);
  EXPECT_EQ(payload["type"], "order.placed");
  EXPECT_EQ(payload["component"], "producer");
  EXPECT_EQ(payload["payload"]["n"], 1);
  // Other types are not delivered; a rolled-back event queues nothing.
  bus_->emit(Owner{"producer", {}}, jarvis::Event{.type = "invoice.sent"});
  {
    HostTransaction tx(*db_, 5s);
    bus_->emit(Owner{"producer", {}}, jarvis::Event{.type = "order.placed"}, tx);
  }
  EXPECT_EQ(TaskQueue(*db_).list({.name = "test.work"}).size(), 1u);
  // The same event delivered again while its task is live is the same task (idempotency key).
  {
    HostTransaction tx(*db_, 5s);
    jarvis::EnqueueOptions again;
    again.idempotency_key = id + ":test.work";
    EXPECT_EQ(tasks_->enqueue("test.work", again, tx), rows[0].id);
    tx.commit();
  }
}

TEST_P(OutboxTest, DurableSubscriberWithoutARegisteredTaskIsSkippedAndTheEventStillStored) {
  bus_->subscribe_durable(Owner{"gone", {}}, "order.", "gone.handle");
  bus_->emit(Owner{"producer", {}}, jarvis::Event{.type = "order.placed"});
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE type = 'order.placed'"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM tasks WHERE name = 'gone.handle'"), 0);
  EXPECT_EQ(seen(), 1u);
  try {
    bus_->subscribe_durable(Owner{"bad", {}}, "", "no spaces allowed");
    FAIL();
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.code(), "invalid_subscription");
  }
}

TEST_P(OutboxTest, DurableSubscriptionsEndWithTheirPlugin) {
  bus_->subscribe_durable(Owner{"sub", {}}, "order.", "test.work");
  bus_->remove_owner("sub");
  EXPECT_TRUE(bus_->durable_subscriptions().empty());
  bus_->emit(Owner{"producer", {}}, jarvis::Event{.type = "order.placed"});
  EXPECT_EQ(count("SELECT COUNT(*) FROM tasks WHERE name = 'test.work'"), 0);
}

TEST_P(OutboxTest, DurableDeliveryRunsOnAnotherHostSharingTheDatabase) {
  if (GetParam() != Db::Postgresql) GTEST_SKIP() << "several hosts share PostgreSQL";
  // Host A emits and runs no workers; host B (its own pool, bus and task service) handles.
  auto db_b = SqlDatabase::open(url_, 4, "jarvis-outbox-b");
  EventBusImpl bus_b(db_b.get(), nullptr);
  TaskService tasks_b(*db_b, &bus_b, nullptr);
  std::mutex mu;
  std::vector<std::string> handled;
  tasks_b.add(Owner{"sub", {}}, {.name = "sub.handle", .handler = [&](jarvis::TaskContext& t) {
                                   std::lock_guard lock(mu);
                                   handled.push_back(t.payload["id"]);
                                   return jarvis::Json::object();
                                 }});
  tasks_->add(Owner{"sub", {}},
              {.name = "sub.handle", .handler = [](jarvis::TaskContext&) -> jarvis::Json {
                 throw std::runtime_error("host A never runs it");
               }});
  bus_->subscribe_durable(Owner{"sub", {}}, "order.", "sub.handle");
  std::string id = bus_->emit(Owner{"producer", {}}, jarvis::Event{.type = "order.placed"});
  RunnerOptions o;
  o.max_concurrent = 1;
  o.poll_interval = 20ms;
  o.run_scheduler = false;
  tasks_b.start(o);
  EXPECT_TRUE(wait_until([&] {
    std::lock_guard lock(mu);
    return handled.size() == 1;
  }));
  tasks_b.drain(10s);
  std::lock_guard lock(mu);
  ASSERT_EQ(handled.size(), 1u);
  EXPECT_EQ(handled[0], id);
}

TEST_P(OutboxTest, ExhaustedPoolAnswers503DatabaseBusyInsteadOfBlocking) {
  std::vector<jarvis::DbSession> held;
  for (int i = 0; i < 4; ++i) held.push_back(db_->session());
  EXPECT_EQ(db_->idle_sessions(), 0u);
  try {
    db_->session(20ms);
    FAIL() << "no session should be free";
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.status(), 503);
    EXPECT_EQ(e.code(), "database_busy");
    EXPECT_NE(std::string(e.what()).find("JARVIS_DB_SESSION_TIMEOUT_MS"), std::string::npos);
  }
  db_->set_session_timeout(20ms);
  EXPECT_THROW(db_->transaction(), jarvis::Error);
  // A session given back is borrowed again; a waiter is woken by the give-back.
  std::thread giver([&] {
    std::this_thread::sleep_for(50ms);
    held.pop_back();
  });
  auto s = db_->session(std::chrono::seconds(30));
  giver.join();
  EXPECT_TRUE(s);
  EXPECT_THROW(SqlDatabase::parse_session_timeout("0"), std::runtime_error);
  EXPECT_THROW(SqlDatabase::parse_session_timeout("soon"), std::runtime_error);
  EXPECT_EQ(SqlDatabase::parse_session_timeout(""), 5000ms);
  EXPECT_EQ(SqlDatabase::parse_session_timeout("250"), 250ms);
}

TEST_P(OutboxTest, EmitsOnAnIoThreadDeliverElsewhereAndPlainThreadsDeliverInline) {
  std::mutex mu;
  std::thread::id ran_on;
  bool io_seen = true;
  bus_->subscribe(Owner{"test", {}}, "io.", [&](const jarvis::Event&) {
    std::lock_guard lock(mu);
    ran_on = std::this_thread::get_id();
    io_seen = on_io_thread();
  });
  boost::asio::io_context io;
  std::thread::id io_thread;
  bool io_flag = false;
  boost::asio::post(io, [&] {
    io_thread = std::this_thread::get_id();
    io_flag = on_io_thread();
    bus_->emit(Owner{"ws", {}}, jarvis::Event{.type = "io.message"});
  });
  std::thread runner([&] { io.run(); });
  runner.join();
  EXPECT_TRUE(io_flag);
  EXPECT_TRUE(wait_until([&] {
    std::lock_guard lock(mu);
    return ran_on != std::thread::id();
  }));
  {
    std::lock_guard lock(mu);
    EXPECT_NE(ran_on, io_thread);
    EXPECT_FALSE(io_seen);
  }
  EXPECT_EQ(bus_->handed_off(), 1);
  EXPECT_FALSE(on_io_thread());
  bus_->emit(Owner{"worker", {}}, jarvis::Event{.type = "io.message"});
  std::lock_guard lock(mu);
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

INSTANTIATE_TEST_SUITE_P(Dialects, OutboxTest, ::testing::Values(Db::Sqlite, Db::Postgresql),
                         testing::db_name);

}  // namespace
}  // namespace jarvis::host

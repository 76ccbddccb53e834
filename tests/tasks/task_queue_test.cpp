// tests/tasks/task_queue_test.cpp — the durable queue and its runner on SQLite and PostgreSQL:
// end-to-end echo, retries, dead letter, permanent failure, lease expiry re-claim, stolen leases,
// idempotency, priority, run_after, heartbeat, timeouts, drain and restarts.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>

#include "jarvis/error.h"
#include "registry/event_bus.h"
#include "tasks/task_queue.h"
#include "tasks/task_service.h"
#include "task_test_env.h"

namespace jarvis::host {
namespace {

using namespace std::chrono_literals;
using testing::Db;
using testing::wait_until;

class TaskQueueTest : public ::testing::TestWithParam<Db> {
 protected:
  void SetUp() override {
    db_ = testing::open_db(GetParam(), dir_, 8, &url_);
    ASSERT_TRUE(db_);
    bus_ = std::make_unique<EventBusImpl>(db_.get(), nullptr);
    bus_->subscribe(Owner{"test", {}}, "task.", [this](const jarvis::Event& e) {
      std::lock_guard lock(mu_);
      events_.push_back(e);
    });
  }

  std::unique_ptr<TaskService> service() {
    return std::make_unique<TaskService>(*db_, bus_.get(), nullptr);
  }

  static RunnerOptions fast(int workers = 2) {
    RunnerOptions o;
    o.max_concurrent = workers;
    o.poll_interval = 20ms;
    o.run_scheduler = false;
    o.shutdown_timeout = 10s;
    return o;
  }

  TaskRecord record(const std::string& id) {
    auto r = TaskQueue(*db_).get(id);
    EXPECT_TRUE(r) << id;
    return r.value_or(TaskRecord{});
  }

  bool finished(const std::string& id) {
    auto r = TaskQueue(*db_).get(id);
    return r && (r->status == "succeeded" || r->status == "failed" || r->status == "dead");
  }

  std::vector<jarvis::Event> events(const std::string& type) {
    std::lock_guard lock(mu_);
    std::vector<jarvis::Event> out;
    for (const auto& e : events_) {
      if (e.type == type) out.push_back(e);
    }
    return out;
  }

  jarvis::test::TempDir dir_;
  std::string url_;
  std::unique_ptr<SqlDatabase> db_;
  std::unique_ptr<EventBusImpl> bus_;
  std::mutex mu_;
  std::vector<jarvis::Event> events_;
};

TEST_P(TaskQueueTest, EchoRunsEndToEnd) {
  auto tasks = service();
  tasks->start(fast());
  std::string id = tasks->enqueue("system.echo", {.payload = {{"hello", "world"}, {"n", 3}}});
  ASSERT_TRUE(wait_until([&] { return finished(id); }));
  auto r = record(id);
  EXPECT_EQ(r.status, "succeeded");
  EXPECT_EQ(jarvis::Json::parse(*r.result), (jarvis::Json{{"hello", "world"}, {"n", 3}}));
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.lease_owner.value_or("").find(tasks->options().worker_id + "/"), 0u);
  EXPECT_FALSE(r.lease_expires_at);
  EXPECT_TRUE(r.finished_at);
  EXPECT_TRUE(tasks->drain(10s));
}

TEST_P(TaskQueueTest, EnqueueUnknownNameFailsAtTheCall) {
  auto tasks = service();
  try {
    tasks->enqueue("no.such.task", {});
    FAIL() << "expected unknown_task";
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_EQ(e.code(), "unknown_task");
    EXPECT_NE(std::string(e.what()).find("no.such.task"), std::string::npos);
  }
  long long total = -1;
  TaskQueue(*db_).list({}, &total);
  EXPECT_EQ(total, 0);
}

TEST_P(TaskQueueTest, BadOptionsAndRegistrationsAreRefused) {
  auto tasks = service();
  try {
    tasks->enqueue("system.echo", {.run_after = "tomorrow"});
    FAIL() << "expected invalid_task";
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.code(), "invalid_task");
  }
  try {
    tasks->add(Owner{"plugin_b", {}},
               {.name = "system.echo", .handler = [](auto&) { return jarvis::Json(); }});
    FAIL() << "expected duplicate_task";
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.status(), 409);
    EXPECT_EQ(e.code(), "duplicate_task");
    EXPECT_NE(std::string(e.what()).find("host"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("plugin_b"), std::string::npos);
  }
  EXPECT_THROW(tasks->add(Owner{"p", {}},
                          {.name = "bad name!", .handler = [](auto&) { return jarvis::Json(); }}),
               jarvis::Error);
  // A run_after without milliseconds is normalised to the stored fixed width.
  std::string id = tasks->enqueue("system.echo", {.run_after = "2030-01-02T03:04:05Z"});
  EXPECT_EQ(record(id).run_after, "2030-01-02T03:04:05.000Z");
}

TEST_P(TaskQueueTest, RetriesWithBackoffThenSucceeds) {
  auto tasks = service();
  std::atomic<int> calls{0};
  std::vector<int> seen_attempts;
  std::mutex m;
  tasks->add(Owner{"test", {}},
             {.name = "test.flaky",
              .handler =
                  [&](jarvis::TaskContext& t) {
                    {
                      std::lock_guard lock(m);
                      seen_attempts.push_back(t.attempt);
                    }
                    if (++calls < 3)
                      throw std::runtime_error("transient failure " + std::to_string(calls.load()));
                    return jarvis::Json{{"ok", true}};
                  },
              .retry = {.max_attempts = 5, .initial_backoff = 10ms, .multiplier = 2.0}});
  tasks->start(fast());
  std::string id = tasks->enqueue("test.flaky", {});
  ASSERT_TRUE(wait_until([&] { return finished(id); }));
  auto r = record(id);
  EXPECT_EQ(r.status, "succeeded");
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(seen_attempts, (std::vector<int>{1, 2, 3}));
  EXPECT_FALSE(r.last_error);  // cleared on success
  EXPECT_TRUE(events("task.dead_letter").empty());
}

TEST_P(TaskQueueTest, RetryExhaustionMarksDeadAndEmitsDeadLetter) {
  auto tasks = service();
  std::atomic<int> calls{0};
  tasks->add(Owner{"test", {}}, {.name = "test.broken",
                                 .handler = [&](jarvis::TaskContext&) -> jarvis::Json {
                                   ++calls;
                                   throw std::runtime_error("always broken");
                                 },
                                 .retry = {.max_attempts = 3, .initial_backoff = 5ms}});
  tasks->start(fast());
  std::string id = tasks->enqueue("test.broken", {});
  ASSERT_TRUE(wait_until([&] { return finished(id); }));
  auto r = record(id);
  EXPECT_EQ(r.status, "dead");
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(r.last_error.value_or(""), "always broken");
  ASSERT_TRUE(wait_until([&] { return !events("task.dead_letter").empty(); }));
  auto dl = events("task.dead_letter");
  ASSERT_EQ(dl.size(), 1u);
  EXPECT_EQ(dl[0].payload["task_id"], id);
  EXPECT_EQ(dl[0].payload["name"], "test.broken");
  EXPECT_EQ(dl[0].payload["attempts"], 3);
  EXPECT_EQ(dl[0].payload["last_error"], "always broken");
  // The event is stored too.
  long long stored = 0;
  auto sql = db_->session();
  *sql << "SELECT COUNT(*) FROM events WHERE type = 'task.dead_letter'", soci::into(stored);
  EXPECT_EQ(stored, 1);
}

TEST_P(TaskQueueTest, CallerErrorFailsWithoutRetry) {
  auto tasks = service();
  std::atomic<int> calls{0};
  tasks->add(Owner{"test", {}}, {.name = "test.invalid_input",
                                 .handler = [&](jarvis::TaskContext&) -> jarvis::Json {
                                   ++calls;
                                   throw jarvis::Error(422, "bad_payload",
                                                       "payload lacks 'thread_id'");
                                 },
                                 .retry = {.max_attempts = 5, .initial_backoff = 5ms}});
  tasks->start(fast());
  std::string id = tasks->enqueue("test.invalid_input", {});
  ASSERT_TRUE(wait_until([&] { return finished(id); }));
  auto r = record(id);
  EXPECT_EQ(r.status, "failed");
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(calls.load(), 1);
  EXPECT_NE(r.last_error.value_or("").find("bad_payload"), std::string::npos);
  ASSERT_TRUE(wait_until([&] { return !events("task.failed").empty(); }));
}

TEST_P(TaskQueueTest, ExpiredLeaseOfADeadWorkerIsReclaimed) {
  TaskQueue q(*db_);
  auto tasks = service();
  std::atomic<int> calls{0};
  tasks->add(Owner{"test", {}}, {.name = "test.count", .handler = [&](jarvis::TaskContext& t) {
                                   ++calls;
                                   return jarvis::Json{{"attempt", t.attempt}};
                                 }});
  std::string id = tasks->enqueue("test.count", {});
  // A worker claims the task and "dies": its lease is already in the past.
  auto dead = q.claim_next("dead-host:1/0", -1000ms, {"test.count"}, false);
  ASSERT_TRUE(dead);
  EXPECT_EQ(dead->id, id);
  EXPECT_EQ(record(id).status, "running");

  tasks->start(fast());
  ASSERT_TRUE(wait_until([&] { return finished(id); }));
  auto r = record(id);
  EXPECT_EQ(r.status, "succeeded");
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(jarvis::Json::parse(*r.result)["attempt"], 2);
  // The dead worker comes back: it must not overwrite the new attempt's outcome.
  EXPECT_FALSE(q.complete(*dead, "{\"stale\":true}"));
  EXPECT_EQ(q.fail(*dead, "late failure", true, 0ms), FailOutcome::LeaseLost);
  EXPECT_FALSE(q.renew(*dead, jarvis::iso_from_now(60000)));
  r = record(id);
  EXPECT_EQ(r.status, "succeeded");
  EXPECT_EQ(jarvis::Json::parse(*r.result)["attempt"], 2);
}

TEST_P(TaskQueueTest, ExpiredLeaseWithNoAttemptsLeftGoesDead) {
  TaskQueue q(*db_);
  auto tasks = service();
  tasks->add(Owner{"test", {}}, {.name = "test.once",
                                 .handler = [](jarvis::TaskContext&) { return jarvis::Json(); },
                                 .retry = {.max_attempts = 1}});
  std::string id = tasks->enqueue("test.once", {});
  ASSERT_TRUE(q.claim_next("dead-host:1/0", -1000ms, {"test.once"}, false));
  tasks->start(fast());
  ASSERT_TRUE(wait_until([&] { return finished(id); }));
  auto r = record(id);
  EXPECT_EQ(r.status, "dead");
  EXPECT_NE(r.last_error.value_or("").find("lease expired"), std::string::npos);
  ASSERT_TRUE(wait_until([&] { return events("task.dead_letter").size() == 1; }));
}

TEST_P(TaskQueueTest, LiveLeaseIsNotStolen) {
  TaskQueue q(*db_);
  auto tasks = service();
  std::string id = tasks->enqueue("system.echo", {});
  auto a = q.claim_next("host-a/0", 60000ms, {"system.echo"}, false);
  ASSERT_TRUE(a);
  EXPECT_FALSE(q.claim_next("host-b/0", 60000ms, {"system.echo"}, false));
  EXPECT_FALSE(q.claim_next("host-b/0", 60000ms, {"system.echo"}, true));
  // Another worker with the same owner name but not this attempt cannot complete it either.
  ClaimedTask forged = *a;
  forged.attempt = 7;
  EXPECT_FALSE(q.complete(forged, "{}"));
  EXPECT_TRUE(q.complete(*a, "{\"done\":1}"));
  EXPECT_EQ(record(id).status, "succeeded");
}

TEST_P(TaskQueueTest, CompleteAndClaimStoresTheResultAndLeasesTheNextTask) {
  TaskQueue q(*db_);
  auto tasks = service();
  std::string first = tasks->enqueue("system.echo", {.priority = 5});
  std::string second = tasks->enqueue("system.echo", {.payload = {{"n", 2}}});
  auto a = q.claim_next("w/0", 60000ms, {"system.echo"}, false);
  ASSERT_TRUE(a);
  ASSERT_EQ(a->id, first);

  auto r = q.complete_and_claim(*a, "{\"ok\":1}", "w/0", 60000ms, {"system.echo"});
  EXPECT_TRUE(r.completed);
  ASSERT_TRUE(r.next);
  EXPECT_EQ(r.next->id, second);
  EXPECT_EQ(r.next->attempt, 1);
  EXPECT_EQ(jarvis::Json::parse(r.next->payload)["n"], 2);
  EXPECT_EQ(record(first).status, "succeeded");
  EXPECT_EQ(jarvis::Json::parse(*record(first).result)["ok"], 1);
  EXPECT_EQ(record(second).status, "running");
  EXPECT_EQ(record(second).lease_owner, "w/0");

  // A lost lease stores nothing but still claims; an empty queue claims nothing but stores.
  std::string third = tasks->enqueue("system.echo", {});
  ClaimedTask forged = *r.next;
  forged.attempt = 9;
  auto lost = q.complete_and_claim(forged, "{}", "w/1", 60000ms, {"system.echo"});
  EXPECT_FALSE(lost.completed);
  ASSERT_TRUE(lost.next);
  EXPECT_EQ(lost.next->id, third);
  EXPECT_EQ(record(second).status, "running");
  auto last = q.complete_and_claim(*r.next, "{}", "w/0", 60000ms, {"system.echo"});
  EXPECT_TRUE(last.completed);
  EXPECT_FALSE(last.next);
  EXPECT_EQ(record(second).status, "succeeded");
  // Only the listed names are claimed.
  tasks->enqueue("system.echo", {});
  auto other = q.complete_and_claim(*lost.next, "{}", "w/1", 60000ms, {"other.task"});
  EXPECT_TRUE(other.completed);
  EXPECT_FALSE(other.next);
}

// A burst far larger than the workers drains exactly once per task (the chained
// store-and-claim path), and on PostgreSQL the burst makes the planner statistics stale enough
// to be refreshed.
TEST_P(TaskQueueTest, ABurstOfTasksRunsEachExactlyOnce) {
  auto tasks = service();
  std::mutex m;
  std::map<int, int> runs;
  tasks->add(Owner{"test", {}}, {.name = "test.burst", .handler = [&](jarvis::TaskContext& c) {
                                   std::lock_guard lock(m);
                                   ++runs[c.payload["i"].get<int>()];
                                   return jarvis::Json::object();
                                 }});
  const int n = 1500;
  for (int i = 0; i < n; ++i) tasks->enqueue("test.burst", {.payload = {{"i", i}}});
  if (GetParam() == Db::Postgresql) {
    // The statistics collector reports changes within about a second; autovacuum may analyze
    // first. Either way the planner's row count catches up with the burst.
    auto planner_rows = [&] {
      double rows = 0;
      auto sql = db_->session();
      *sql << "SELECT reltuples FROM pg_class WHERE oid = 'tasks'::regclass", soci::into(rows);
      return rows;
    };
    EXPECT_TRUE(wait_until(
        [&] { return TaskQueue(*db_).refresh_statistics_if_stale() || planner_rows() >= n; }, 10s));
    EXPECT_GE(planner_rows(), n);
    EXPECT_FALSE(TaskQueue(*db_).refresh_statistics_if_stale());
  } else {
    EXPECT_FALSE(TaskQueue(*db_).refresh_statistics_if_stale());
  }
  tasks->start(fast(3));
  ASSERT_TRUE(
      wait_until([&] { return TaskQueue(*db_).counts_by_status()["succeeded"] == n; }, 60s));
  std::lock_guard lock(m);
  ASSERT_EQ(runs.size(), static_cast<std::size_t>(n));
  for (const auto& [i, count] : runs) EXPECT_EQ(count, 1) << "task " << i;
}

TEST_P(TaskQueueTest, IdempotencyKeyDeduplicatesLiveTasksOnly) {
  auto tasks = service();
  std::string a = tasks->enqueue("system.echo", {.payload = {{"n", 1}}, .idempotency_key = "k1"});
  std::string b = tasks->enqueue("system.echo", {.payload = {{"n", 2}}, .idempotency_key = "k1"});
  std::string c = tasks->enqueue("system.echo", {.idempotency_key = "k2"});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(jarvis::Json::parse(record(a).payload)["n"], 1);
  long long total = 0;
  TaskQueue(*db_).list({}, &total);
  EXPECT_EQ(total, 2);

  tasks->start(fast());
  ASSERT_TRUE(wait_until([&] { return finished(a) && finished(c); }));
  // Once finished, the key is free again.
  std::string d = tasks->enqueue("system.echo", {.idempotency_key = "k1"});
  EXPECT_NE(d, a);
  ASSERT_TRUE(wait_until([&] { return finished(d); }));
}

TEST_P(TaskQueueTest, ConcurrentEnqueuesWithOneKeyYieldOneTask) {
  auto tasks = service();
  std::vector<std::thread> threads;
  std::mutex m;
  std::set<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 10; ++j) {
        auto id = tasks->enqueue("system.echo", {.idempotency_key = "same"});
        std::lock_guard lock(m);
        ids.insert(id);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ids.size(), 1u);
}

TEST_P(TaskQueueTest, ClaimOrderIsPriorityThenAgeAndRespectsRunAfter) {
  TaskQueue q(*db_);
  auto tasks = service();
  std::string later = tasks->enqueue("system.echo", {.run_after = jarvis::iso_from_now(3600000)});
  std::string low1 = tasks->enqueue("system.echo", {.priority = 0});
  std::string high = tasks->enqueue("system.echo", {.priority = 10});
  std::string low2 = tasks->enqueue("system.echo", {.priority = 0});
  std::vector<std::string> order;
  while (auto t = q.claim_next("w/0", 60000ms, {"system.echo"}, false)) order.push_back(t->id);
  EXPECT_EQ(order, (std::vector<std::string>{high, low1, low2}));
  EXPECT_EQ(record(later).status, "queued");
  // Only registered names are claimed.
  tasks->enqueue("system.echo", {});
  EXPECT_FALSE(q.claim_next("w/0", 60000ms, {"other.task"}, false));
}

TEST_P(TaskQueueTest, HeartbeatKeepsALongTaskFromBeingClaimedTwice) {
  // Two "hosts" with a 300 ms lease; the task runs for several leases. Without renewal the
  // other host would re-claim and run it a second time.
  std::atomic<int> runs{0};
  auto make = [&] {
    auto s = service();
    s->add(Owner{"test", {}},
           {.name = "test.long", .handler = [&](jarvis::TaskContext& t) {
              ++runs;
              auto until = std::chrono::steady_clock::now() + 1500ms;
              while (std::chrono::steady_clock::now() < until && !t.should_stop()) {
                std::this_thread::sleep_for(10ms);
              }
              return jarvis::Json{{"stopped_early", t.should_stop()}};
            }});
    return s;
  };
  auto a = make();
  auto b = make();
  RunnerOptions o = fast(2);
  o.lease = 300ms;
  o.worker_id = "host-a";
  a->start(o);
  o.worker_id = "host-b";
  b->start(o);
  std::string id = a->enqueue("test.long", {});
  ASSERT_TRUE(wait_until([&] { return finished(id); }));
  EXPECT_EQ(runs.load(), 1);
  auto r = record(id);
  EXPECT_EQ(r.status, "succeeded");
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(jarvis::Json::parse(*r.result)["stopped_early"], false);
}

TEST_P(TaskQueueTest, ShouldStopTurnsTrueAtTheTimeout) {
  auto tasks = service();
  tasks->add(Owner{"test", {}}, {.name = "test.slow",
                                 .handler =
                                     [](jarvis::TaskContext& t) {
                                       while (!t.should_stop()) std::this_thread::sleep_for(10ms);
                                       return jarvis::Json{{"stopped", true}};
                                     },
                                 .timeout = std::chrono::seconds(1)});
  tasks->start(fast());
  std::string id = tasks->enqueue("test.slow", {});
  ASSERT_TRUE(wait_until([&] { return finished(id); }));
  EXPECT_EQ(record(id).status, "succeeded");
}

TEST_P(TaskQueueTest, DrainWaitsForInFlightTasksAndStopsClaiming) {
  auto tasks = service();
  std::atomic<bool> entered{false};
  tasks->add(Owner{"test", {}}, {.name = "test.busy", .handler = [&](jarvis::TaskContext&) {
                                   entered = true;
                                   std::this_thread::sleep_for(300ms);
                                   return jarvis::Json{{"done", true}};
                                 }});
  tasks->start(fast(1));
  std::string id = tasks->enqueue("test.busy", {});
  ASSERT_TRUE(wait_until([&] { return entered.load(); }));
  EXPECT_EQ(tasks->in_flight(), 1);
  EXPECT_TRUE(tasks->drain(30s));
  EXPECT_EQ(record(id).status, "succeeded");
  EXPECT_EQ(tasks->in_flight(), 0);
  // After the drain nothing is claimed any more: the task stays queued for the next start.
  std::string later = tasks->enqueue("system.echo", {});
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(record(later).status, "queued");
}

TEST_P(TaskQueueTest, DrainTimeoutReleasesTheLeaseOfAHungTask) {
  auto tasks = service();
  std::atomic<bool> entered{false}, release{false};
  tasks->add(Owner{"test", {}}, {.name = "test.hung", .handler = [&](jarvis::TaskContext&) {
                                   entered = true;
                                   while (!release.load()) std::this_thread::sleep_for(5ms);
                                   return jarvis::Json();
                                 }});
  tasks->start(fast(1));
  std::string id = tasks->enqueue("test.hung", {});
  ASSERT_TRUE(wait_until([&] { return entered.load(); }));
  EXPECT_FALSE(tasks->drain(100ms));
  auto r = record(id);
  EXPECT_EQ(r.status, "running");
  ASSERT_TRUE(r.lease_expires_at);
  EXPECT_LE(*r.lease_expires_at, jarvis::now_iso());  // claimable elsewhere at once
  release = true;
  ASSERT_TRUE(wait_until([&] { return tasks->in_flight() == 0 && finished(id); }));
}

TEST_P(TaskQueueTest, QueuedTasksSurviveAServiceRestart) {
  std::vector<std::string> ids;
  {
    auto first = service();
    for (int i = 0; i < 20; ++i) {
      ids.push_back(first->enqueue("system.echo", {.payload = {{"i", i}}}));
    }
  }
  // A new process (here: a new connection pool and a new service) picks them up.
  bus_.reset();
  db_.reset();
  db_ = SqlDatabase::open(url_, 4);
  bus_ = std::make_unique<EventBusImpl>(db_.get(), nullptr);
  auto second = service();
  second->start(fast());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE(wait_until([&] { return finished(ids[i]); }));
    auto r = record(ids[i]);
    EXPECT_EQ(r.status, "succeeded");
    EXPECT_EQ(jarvis::Json::parse(*r.result)["i"], static_cast<int>(i));
  }
}

TEST_P(TaskQueueTest, RunTaskRunsOneTaskOnTheCallingThread) {
  auto tasks = service();
  std::string other = tasks->enqueue("system.echo", {.payload = {{"other", true}}});
  std::string id = tasks->enqueue(
      "system.echo", {.payload = {{"here", true}}, .run_after = jarvis::iso_from_now(3600000)});
  EXPECT_TRUE(tasks->run_task(id));
  auto r = record(id);
  EXPECT_EQ(r.status, "succeeded");
  EXPECT_EQ(jarvis::Json::parse(*r.result)["here"], true);
  EXPECT_EQ(record(other).status, "queued");  // nothing else ran
  EXPECT_FALSE(tasks->run_task(id));          // not queued any more
  EXPECT_FALSE(tasks->run_task("tsk_missing"));
}

TEST_P(TaskQueueTest, RetryRequeuesDeadTasksOnly) {
  TaskQueue q(*db_);
  auto tasks = service();
  std::atomic<bool> fixed{false};
  tasks->add(Owner{"test", {}}, {.name = "test.fixable",
                                 .handler =
                                     [&](jarvis::TaskContext&) {
                                       if (!fixed) throw std::runtime_error("not yet");
                                       return jarvis::Json{{"fixed", true}};
                                     },
                                 .retry = {.max_attempts = 1}});
  tasks->start(fast());
  std::string id = tasks->enqueue("test.fixable", {.idempotency_key = "fix-1"});
  ASSERT_TRUE(wait_until([&] { return finished(id); }));
  EXPECT_EQ(record(id).status, "dead");
  try {
    q.retry("tsk_nope");
    FAIL();
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.code(), "task_not_found");
  }
  fixed = true;
  auto r = q.retry(id);
  EXPECT_EQ(r.status, "queued");
  EXPECT_EQ(r.attempts, 0);
  ASSERT_TRUE(wait_until([&] { return finished(id); }));
  EXPECT_EQ(record(id).status, "succeeded");
  try {
    q.retry(id);
    FAIL();
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.status(), 409);
    EXPECT_EQ(e.code(), "task_not_retryable");
  }
}

// Issue 8, finding 10: finished tasks of every end state were kept forever (only succeeded ones
// were purged), so failing schedules grew the database without bound.
TEST_P(TaskQueueTest, FinishedTasksOfEveryEndStateArePurgedAfterRetention) {
  auto tasks = service();
  tasks->add(Owner{"test", {}}, {.name = "test.fail_once",
                                 .handler = [](jarvis::TaskContext&) -> jarvis::Json {
                                   throw jarvis::Error(422, "bad", "no");
                                 },
                                 .retry = {.max_attempts = 1}});
  tasks->add(Owner{"test", {}}, {.name = "test.die",
                                 .handler = [](jarvis::TaskContext&) -> jarvis::Json {
                                   throw std::runtime_error("boom");
                                 },
                                 .retry = {.max_attempts = 1}});
  tasks->start(fast());
  std::string ok = tasks->enqueue("system.echo", {});
  std::string failed = tasks->enqueue("test.fail_once", {});
  std::string dead = tasks->enqueue("test.die", {});
  std::string queued = tasks->enqueue("system.echo", {.run_after = "2999-01-01T00:00:00.000Z"});
  ASSERT_TRUE(wait_until([&] { return finished(ok) && finished(failed) && finished(dead); }));
  EXPECT_EQ(record(failed).status, "failed");
  EXPECT_EQ(record(dead).status, "dead");
  // Nothing is older than an hour ago: nothing goes.
  EXPECT_EQ(TaskQueue(*db_).purge_finished(jarvis::iso_from_now(-3600 * 1000LL)), 0);
  // Everything finished before a minute from now goes, except the queued task.
  EXPECT_EQ(TaskQueue(*db_).purge_finished(jarvis::iso_from_now(60 * 1000LL)), 3);
  EXPECT_FALSE(TaskQueue(*db_).get(failed));
  EXPECT_FALSE(TaskQueue(*db_).get(dead));
  EXPECT_TRUE(TaskQueue(*db_).get(queued));
}

// Issue 8, findings 1 and 10: a payload nested too deep, or too large, never reaches the queue.
TEST_P(TaskQueueTest, DeepOrOversizedPayloadsAreRefusedAtEnqueue) {
  auto tasks = service();
  tasks->set_limits({.max_payload_bytes = 2048});
  jarvis::Json deep = 1;
  for (int i = 0; i < 100; ++i) deep = jarvis::Json::array({std::move(deep)});
  try {
    tasks->enqueue("system.echo", {.payload = {{"v", deep}}});
    FAIL() << "a payload nested 101 levels was accepted";
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.code(), "json_too_deep");
  }
  try {
    tasks->enqueue("system.echo", {.payload = {{"v", std::string(4096, 'x')}}});
    FAIL() << "a 4 KiB payload was accepted with a 2 KiB limit";
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.status(), 413);
    EXPECT_EQ(e.code(), "payload_too_large");
  }
  EXPECT_EQ(TaskQueue(*db_).list({}, nullptr).size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Dialects, TaskQueueTest, ::testing::Values(Db::Sqlite, Db::Postgresql),
                         testing::db_name);

}  // namespace
}  // namespace jarvis::host

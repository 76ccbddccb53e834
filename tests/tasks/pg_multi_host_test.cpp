// tests/tasks/pg_multi_host_test.cpp — several hosts on one PostgreSQL: two TaskService instances
// (separate connection pools, separate worker ids) drain 5,000 tasks with every task executed
// exactly once, and concurrent ticks from two schedulers dispatch each slot exactly once.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "tasks/iso_time.h"
#include "tasks/scheduler.h"
#include "tasks/task_queue.h"
#include "tasks/task_service.h"
#include "task_test_env.h"

namespace jarvis::host {
namespace {

using namespace std::chrono_literals;
using testing::wait_until;

TEST(PgMultiHost, TwoHostsDrainFiveThousandTasksEachExactlyOnce) {
  std::string url = jarvis::test::pg_fresh_database();
  ASSERT_FALSE(url.empty());
  auto db_a = SqlDatabase::open(url, 6);
  MigrationRunner(*db_a).apply({{"host", std::string(JARVIS_SOURCE_DIR) + "/migrations"}});
  auto db_b = SqlDatabase::open(url, 6);

  std::mutex m;
  std::map<int, int> runs;             // payload n -> executions
  std::map<std::string, int> by_host;  // host -> executions
  auto make = [&](SqlDatabase& db, const std::string& host) {
    auto s = std::make_unique<TaskService>(db, nullptr, nullptr);
    s->add(Owner{"test", {}},
           {.name = "test.trivial", .handler = [&, host](jarvis::TaskContext& t) {
              std::lock_guard lock(m);
              ++runs[t.payload["n"].get<int>()];
              ++by_host[host];
              return jarvis::Json{{"n", t.payload["n"]}};
            }});
    return s;
  };
  auto a = make(*db_a, "a");
  auto b = make(*db_b, "b");

  const int kTasks = 5000;
  // Enqueue from both hosts while both run.
  RunnerOptions o;
  o.max_concurrent = 4;
  o.poll_interval = 20ms;
  o.run_scheduler = false;
  o.worker_id = "host-a";
  a->start(o);
  o.worker_id = "host-b";
  b->start(o);
  std::thread ea([&] {
    for (int i = 0; i < kTasks; i += 2) a->enqueue("test.trivial", {.payload = {{"n", i}}});
  });
  std::thread eb([&] {
    for (int i = 1; i < kTasks; i += 2) b->enqueue("test.trivial", {.payload = {{"n", i}}});
  });
  ea.join();
  eb.join();

  TaskQueue q(*db_a);
  ASSERT_TRUE(wait_until([&] { return q.counts_by_status()["succeeded"] == kTasks; }, 300s))
      << "succeeded: " << q.counts_by_status()["succeeded"];
  EXPECT_TRUE(a->drain(30s));
  EXPECT_TRUE(b->drain(30s));

  std::lock_guard lock(m);
  ASSERT_EQ(runs.size(), static_cast<std::size_t>(kTasks));
  for (const auto& [n, count] : runs) ASSERT_EQ(count, 1) << "task " << n;
  EXPECT_EQ(by_host["a"] + by_host["b"], kTasks);
  EXPECT_GT(by_host["a"], 0);
  EXPECT_GT(by_host["b"], 0);
  auto counts = q.counts_by_status();
  EXPECT_EQ(counts["queued"], 0);
  EXPECT_EQ(counts["running"], 0);
  EXPECT_EQ(counts["dead"], 0);
  // One attempt each: nobody's lease was stolen.
  long long retried = -1;
  auto sql = db_a->session();
  *sql << "SELECT COUNT(*) FROM tasks WHERE attempts <> 1", soci::into(retried);
  EXPECT_EQ(retried, 0);
}

TEST(PgMultiHost, ConcurrentTicksDispatchEachSlotOnce) {
  std::string url = jarvis::test::pg_fresh_database();
  ASSERT_FALSE(url.empty());
  auto db_a = SqlDatabase::open(url, 4);
  MigrationRunner(*db_a).apply({{"host", std::string(JARVIS_SOURCE_DIR) + "/migrations"}});
  auto db_b = SqlDatabase::open(url, 4);
  TaskService host_a(*db_a, nullptr, nullptr);
  TaskService host_b(*db_b, nullptr, nullptr);

  const int kSchedules = 200;
  std::int64_t now = unix_now();
  std::int64_t base = now - 5 * 60 - 30;  // each schedule: 5 missed slots, then due ones as we go
  for (int i = 0; i < kSchedules; ++i) {
    ScheduleFields f;
    f.cron_expr = "@every:60";
    f.task = "system.echo";
    f.max_catchup = std::optional<int>(2);  // forces several ticks per schedule
    auto s = host_a.scheduler().create("usr_" + std::to_string(i % 7), f);
    auto sql = db_a->session();
    std::string last = iso_from_unix(base), next = iso_from_unix(base + 60);
    *sql << "UPDATE schedules SET last_run_at = :l, next_due_at = :n WHERE id = :id",
        soci::use(last), soci::use(next), soci::use(s.id);
  }

  // Two hosts tick as fast as they can, racing over the same rows, until the backlog is gone.
  std::atomic<long long> dispatched{0}, duplicates{0};
  auto ticker = [&](TaskService& host) {
    for (int i = 0; i < 12; ++i) {
      auto r = host.scheduler().tick(now);
      dispatched += r.dispatched;
      duplicates += r.duplicates;
    }
  };
  std::thread ta([&] { ticker(host_a); });
  std::thread tb([&] { ticker(host_b); });
  ta.join();
  tb.join();

  auto sql = db_a->session();
  long long rows = 0, distinct_slots = 0, tasks = 0, orphan = 0;
  *sql << "SELECT COUNT(*) FROM schedule_dispatches", soci::into(rows);
  *sql << "SELECT COUNT(*) FROM (SELECT DISTINCT schedule_id, due_at FROM schedule_dispatches) x",
      soci::into(distinct_slots);
  *sql << "SELECT COUNT(*) FROM tasks WHERE name = 'system.echo'", soci::into(tasks);
  *sql << "SELECT COUNT(*) FROM schedule_dispatches d LEFT JOIN tasks t ON t.id = d.task_id "
          "WHERE t.id IS NULL",
      soci::into(orphan);
  EXPECT_EQ(rows, kSchedules * 5LL);  // every missed slot, once
  EXPECT_EQ(distinct_slots, rows);
  EXPECT_EQ(tasks, rows);  // one task per dispatched slot, no more
  EXPECT_EQ(orphan, 0);
  EXPECT_EQ(dispatched.load(), rows);
  EXPECT_EQ(host_a.scheduler().backlog(now)["dispatchable_total"], 0);
}

}  // namespace
}  // namespace jarvis::host

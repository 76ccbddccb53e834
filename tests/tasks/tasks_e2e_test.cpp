// tests/tasks/tasks_e2e_test.cpp — the queue across real `jarvis serve` processes: tasks queued
// before a kill -9 run after the restart (and a lease held by the killed process is re-claimed);
// `jarvis tasks enqueue --wait` is answered by the serving host; two hosts on one PostgreSQL drain
// 5,000 tasks with every task executed exactly once, both hosts taking part.
#include <gtest/gtest.h>

#include <set>

#include "tasks/task_queue.h"
#include "tasks/task_service.h"
#include "task_test_env.h"

namespace jarvis::host {
namespace {

using namespace std::chrono_literals;
using testing::wait_until;

bool all_succeeded(TaskQueue& q, const std::vector<std::string>& ids) {
  for (const auto& id : ids) {
    auto r = q.get(id);
    if (!r || r->status != "succeeded") return false;
  }
  return true;
}

TEST(TasksEndToEnd, QueuedTasksSurviveKill9AndALeaseOfTheKilledHostIsReclaimed) {
  jarvis::test::TempDir dir;
  std::string db_path = dir.file("jarvis.db");
  std::map<std::string, std::string> env = {{"APP_DB", db_path},
                                            {"TASK_RUNNER_MAX_CONCURRENT", "2"}};
  std::vector<std::string> queued;
  std::optional<ClaimedTask> held;
  {
    jarvis::test::ServerProcess a(dir.path(), env);
    ASSERT_TRUE(a.ready()) << a.output();
    // Work handed to host A: due a few seconds from now, so it is still queued at the kill.
    auto db = SqlDatabase::open("sqlite://" + db_path, 2);
    TaskService client(*db, nullptr, nullptr);  // enqueues only; never started
    for (int i = 0; i < 30; ++i) {
      queued.push_back(client.enqueue(
          "system.echo", {.payload = {{"i", i}}, .run_after = jarvis::iso_from_now(4000)}));
    }
    // And a task host A is "running" when it dies: its lease (held under A's worker id) is
    // live at the kill and expires two seconds later.
    // (system.echo allows one attempt; this one gets three so the re-claim may run it.)
    // Not due for a minute, so host A's own workers leave it to us.
    std::string running = client.enqueue(
        "system.echo",
        {.payload = {{"held", true}}, .run_after = jarvis::iso_from_now(60000), .max_attempts = 3});
    queued.push_back(running);
    TaskQueue q(*db);
    held = q.claim_id(running, "host-a:" + std::to_string(a.pid()) + "/0", 2000ms);
    ASSERT_TRUE(held);
    a.kill9();
  }
  auto db_before = SqlDatabase::open("sqlite://" + db_path, 1);
  TaskQueue q_before(*db_before);
  long long still_queued = 0;
  for (const auto& id : queued) still_queued += q_before.get(id)->status == "queued" ? 1 : 0;
  EXPECT_GE(still_queued, 30);  // nothing ran: they were not due before the kill

  jarvis::test::ServerProcess b(dir.path(), env);
  ASSERT_TRUE(b.ready()) << b.output();
  auto db = SqlDatabase::open("sqlite://" + db_path, 2);
  TaskQueue q(*db);
  ASSERT_TRUE(wait_until([&] { return all_succeeded(q, queued); }, 120s)) << b.output();
  for (std::size_t i = 0; i + 1 < queued.size(); ++i) {
    auto r = q.get(queued[i]);
    EXPECT_EQ(r->attempts, 1);
    EXPECT_EQ(jarvis::Json::parse(*r->result)["i"], static_cast<int>(i));
    // Run by host B (its worker id names its pid).
    EXPECT_NE(r->lease_owner.value_or("").find(":" + std::to_string(b.pid()) + "/"),
              std::string::npos);
  }
  auto reclaimed = q.get(queued.back());
  EXPECT_EQ(reclaimed->attempts, 2);  // re-claimed after the dead host's lease expired
  // The killed host's late write would be refused.
  EXPECT_FALSE(q.complete(*held, "{\"late\":true}"));

  // The CLI hands work to the serving host and waits for its result.
  auto waited = jarvis::test::run_jarvis({"tasks", "enqueue", "system.echo", "--payload",
                                          "{\"via\":\"cli\"}", "--wait", "--timeout", "60"},
                                         dir.path(), {{"APP_DB", db_path}});
  EXPECT_EQ(waited.exit_code, 0) << waited.err;
  EXPECT_EQ(jarvis::Json::parse(waited.out), (jarvis::Json{{"via", "cli"}}));
}

TEST(TasksEndToEnd, TwoServeProcessesOnPostgresqlRunEveryTaskOnce) {
  std::string url = jarvis::test::pg_fresh_database();
  ASSERT_FALSE(url.empty());
  jarvis::test::TempDir dir_a, dir_b;
  std::map<std::string, std::string> env = {{"DATABASE_URL", url},
                                            {"TASK_RUNNER_MAX_CONCURRENT", "4"}};
  jarvis::test::ServerProcess a(dir_a.path(), env);
  ASSERT_TRUE(a.ready()) << a.output();
  jarvis::test::ServerProcess b(dir_b.path(), env);
  ASSERT_TRUE(b.ready()) << b.output();

  auto db = SqlDatabase::open(url, 4);
  TaskService client(*db, nullptr, nullptr);  // enqueues only
  const int kTasks = 5000;
  std::vector<std::string> ids;
  ids.reserve(kTasks);
  for (int i = 0; i < kTasks; ++i) {
    ids.push_back(client.enqueue("system.echo", {.payload = {{"n", i}}}));
  }
  TaskQueue q(*db);
  ASSERT_TRUE(wait_until(
      [&] {
        TaskListFilter f;
        f.status = "succeeded";
        f.name = "system.echo";
        f.limit = 1;
        long long done = 0;
        q.list(f, &done);
        return done == kTasks;
      },
      300s));

  // Exactly once: every task took one claim (a second execution needs a second claim, which
  // increments attempts), and its result is its own payload.
  auto sql = db->session();
  long long not_once = -1, by_a = 0, by_b = 0;
  *sql << "SELECT COUNT(*) FROM tasks WHERE name = 'system.echo' AND (attempts <> 1 OR status <> "
          "'succeeded' OR result <> payload)",
      soci::into(not_once);
  EXPECT_EQ(not_once, 0);
  std::string like_a = "%:" + std::to_string(a.pid()) + "/%";
  std::string like_b = "%:" + std::to_string(b.pid()) + "/%";
  *sql << "SELECT COUNT(*) FROM tasks WHERE name = 'system.echo' AND lease_owner LIKE :a",
      soci::use(like_a), soci::into(by_a);
  *sql << "SELECT COUNT(*) FROM tasks WHERE name = 'system.echo' AND lease_owner LIKE :b",
      soci::use(like_b), soci::into(by_b);
  EXPECT_EQ(by_a + by_b, kTasks);
  EXPECT_GT(by_a, 0);
  EXPECT_GT(by_b, 0);
  // The scheduler ticks of both hosts never overlapped: at most one live tick at any time.
  long long live_ticks = -1;
  *sql << "SELECT COUNT(*) FROM tasks WHERE name = 'scheduler.tick' AND status IN ('queued', "
          "'running')",
      soci::into(live_ticks);
  EXPECT_LE(live_ticks, 1);
}

}  // namespace
}  // namespace jarvis::host

// tests/tasks/scheduler_test.cpp — schedules and the tick on SQLite and PostgreSQL: first-run
// semantics, one dispatch per slot across repeated ticks, bounded catch-up with deferred counts,
// invalid expressions refused at creation and harmless when stored, periodic-job upserts,
// enable/disable, the backlog estimate and the tick run by the runner itself.
#include <gtest/gtest.h>

#include <mutex>

#include "jarvis/error.h"
#include "registry/event_bus.h"
#include "tasks/cron.h"
#include "tasks/iso_time.h"
#include "tasks/scheduler.h"
#include "tasks/task_queue.h"
#include "tasks/task_service.h"
#include "task_test_env.h"

namespace jarvis::host {
namespace {

using namespace std::chrono_literals;
using testing::Db;
using testing::wait_until;

class SchedulerTest : public ::testing::TestWithParam<Db> {
 protected:
  void SetUp() override {
    db_ = testing::open_db(GetParam(), dir_);
    ASSERT_TRUE(db_);
    bus_ = std::make_unique<EventBusImpl>(db_.get(), nullptr);
    bus_->subscribe(Owner{"test", {}}, "schedule.", [this](const jarvis::Event& e) {
      std::lock_guard lock(mu_);
      events_.push_back(e);
    });
    tasks_ = std::make_unique<TaskService>(*db_, bus_.get(), nullptr);
    // The owners of the test schedules exist: the host disables schedules of missing owners.
    for (const char* id : {"usr_a", "usr_b"}) {
      exec(std::string("INSERT INTO users(id, username, password_hash, role, created_at, "
                       "updated_at) VALUES('") +
           id + "', '" + id + "', 'x', 'user', '2026-01-01T00:00:00.000Z', " +
           "'2026-01-01T00:00:00.000Z')");
    }
  }

  Scheduler& sched() { return tasks_->scheduler(); }

  ScheduleRecord create(const std::string& owner, const std::string& cron,
                        std::optional<int> max_catchup = std::nullopt,
                        jarvis::Json payload = jarvis::Json::object()) {
    ScheduleFields f;
    f.cron_expr = cron;
    f.task = "system.echo";
    f.payload = payload;
    if (max_catchup) f.max_catchup = std::optional<int>(*max_catchup);
    return sched().create(owner, f);
  }

  void exec(const std::string& q) {
    auto sql = db_->session();
    *sql << q;
  }

  long long count(const std::string& q) {
    long long n = -1;
    auto sql = db_->session();
    *sql << q, soci::into(n);
    return n;
  }

  // Puts schedule `id` in the state "last dispatched slot at `last`" (next due one slot later).
  void set_last_run(const std::string& id, std::int64_t last, std::int64_t next) {
    exec("UPDATE schedules SET last_run_at = '" + iso_from_unix(last) + "', next_due_at = '" +
         iso_from_unix(next) + "' WHERE id = '" + id + "'");
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
  std::unique_ptr<SqlDatabase> db_;
  std::unique_ptr<EventBusImpl> bus_;
  std::unique_ptr<TaskService> tasks_;
  std::mutex mu_;
  std::vector<jarvis::Event> events_;
};

TEST_P(SchedulerTest, IntervalIsDueAtCreationThenEveryInterval) {
  auto s = create("usr_a", "@every:60", std::nullopt, {{"text", "hi"}});
  ASSERT_TRUE(s.next_due_at);
  std::int64_t t0 = *unix_from_iso(*s.next_due_at);
  std::int64_t now = unix_now();
  EXPECT_LE(t0, now);

  auto r = sched().tick(now);
  EXPECT_EQ(r.dispatched, 1);
  EXPECT_EQ(r.deferred, 0);
  EXPECT_EQ(sched().tick(now).dispatched, 0);       // nothing new due
  EXPECT_EQ(sched().tick(now + 59).dispatched, 0);  // not yet
  EXPECT_EQ(sched().tick(t0 + 60).dispatched, 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM schedule_dispatches"), 2);
  EXPECT_EQ(count("SELECT COUNT(*) FROM tasks WHERE name = 'system.echo'"), 2);

  auto rec = sched().get(s.id);
  EXPECT_EQ(rec->last_run_at, iso_from_unix(t0 + 60));
  EXPECT_EQ(rec->next_due_at, iso_from_unix(t0 + 120));

  // The task carries the schedule's payload plus where it came from.
  auto rows = TaskQueue(*db_).list({.status = "queued"});
  ASSERT_EQ(rows.size(), 2u);
  auto p = jarvis::Json::parse(rows[0].payload);
  EXPECT_EQ(p["text"], "hi");
  EXPECT_EQ(p["_schedule"]["id"], s.id);
  EXPECT_EQ(p["_schedule"]["owner"], "usr_a");
  ASSERT_TRUE(wait_until([&] { return events("schedule.trigger").size() == 2; }));
  auto trig = events("schedule.trigger");
  EXPECT_EQ(trig[0].payload["schedule_id"], s.id);
  EXPECT_EQ(trig[0].payload["due_at"], iso_from_unix(t0));
}

TEST_P(SchedulerTest, CronFirstRunsAtItsNextSlot) {
  auto s = create("usr_a", "*/5 * * * *");
  std::int64_t now = unix_now();
  std::int64_t first = *unix_from_iso(*s.next_due_at);
  EXPECT_GT(first, now - 1);
  EXPECT_EQ(first % 300, 0);
  EXPECT_EQ(sched().tick(first - 1).dispatched, 0);
  auto r = sched().tick(first);
  EXPECT_EQ(r.dispatched, 1);
  EXPECT_EQ(sched().get(s.id)->next_due_at, iso_from_unix(first + 300));
}

TEST_P(SchedulerTest, ASlotIsNeverDispatchedTwice) {
  auto s = create("usr_a", "@every:60");
  std::int64_t t0 = *unix_from_iso(*s.next_due_at);
  std::int64_t now = t0 + 150;  // slots t0, t0+60, t0+120
  EXPECT_EQ(sched().tick(now).dispatched, 3);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(sched().tick(now).dispatched, 0);
  // A stale view (as a slower concurrent tick would have) tries the same slots again.
  exec("UPDATE schedules SET last_run_at = NULL, next_due_at = '" + iso_from_unix(t0) +
       "' WHERE id = '" + s.id + "'");
  auto r = sched().tick(now);
  EXPECT_EQ(r.dispatched, 0);
  EXPECT_EQ(r.duplicates, 3);
  EXPECT_EQ(count("SELECT COUNT(*) FROM schedule_dispatches"), 3);
  EXPECT_EQ(count("SELECT COUNT(*) FROM tasks"), 3);
  // Every dispatch row points at its own task.
  EXPECT_EQ(count("SELECT COUNT(DISTINCT task_id) FROM schedule_dispatches"), 3);
  EXPECT_EQ(count("SELECT COUNT(*) FROM schedule_dispatches d JOIN tasks t ON t.id = d.task_id"),
            3);
}

TEST_P(SchedulerTest, CatchUpIsBoundedAndTheRestDeferred) {
  auto s = create("usr_a", "@every:60", 3);
  std::int64_t now = unix_now();
  set_last_run(s.id, now - 600 - 30, now - 600 + 30);  // 10 slots missed

  auto backlog = sched().backlog(now);
  EXPECT_EQ(backlog["dispatchable_total"], 3);
  EXPECT_EQ(backlog["deferred_total"], 7);
  ASSERT_EQ(backlog["schedules"].size(), 1u);
  EXPECT_EQ(backlog["schedules"][0]["schedule_id"], s.id);
  EXPECT_EQ(backlog["schedules"][0]["max_catchup"], 3);
  EXPECT_EQ(count("SELECT COUNT(*) FROM schedule_dispatches"), 0);  // the estimate wrote nothing

  auto r = sched().tick(now);
  EXPECT_EQ(r.dispatched, 3);
  EXPECT_EQ(r.deferred, 7);
  ASSERT_TRUE(wait_until([&] { return events("schedule.catchup").size() == 1; }));
  auto c = events("schedule.catchup")[0];
  EXPECT_EQ(c.payload["schedule_id"], s.id);
  EXPECT_EQ(c.payload["dispatched_count"], 3);
  EXPECT_EQ(c.payload["deferred_count"], 7);
  // Later ticks work the deferred slots off, a bounded amount each time.
  EXPECT_EQ(sched().tick(now).dispatched, 3);
  EXPECT_EQ(sched().tick(now).dispatched, 3);
  auto last = sched().tick(now);
  EXPECT_EQ(last.dispatched, 1);
  EXPECT_EQ(last.deferred, 0);
  EXPECT_EQ(sched().tick(now).dispatched, 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM schedule_dispatches"), 10);
}

TEST_P(SchedulerTest, DefaultCatchUpComesFromSettingsAndLongOutagesAreCheap) {
  sched().set_settings({.default_max_catchup = 2, .tz = "UTC"});
  auto s = create("usr_a", "* * * * *");
  std::int64_t now = unix_now();
  std::int64_t year = 365LL * 24 * 3600;
  std::int64_t last = (now - year) / 60 * 60;
  set_last_run(s.id, last, last + 60);
  auto r = sched().tick(now);
  EXPECT_EQ(r.dispatched, 2);
  // A year of minutes is counted, not scanned: every missed minute but the two dispatched.
  std::vector<std::int64_t> slots;
  std::int64_t total = CronSchedule::parse("* * * * *").slots_between(last, now, 0, slots);
  EXPECT_EQ(r.deferred, total - 2);
  EXPECT_GT(r.deferred, 500000);
}

TEST_P(SchedulerTest, InvalidExpressionsAreRefusedAtCreation) {
  for (std::string bad : {"@every:x", "@every:0", "61 * * * *", "* * *", "", "@sometimes"}) {
    try {
      create("usr_a", bad);
      FAIL() << "accepted '" << bad << "'";
    } catch (const jarvis::Error& e) {
      EXPECT_EQ(e.status(), 400) << bad;
      EXPECT_EQ(e.code(), "invalid_cron") << bad;
      EXPECT_FALSE(std::string(e.what()).empty()) << bad;
    }
  }
  ScheduleFields f;
  f.cron_expr = "@every:5";
  f.task = "no.such.task";
  try {
    sched().create("usr_a", f);
    FAIL();
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.code(), "unknown_task");
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM schedules"), 0);
}

// next_due_at NULL means the expression has no future slot: the tick never reads the row.
TEST_P(SchedulerTest, AScheduleWithNoNextSlotIsNeverDue) {
  std::int64_t now = unix_now();
  std::string past = iso_from_unix(now - 10);
  exec(
      "INSERT INTO schedules(id, owner, cron_expr, task, payload, enabled, next_due_at, "
      "created_at, updated_at) VALUES('sch_never', 'usr_a', '0 0 30 2 *', 'system.echo', '{}', "
      "1, NULL, '" +
      past + "', '" + past + "')");
  auto good = create("usr_b", "@every:60");
  auto r = sched().tick(now);
  EXPECT_EQ(r.schedules_due, 1);
  EXPECT_EQ(r.dispatched, 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM schedule_dispatches WHERE schedule_id = 'sch_never'"), 0);
  EXPECT_EQ(sched().tick(now + 30).schedules_due, 0);
}

TEST_P(SchedulerTest, AStoredBadRowDoesNotBreakTheOthers) {
  std::int64_t now = unix_now();
  // Rows that bypassed validation (older version, manual edit) sort before and after the good one.
  std::string past = iso_from_unix(now - 10);
  for (std::string id : {"sch_0bad", "sch_zbad"}) {
    exec(
        "INSERT INTO schedules(id, owner, cron_expr, task, payload, enabled, next_due_at, "
        "created_at, updated_at) VALUES('" +
        id +
        "', 'usr_a', '@every:x', 'system.echo', '{}', "
        "1, '" +
        past + "', '" + past + "', '" + past + "')");
  }
  exec(
      "INSERT INTO schedules(id, owner, cron_expr, task, payload, enabled, next_due_at, "
      "created_at, updated_at) VALUES('sch_gone', 'usr_a', '@every:5', 'plugin.removed', '{}', "
      "1, '" +
      past + "', '" + past + "', '" + past + "')");
  auto good = create("usr_b", "@every:60");
  auto r = sched().tick(now);
  EXPECT_EQ(r.invalid, 2);
  EXPECT_EQ(r.unknown_task, 1);
  EXPECT_EQ(r.dispatched, 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM schedule_dispatches WHERE schedule_id = '" + good.id + "'"),
            1);
  // And again on the next tick.
  auto r2 = sched().tick(now + 60);
  EXPECT_EQ(r2.invalid, 2);
  EXPECT_EQ(r2.dispatched, 1);
  auto backlog = sched().backlog(now + 60);
  EXPECT_EQ(backlog["invalid_count"], 2);
}

TEST_P(SchedulerTest, DisabledSchedulesDoNotFireAndEnablingRestartsWithoutCatchUp) {
  auto s = create("usr_a", "@every:60");
  std::int64_t now = unix_now();
  set_last_run(s.id, now - 600, now - 540);  // last ran ten minutes ago
  ScheduleFields off;
  off.enabled = false;
  sched().update(s.id, off);
  EXPECT_EQ(sched().tick(now).dispatched, 0);
  EXPECT_EQ(sched().backlog(now)["dispatchable_total"], 0);
  ScheduleFields on;
  on.enabled = true;
  auto rec = sched().update(s.id, on);
  EXPECT_FALSE(rec.last_run_at);
  // Due once (as new), not the ten slots it missed while off.
  auto r = sched().tick(unix_now());
  EXPECT_EQ(r.dispatched, 1);
  EXPECT_EQ(r.deferred, 0);
}

TEST_P(SchedulerTest, UpdateValidatesAndRemoveDeletesDispatches) {
  auto s = create("usr_a", "@every:60");
  sched().tick(unix_now());
  ScheduleFields bad;
  bad.cron_expr = "99 * * * *";
  EXPECT_THROW(sched().update(s.id, bad), jarvis::Error);
  ScheduleFields unknown;
  unknown.task = "nope.nope";
  EXPECT_THROW(sched().update(s.id, unknown), jarvis::Error);
  ScheduleFields ok;
  ok.cron_expr = "0 3 * * *";
  ok.payload = jarvis::Json{{"k", 1}};
  auto rec = sched().update(s.id, ok);
  EXPECT_EQ(rec.cron_expr, "0 3 * * *");
  EXPECT_EQ(*unix_from_iso(*rec.next_due_at) % 86400, 3 * 3600);
  EXPECT_EQ(sched().dispatches(s.id, 10, 0).size(), 1u);
  EXPECT_TRUE(sched().remove(s.id));
  EXPECT_FALSE(sched().remove(s.id));
  EXPECT_EQ(count("SELECT COUNT(*) FROM schedule_dispatches"), 0);
  try {
    sched().update(s.id, ok);
    FAIL();
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.code(), "schedule_not_found");
  }
}

TEST_P(SchedulerTest, PeriodicJobsAreUpsertedByName) {
  tasks_->add_periodic(
      Owner{"maint", {}},
      {.name = "maint.heartbeat", .cron_expr = "@every:600", .task = "system.echo"});
  auto first = sched().list("system", 10, 0);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].name, "maint.heartbeat");
  sched().tick(unix_now());
  auto ran = sched().get(first[0].id);
  ASSERT_TRUE(ran->last_run_at);
  // A restart declares the same job: nothing changes, no re-fire.
  tasks_->add_periodic(
      Owner{"maint", {}},
      {.name = "maint.heartbeat", .cron_expr = "@every:600", .task = "system.echo"});
  auto again = sched().list("system", 10, 0);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, first[0].id);
  EXPECT_EQ(again[0].last_run_at, ran->last_run_at);
  EXPECT_EQ(sched().tick(unix_now()).dispatched, 0);
  // A new interval replaces the old one and starts afresh.
  tasks_->add_periodic(
      Owner{"maint", {}},
      {.name = "maint.heartbeat", .cron_expr = "@every:300", .task = "system.echo"});
  auto changed = sched().get(first[0].id);
  EXPECT_EQ(changed->cron_expr, "@every:300");
  EXPECT_FALSE(changed->last_run_at);
  try {
    tasks_->add_periodic(Owner{"maint", {}},
                         {.name = "maint.bad", .cron_expr = "every minute", .task = "system.echo"});
    FAIL();
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.code(), "invalid_cron");
  }
}

// A plugin's periodic job may run an internal task; the operator can still disable and re-enable
// it (the access rule binds callers starting a task, not the plugin's own schedule).
TEST_P(SchedulerTest, InternalPeriodicJobsCanBeDisabledAndEnabledAgain) {
  tasks_->add(Owner{"maint", {}}, {.name = "maint.internal",
                                   .handler = [](jarvis::TaskContext&) { return jarvis::Json{}; }});
  tasks_->add_periodic(Owner{"maint", {}},
                       {.name = "maint.job", .cron_expr = "@every:600", .task = "maint.internal"});
  auto job = sched().list("system", 10, 0);
  ASSERT_EQ(job.size(), 1u);
  ScheduleFields off, on;
  off.enabled = false;
  on.enabled = true;
  EXPECT_FALSE(sched().update(job[0].id, off).enabled);
  EXPECT_TRUE(sched().update(job[0].id, on).enabled);
  // Pointing it at another internal task is refused even for the system.
  ScheduleFields other;
  other.task = "scheduler.tick";
  try {
    sched().update(job[0].id, other);
    FAIL() << "the system switched a schedule to an internal task";
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.code(), "task_forbidden");
  }
}

TEST_P(SchedulerTest, TheRunnerTicksAndRunsScheduledTasks) {
  create("usr_a", "@every:1", std::nullopt, {{"from", "schedule"}});
  RunnerOptions o;
  o.max_concurrent = 2;
  o.poll_interval = 20ms;
  o.scheduler_interval = 50ms;
  tasks_->start(o);
  ASSERT_TRUE(wait_until([&] {
    return !TaskQueue(*db_).list({.status = "succeeded", .name = "system.echo"}).empty();
  }));
  auto done = TaskQueue(*db_).list({.status = "succeeded", .name = "system.echo"});
  auto result = jarvis::Json::parse(*done[0].result);
  EXPECT_EQ(result["from"], "schedule");
  EXPECT_TRUE(result.contains("_schedule"));
  // Ticks never pile up: at most one scheduler.tick is live at any moment.
  EXPECT_LE(count("SELECT COUNT(*) FROM tasks WHERE name = 'scheduler.tick' AND status IN "
                  "('queued', 'running')"),
            1);
  EXPECT_TRUE(tasks_->drain(10s));
}

TEST(SchedulerFields, BodyFieldsAreCheckedByName) {
  auto expect_field_error = [](const jarvis::Json& body, const std::string& field) {
    try {
      ScheduleFields::from_json(body);
      FAIL() << body.dump();
    } catch (const jarvis::Error& e) {
      EXPECT_EQ(e.status(), 400);
      EXPECT_EQ(e.code(), "invalid_field");
      EXPECT_NE(std::string(e.what()).find("'" + field + "'"), std::string::npos) << e.what();
    }
  };
  expect_field_error({{"cron_expr", 5}}, "cron_expr");
  expect_field_error({{"task", ""}}, "task");
  expect_field_error({{"payload", "text"}}, "payload");
  expect_field_error({{"thread_id", 3}}, "thread_id");
  expect_field_error({{"max_catchup", 0}}, "max_catchup");
  expect_field_error({{"max_catchup", "3"}}, "max_catchup");
  expect_field_error({{"enabled", "yes"}}, "enabled");
  expect_field_error({{"colour", "red"}}, "colour");
  auto f = ScheduleFields::from_json({{"cron_expr", "@every:60"},
                                      {"task", "system.echo"},
                                      {"payload", jarvis::Json::object()},
                                      {"thread_id", nullptr},
                                      {"max_catchup", nullptr},
                                      {"enabled", true}});
  EXPECT_EQ(*f.cron_expr, "@every:60");
  EXPECT_TRUE(f.thread_id.has_value());
  EXPECT_FALSE(f.thread_id->has_value());
}

INSTANTIATE_TEST_SUITE_P(Dialects, SchedulerTest, ::testing::Values(Db::Sqlite, Db::Postgresql),
                         testing::db_name);

}  // namespace
}  // namespace jarvis::host

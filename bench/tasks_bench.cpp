// bench/tasks_bench.cpp — task queue and scheduler benchmarks against a real database (not a
// test: prints numbers, no thresholds). Driven by bench/tasks.sh, which builds and runs it.
//
//   tasks_bench throughput URL TASKS HOSTS WORKERS
//       HOSTS TaskService instances, each with its own connection pool and WORKERS workers (on
//       PostgreSQL these behave exactly like separate `jarvis serve` processes: separate
//       connections, separate lease owners). TASKS trivial tasks are enqueued while the runners
//       run; prints end-to-end tasks/s (first enqueue → last task succeeded).
//   tick URL SCHEDULES [events] [staggered]
//       SCHEDULES "@every:60" schedules; times one Scheduler::tick (dispatch + enqueue of every due
//       slot). All are due (the worst case: every-minute cron schedules all fall due at the top of
//       the minute), or with `staggered` their due times are spread over the minute as
//       "@every:60" schedules created at different times are (1/60 due per one-second tick).
//       With `events`, schedule.trigger events are stored through the event bus too, as in
//       `jarvis serve`.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "db/migrations.h"
#include "db/sql_database.h"
#include "registry/event_bus.h"
#include "tasks/iso_time.h"
#include "tasks/scheduler.h"
#include "tasks/task_queue.h"
#include "tasks/task_service.h"

using namespace jarvis::host;
using Clock = std::chrono::steady_clock;

namespace {

std::unique_ptr<SqlDatabase> open_migrated(const std::string& url, std::size_t pool) {
  auto db = SqlDatabase::open(url, pool);
  MigrationRunner(*db).apply({{"host", std::string(JARVIS_SOURCE_DIR) + "/migrations"}});
  return db;
}

int throughput(const std::string& url, int n, int hosts, int workers) {
  std::vector<std::unique_ptr<SqlDatabase>> dbs;
  std::vector<std::unique_ptr<TaskService>> services;
  std::atomic<int> executed{0};
  for (int h = 0; h < hosts; ++h) {
    dbs.push_back(h == 0 ? open_migrated(url, workers + 2) : SqlDatabase::open(url, workers + 2));
    auto s = std::make_unique<TaskService>(*dbs.back(), nullptr, nullptr);
    s->add(Owner{"bench", {}}, {.name = "bench.noop", .handler = [&](jarvis::TaskContext&) {
                                  ++executed;
                                  return jarvis::Json::object();
                                }});
    services.push_back(std::move(s));
  }
  RunnerOptions o;
  o.max_concurrent = workers;
  o.run_scheduler = false;
  for (int h = 0; h < hosts; ++h) {
    o.worker_id = "bench-host-" + std::to_string(h);
    services[h]->start(o);
  }
  auto t0 = Clock::now();
  // One enqueuing thread per host, like clients of each host.
  std::vector<std::thread> producers;
  for (int h = 0; h < hosts; ++h) {
    producers.emplace_back([&, h] {
      for (int i = h; i < n; i += hosts) {
        services[h]->enqueue("bench.noop", {.payload = {{"i", i}}});
      }
    });
  }
  for (auto& p : producers) p.join();
  double enqueue_s = std::chrono::duration<double>(Clock::now() - t0).count();
  // Watch the handler counter (cheap), then confirm every completion is stored.
  while (executed.load() < n) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  TaskQueue q(*dbs[0]);
  while (q.counts_by_status()["succeeded"] < n)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  double total_s = std::chrono::duration<double>(Clock::now() - t0).count();
  for (auto& s : services) s->drain(std::chrono::seconds(30));
  std::printf(
      "throughput %s: %d tasks, %d host(s) x %d workers: enqueue %.0f/s, end-to-end "
      "%.2f s = %.0f tasks/s (executed %d)\n",
      dbs[0]->dialect() == jarvis::Dialect::Sqlite ? "sqlite" : "postgresql", n, hosts, workers,
      n / enqueue_s, total_s, n / total_s, executed.load());
  return executed.load() == n ? 0 : 1;
}

int tick(const std::string& url, int n, bool with_events, bool staggered) {
  auto db = open_migrated(url, 4);
  std::unique_ptr<EventBusImpl> bus;
  if (with_events) bus = std::make_unique<EventBusImpl>(db.get(), nullptr);
  TaskService tasks(*db, bus.get(), nullptr);
  std::int64_t now = unix_now();
  {
    // Insert the schedules in one transaction (set-up, not measured).
    auto sql = db->session();
    soci::transaction tx(*sql);
    std::string id, due, created = jarvis::now_iso();
    soci::statement st = (sql->prepare << "INSERT INTO schedules(id, owner, cron_expr, task, "
                                          "payload, enabled, next_due_at, created_at, updated_at) "
                                          "VALUES(:id, 'usr_bench', '@every:60', 'system.echo', "
                                          "'{}', 1, :due, :c, :u)",
                          soci::use(id), soci::use(due), soci::use(created), soci::use(created));
    for (int i = 0; i < n; ++i) {
      id = jarvis::new_id("sch");
      // Staggered: schedule i falls due (i % 60) seconds from now; only i % 60 == 0 is due.
      due = iso_from_unix(staggered && i % 60 != 0 ? now + i % 60 : now - 30);
      st.execute(true);
    }
    tx.commit();
  }
  auto t0 = Clock::now();
  TickResult r = tasks.scheduler().tick(now);
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  auto t1 = Clock::now();
  TickResult again = tasks.scheduler().tick(now);
  double idle_ms = std::chrono::duration<double, std::milli>(Clock::now() - t1).count();
  std::printf(
      "tick %s: %d schedules%s%s: dispatched %lld in %.1f ms; the next tick (nothing due) "
      "%.1f ms (dispatched %lld)\n",
      db->dialect() == jarvis::Dialect::Sqlite ? "sqlite" : "postgresql", n,
      staggered ? " (staggered over the minute)" : " (all due)",
      with_events ? " + stored schedule.trigger events" : "", r.dispatched, ms, idle_ms,
      again.dispatched);
  long long expected = staggered ? (n + 59) / 60 : n;
  return r.dispatched == expected ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  std::vector<std::string> a(argv + 1, argv + argc);
  try {
    if (a.size() == 5 && a[0] == "throughput") {
      return throughput(a[1], std::atoi(a[2].c_str()), std::atoi(a[3].c_str()),
                        std::atoi(a[4].c_str()));
    }
    if (a.size() >= 3 && a.size() <= 5 && a[0] == "tick") {
      bool events = false, staggered = false, ok = true;
      for (std::size_t i = 3; i < a.size(); ++i) {
        if (a[i] == "events") {
          events = true;
        } else if (a[i] == "staggered") {
          staggered = true;
        } else {
          ok = false;
        }
      }
      if (ok) return tick(a[1], std::atoi(a[2].c_str()), events, staggered);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tasks_bench: %s\n", e.what());
    return 1;
  }
  std::fprintf(
      stderr,
      "usage: tasks_bench throughput URL TASKS HOSTS WORKERS | tick URL SCHEDULES [events] "
      "[staggered]\n");
  return 2;
}

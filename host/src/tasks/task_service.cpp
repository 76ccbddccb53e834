// host/src/tasks/task_service.cpp — TaskService's lifecycle: construction (the host's own tasks,
// the durable-subscription sink, metrics), start/stop_claiming/drain of the runner, running one
// task here, settings. The worker, enqueue, access and housekeeping parts have files of their own
// (see task_service_impl.h).
#include "tasks/task_service.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "db/sql_database.h"
#include "jarvis/error.h"
#include "observability/metrics.h"
#include "registry/event_bus.h"
#include "tasks/cron.h"
#include "tasks/task_routes.h"
#include "tasks/task_service_impl.h"

namespace jarvis::host {

std::string default_worker_id() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "host");
  return std::string(host) + ":" + std::to_string(getpid());
}

TaskService::TaskService(SqlDatabase& db, EventBusImpl* events, MetricsRegistry* metrics)
    : impl_(std::make_shared<Impl>(db, events, metrics)) {
  impl_->opts.worker_id = default_worker_id();
  std::weak_ptr<Impl> weak = impl_;
  impl_->scheduler.set_access_check([weak](const std::string& task, const jarvis::Principal& who) {
    auto self = weak.lock();
    if (!self) throw jarvis::Error(503, "unavailable", "task service is gone");
    auto e = self->find(task);
    require_entry_access(task, e ? std::optional(e->access) : std::nullopt, who);
  });
  if (events) {
    // Durable subscriptions: the bus inserts their tasks into the transaction storing the event.
    events->set_durable_sink(
        [weak](HostTransaction& tx, const std::string& task, const jarvis::Event& event) {
          auto self = weak.lock();
          return self && self->enqueue_durable(tx, task, event);
        });
  }
  add(Owner{"host", {}},
      jarvis::TaskSpec{.name = "system.echo",
                       .description = "Returns its payload (checks the queue end to end)",
                       .handler = [](jarvis::TaskContext& t) { return t.payload; },
                       .retry = {.max_attempts = 1},
                       .timeout = std::chrono::seconds(60)},
      jarvis::TaskAccess::User);
  add(Owner{"host", {}}, jarvis::TaskSpec{.name = "scheduler.tick",
                                          .description = "Dispatches due schedule slots as tasks",
                                          .handler =
                                              [weak](jarvis::TaskContext&) {
                                                auto self = weak.lock();
                                                if (!self)
                                                  throw std::runtime_error("task service is gone");
                                                return self->run_tick();
                                              },
                                          .retry = {.max_attempts = 1},
                                          .timeout = std::chrono::seconds(120)});
  if (metrics) {
    metrics->add_collector([weak](MetricsRegistry& m) {
      auto self = weak.lock();
      if (!self) return;
      try {
        for (const auto& [status, n] : self->queue.counts_by_status()) {
          m.gauge_set("jarvis_tasks_queue_depth", "Tasks by status", {{"status", status}},
                      static_cast<double>(n));
        }
        m.gauge_set("jarvis_tasks_in_flight", "Tasks executing in this process", {},
                    static_cast<double>(self->executing.load()));
      } catch (const std::exception& e) {
        spdlog::warn("tasks: queue depth metrics unavailable: {}", e.what());
      }
    });
  }
}

TaskService::~TaskService() {
  bool started;
  milliseconds timeout;
  {
    std::lock_guard lock(impl_->run_mu);
    started = impl_->started;
    timeout = impl_->opts.shutdown_timeout;
  }
  if (started) drain(timeout);
}

void TaskService::set_limits(TaskLimits limits) {
  impl_->max_payload_bytes.store(limits.max_payload_bytes);
}

jarvis::Json TaskService::call(const std::string& name, const jarvis::Json& payload) {
  auto entry = impl_->find(name);
  if (!entry)
    throw jarvis::Error(400, "unknown_task", "no task named '" + name + "' is registered");
  jarvis::TaskContext ctx;
  ctx.task_id = jarvis::new_id("call");
  ctx.name = name;
  ctx.payload = payload;
  return entry->spec.handler(ctx);
}

int TaskService::max_attempts_of(const std::string& name) const {
  return impl_->max_attempts_of(name);
}

void TaskService::add_periodic(Owner owner, jarvis::PeriodicJob job) {
  if (job.name.empty()) {
    throw jarvis::Error(400, "invalid_periodic_job", "a periodic job needs a name");
  }
  std::string reason = CronSchedule::validate(job.cron_expr);
  if (!reason.empty()) throw jarvis::Error(400, "invalid_cron", reason);
  check_task_name(job.task);
  try {
    impl_->upsert_periodic(job);
  } catch (const jarvis::Error&) {
    throw;
  } catch (const std::exception& e) {
    // The schedules table may not exist yet (plugins are set up before migrations run):
    // store the job and write it when the runner starts.
    spdlog::debug("tasks: periodic job {} kept for start-up: {}", job.name, e.what());
    std::lock_guard lock(impl_->reg_mu);
    impl_->pending_periodic.emplace_back(std::move(owner), std::move(job));
  }
}

void TaskService::start(RunnerOptions options) {
  if (options.worker_id.empty()) options.worker_id = default_worker_id();
  if (options.max_concurrent < 1) options.max_concurrent = 1;
  if (options.poll_interval <= milliseconds(0)) options.poll_interval = milliseconds(200);
  if (options.lease < milliseconds(100)) options.lease = milliseconds(100);
  if (options.scheduler_interval < milliseconds(10)) options.scheduler_interval = milliseconds(10);
  impl_->scheduler.set_settings(
      {options.scheduler_max_catchup, options.scheduler_tz, options.schedule_quota});
  impl_->max_payload_bytes.store(options.schedule_quota.max_task_payload_bytes);
  if (long long n = impl_->disable_forbidden_schedules(); n > 0) {
    spdlog::warn(
        "scheduler: {} schedule(s) disabled at start-up: their owner may not start "
        "their task",
        n);
  }

  std::vector<std::pair<Owner, jarvis::PeriodicJob>> pending;
  {
    std::lock_guard lock(impl_->reg_mu);
    pending.swap(impl_->pending_periodic);
  }
  for (const auto& [owner, job] : pending) {
    try {
      impl_->upsert_periodic(job);
    } catch (const std::exception& e) {
      spdlog::error("tasks: periodic job {} of {} could not be saved: {}", job.name, owner.name,
                    e.what());
    }
  }

  std::lock_guard lock(impl_->run_mu);
  if (impl_->started) throw std::logic_error("TaskService::start called twice");
  impl_->opts = options;
  impl_->started = true;
  impl_->claiming = true;
  impl_->stopping = false;
  auto self = impl_;
  for (int i = 0; i < options.max_concurrent; ++i) {
    impl_->workers.emplace_back([self, i] { self->worker_loop(i); });
  }
  impl_->heartbeat = std::thread([self] { self->heartbeat_loop(); });
  if (options.run_scheduler) impl_->ticker = std::thread([self] { self->ticker_loop(); });
  spdlog::info("tasks: {} workers started as {} (scheduler {})", options.max_concurrent,
               options.worker_id, options.run_scheduler ? "on" : "off");
}

void TaskService::stop_claiming() {
  impl_->claiming = false;
  { std::unique_lock wait_for_claims(impl_->claim_mu); }
  impl_->stopping = true;
  impl_->wake(true);
  { std::lock_guard lock(impl_->idle_mu); }  // no lost wake-up for the heartbeat and ticker
  impl_->idle_cv.notify_all();
}

bool TaskService::drain(milliseconds timeout) {
  stop_claiming();
  bool done;
  {
    std::unique_lock lock(impl_->idle_mu);
    done = impl_->idle_cv.wait_for(lock, timeout, [&] { return impl_->active.load() == 0; });
  }
  std::vector<std::thread> workers;
  std::thread heartbeat, ticker;
  {
    std::lock_guard lock(impl_->run_mu);
    workers.swap(impl_->workers);
    heartbeat.swap(impl_->heartbeat);
    ticker.swap(impl_->ticker);
    impl_->started = false;
  }
  if (ticker.joinable()) ticker.join();
  if (heartbeat.joinable()) heartbeat.join();
  if (done) {
    for (auto& w : workers) {
      if (w.joinable()) w.join();
    }
    return true;
  }
  // Handlers still running past the deadline: end their leases so another host (or this one
  // after restart) claims them at once, and let the threads finish on their own.
  std::vector<ClaimedTask> left;
  {
    std::lock_guard lock(impl_->running_mu);
    for (const auto& [_, r] : impl_->running) left.push_back(r.task);
  }
  for (const auto& t : left) {
    try {
      impl_->queue.release(t);
    } catch (const std::exception& e) {
      spdlog::error("tasks: could not release the lease of {}: {}", t.id, e.what());
    }
    spdlog::warn("tasks: {} ({}) still running at shutdown; lease released", t.id, t.name);
  }
  for (auto& w : workers) {
    if (w.joinable()) w.detach();
  }
  return false;
}

int TaskService::in_flight() const { return impl_->executing.load(); }

bool TaskService::run_task(const std::string& id) {
  auto record = impl_->queue.get(id);
  if (!record || record->status != "queued") return false;
  auto entry = impl_->find(record->name);
  if (!entry) return false;
  // No heartbeat runs here: hold the lease for the whole timeout plus the grace period.
  std::string owner;
  milliseconds lease;
  {
    std::lock_guard lock(impl_->run_mu);
    owner = impl_->opts.worker_id + "/here";
    lease = std::chrono::duration_cast<milliseconds>(entry->spec.timeout) + impl_->opts.lease;
  }
  auto t = impl_->queue.claim_id(id, owner, lease);
  if (!t) return false;
  impl_->execute_and_record(*t, impl_->options_lease());
  return true;
}

jarvis::Json TaskService::queue_status() {
  SchedulerSettings s = impl_->scheduler.settings();
  return jarvis::host::queue_status(impl_->db, s.default_max_catchup, s.tz);
}

TaskQueue& TaskService::queue() { return impl_->queue; }
Scheduler& TaskService::scheduler() { return impl_->scheduler; }

RunnerOptions TaskService::options() const {
  std::lock_guard lock(impl_->run_mu);
  return impl_->opts;
}

void TaskService::configure_scheduler(int max_catchup, const std::string& tz) {
  impl_->scheduler.set_settings({max_catchup, tz});
  std::lock_guard lock(impl_->run_mu);
  impl_->opts.scheduler_max_catchup = max_catchup;
  impl_->opts.scheduler_tz = tz;
}

}  // namespace jarvis::host

// host/src/tasks/task_enqueue.cpp — putting work into the queue: option checks, the payload cap,
// inserts on their own or inside a caller's transaction (the outbox), and the tasks of durable
// event subscriptions, inserted with their event.
#include <algorithm>

#include "db/sql_database.h"
#include "db/transaction.h"
#include "jarvis/error.h"
#include "observability/metrics.h"
#include "registry/event_bus.h"
#include "tasks/iso_time.h"
#include "tasks/task_service_impl.h"

namespace jarvis::host {
namespace {

// Normalises an ISO-8601 UTC run_after to the 24-character stored form; throws invalid_task.
std::string normalise_run_after(const std::string& value) {
  auto secs = unix_from_iso(value);
  bool fixed_ms = value.size() == 24 && value[19] == '.' && value[23] == 'Z' &&
                  std::all_of(value.begin() + 20, value.begin() + 23,
                              [](char c) { return c >= '0' && c <= '9'; });
  if (secs && fixed_ms) return value;
  if (secs && value.size() == 20) return iso_from_unix(*secs);
  throw jarvis::Error(400, "invalid_task",
                      "run_after '" + value +
                          "' must be ISO-8601 UTC like 2026-01-31T12:00:00.000Z (as from "
                          "jarvis::now_iso())");
}

}  // namespace

NewTask TaskService::Impl::new_task(const std::string& name, jarvis::EnqueueOptions options,
                                    bool caller_cap) {
  auto entry = find(name);
  if (!entry) {
    throw jarvis::Error(400, "unknown_task", "no task named '" + name + "' is registered");
  }
  if (options.priority < -1000000 || options.priority > 1000000) {
    throw jarvis::Error(400, "invalid_task", "priority must be between -1000000 and 1000000");
  }
  if (options.max_attempts < 0 || options.max_attempts > 1000) {
    throw jarvis::Error(400, "invalid_task", "max_attempts must be between 0 and 1000");
  }
  if (options.idempotency_key.size() > 200) {
    throw jarvis::Error(400, "invalid_task", "idempotency_key must be at most 200 characters");
  }
  NewTask t;
  t.name = name;
  if (options.payload.is_null()) options.payload = jarvis::Json::object();
  jarvis::require_json_depth(options.payload, "task payload");
  // A caller's invalid UTF-8 is refused (strict); a stored event's was already replaced.
  t.payload = options.payload.dump(
      -1, ' ', false,
      caller_cap ? jarvis::Json::error_handler_t::strict : jarvis::Json::error_handler_t::replace);
  if (std::size_t cap = max_payload_bytes.load(); caller_cap && t.payload.size() > cap) {
    throw jarvis::Error(413, "payload_too_large",
                        "task payload of " + std::to_string(t.payload.size()) +
                            " bytes exceeds TASK_MAX_PAYLOAD_BYTES (" + std::to_string(cap) + ")");
  }
  t.run_after = options.run_after.empty() ? "" : normalise_run_after(options.run_after);
  t.priority = options.priority;
  t.idempotency_key = options.idempotency_key;
  t.trace_id = options.trace_id;
  t.max_attempts =
      options.max_attempts > 0 ? options.max_attempts : std::max(1, entry->spec.retry.max_attempts);
  return t;
}

std::string TaskService::Impl::enqueue(const std::string& name, jarvis::EnqueueOptions options) {
  HostTransaction::refuse_if_open(db, "enqueue(name, options)");
  NewTask t = new_task(name, std::move(options), true);
  auto inserted = queue.insert(t);
  if (inserted.created) {
    if (metrics) {
      metrics->counter_add("jarvis_tasks_enqueued_total", "Tasks enqueued", {{"task", name}});
    }
    wake(false);
  }
  return inserted.id;
}

std::string TaskService::Impl::enqueue_in(const std::string& name, jarvis::EnqueueOptions options,
                                          HostTransaction& tx) {
  if (&tx.database() != &db) {
    throw jarvis::Error(400, "invalid_transaction",
                        "the transaction belongs to another database than the task queue");
  }
  NewTask t = new_task(name, std::move(options), true);
  auto inserted = TaskQueue::insert_keyed(tx.session(), t);
  if (inserted.created) {
    std::weak_ptr<Impl> weak = weak_from_this();
    tx.after_commit([weak, name] {
      auto self = weak.lock();
      if (!self) return;
      if (self->metrics) {
        self->metrics->counter_add("jarvis_tasks_enqueued_total", "Tasks enqueued",
                                   {{"task", name}});
      }
      self->wake(false);
    });
  }
  return inserted.id;
}

bool TaskService::Impl::enqueue_durable(HostTransaction& tx, const std::string& task,
                                        const jarvis::Event& event) {
  if (!find(task)) return false;
  jarvis::EnqueueOptions o;
  o.payload = event_to_json(event);
  o.idempotency_key = event.id + ":" + task;
  o.trace_id = event.trace_id;
  NewTask t = new_task(task, std::move(o), /*caller_cap=*/false);
  auto inserted = TaskQueue::insert_keyed(tx.session(), t);
  if (inserted.created) {
    std::weak_ptr<Impl> weak = weak_from_this();
    tx.after_commit([weak] {
      if (auto self = weak.lock()) self->wake(false);
    });
  }
  return true;
}

std::string TaskService::enqueue(const std::string& name, jarvis::EnqueueOptions options) {
  return impl_->enqueue(name, std::move(options));
}

std::string TaskService::enqueue(const std::string& name, jarvis::EnqueueOptions options,
                                 HostTransaction& tx) {
  return impl_->enqueue_in(name, std::move(options), tx);
}

}  // namespace jarvis::host

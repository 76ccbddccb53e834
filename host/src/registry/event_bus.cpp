// host/src/registry/event_bus.cpp — event store + bus with isolated subscribers, durable
// subscriptions stored with the event, delivery after commit and never on an I/O thread.
#include "registry/event_bus.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "db/sql_access.h"
#include "db/sql_database.h"
#include "db/transaction.h"
#include "events/event_query.h"
#include "events/io_thread.h"
#include "jarvis/error.h"
#include "observability/metrics.h"

namespace jarvis::host {

namespace {

const char* kEventColumns =
    "INSERT INTO events(id, created_at, trace_id, type, component, actor_type, actor_id, "
    "thread_id, payload) VALUES ";

// Adds one event's values in kEventColumns order. Empty thread/trace ids are stored as NULL:
// "no thread" means a system event.
void bind_event(Binds& b, const jarvis::Event& e) {
  auto opt = [](const std::string& v) {
    return v.empty() ? std::nullopt : std::optional<std::string>(v);
  };
  b.text(e.id)
      .text(e.created_at)
      .maybe_text(opt(e.trace_id))
      .text(e.type)
      .text(e.component)
      .text(e.actor_type)
      .text(e.actor_id)
      .maybe_text(opt(e.thread_id))
      .text(e.payload.dump(-1, ' ', false, jarvis::Json::error_handler_t::replace));
}

const char* kEventRow = "(?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr std::size_t kEventsPerStatement = 200;
// Deliveries waiting for the delivery thread; beyond it they are dropped and counted (in-process
// subscriptions are best effort; durable ones are tasks and never go through here).
constexpr std::size_t kMaxHandOffQueue = 10000;

// An Exact subscription names one event type: never empty (that is the prefix form's "all"),
// never ending in '.' (that is a prefix), at most as long as a stored type may usefully be.
void require_subscription_type(const Owner& owner, const std::string& type,
                               jarvis::EventMatch match) {
  if (match != jarvis::EventMatch::Exact) return;
  if (type.empty() || type.size() > 200 || type.back() == '.') {
    throw jarvis::Error(400, "invalid_subscription",
                        "subscription of '" + owner.name + "': exact event type '" + type +
                            "' must be 1-200 characters and not end in '.' (for every type "
                            "under a prefix use EventMatch::Prefix)");
  }
}

// Durable delivery task names follow task-name rules (checked again when enqueued).
bool plausible_task_name(const std::string& name) {
  if (name.empty() || name.size() > 100) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == ':';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

jarvis::Json event_to_json(const jarvis::Event& e) {
  return jarvis::Json{{"id", e.id},
                      {"type", e.type},
                      {"created_at", e.created_at},
                      {"component", e.component},
                      {"thread_id", e.thread_id},
                      {"trace_id", e.trace_id},
                      {"actor_type", e.actor_type},
                      {"actor_id", e.actor_id},
                      {"payload", e.payload}};
}

EventBusImpl::EventBusImpl(SqlDatabase* db, MetricsRegistry* metrics)
    : db_(db), metrics_(metrics) {}

EventBusImpl::~EventBusImpl() {
  {
    std::lock_guard lock(q_mu_);
    q_stop_ = true;
  }
  q_cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void EventBusImpl::prepare(const Owner& emitter, jarvis::Event& event) const {
  if (event.type.empty()) throw jarvis::Error(400, "invalid_event", "an event needs a type");
  jarvis::require_json_depth(event.payload, "event payload");  // redact() recurses
  event.id = jarvis::new_id("evt");
  event.created_at = jarvis::now_iso();
  if (event.component.empty()) event.component = emitter.name;
  event.payload = jarvis::redact(event.payload.is_null() ? jarvis::Json::object() : event.payload);
}

void EventBusImpl::store_in(HostTransaction& tx, const std::vector<jarvis::Event>& events) {
  soci::session& sql = tx.session();
  for (std::size_t from = 0; from < events.size(); from += kEventsPerStatement) {
    std::size_t to = std::min(events.size(), from + kEventsPerStatement);
    Binds b;
    for (std::size_t i = from; i < to; ++i) bind_event(b, events[i]);
    exec_sql(sql, std::string(kEventColumns) + rows_sql(to - from, kEventRow, db_->dialect()), b);
  }
  std::vector<DurableSubscription> durable;
  DurableSink sink;
  {
    std::lock_guard lock(mu_);
    durable = durable_;
    sink = sink_;
  }
  if (!sink || durable.empty()) return;
  for (const auto& e : events) {
    for (const auto& d : durable) {
      if (!jarvis::event_type_matches(e.type, d.type, d.match)) continue;
      bool queued = sink(tx, d.task, e);
      if (metrics_) {
        metrics_->counter_add("jarvis_durable_deliveries_total",
                              "Durable-subscription tasks enqueued with their event",
                              {{"task", d.task}, {"outcome", queued ? "queued" : "no_task"}});
      }
      if (!queued) {
        spdlog::warn(
            "events: durable subscriber task '{}' of '{}' is not registered here; {} {} "
            "not queued for it",
            d.task, d.owner, e.type, e.id);
      }
    }
  }
}

std::string EventBusImpl::emit(const Owner& emitter, jarvis::Event event) {
  prepare(emitter, event);
  if (db_) {
    HostTransaction::refuse_if_open(*db_, "emit(event)");
    try {
      HostTransaction tx(*db_, db_->session_timeout());
      store_in(tx, {event});
      tx.commit();
    } catch (const std::exception& e) {
      spdlog::error("event store failed for {}: {}", event.type, e.what());
      if (metrics_)
        metrics_->counter_add("jarvis_event_store_errors_total", "Events that could not be stored");
    }
  }
  deliver(event);
  return event.id;
}

std::string EventBusImpl::emit(const Owner& emitter, jarvis::Event event, HostTransaction& tx) {
  if (!db_ || &tx.database() != db_) {
    throw jarvis::Error(400, "invalid_transaction",
                        "the transaction belongs to another database than the event store");
  }
  prepare(emitter, event);
  store_in(tx, {event});
  std::string id = event.id;
  tx.after_commit([this, e = std::move(event)] { deliver(e); });
  return id;
}

std::vector<std::string> EventBusImpl::emit_all(const Owner& emitter,
                                                std::vector<jarvis::Event> events) {
  std::vector<std::string> ids;
  ids.reserve(events.size());
  for (auto& e : events) {
    prepare(emitter, e);
    ids.push_back(e.id);
  }
  if (db_ && !events.empty()) {
    HostTransaction::refuse_if_open(*db_, "emit(events)");
    try {
      HostTransaction tx(*db_, db_->session_timeout());
      store_in(tx, events);
      tx.commit();
    } catch (const std::exception& e) {
      spdlog::error("event store failed for {} events ({}…): {}", events.size(), events[0].type,
                    e.what());
      if (metrics_) {
        metrics_->counter_add("jarvis_event_store_errors_total", "Events that could not be stored",
                              {}, static_cast<double>(events.size()));
      }
    }
  }
  for (const auto& e : events) deliver(e);
  return ids;
}

void EventBusImpl::deliver(const jarvis::Event& event) {
  if (metrics_) {
    metrics_->counter_add("jarvis_events_total", "Events emitted",
                          {{"component", event.component}});
  }
  if (on_io_thread()) {
    hand_off(event);
  } else {
    deliver_here(event);
  }
}

void EventBusImpl::hand_off(jarvis::Event event) {
  {
    std::lock_guard lock(q_mu_);
    if (q_stop_) return;
    if (queue_.size() >= kMaxHandOffQueue) {
      spdlog::warn("events: delivery queue full; {} {} not delivered in-process", event.type,
                   event.id);
      if (metrics_) {
        metrics_->counter_add("jarvis_event_deliveries_dropped_total",
                              "In-process deliveries dropped (delivery queue full)");
      }
      return;
    }
    queue_.push_back(std::move(event));
    if (!worker_.joinable()) worker_ = std::thread([this] { delivery_loop(); });
  }
  ++handed_off_;
  q_cv_.notify_one();
}

void EventBusImpl::delivery_loop() {
  std::unique_lock lock(q_mu_);
  for (;;) {
    q_cv_.wait(lock, [&] { return q_stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, everything delivered
    jarvis::Event e = std::move(queue_.front());
    queue_.pop_front();
    ++q_started_;
    lock.unlock();
    deliver_here(e);
    lock.lock();
    ++q_finished_;
    q_cv_.notify_all();
  }
}

void EventBusImpl::deliver_here(const jarvis::Event& event) {
  std::vector<std::shared_ptr<const Subscription>> subs;
  std::function<void(const jarvis::Event&)> forward;
  {
    std::lock_guard lock(mu_);
    subs = subs_;
    forward = forward_;
  }
  for (const auto& s : subs) {
    if (!jarvis::event_type_matches(event.type, s->type, s->match)) continue;
    try {
      s->handler(event);
    } catch (const std::exception& e) {
      ++subscriber_failures_;
      spdlog::error("event subscriber of '{}' failed on {}: {}", s->owner.name, event.type,
                    e.what());
      if (metrics_) {
        metrics_->counter_add("jarvis_plugin_errors_total", "Exceptions caught from plugin code",
                              {{"plugin", s->owner.name}});
      }
    } catch (...) {
      ++subscriber_failures_;
      spdlog::error("event subscriber of '{}' failed on {}: unknown exception", s->owner.name,
                    event.type);
      if (metrics_) {
        metrics_->counter_add("jarvis_plugin_errors_total", "Exceptions caught from plugin code",
                              {{"plugin", s->owner.name}});
      }
    }
  }
  if (forward) {
    try {
      forward(event);
    } catch (const std::exception& e) {
      spdlog::error("event forwarder failed on {}: {}", event.type, e.what());
    }
  }
}

jarvis::TraceEvents EventBusImpl::trace(const jarvis::Principal& who, const std::string& trace_id,
                                        std::size_t limit) {
  if (!db_) throw jarvis::Error(503, "database_unavailable", "traces need the host database");
  limit = std::clamp<std::size_t>(limit, 1, jarvis::kMaxTraceEvents);
  jarvis::TraceEvents out;
  auto rows = EventQuery(*db_).trace(who, trace_id, static_cast<int>(limit), out.truncated);
  out.events.reserve(rows.size());
  for (const auto& row : rows) out.events.push_back(event_from_json(row));
  return out;
}

void EventBusImpl::subscribe(Owner owner, std::string prefix, jarvis::EventHandler handler) {
  subscribe(std::move(owner), jarvis::SubscriptionSpec{.type = std::move(prefix),
                                                       .handler = std::move(handler),
                                                       .match = jarvis::EventMatch::Prefix});
}

void EventBusImpl::subscribe(Owner owner, jarvis::SubscriptionSpec spec) {
  if (!spec.handler) {
    throw jarvis::Error(400, "invalid_subscription", "a subscription needs a handler");
  }
  require_subscription_type(owner, spec.type, spec.match);
  std::lock_guard lock(mu_);
  subs_.push_back(std::make_shared<const Subscription>(
      Subscription{std::move(owner), std::move(spec.type), std::move(spec.handler), spec.match}));
}

void EventBusImpl::subscribe_durable(const Owner& owner, std::string prefix, std::string task) {
  subscribe_durable(owner, jarvis::DurableSubscriptionSpec{.type = std::move(prefix),
                                                           .task = std::move(task),
                                                           .match = jarvis::EventMatch::Prefix});
}

void EventBusImpl::subscribe_durable(const Owner& owner, jarvis::DurableSubscriptionSpec spec) {
  if (!plausible_task_name(spec.task)) {
    throw jarvis::Error(400, "invalid_subscription",
                        "durable subscription of '" + owner.name + "': invalid task name '" +
                            spec.task +
                            "' (1-100 characters: letters, digits, '.', '_', '-', ':')");
  }
  require_subscription_type(owner, spec.type, spec.match);
  std::lock_guard lock(mu_);
  for (const auto& d : durable_) {
    if (d.type == spec.type && d.task == spec.task && d.match == spec.match) return;  // idempotent
  }
  durable_.push_back({owner.name, std::move(spec.type), std::move(spec.task), spec.match});
}

std::vector<DurableSubscription> EventBusImpl::durable_subscriptions() const {
  std::lock_guard lock(mu_);
  return durable_;
}

void EventBusImpl::remove_owner(const std::string& owner_name) {
  {
    std::lock_guard lock(mu_);
    std::erase_if(subs_, [&](const auto& s) { return s->owner.name == owner_name; });
    std::erase_if(durable_, [&](const auto& d) { return d.owner == owner_name; });
  }
  std::vector<std::function<void(const std::string&)>> hooks;
  {
    std::lock_guard lock(mu_);
    hooks = removal_hooks_;
  }
  for (const auto& hook : hooks) hook(owner_name);
  // A delivery the thread took before the erase may still run the owner's handler: wait for it.
  std::unique_lock lock(q_mu_);
  if (worker_.joinable() && std::this_thread::get_id() != worker_.get_id()) {
    unsigned long long taken = q_started_;
    q_cv_.wait(lock, [&] { return q_finished_ >= taken; });
  }
}

void EventBusImpl::add_owner_removal_hook(std::function<void(const std::string&)> hook) {
  std::lock_guard lock(mu_);
  removal_hooks_.push_back(std::move(hook));
}

void EventBusImpl::set_forwarder(std::function<void(const jarvis::Event&)> forward) {
  std::lock_guard lock(mu_);
  forward_ = std::move(forward);
}

void EventBusImpl::set_durable_sink(DurableSink sink) {
  std::lock_guard lock(mu_);
  sink_ = std::move(sink);
}

}  // namespace jarvis::host

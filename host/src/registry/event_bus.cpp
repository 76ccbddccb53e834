// host/src/registry/event_bus.cpp — event store + bus with isolated subscribers.
#include "registry/event_bus.h"

#include <spdlog/spdlog.h>

#include "jarvis/error.h"
#include "observability/metrics.h"
#include "tasks/sql_access.h"

namespace jarvis::host {

EventBusImpl::EventBusImpl(jarvis::Database* db, MetricsRegistry* metrics)
    : db_(db), metrics_(metrics) {}

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

}  // namespace

void EventBusImpl::prepare(const Owner& emitter, jarvis::Event& event) const {
  if (event.type.empty()) throw jarvis::Error(400, "invalid_event", "an event needs a type");
  jarvis::require_json_depth(event.payload, "event payload");  // redact() recurses
  event.id = jarvis::new_id("evt");
  event.created_at = jarvis::now_iso();
  if (event.component.empty()) event.component = emitter.name;
  event.payload = jarvis::redact(event.payload.is_null() ? jarvis::Json::object() : event.payload);
}

std::string EventBusImpl::emit(const Owner& emitter, jarvis::Event event) {
  prepare(emitter, event);
  if (db_) {
    try {
      auto sql = db_->session();
      Binds b;
      bind_event(b, event);
      exec_sql(*sql, std::string(kEventColumns) + rows_sql(1, kEventRow, db_->dialect()), b);
    } catch (const std::exception& e) {
      spdlog::error("event store failed for {}: {}", event.type, e.what());
      if (metrics_)
        metrics_->counter_add("jarvis_event_store_errors_total", "Events that could not be stored");
    }
  }
  deliver(event);
  return event.id;
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
    try {
      auto sql = db_->session();
      soci::transaction tx(*sql);
      for (std::size_t from = 0; from < events.size(); from += kEventsPerStatement) {
        std::size_t to = std::min(events.size(), from + kEventsPerStatement);
        Binds b;
        for (std::size_t i = from; i < to; ++i) bind_event(b, events[i]);
        exec_sql(*sql, std::string(kEventColumns) + rows_sql(to - from, kEventRow, db_->dialect()),
                 b);
      }
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

  std::vector<std::shared_ptr<const Subscription>> subs;
  std::function<void(const jarvis::Event&)> forward;
  {
    std::lock_guard lock(mu_);
    subs = subs_;
    forward = forward_;
  }
  for (const auto& s : subs) {
    if (event.type.compare(0, s->prefix.size(), s->prefix) != 0) continue;
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

void EventBusImpl::subscribe(Owner owner, std::string prefix, jarvis::EventHandler handler) {
  if (!handler) throw jarvis::Error(400, "invalid_subscription", "a subscription needs a handler");
  std::lock_guard lock(mu_);
  subs_.push_back(std::make_shared<const Subscription>(
      Subscription{std::move(owner), std::move(prefix), std::move(handler)}));
}

void EventBusImpl::remove_owner(const std::string& owner_name) {
  std::lock_guard lock(mu_);
  std::erase_if(subs_, [&](const auto& s) { return s->owner.name == owner_name; });
}

void EventBusImpl::set_forwarder(std::function<void(const jarvis::Event&)> forward) {
  std::lock_guard lock(mu_);
  forward_ = std::move(forward);
}

}  // namespace jarvis::host

// host/src/registry/event_bus.cpp — event store + bus with isolated subscribers.
#include "registry/event_bus.h"

#include <spdlog/spdlog.h>

#include "jarvis/error.h"
#include "observability/metrics.h"

namespace jarvis::host {

EventBusImpl::EventBusImpl(jarvis::Database* db, MetricsRegistry* metrics)
    : db_(db), metrics_(metrics) {}

std::string EventBusImpl::emit(const Owner& emitter, jarvis::Event event) {
  if (event.type.empty()) throw jarvis::Error(400, "invalid_event", "an event needs a type");
  event.id = jarvis::new_id("evt");
  event.created_at = jarvis::now_iso();
  if (event.component.empty()) event.component = emitter.name;
  event.payload = jarvis::redact(event.payload.is_null() ? jarvis::Json::object() : event.payload);

  if (db_) {
    try {
      auto sql = db_->session();
      std::string payload = event.payload.dump();
      // Empty thread/trace ids are stored as NULL: "no thread" means a system event.
      soci::indicator thread_ind = event.thread_id.empty() ? soci::i_null : soci::i_ok;
      soci::indicator trace_ind = event.trace_id.empty() ? soci::i_null : soci::i_ok;
      *sql << "INSERT INTO events(id, created_at, trace_id, type, component, actor_type, actor_id, "
              "thread_id, payload) VALUES(:id, :created_at, :trace_id, :type, :component, "
              ":actor_type, :actor_id, :thread_id, :payload)",
          soci::use(event.id), soci::use(event.created_at), soci::use(event.trace_id, trace_ind),
          soci::use(event.type), soci::use(event.component), soci::use(event.actor_type),
          soci::use(event.actor_id), soci::use(event.thread_id, thread_ind), soci::use(payload);
    } catch (const std::exception& e) {
      spdlog::error("event store failed for {}: {}", event.type, e.what());
      if (metrics_)
        metrics_->counter_add("jarvis_event_store_errors_total", "Events that could not be stored");
    }
  }
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
  return event.id;
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

// host/src/registry/event_bus.h — event store (`events` table, payload redacted) and the
// in-process bus. Subscribers are isolated: one that throws is logged and counted, never
// propagated.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "jarvis/database.h"
#include "jarvis/events.h"
#include "registry/owner.h"

namespace jarvis::host {

class MetricsRegistry;

struct Subscription {
  Owner owner;
  std::string prefix;
  jarvis::EventHandler handler;
};

class EventBusImpl {
 public:
  /// `db` may be null (events are then only delivered, not stored; used by unit tests).
  EventBusImpl(jarvis::Database* db, MetricsRegistry* metrics);

  /// Stores (redacted) and delivers; returns the id. `component` defaults to the owner name.
  std::string emit(const Owner& emitter, jarvis::Event event);
  /// emit() for many events at once: stored with a few multi-row inserts in one transaction
  /// (the scheduler's thousands of schedule.trigger events), then delivered in order. Returns
  /// the ids.
  std::vector<std::string> emit_all(const Owner& emitter, std::vector<jarvis::Event> events);
  void subscribe(Owner owner, std::string prefix, jarvis::EventHandler handler);
  void remove_owner(const std::string& owner_name);
  /// A hook the host uses to forward every stored event (e.g. to /ws or LISTEN/NOTIFY).
  void set_forwarder(std::function<void(const jarvis::Event&)> forward);
  /// Number of subscriber exceptions caught so far.
  long long subscriber_failures() const { return subscriber_failures_; }

 private:
  // Fills id, created_at, component and the redacted payload.
  void prepare(const Owner& emitter, jarvis::Event& event) const;
  // Runs subscribers and the forwarder; counts the event.
  void deliver(const jarvis::Event& event);
  jarvis::Database* db_;
  MetricsRegistry* metrics_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<const Subscription>> subs_;
  std::function<void(const jarvis::Event&)> forward_;
  std::atomic<long long> subscriber_failures_{0};
};

}  // namespace jarvis::host

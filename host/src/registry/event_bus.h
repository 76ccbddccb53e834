// host/src/registry/event_bus.h — event store (`events` table, payload redacted), the in-process
// bus and durable subscriptions (the outbox).
//
// Storing: every emit writes its events in one transaction (the caller's HostTransaction, or one
// of its own), together with a task row for each matching durable subscription (DurableSink,
// installed by the task service). Delivery to in-process subscribers and the forwarder (/ws)
// happens after that commit, never on rollback. Subscribers are isolated: one that throws is
// logged and counted, never propagated. Subscribers never run on an Asio I/O thread: an emit (or a
// commit) on one hands delivery to the bus's delivery thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "jarvis/database.h"
#include "jarvis/events.h"
#include "registry/owner.h"

namespace jarvis::host {

class HostTransaction;
class MetricsRegistry;
class SqlDatabase;

/// An in-process subscription: `handler` runs for each delivered event whose type matches `type`
/// (compared by `match`, jarvis::event_type_matches).
struct Subscription {
  Owner owner;
  std::string type;
  jarvis::EventHandler handler;
  jarvis::EventMatch match = jarvis::EventMatch::Prefix;
};

/// A durable subscription: task `task` is enqueued for each stored event whose type matches
/// `type` (compared by `match`).
struct DurableSubscription {
  std::string owner;
  std::string type;
  std::string task;
  jarvis::EventMatch match = jarvis::EventMatch::Prefix;
};

/// Inserts the delivery task `task` for the stored `event` into `tx` (TaskService). Throws on a
/// database error (the emit then fails as a whole); returns false when `task` is not registered.
using DurableSink =
    std::function<bool(HostTransaction& tx, const std::string& task, const jarvis::Event& event)>;

/// The stored event as JSON (the payload of a durable delivery task).
jarvis::Json event_to_json(const jarvis::Event& e);

class EventBusImpl {
 public:
  /// `db` may be null (events are then only delivered, not stored; used by unit tests).
  EventBusImpl(SqlDatabase* db, MetricsRegistry* metrics);
  /// Finishes deliveries handed to the delivery thread, then joins it.
  ~EventBusImpl();
  EventBusImpl(const EventBusImpl&) = delete;
  EventBusImpl& operator=(const EventBusImpl&) = delete;

  /// Stores (redacted) in a transaction of its own and delivers; returns the id.
  /// `component` defaults to the owner name. A store failure is logged and counted and the event
  /// is still delivered in-process (best effort, as before the outbox). Throws Error(500,
  /// "transaction_open") when this thread has a HostTransaction open on the database.
  std::string emit(const Owner& emitter, jarvis::Event event);
  /// Stores the event (and its durable deliveries) in `tx`; delivers after tx commits. Throws
  /// when storing fails (the caller's transaction must then roll back).
  std::string emit(const Owner& emitter, jarvis::Event event, HostTransaction& tx);
  /// emit() for many events at once: stored with a few multi-row inserts in one transaction
  /// (the scheduler's thousands of schedule.trigger events), then delivered in order. Returns
  /// the ids.
  std::vector<std::string> emit_all(const Owner& emitter, std::vector<jarvis::Event> events);
  /// Registers an in-process subscription to every type starting with `prefix` (SDK 1.0 form).
  void subscribe(Owner owner, std::string prefix, jarvis::EventHandler handler);
  /// Registers an in-process subscription compared by `spec.match` (see
  /// jarvis::EventBus::subscribe(SubscriptionSpec)). Throws Error(400, "invalid_subscription")
  /// without a handler or for an invalid Exact type.
  void subscribe(Owner owner, jarvis::SubscriptionSpec spec);
  /// Registers a durable subscription to every type starting with `prefix` (see
  /// jarvis::EventBus::subscribe_durable). Throws Error(400, "invalid_subscription") for a bad
  /// task name.
  void subscribe_durable(const Owner& owner, std::string prefix, std::string task);
  /// Registers a durable subscription compared by `spec.match`; idempotent for the same type,
  /// match and task. Throws Error(400, "invalid_subscription") for a bad task name or Exact type.
  void subscribe_durable(const Owner& owner, jarvis::DurableSubscriptionSpec spec);
  /// Durable subscriptions, in registration order (for `jarvis events` listings and tests).
  std::vector<DurableSubscription> durable_subscriptions() const;
  /// Drops the owner's subscriptions (in-process and durable). When it returns, none of the
  /// owner's handlers runs on the delivery thread.
  void remove_owner(const std::string& owner_name);
  /// Runs `hook(owner_name)` at the end of every remove_owner() (the live-push listeners of a
  /// stopped plugin go with its subscriptions).
  void add_owner_removal_hook(std::function<void(const std::string&)> hook);
  /// A hook the host uses to forward every stored event (e.g. to /ws or LISTEN/NOTIFY).
  void set_forwarder(std::function<void(const jarvis::Event&)> forward);
  /// Where durable deliveries are inserted (the task service). Without one, durable
  /// subscriptions are ignored (unit tests without a task service).
  void set_durable_sink(DurableSink sink);
  /// Runs subscribers and the forwarder for an already stored event: on this thread, or on the
  /// delivery thread when this is an I/O thread. Counts the event.
  void deliver(const jarvis::Event& event);
  /// jarvis::EventBus::trace: the events of `trace_id` visible to `who`, through EventQuery (the
  /// code of GET /api/v1/traces/{trace_id}). `limit` is clamped to 1 … jarvis::kMaxTraceEvents.
  /// Throws Error(503, "database_unavailable") without a database.
  jarvis::TraceEvents trace(const jarvis::Principal& who, const std::string& trace_id,
                            std::size_t limit);
  /// Number of subscriber exceptions caught so far.
  long long subscriber_failures() const { return subscriber_failures_; }
  /// Deliveries handed from an I/O thread to the delivery thread so far.
  long long handed_off() const { return handed_off_; }

 private:
  // Fills id, created_at, component and the redacted payload.
  void prepare(const Owner& emitter, jarvis::Event& event) const;
  // Inserts the events and their durable deliveries with tx's session.
  void store_in(HostTransaction& tx, const std::vector<jarvis::Event>& events);
  // Runs subscribers and the forwarder on the calling thread.
  void deliver_here(const jarvis::Event& event);
  // Queues a delivery for the delivery thread (started on first use).
  void hand_off(jarvis::Event event);
  void delivery_loop();

  SqlDatabase* db_;
  MetricsRegistry* metrics_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<const Subscription>> subs_;
  std::vector<DurableSubscription> durable_;
  std::function<void(const jarvis::Event&)> forward_;
  DurableSink sink_;
  std::vector<std::function<void(const std::string&)>> removal_hooks_;
  std::atomic<long long> subscriber_failures_{0};
  std::atomic<long long> handed_off_{0};

  // The delivery thread (for emits on I/O threads).
  std::mutex q_mu_;
  std::condition_variable q_cv_;
  std::deque<jarvis::Event> queue_;
  bool q_stop_ = false;
  unsigned long long q_started_ = 0;   // deliveries taken by the thread
  unsigned long long q_finished_ = 0;  // deliveries it completed
  std::thread worker_;
};

}  // namespace jarvis::host

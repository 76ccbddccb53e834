// jarvis/events.h — the event store, the in-process event bus and durable subscriptions.
//
//   host.events().emit({.type = "bug.created", .payload = {{"id", id}}});
//   host.events().emit({.type = "bug.created", .payload = {{"id", id}}}, *tx);  // in a transaction
//   host.tasks().add({.name = "hello.on_bug", .handler = on_bug});  // at least once, a task per
//   host.events().subscribe_durable({.type = "bug.created", .task = "hello.on_bug"});  // event
//   host.events().subscribe({.type = "maintenance.",                // best effort, in-process,
//                            .handler = [](const Event& e) { … },  // every maintenance.* event
//                            .match = jarvis::EventMatch::Prefix});
//   jarvis::TraceEvents t = host.events().trace(req.principal, trace_id, 100);   // SDK 1.1
//   for (const jarvis::Event& e : t.events) reply(e.created_at + " " + e.type);
//
// Emitted events are stored (payload redacted by key: password, token, secret, api_key, …) and
// delivered to the subscribers whose type matches: exactly (SubscriptionSpec /
// DurableSubscriptionSpec, the default there: "channel.inbound" never gets
// "channel.inbound.degraded") or by prefix (EventMatch::Prefix, and the positional forms
// subscribe(prefix, …) of SDK 1.0 and subscribe_durable(prefix, …), which keep their meaning).
// A subscriber that throws is isolated, logged and counted; it never affects the emitter or
// other subscribers.
//
// Which subscription to use:
// - subscribe(): cheap, best-effort reactions in this process (a cache, a counter, a log line).
//   Runs after the event is stored (after the commit when emitted in a transaction); lost if the
//   process dies first; never sees events of other hosts or of CLI processes.
// - subscribe_durable(): work that must happen for every event (notify, sync, file a report).
//   The named task is enqueued in the same transaction that stores the event, so it survives
//   kill -9, runs on whichever host claims it, and also follows events written by `jarvis …` CLI
//   processes. At least once: make the handler idempotent on the event id (`payload["id"]`).
//   Subscribe to the exact type you handle: every matching event is a task row written by the
//   emitter's transaction, so a prefix that also catches follow-up events queues work for nothing.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "jarvis/json.h"
#include "jarvis/principal.h"
#include "jarvis/version.h"

namespace jarvis {

/// One event. Only `type` is required; the host fills id, created_at and component.
struct Event {
  std::string type;  ///< dot-separated, e.g. "maintenance.heartbeat"
  Json payload = Json::object();
  std::string thread_id;  ///< empty for system events
  std::string trace_id;
  std::string actor_type;  ///< e.g. "user", "agent", "system"
  std::string actor_id;
  std::string component;   ///< set by the host to the emitting plugin's name
  std::string id;          ///< set by the host
  std::string created_at;  ///< set by the host
};

class Transaction;

/// The events of one trace that a principal may see (EventBus::trace, SDK 1.1).
struct TraceEvents {
  /// In the order they happened (oldest first), payloads redacted as stored; empty when the trace
  /// does not exist or none of its events is visible (no existence oracle).
  std::vector<Event> events;
  /// True when the trace has more visible events than the limit.
  bool truncated = false;
};

/// Most events EventBus::trace returns (larger limits are lowered to it).
inline constexpr std::size_t kMaxTraceEvents = 1000;

/// Handler of subscribed events; runs after the event is stored (after the commit of the
/// emitter's transaction), on the emitter's thread — or, when the emitter is an I/O thread of
/// the HTTP server, on the host's event-delivery thread: never on an I/O thread. Keep it quick.
using EventHandler = std::function<void(const Event&)>;

/// How a subscription's `type` is compared with an event's type (SDK 1.1).
enum class EventMatch {
  Exact,   ///< the event's type equals `type`: "a.b" gets "a.b", never "a.b.c" or "a.bc"
  Prefix,  ///< the event's type starts with `type`: "a." gets "a.b" and "a.b.c"; "" gets all
};

/// True when an event of type `event_type` reaches a subscription of `type` compared by `match`
/// (the host's own rule, for plugins that filter or route events themselves) (SDK 1.1).
JARVIS_API bool event_type_matches(std::string_view event_type, std::string_view type,
                                   EventMatch match);

/// An in-process subscription (EventBus::subscribe(SubscriptionSpec), SDK 1.1).
struct SubscriptionSpec {
  /// The event type (Exact: 1-200 characters, not ending in '.') or type prefix (Prefix).
  std::string type;
  EventHandler handler;  ///< required
  /// Exact unless you ask for a prefix: a subscription almost always means one type.
  EventMatch match = EventMatch::Exact;
};

/// A durable subscription (EventBus::subscribe_durable(DurableSubscriptionSpec), SDK 1.1).
struct DurableSubscriptionSpec {
  /// The event type (Exact: 1-200 characters, not ending in '.') or type prefix (Prefix).
  std::string type;
  std::string task;  ///< the task enqueued per event (task-name rules)
  /// Exact unless you ask for a prefix: each matching event is a task row.
  EventMatch match = EventMatch::Exact;
};

/// Event store and bus.
class JARVIS_API EventBus {
 public:
  virtual ~EventBus();
  /// Stores the event (redacted) and delivers it to subscribers. Returns the event id.
  virtual std::string emit(Event event) = 0;
  /// Subscribes to every event whose type starts with `type_prefix` ("" = all): a prefix match
  /// (SDK 1.0's form, unchanged). For one type use subscribe({.type, .handler}) (SDK 1.1).
  virtual void subscribe(std::string type_prefix, EventHandler handler) = 0;

  // --- SDK 1.1 ---

  /// Stores the event as part of `tx` (see jarvis::Transaction), together with the tasks of its
  /// durable subscribers. Subscribers and /ws clients get it after tx.commit(); on rollback
  /// nobody does. Returns the event id. Throws Error(400, "invalid_transaction") for a finished
  /// transaction, and the database's error when the insert fails (the caller's transaction is
  /// then unusable: let it roll back).
  virtual std::string emit(Event event, Transaction& tx) = 0;

  /// Durable subscription: for every event whose type starts with `type_prefix` ("" = all: a
  /// prefix match, this form's meaning since it exists; for one type use
  /// subscribe_durable({.type, .task}), below) the host enqueues task `task_name` in the
  /// transaction that stores the event. The task's payload is the stored event: {"id", "type",
  /// "created_at", "component", "thread_id", "trace_id", "actor_type", "actor_id", "payload"}
  /// (payload redacted); its idempotency key is
  /// "<event id>:<task_name>", so the event id de-duplicates. Delivery is at least once: a worker
  /// killed mid-task runs it again.
  ///
  /// Subscriptions are declared in setup() (which also runs in CLI processes, so their events
  /// are followed too) and live while the plugin is loaded: a process where the plugin is
  /// disabled queues nothing for it. A task whose name is not registered when an event is
  /// stored is skipped with a warning (counted in jarvis_durable_deliveries_total{outcome=
  /// "no_task"}). Throws Error(400, "invalid_subscription") for an invalid task name.
  virtual void subscribe_durable(std::string type_prefix, std::string task_name) = 0;

  /// The events of trace `trace_id` that `who` may see — exactly what GET
  /// /api/v1/traces/{trace_id} answers that principal: admins see every event; a user only the
  /// events of threads they own (system events and unclaimed threads are admin-only); payloads are
  /// redacted as stored. At most `limit` events (1 … kMaxTraceEvents; 0 is 1), oldest first,
  /// `truncated` when there were more. Pass the caller's Principal (a route's `req.principal`, a
  /// ToolCall's `caller`), never Principal::system() on a user's behalf. A trace id over 200
  /// characters matches nothing. Reads the database: callable from any plugin thread; throws the
  /// database's error (503 `database_busy`, …). E.g. chat's `/logs trace <id>`.
  virtual TraceEvents trace(const Principal& who, const std::string& trace_id,
                            std::size_t limit) = 0;

  /// In-process subscription compared by `spec.match` (Exact by default); otherwise as
  /// subscribe(prefix, handler). Throws Error(400, "invalid_subscription") without a handler or
  /// for an Exact type that is empty, longer than 200 characters or ends in '.' (a prefix).
  virtual void subscribe(SubscriptionSpec spec) = 0;

  /// Durable subscription compared by `spec.match` (Exact by default): task `spec.task` is
  /// enqueued for each matching event, in the transaction that stores it, as
  /// subscribe_durable(prefix, task) describes (payload, idempotency key, lifetime). Subscribing
  /// the same type, match and task again changes nothing. Throws Error(400,
  /// "invalid_subscription") for an invalid task name or Exact type (see subscribe above).
  virtual void subscribe_durable(DurableSubscriptionSpec spec) = 0;
};

/// Returns a copy of `value` with the value of every sensitive key (recursively,
/// case-insensitive) replaced by "[REDACTED]".
JARVIS_API Json redact(const Json& value);

}  // namespace jarvis

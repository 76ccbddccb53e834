// jarvis/events.h — the event store and in-process event bus.
//
//   host.events().emit({.type = "bug.created", .payload = {{"id", id}}});
//   host.events().subscribe("maintenance.", [](const Event& e) { … });
//
// Emitted events are stored (payload redacted by key: password, token, secret, api_key, …) and
// delivered to subscribers whose prefix matches the type. A subscriber that throws is isolated,
// logged and counted; it never affects the emitter or other subscribers.
#pragma once

#include <functional>
#include <string>

#include "jarvis/json.h"
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

/// Handler of subscribed events; runs on the emitter's thread after the event is stored.
using EventHandler = std::function<void(const Event&)>;

/// Event store and bus.
class JARVIS_API EventBus {
 public:
  virtual ~EventBus();
  /// Stores the event (redacted) and delivers it to subscribers. Returns the event id.
  virtual std::string emit(Event event) = 0;
  /// Subscribes to every event whose type starts with `type_prefix` ("" = all).
  virtual void subscribe(std::string type_prefix, EventHandler handler) = 0;
};

/// Returns a copy of `value` with the value of every sensitive key (recursively,
/// case-insensitive) replaced by "[REDACTED]".
JARVIS_API Json redact(const Json& value);

}  // namespace jarvis

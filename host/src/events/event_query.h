// host/src/events/event_query.h — reading the event store (`events`, migrations/001_events.sql)
// with ownership scoping, and the routes GET /api/v1/events, /api/v1/events/{id} and
// /api/v1/traces/{trace_id}.
//
// Visibility: admins see every event. A user sees an event only when it belongs to a thread they
// own (thread_owners, host/src/auth/thread_owners.h). System events (no thread) and events of
// threads nobody claimed are admin-only. Payloads are stored redacted and nothing else is kept, so
// there is no "raw" payload to reveal: `?view=raw` returns the same redacted data and is refused to
// non-admins anyway (403 `raw_view_forbidden`), as the contract says.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "jarvis/database.h"
#include "jarvis/events.h"
#include "jarvis/json.h"
#include "jarvis/principal.h"

namespace jarvis::host {

class Router;

/// Filters of GET /api/v1/events.
struct EventFilter {
  std::string type_prefix;  ///< "" = any; "policy." matches policy.decision
  std::string component;    ///< exact
  std::string thread_id;    ///< exact
  std::string trace_id;     ///< exact
  int limit = 50;           ///< 1..200
  int offset = 0;           ///< 0..100000
};

/// One page of events, newest first.
struct EventPage {
  std::vector<jarvis::Json> items;
  bool has_more = false;
};

/// Scoped reads of the event store. Thread-safe.
class EventQuery {
 public:
  explicit EventQuery(jarvis::Database& db);
  /// Events visible to `who` matching `filter`, newest first.
  EventPage list(const jarvis::Principal& who, const EventFilter& filter);
  /// One event when it exists and `who` may see it (nullopt otherwise: no existence oracle).
  std::optional<jarvis::Json> get(const jarvis::Principal& who, const std::string& id);
  /// The events of one trace visible to `who`, in the order they happened (at most `limit`;
  /// `truncated` is set when there were more). A trace id over kMaxTraceIdLength characters
  /// matches nothing. GET /api/v1/traces/{trace_id} and jarvis::EventBus::trace both use it.
  std::vector<jarvis::Json> trace(const jarvis::Principal& who, const std::string& trace_id,
                                  int limit, bool& truncated);
  /// Longest trace id trace() looks up.
  static constexpr std::size_t kMaxTraceIdLength = 200;
  /// True when `who` owns `thread_id` (or is admin).
  bool owns_thread(const jarvis::Principal& who, const std::string& thread_id);

 private:
  jarvis::Database& db_;
};

/// A row of event_json() form (id, created_at, trace_id, type, component, actor_type, actor_id,
/// thread_id, payload; null ids as JSON null) as a jarvis::Event.
jarvis::Event event_from_json(const jarvis::Json& row);

/// Registers the three event routes (user level, owner "host").
void register_event_routes(Router& router, jarvis::Database& db);

}  // namespace jarvis::host

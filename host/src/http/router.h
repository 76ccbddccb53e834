// host/src/http/router.h — the route table: the single source of truth for routing, auth levels,
// the RBAC test matrix and the generated API reference.
//
// Patterns are literal segments and `{name}` segments (one path segment each). Literal segments
// win over parameters at the same position. Duplicate method+pattern pairs are refused with an
// error naming both owners (jarvis::Error 409 `duplicate_route`).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "jarvis/http.h"
#include "registry/owner.h"

namespace jarvis::host {

/// Where a route's handler runs.
enum class RouteExecution {
  /// On the handler pool (JARVIS_HANDLER_THREADS): every plugin route and most host routes.
  Pool,
  /// Inline on the I/O thread that parsed the request, never queued behind other handlers. Only
  /// for host routes that touch nothing that can block (/healthz).
  IoThread,
  /// On the host's own small system pool (2 threads): never queued behind application handlers,
  /// and never on an I/O thread, since it may wait for the database (/readyz, /metrics).
  System,
};

/// A registered route. Member order matters: `owner` (which keeps the library) is declared
/// before `spec` (whose handler lives in it), so the handler is destroyed first.
struct RouteEntry {
  Owner owner;
  jarvis::RouteSpec spec;
  RouteExecution execution = RouteExecution::Pool;
};

/// Outcome of matching a request against the table.
struct RouteMatch {
  enum class Kind { Found, NotFound, MethodNotAllowed };
  Kind kind = Kind::NotFound;
  std::shared_ptr<const RouteEntry> route;         ///< set when Found
  std::map<std::string, std::string> path_params;  ///< decoded values when Found
  std::vector<std::string> allowed_methods;        ///< set when MethodNotAllowed (for Allow:)
};

/// Thread-safe route table. Registration happens at start-up; matching on every request.
class Router {
 public:
  /// Adds a route; throws jarvis::Error(409, "duplicate_route") naming both owners, or
  /// jarvis::Error(400, "invalid_route") for a malformed pattern (must start with '/').
  /// `execution` other than Pool is for the host's system routes only (plugins cannot ask for it).
  void add(Owner owner, jarvis::RouteSpec spec, RouteExecution execution = RouteExecution::Pool);
  /// Matches a path (no query string). The path may still be percent-encoded: it is split on '/'
  /// first and each segment is decoded on its own, so "%2F" stays inside one segment (and one path
  /// parameter). An already-decoded path without '%' matches the same way. HEAD matches GET routes
  /// (an explicit HEAD route wins). Throws jarvis::Error(400, "invalid_path") on a malformed
  /// percent escape.
  RouteMatch match(const std::string& method, const std::string& path) const;
  /// Every route, sorted by path then method.
  std::vector<std::shared_ptr<const RouteEntry>> routes() const;
  /// Drops every route owned by `owner_name` (used when a plugin fails during setup).
  void remove_owner(const std::string& owner_name);

 private:
  /// One pattern segment: a literal (compared decoded) or a `{name}` parameter.
  struct Segment {
    std::string text;  ///< literal text, or the parameter name
    bool param = false;
  };
  /// A route with its pattern pre-split, and its shape ("/bugs/{}") for duplicate detection.
  struct Compiled {
    std::shared_ptr<const RouteEntry> entry;
    std::vector<Segment> segments;
    std::string shape;
  };
  mutable std::shared_mutex mu_;
  std::vector<Compiled> routes_;
};

}  // namespace jarvis::host

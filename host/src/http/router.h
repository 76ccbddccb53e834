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
#include <string>
#include <vector>

#include "jarvis/http.h"
#include "registry/owner.h"

namespace jarvis::host {

/// A registered route. Member order matters: `owner` (which keeps the library) is declared
/// before `spec` (whose handler lives in it), so the handler is destroyed first.
struct RouteEntry {
  Owner owner;
  jarvis::RouteSpec spec;
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
  void add(Owner owner, jarvis::RouteSpec spec);
  /// Matches a decoded path (no query string). HEAD matches GET routes.
  RouteMatch match(const std::string& method, const std::string& path) const;
  /// Every route, sorted by path then method.
  std::vector<std::shared_ptr<const RouteEntry>> routes() const;
  /// Drops every route owned by `owner_name` (used when a plugin fails during setup).
  void remove_owner(const std::string& owner_name);

 private:
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<const RouteEntry>> routes_;
};

}  // namespace jarvis::host

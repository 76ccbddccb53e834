// jarvis/http.h — the SDK's own HTTP request/response types and the route registry.
//
// Plugins never see the HTTP engine. A route handler receives a `Request` (raw body bytes, headers,
// path and query parameters, the caller's `Principal`) and returns a `Response`.
//
//   host.routes().add({.method = "GET", .path = "/api/v1/hello/{name}", .auth = Auth::Public,
//                      .summary = "Greets someone",
//                      .handler = [](Request& req) {
//                        return Response::json(200, {{"hello", req.path_param("name")}});
//                      }});
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "jarvis/json.h"
#include "jarvis/principal.h"
#include "jarvis/version.h"

namespace jarvis {

/// Authentication level a route declares; the host enforces it before the handler runs.
enum class Auth {
  Public,   ///< anyone
  User,     ///< any authenticated user (401 otherwise)
  Admin,    ///< admins only (401 anonymous, 403 users)
  Webhook,  ///< no session; the handler verifies the caller itself (HMAC, shared secret)
};

/// "public", "user", "admin" or "webhook".
JARVIS_API const char* to_string(Auth a);

/// Ordered, case-insensitive HTTP header list (duplicates kept in arrival order).
class JARVIS_API Headers {
 public:
  /// First value of header `name` (case-insensitive), or nullopt.
  std::optional<std::string> get(const std::string& name) const;
  /// Replaces every value of `name` with `value`.
  void set(const std::string& name, std::string value);
  /// Appends a value (e.g. a second Set-Cookie).
  void add(const std::string& name, std::string value);
  bool has(const std::string& name) const { return get(name).has_value(); }
  const std::vector<std::pair<std::string, std::string>>& all() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

/// An inbound HTTP request as the host hands it to a route handler.
struct JARVIS_API Request {
  std::string method;  ///< "GET", "POST", …
  std::string target;  ///< raw request target, e.g. "/api/v1/bugs?status=open"
  std::string path;    ///< decoded path without the query, e.g. "/api/v1/bugs"
  std::map<std::string, std::string> query;        ///< decoded query parameters (last one wins)
  std::map<std::string, std::string> path_params;  ///< values of `{name}` segments
  Headers headers;
  std::string body;            ///< exact body bytes (webhook signatures are computed over these)
  std::string remote_address;  ///< peer IP address
  std::string request_id;      ///< also sent back as X-Request-Id
  Principal principal;         ///< the authenticated caller (anonymous on public routes)

  /// Path parameter `name`; throws Error(400) if absent (a router bug, never user input).
  const std::string& path_param(const std::string& name) const;
  /// Query parameter or nullopt.
  std::optional<std::string> query_param(const std::string& name) const;
  /// Integer query parameter within [min, max], `fallback` when absent; 400 `invalid_query` if not
  /// an integer or out of range (the message names the parameter).
  long long query_int(const std::string& name, long long fallback, long long min,
                      long long max) const;
  /// Body parsed as a JSON object; 400 `invalid_json` when not JSON or not an object, 400
  /// `json_too_deep` when it nests deeper than kMaxJsonDepth (see jarvis/json.h).
  Json json_body() const;
};

/// An HTTP response returned by a route handler.
struct JARVIS_API Response {
  int status = 200;
  Headers headers;
  std::string body;

  /// JSON body with `Content-Type: application/json`.
  static Response json(int status, const Json& body);
  /// Plain text body.
  static Response text(int status, std::string body,
                       std::string content_type = "text/plain; charset=utf-8");
  /// 204 No Content.
  static Response no_content();
};

/// Handler of a route: runs on an HTTP worker thread; may throw jarvis::Error.
using RouteHandler = std::function<Response(Request&)>;

/// A route a plugin (or the host) contributes. The route table is the single source of truth for
/// auth checks, the RBAC test matrix and the API reference.
struct RouteSpec {
  std::string method;  ///< HTTP method, upper case
  std::string path;    ///< path pattern; `{name}` matches one segment, e.g. "/api/v1/bugs/{id}"
  Auth auth = Auth::User;
  std::string summary;  ///< one line for the API reference
  RouteHandler handler;
  /// Body size limit in bytes; 0 = the host default (JARVIS_HTTP_MAX_BODY_BYTES).
  std::size_t max_body_bytes = 0;
};

/// Registry of HTTP routes. Registering the same method+path twice is refused with an error that
/// names both owners.
class JARVIS_API RouteRegistry {
 public:
  virtual ~RouteRegistry();
  /// Adds a route. Throws jarvis::Error(409, "duplicate_route") on a duplicate.
  virtual void add(RouteSpec spec) = 0;
};

}  // namespace jarvis

// host/src/http/dispatcher.h — the engine-independent request pipeline: request ids, query parsing,
// routing, the auth hook, guarded handler calls, JSON errors, static files, metrics and the access
// log. No Beast here: the server converts to jarvis::Request and back, and tests call dispatch()
// directly without sockets.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "http/router.h"
#include "jarvis/http.h"
#include "observability/metrics.h"

namespace jarvis::host {

class StaticFiles;

/// Extension points of the pipeline, set once before serving.
struct DispatchHooks {
  /// Runs before the handler of a matched route: may fill req.principal or return a response that
  /// short-circuits (401/403/503). Unset = allow. May throw jarvis::Error.
  std::function<std::optional<jarvis::Response>(jarvis::Request&, const RouteEntry&)> authorize;
  /// Runs for every request after the request id, path and query are parsed and before routing:
  /// may answer it outright, whatever the path (CORS preflight). Unset = route normally. May throw
  /// jarvis::Error. Its answers are labelled route="preflight" in the metrics.
  std::function<std::optional<jarvis::Response>(jarvis::Request&)> before_route;
  /// Runs on every response before it is sent — routed, 404/405, static files, errors and reject()
  /// answers — to add headers (CORS). Exceptions are logged and ignored.
  std::function<void(const jarvis::Request&, jarvis::Response&)> decorate;
  /// Called when a handler throws something that is not jarvis::Error (owner = plugin name or
  /// "host", error id as shown to the caller, what() of the exception).
  std::function<void(const std::string& owner, const std::string& error_id,
                     const std::string& what)>
      on_handler_crash;
};

/// What dispatch() tells the server about a streamed response, whose metrics and access log line
/// wait until the stream ends (finish_stream()).
struct DispatchInfo {
  std::string route_label = "unmatched";  ///< the route pattern (metric label)
  double started_seconds = 0;             ///< steady clock when dispatch began
  /// The matched route: keeps the owning plugin's library loaded while its stream runs.
  std::shared_ptr<const RouteEntry> route;
  /// True when the response is a stream and its bookkeeping was deferred.
  bool deferred = false;
};

/// Turns a jarvis::Request into a jarvis::Response. Thread-safe: dispatch() runs concurrently on
/// every server thread; the setters are for start-up.
class Dispatcher {
 public:
  /// `router` and `metrics` must outlive the dispatcher.
  Dispatcher(Router& router, MetricsRegistry& metrics, DispatchHooks hooks = {});
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  /// Serves files from `dir` (web/dist) for GET/HEAD of non-API paths no route matches, falling
  /// back to index.html. The directory may appear later; "" turns static serving off. Call before
  /// serving.
  void set_static_dir(std::string dir);

  /// Handles one request. Fills req.request_id (the caller's X-Request-Id when it is 1–128 chars of
  /// [A-Za-z0-9._:-], else 128 random bits in hex), req.path (decoded), req.query and
  /// req.path_params. Every response carries X-Request-Id. Never throws.
  jarvis::Response dispatch(jarvis::Request& req) noexcept;
  /// The same; when the response is a stream and `info` is given, the metrics and the access log
  /// line are deferred to finish_stream() (headers — X-Request-Id, CORS — are still set here).
  jarvis::Response dispatch(jarvis::Request& req, DispatchInfo* info) noexcept;

  /// A streamed response's connection took over (the active-streams gauge).
  void stream_opened() noexcept;
  /// A streamed response ended: request metrics (status, whole duration), the stream metrics
  /// (outcome, bytes, the active gauge) and the access log line with `outcome` and `bytes`.
  void finish_stream(const jarvis::Request& req, const DispatchInfo& info, int status,
                     std::uint64_t bytes, const char* outcome) noexcept;
  /// A stream's start callback threw something (logged with an error id and counted against the
  /// route's owner like a handler crash).
  void stream_start_failed(const jarvis::Request& req, const DispatchInfo& info,
                           const std::string& what) noexcept;

  /// Answers a request the server refused before dispatch (400 malformed, 408 timeout, 413 too
  /// large, 431 headers too large) with the same JSON error shape, request id, metrics and access
  /// log line as a dispatched request. Never throws.
  jarvis::Response reject(jarvis::Request& req, int status, const std::string& code,
                          const std::string& message) noexcept;

  /// The body limit of the route `method target` would reach: its RouteSpec::max_body_bytes, or
  /// 0 when the route sets none or nothing matches (the server then applies its default).
  std::size_t body_limit(const std::string& method, const std::string& target) const noexcept;

  /// Where the route `method target` reaches runs (RouteExecution::Pool when none matches): the
  /// server answers IoThread routes (/healthz) on the I/O thread, posts System routes (/readyz,
  /// /metrics) to its system pool and everything else to the handler pool.
  RouteExecution execution_of(const std::string& method, const std::string& target) const noexcept;

  /// `{"error":{"code","message","request_id"}}` with `status`.
  static jarvis::Response error_response(int status, const std::string& code,
                                         const std::string& message, const std::string& request_id);

 private:
  jarvis::Response crash(jarvis::Request& req, const std::string& owner, const std::string& what);
  jarvis::Response route(jarvis::Request& req, std::string& route_label,
                         std::shared_ptr<const RouteEntry>* matched);
  void finish(jarvis::Request& req, jarvis::Response& res, const std::string& route_label,
              double started_seconds, bool defer_log = false) noexcept;
  void record(const jarvis::Request& req, int status, const std::string& route_label,
              double started_seconds, std::string_view extra) noexcept;

  Router& router_;
  MetricsRegistry& metrics_;
  DispatchHooks hooks_;
  std::unique_ptr<StaticFiles> static_files_;
  std::atomic<long long> streams_active_{0};
};

/// `raw` for a log line: bytes outside printable ASCII (controls, DEL, non-ASCII) and '\\' become
/// \xNN, so a request target cannot forge or corrupt log lines.
std::string escape_for_log(std::string_view raw);

/// 128 random bits as 32 lower-case hex characters (fast, not for secrets).
std::string random_hex_id();

}  // namespace jarvis::host

// host/src/http/dispatcher.cpp — the engine-independent request pipeline (see dispatcher.h).
#include "http/dispatcher.h"

#include <chrono>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "http/static_files.h"
#include "http/url.h"
#include "jarvis/error.h"

namespace jarvis::host {

namespace {

constexpr const char* kRequestsTotal = "jarvis_http_requests_total";
constexpr const char* kRequestsHelp = "HTTP requests by route pattern, method and status.";
constexpr const char* kDuration = "jarvis_http_request_duration_seconds";
constexpr const char* kDurationHelp = "HTTP request handling time in seconds, by route pattern.";
constexpr const char* kHandlerErrors = "jarvis_plugin_handler_errors_total";
constexpr const char* kHandlerErrorsHelp =
    "Route handlers that threw something other than jarvis::Error, by owning plugin.";
constexpr const char* kStreamsActive = "jarvis_http_streams_active";
constexpr const char* kStreamsActiveHelp = "Streamed responses (SSE, chunked) now open.";
constexpr const char* kStreamsTotal = "jarvis_http_streams_total";
constexpr const char* kStreamsTotalHelp =
    "Streamed responses that ended, by route pattern and outcome (complete, client_gone, "
    "dropped_slow_client, write_timeout, expired, shutdown, start_failed).";
constexpr const char* kStreamBytes = "jarvis_http_stream_bytes_total";
constexpr const char* kStreamBytesHelp = "Body bytes sent on streamed responses, by route pattern.";

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool valid_request_id(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Bounded label values for the method (arbitrary tokens would grow the series without bound).
const char* method_label(const std::string& m) {
  static const char* const known[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
  for (const char* k : known) {
    if (m == k) return k;
  }
  return "OTHER";
}

// Paths that belong to the API and never fall back to the web UI.
bool reserved_path(std::string_view p) {
  auto under = [&](std::string_view prefix) {
    return p == prefix || (p.size() > prefix.size() && p.substr(0, prefix.size()) == prefix &&
                           p[prefix.size()] == '/');
  };
  return under("/api") || under("/ws") || under("/healthz") || under("/readyz") ||
         under("/metrics");
}

}  // namespace

std::string escape_for_log(std::string_view raw) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size());
  for (unsigned char c : raw) {
    if (c > 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 0xF]);
    }
  }
  return out;
}

std::string random_hex_id() {
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    std::seed_seq seq{
        rd(), rd(), rd(), rd(),
        static_cast<unsigned>(std::hash<std::thread::id>{}(std::this_thread::get_id()))};
    return std::mt19937_64(seq);
  }());
  static const char digits[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int half = 0; half < 2; ++half) {
    std::uint64_t v = rng();
    for (int i = 0; i < 16; ++i) {
      out[half * 16 + i] = digits[v & 0xF];
      v >>= 4;
    }
  }
  return out;
}

Dispatcher::Dispatcher(Router& router, MetricsRegistry& metrics, DispatchHooks hooks)
    : router_(router), metrics_(metrics), hooks_(std::move(hooks)) {}

Dispatcher::~Dispatcher() = default;

void Dispatcher::set_static_dir(std::string dir) {
  if (dir.empty()) {
    static_files_.reset();
  } else {
    static_files_ = std::make_unique<StaticFiles>(std::move(dir));
  }
}

jarvis::Response Dispatcher::error_response(int status, const std::string& code,
                                            const std::string& message,
                                            const std::string& request_id) {
  return jarvis::Response::json(
      status, {{"error", {{"code", code}, {"message", message}, {"request_id", request_id}}}});
}

jarvis::Response Dispatcher::dispatch(jarvis::Request& req) noexcept {
  return dispatch(req, nullptr);
}

jarvis::Response Dispatcher::dispatch(jarvis::Request& req, DispatchInfo* info) noexcept {
  double started = now_seconds();
  std::string route_label = "unmatched";
  std::shared_ptr<const RouteEntry> matched;
  jarvis::Response res;
  try {
    if (req.request_id.empty()) {
      auto given = req.headers.get("X-Request-Id");
      req.request_id = given && valid_request_id(*given) ? *given : random_hex_id();
    }
    res = route(req, route_label, &matched);
  } catch (const jarvis::Error& e) {
    int status = e.status() >= 400 && e.status() <= 599 ? e.status() : 500;
    res = error_response(status, e.code(), e.what(), req.request_id);
    // A 503 from a handler (database_busy, …) is temporary: tell clients when to come back.
    if (status == 503 && !res.headers.has("Retry-After")) res.headers.set("Retry-After", "1");
  } catch (const std::exception& e) {
    res = crash(req, "host", e.what());
  } catch (...) {
    res = crash(req, "host", "non-standard exception");
  }
  // A status without a body cannot stream; without `info` the caller cannot run a stream either.
  if (info == nullptr || res.status < 200 || res.status == 204 || res.status == 304)
    res.stream_start = nullptr;
  finish(req, res, route_label, started, /*defer_log=*/true);
  if (res.is_stream()) {
    info->route_label = route_label;
    info->started_seconds = started;
    info->route = std::move(matched);
    info->deferred = true;
  }
  return res;
}

jarvis::Response Dispatcher::route(jarvis::Request& req, std::string& route_label,
                                   std::shared_ptr<const RouteEntry>* matched) {
  if (req.target.empty()) req.target = req.path;
  std::string_view raw_path, raw_query;
  split_target(req.target, raw_path, raw_query);
  if (raw_path.empty() || raw_path.front() != '/') {
    throw jarvis::Error(400, "invalid_path", "request target must be an absolute path");
  }
  auto decoded = percent_decode(raw_path);
  if (!decoded)
    throw jarvis::Error(400, "invalid_path", "request path has a malformed percent escape");
  // NUL anywhere, and in the path every other C0 control byte and DEL, are refused after
  // decoding, for every route at once: they truncate C strings and forge log lines, and no
  // identifier needs them.
  if (has_control_byte(*decoded)) {
    throw jarvis::Error(400, "invalid_request", "request path contains a control character");
  }
  req.path = std::move(*decoded);
  if (!raw_query.empty()) {
    auto query = parse_query(raw_query);
    if (!query)
      throw jarvis::Error(400, "invalid_query", "query string has a malformed percent escape");
    for (const auto& [name, value] : *query) {
      if (has_nul_byte(name) || has_nul_byte(value)) {
        throw jarvis::Error(400, "invalid_request", "query string contains a NUL byte");
      }
    }
    req.query = std::move(*query);
  }

  if (hooks_.before_route) {
    if (auto early = hooks_.before_route(req)) {
      route_label = "preflight";
      return std::move(*early);
    }
  }

  RouteMatch match = router_.match(req.method, std::string(raw_path));
  if (match.kind == RouteMatch::Kind::Found) {
    const RouteEntry& entry = *match.route;
    route_label = entry.spec.path;
    if (matched != nullptr) *matched = match.route;
    req.path_params = std::move(match.path_params);
    if (hooks_.authorize) {
      if (auto denied = hooks_.authorize(req, entry)) return std::move(*denied);
    }
    try {
      return entry.spec.handler(req);
    } catch (const jarvis::Error&) {
      throw;
    } catch (const std::exception& e) {
      return crash(req, entry.owner.name, e.what());
    } catch (...) {
      return crash(req, entry.owner.name, "non-standard exception");
    }
  }
  if (match.kind == RouteMatch::Kind::MethodNotAllowed) {
    std::string allow;
    for (const auto& m : match.allowed_methods) allow += (allow.empty() ? "" : ", ") + m;
    auto res = error_response(405, "method_not_allowed",
                              "method " + req.method + " is not allowed on " +
                                  std::string(raw_path) + " (allowed: " + allow + ")",
                              req.request_id);
    res.headers.set("Allow", allow);
    return res;
  }
  if (static_files_ && (req.method == "GET" || req.method == "HEAD") && !reserved_path(raw_path)) {
    if (auto file = static_files_->serve(std::string(raw_path))) {
      route_label = "static";
      return std::move(*file);
    }
  }
  return error_response(404, "not_found",
                        "no route for " + req.method + " " + std::string(raw_path), req.request_id);
}

jarvis::Response Dispatcher::crash(jarvis::Request& req, const std::string& owner,
                                   const std::string& what) {
  std::string error_id = "err_" + random_hex_id().substr(0, 16);
  spdlog::error("handler error {}: plugin '{}' threw on {} {} (request {}): {}", error_id, owner,
                escape_for_log(req.method), escape_for_log(req.path), req.request_id, what);
  try {
    metrics_.counter_add(kHandlerErrors, kHandlerErrorsHelp, {{"plugin", owner}});
    if (hooks_.on_handler_crash) hooks_.on_handler_crash(owner, error_id, what);
  } catch (const std::exception& e) {
    spdlog::error("handler error {}: reporting it failed: {}", error_id, e.what());
  } catch (...) {
    spdlog::error("handler error {}: reporting it failed", error_id);
  }
  return error_response(500, "internal_error", "internal error (error id " + error_id + ")",
                        req.request_id);
}

void Dispatcher::finish(jarvis::Request& req, jarvis::Response& res, const std::string& route_label,
                        double started, bool defer_log) noexcept {
  try {
    if (res.status < 100 || res.status > 599) {
      res =
          crash(req, "host", "handler returned invalid HTTP status " + std::to_string(res.status));
    }
    if (hooks_.decorate) {
      try {
        hooks_.decorate(req, res);
      } catch (const std::exception& e) {
        spdlog::error("request {}: response decorator failed: {}", req.request_id, e.what());
      }
    }
    res.headers.set("X-Request-Id", req.request_id);
  } catch (const std::exception& e) {
    try {
      spdlog::error("request {}: response decoration failed: {}", req.request_id, e.what());
    } catch (...) {
    }
  } catch (...) {
  }
  // A stream's metrics and access log line wait for its end (finish_stream).
  if (!defer_log || !res.is_stream()) record(req, res.status, route_label, started, {});
}

void Dispatcher::record(const jarvis::Request& req, int status, const std::string& route_label,
                        double started, std::string_view extra) noexcept {
  try {
    double elapsed = now_seconds() - started;
    metrics_.counter_add(kRequestsTotal, kRequestsHelp,
                         {{"route", route_label},
                          {"method", method_label(req.method)},
                          {"status", std::to_string(status)}});
    metrics_.histogram_observe(kDuration, kDurationHelp, {{"route", route_label}}, elapsed);
    // The raw path only: no query string (it may carry tokens), no bodies, no credentials.
    std::string_view raw_path, raw_query;
    split_target(req.target, raw_path, raw_query);
    spdlog::info("{} {} {} {:.1f}ms {} id={}{}", escape_for_log(req.method),
                 escape_for_log(raw_path), status, elapsed * 1000.0,
                 req.remote_address.empty() ? "-" : req.remote_address, req.request_id, extra);
  } catch (const std::exception& e) {
    // Metrics or logging failed: the response itself is still valid.
    try {
      spdlog::error("request {}: bookkeeping failed: {}", req.request_id, e.what());
    } catch (...) {
    }
  } catch (...) {
  }
}

void Dispatcher::stream_opened() noexcept {
  try {
    metrics_.gauge_set(kStreamsActive, kStreamsActiveHelp, {},
                       static_cast<double>(streams_active_.fetch_add(1) + 1));
  } catch (...) {
  }
}

void Dispatcher::finish_stream(const jarvis::Request& req, const DispatchInfo& info, int status,
                               std::uint64_t bytes, const char* outcome) noexcept {
  record(req, status, info.route_label, info.started_seconds,
         fmt::format(" stream={} bytes={}", outcome, bytes));
  try {
    metrics_.gauge_set(kStreamsActive, kStreamsActiveHelp, {},
                       static_cast<double>(streams_active_.fetch_sub(1) - 1));
    metrics_.counter_add(kStreamBytes, kStreamBytesHelp, {{"route", info.route_label}},
                         static_cast<double>(bytes));
    // Last: a reader that sees the stream counted sees the rest of its bookkeeping too.
    metrics_.counter_add(kStreamsTotal, kStreamsTotalHelp,
                         {{"route", info.route_label}, {"outcome", outcome}});
  } catch (...) {
  }
}

void Dispatcher::stream_start_failed(const jarvis::Request& req, const DispatchInfo& info,
                                     const std::string& what) noexcept {
  try {
    jarvis::Request copy = req;
    crash(copy, info.route ? info.route->owner.name : "host", "stream start callback: " + what);
  } catch (...) {
  }
}

jarvis::Response Dispatcher::reject(jarvis::Request& req, int status, const std::string& code,
                                    const std::string& message) noexcept {
  double started = now_seconds();
  jarvis::Response res;
  try {
    if (req.request_id.empty()) {
      auto given = req.headers.get("X-Request-Id");
      req.request_id = given && valid_request_id(*given) ? *given : random_hex_id();
    }
    res = error_response(status, code, message, req.request_id);
  } catch (...) {
    res.status = status;
  }
  finish(req, res, "unmatched", started);
  return res;
}

std::size_t Dispatcher::body_limit(const std::string& method,
                                   const std::string& target) const noexcept {
  try {
    std::string_view raw_path, raw_query;
    split_target(target, raw_path, raw_query);
    RouteMatch m = router_.match(method, std::string(raw_path));
    return m.kind == RouteMatch::Kind::Found ? m.route->spec.max_body_bytes : 0;
  } catch (...) {
    return 0;
  }
}

RouteExecution Dispatcher::execution_of(const std::string& method,
                                        const std::string& target) const noexcept {
  try {
    std::string_view raw_path, raw_query;
    split_target(target, raw_path, raw_query);
    RouteMatch m = router_.match(method, std::string(raw_path));
    return m.kind == RouteMatch::Kind::Found ? m.route->execution : RouteExecution::Pool;
  } catch (...) {
    return RouteExecution::Pool;
  }
}

}  // namespace jarvis::host

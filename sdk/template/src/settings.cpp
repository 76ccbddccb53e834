// hello/src/settings.cpp — the status route: secret token, duration, histogram, health.
#include "settings.h"

namespace hello {

Settings::Settings(jarvis::Host& host)
    : status_token_(host.config().get_secret("status_token")),
      retry_after_(host.config().get_duration("retry_after")),
      maintenance_note_(host.config().get_string("maintenance_note")) {
  // Buckets for a fast local check: 1 ms … 1 s. Declared once, before the first observation.
  host.metrics().declare_histogram("status_seconds", {0.001, 0.01, 0.1, 1});
  jarvis::Metrics* metrics = &host.metrics();
  host.routes().add(
      {.method = "GET",
       .path = "/api/v1/hello/status",
       .auth = jarvis::Auth::Webhook,  // no session: the monitor proves itself with the token
       .summary = "The plugin's health for a monitor sending X-Hello-Token (HELLO_STATUS_TOKEN)",
       .handler = [this, metrics](jarvis::Request& req) {
         const auto started = std::chrono::steady_clock::now();
         if (status_token_.empty()) {
           throw jarvis::not_found("no status token set", "status_disabled");
         }
         // Secret == compares in constant time; the token itself is never logged or printed.
         if (!(jarvis::Secret(req.headers.get("X-Hello-Token").value_or("")) == status_token_)) {
           throw jarvis::Error(401, "invalid_token", "X-Hello-Token does not match");
         }
         status_checks_.fetch_add(1);
         {
           std::lock_guard lock(mu_);
           last_status_check_ = jarvis::now_iso();
         }
         const jarvis::Health h = health();
         jarvis::Response res =
             h.status == jarvis::Health::Status::Healthy
                 ? jarvis::Response::json(200, {{"health", "healthy"}})
                 : jarvis::Response::json(503, {{"health", "degraded"}, {"reason", h.detail}});
         if (res.status == 503) {
           const auto seconds =
               std::chrono::duration_cast<std::chrono::seconds>(retry_after_).count();
           res.headers.set("Retry-After", std::to_string(seconds));
         }
         metrics->observe(
             "status_seconds",
             std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
         return res;
       }});
}

jarvis::Health Settings::health() const {
  jarvis::Health h;
  if (!maintenance_note_.empty()) h = {jarvis::Health::Status::Degraded, maintenance_note_};
  // Structured, read-only detail for operators (SDK 1.1): a small JSON object, never secrets.
  std::lock_guard lock(mu_);
  h.details = {
      {"status_checks", status_checks_.load()},
      {"last_status_check",
       last_status_check_.empty() ? jarvis::Json(nullptr) : jarvis::Json(last_status_check_)}};
  return h;
}

}  // namespace hello

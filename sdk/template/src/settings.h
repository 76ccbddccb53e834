// hello/src/settings.h — typed config in use: a secret, a duration, a histogram and the plugin's
// health (SDK 1.1). Registers GET /api/v1/hello/status.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>

#include "jarvis/jarvis.h"

namespace hello {

/// Reads `status_token` (secret), `retry_after` (duration) and `maintenance_note`, and serves
/// GET /api/v1/hello/status for a monitor that sends `X-Hello-Token: <status_token>`: 200
/// {"health":"healthy"}, or 503 {"health":"degraded","reason":…} with `Retry-After` while a
/// maintenance note is set. Each check's latency is observed in histogram
/// `jarvis_plugin_hello_status_seconds`; how many checks ran and when the last one did are the
/// health's `details` (SDK 1.1: shown in /readyz, GET /api/v1/system/status and `jarvis doctor
/// --json`).
class Settings {
 public:
  /// Reads the keys and registers the route. Call from setup().
  explicit Settings(jarvis::Host& host);
  /// Degraded with the maintenance note while one is set (what /readyz and /metrics show), with
  /// details {"status_checks": n, "last_status_check": ISO time or null}. Thread-safe.
  jarvis::Health health() const;

 private:
  std::atomic<long long> status_checks_{0};
  mutable std::mutex mu_;
  std::string last_status_check_;  // guarded by mu_
  jarvis::Secret status_token_;
  std::chrono::milliseconds retry_after_;
  std::string maintenance_note_;
};

}  // namespace hello

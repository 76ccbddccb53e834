// jarvis/plugin.h — the plugin interface and the export macro.
//
// A plugin is a shared object exporting one factory and one ABI marker:
//
//   class HelloPlugin : public jarvis::Plugin {
//    public:
//     void setup(jarvis::Host& host) override { /* register routes, tools, tasks, commands */ }
//   };
//   JARVIS_PLUGIN(HelloPlugin)
//
// Do no work at static-initialisation time: the host maps the library only after checking the
// marker, then calls the factory, then setup(). Lifecycle: setup → (host applies migrations) →
// start → … → stop → destroyed. Every call is guarded by the host; exceptions are caught, logged
// and counted, and mark the plugin failed. Every call into the plugin's handlers is counted while
// it runs: at shutdown the object is destroyed only after they returned (up to
// JARVIS_PLUGIN_DRAIN_SECONDS; past it the host exits without destroying it).
#pragma once

#include <cstddef>
#include <string>

#include "jarvis/host.h"
#include "jarvis/json.h"
#include "jarvis/version.h"

namespace jarvis {

/// Health a plugin reports from Plugin::health() — the documented way to say "degraded":
///
///   jarvis::Health health() const override {
///     if (upstream_slow_) return {jarvis::Health::Status::Degraded, "upstream slow: p95 4.2s"};
///     return {};
///   }
///
/// /readyz shows it as `"health":"degraded","health_detail":"…"` (a degraded plugin is still
/// ready); /metrics as `jarvis_plugin_health{plugin,status}` (1 for the current status) and
/// `jarvis_plugin_health_reason{plugin,status,reason}` while not healthy.
///
/// SDK 1.1: `details` is structured, read-only health an operator reads — for example the last
/// success and failure of each upstream provider and model:
///
///   h.details = {{"providers", {{"openai", {{"gpt-4o", {{"last_success", "2026-12-01T…Z"},
///                                                        {"last_failure", nullptr}}}}}}}}};
///
/// The host copies it, as returned, into /readyz (`health_details` of the plugin), into GET
/// /api/v1/system/status (`plugin_health.<name>.details`) and into `jarvis doctor --json` (the
/// plugin's check) — never into /metrics. It must be a JSON object of at most
/// kMaxHealthDetailsBytes serialized bytes and 16 levels of nesting; sensitive keys are redacted
/// (jarvis::redact). A larger or deeper value, or one that is not an object, is replaced by
/// {"error": "<why>"} so the reports stay small; null or {} shows nothing.
struct Health {
  /// Healthy: working. Degraded: working with a problem an operator should see. Failed: not
  /// working (the host also reports refused and failed plugins as Failed).
  enum class Status { Healthy, Degraded, Failed };
  Status status = Status::Healthy;  ///< the current status
  std::string detail;               ///< short reason when not healthy (first 200 chars exported)
  Json details = nullptr;  ///< SDK 1.1: structured detail (a JSON object; see above); null = none
};

/// Most serialized bytes of Health::details the host reports (SDK 1.1).
inline constexpr std::size_t kMaxHealthDetailsBytes = 8192;

/// Base class of every plugin.
class JARVIS_API Plugin {
 public:
  virtual ~Plugin();
  /// Registers routes, tools, tasks, policies, commands, periodic jobs and event subscriptions.
  /// Called in every process that loads the plugin (server and CLI). Keep `host` for later calls.
  virtual void setup(Host& host) = 0;
  /// Called by `jarvis serve` after migrations, before traffic: start background work here.
  virtual void start() {}
  /// Called at shutdown, before the plugin is destroyed: stop and join anything started.
  virtual void stop() {}
  /// Current health (called from /readyz, GET /api/v1/system/status, SystemControl::status() and
  /// every /metrics scrape, on host threads; must be cheap, non-blocking and thread-safe — and must
  /// not call SystemControl::status() itself). Counted as an in-flight call like every handler.
  virtual Health health() const { return {}; }
};

}  // namespace jarvis

/// Name prefix of the exported ABI marker; the full name encodes ABI tag and SDK version:
/// `jarvis_abi__<tag>__sdk_<major>_<minor>`. The host reads it from the symbol table without
/// loading the library.
#define JARVIS_ABI_MARKER_PREFIX "jarvis_abi__"
#define JARVIS_ABI_MARKER_NAME                                                  \
  JARVIS_PP_CAT(                                                                \
      JARVIS_PP_CAT(JARVIS_PP_CAT(jarvis_abi__, JARVIS_ABI_TAG_TOKEN), __sdk_), \
      JARVIS_PP_CAT(JARVIS_PP_CAT(JARVIS_SDK_VERSION_MAJOR, _), JARVIS_SDK_VERSION_MINOR))

/// Exports the factory `jarvis_plugin_create` and the ABI marker for plugin class `cls`.
/// The host owns the returned object and deletes it before unloading the library.
#define JARVIS_PLUGIN(cls)                                                                       \
  extern "C" __attribute__((visibility("default"), used)) const char JARVIS_ABI_MARKER_NAME = 1; \
  extern "C" __attribute__((visibility("default"))) ::jarvis::Plugin* jarvis_plugin_create() {   \
    return new cls();                                                                            \
  }

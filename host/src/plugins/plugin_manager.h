// host/src/plugins/plugin_manager.h — discovery, compatibility checks, loading and lifecycle of
// plugins (see docs/decisions/0001-plugin-contract.md).
//
//   PluginManager pm(services, {.plugin_dirs = dirs, .disabled = off, .required = must});
//   pm.discover();                       // read every <dir>/<plugin>/plugin.yaml
//   auto loaded = pm.load_all();          // check (no plugin code runs) → dlopen → factory → setup
//   if (loaded.fatal) { print loaded.errors; exit 1; }
//   for (auto& src : pm.migration_sources()) { apply src; pm.mark_migrated(src.component) or
//                                             pm.mark_failed(src.component, why); }
//   pm.mark_all_migrated();               // plugins without migrations
//   auto started = pm.start_all();        // Plugin::start, dependency order
//   … serve …
//   pm.stop_all();                        // reverse order; then registrations, objects, libraries
//
// Every call into plugin code is guarded: an exception marks the plugin failed with the message as
// its reason, is logged and counted (jarvis_plugin_errors_total{plugin}); the host stays up unless
// the plugin is required.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/services.h"
#include "db/migrations.h"
#include "jarvis/plugin.h"
#include "plugins/manifest.h"
#include "plugins/plugin_config.h"

namespace jarvis::host {

class MetricsRegistry;

/// Lifecycle state of a plugin.
enum class PluginState {
  Discovered,
  Refused,
  Loaded,
  Migrated,
  Started,
  Failed,
  Disabled,
  Stopped
};
/// "discovered", "refused", "loaded", "migrated", "started", "failed", "disabled", "stopped".
const char* to_string(PluginState s);

/// What the manager is given.
struct PluginManagerOptions {
  /// Scanned in order; the first plugin of a given name wins, later ones are refused.
  std::vector<std::string> plugin_dirs;
  std::set<std::string> disabled;  ///< JARVIS_PLUGINS_DISABLED / plugins.disabled
  std::set<std::string> required;  ///< JARVIS_PLUGINS_REQUIRED: any failure is fatal
  /// How long stop_all() waits for calls still running in plugin code before it gives up and
  /// leaves the plugin objects alive (JARVIS_PLUGIN_DRAIN_SECONDS).
  std::chrono::milliseconds drain_timeout{std::chrono::seconds(30)};
};

/// One plugin as `jarvis plugins list/info` and /readyz show it.
struct PluginInfo {
  std::string name;     ///< manifest name (folder name when the manifest is unreadable)
  std::string version;  ///< "" when the manifest is unreadable
  std::string dir;
  std::string library;  ///< full path of the library ("" when unknown)
  PluginState state = PluginState::Discovered;
  /// Stable snake_case code of the last refusal/failure (e.g. "abi_incompatible"), "" otherwise.
  std::string reason_code;
  std::string reason;  ///< one line: plugin, file, expected vs found
  std::string description;
  std::string sdk_range;
  std::vector<std::string> requires_;  ///< "name range"
  bool required = false;
  std::vector<ConfigKeyReport> config;
};

/// Health of one plugin.
struct PluginHealth {
  std::string name;
  PluginState state = PluginState::Discovered;
  jarvis::Health health;  ///< Failed for refused/failed plugins; plugin-reported when running
};

/// Result of a lifecycle step over all plugins.
struct PluginOutcome {
  bool fatal = false;               ///< a required plugin failed, or a config value is invalid
  std::vector<std::string> errors;  ///< the fatal reasons, one line each
};

/// Owns every plugin: records, libraries, objects and their Host views.
class PluginManager {
 public:
  /// `services` pointers must outlive the manager (null ones are simply unavailable to plugins).
  PluginManager(HostServices services, PluginManagerOptions options);
  /// Calls stop_all() if plugins are still loaded.
  ~PluginManager();
  PluginManager(const PluginManager&) = delete;
  PluginManager& operator=(const PluginManager&) = delete;

  /// Scans the plugin dirs; every subfolder with plugin.yaml becomes a record (`discovered`,
  /// `disabled`, or `refused` for a malformed manifest or a duplicate name). Runs no plugin code.
  /// Throws std::logic_error if plugins are already loaded.
  void discover();

  /// For each discovered plugin in dependency order: checks SDK range, library format and ABI
  /// marker, entry point, requirements and config (no plugin code runs), then loads the library,
  /// calls the factory and setup(). Refused/failed plugins never stop the host; the outcome is
  /// fatal when a required plugin did not load or any plugin's config is invalid.
  PluginOutcome load_all();

  /// Migration folders of `loaded` plugins that have one, in dependency order
  /// (component = plugin name).
  std::vector<MigrationSource> migration_sources() const;
  /// loaded → migrated.
  void mark_migrated(const std::string& name);
  /// Every still-`loaded` plugin → migrated (those without migrations).
  void mark_all_migrated();
  /// Marks a plugin failed (e.g. its migration failed): its registrations are removed and its
  /// object destroyed. Fatal when the plugin is required.
  PluginOutcome mark_failed(const std::string& name, const std::string& reason);

  /// Calls Plugin::start of every `migrated` plugin in dependency order → started (or failed).
  PluginOutcome start_all();

  /// Calls Plugin::stop in reverse order (guarded), removes every registration, waits up to
  /// `drain_timeout` for calls still running in plugin code, destroys the plugin objects, then
  /// releases the libraries. Idempotent. Returns false when the drain timed out: then nothing was
  /// destroyed or unloaded (the objects are leaked on purpose, state `stopped`/`drain_timeout`)
  /// and the caller must end the process without destroying the host's services either.
  bool stop_all();

  /// Health of every plugin (Plugin::health guarded and counted as an in-flight call for running
  /// ones). Thread-safe.
  std::vector<PluginHealth> health() const;
  /// Every plugin record in discovery order. Thread-safe.
  std::vector<PluginInfo> list() const;
  /// One plugin by name (the first record of that name).
  std::optional<PluginInfo> info(const std::string& name) const;
  /// True when `name` is loaded, migrated or started (what Host::plugin_available answers).
  bool available(const std::string& name) const;
  /// The plugin's config view (for `jarvis config show`); null when unknown or unreadable.
  const PluginConfigImpl* config(const std::string& name) const;
  /// Names in load (dependency) order.
  std::vector<std::string> load_order() const;
  /// "name (N call(s)), …" for every plugin with calls running in its code right now; "" when
  /// none. Thread-safe.
  std::string busy_plugins() const;

  /// Counter incremented on every guarded plugin failure.
  static constexpr const char* kErrorsMetric = "jarvis_plugin_errors_total";
  /// Gauge: 1 for the plugin's current state, 0 for the others.
  static constexpr const char* kStateMetric = "jarvis_plugin_state";
  /// Gauge {plugin, status}: 1 for the current health status (healthy, degraded, failed).
  static constexpr const char* kHealthMetric = "jarvis_plugin_health";
  /// Gauge {plugin, status, reason}: 1 while a plugin is not healthy, with its reason.
  static constexpr const char* kHealthReasonMetric = "jarvis_plugin_health_reason";
  /// Gauge {plugin}: calls running inside the plugin's code right now.
  static constexpr const char* kInFlightMetric = "jarvis_plugin_calls_in_flight";

 private:
  struct Record;
  struct MetricsLink;
  /// Writes the health, health-reason and in-flight gauges (the /metrics collector).
  void export_health(MetricsRegistry& m) const;
  Record* find(const std::string& name) const;
  void set_state(Record& r, PluginState s, std::string code = "", std::string reason = "");
  void count_error(const Record& r);
  bool check(Record& r);
  bool load(Record& r);
  void teardown(Record& r);
  /// Moves the plugin object out of its record (under the lock health() reads it with).
  std::shared_ptr<jarvis::Plugin> take_plugin(Record& r);
  void drop_registrations(const std::string& name);
  std::vector<Record*> order_records();

  HostServices services_;
  PluginManagerOptions options_;
  mutable std::mutex mu_;  ///< guards Record::state/code/reason and `records_` reads from others
  std::vector<std::unique_ptr<Record>> records_;
  std::vector<Record*> order_;  ///< dependency order of records that passed the checks
  bool discovered_ = false;
  bool stopped_ = false;
  bool drain_timed_out_ = false;
  std::shared_ptr<MetricsLink> metrics_link_;
};

/// "healthy", "degraded", "failed".
const char* to_string(jarvis::Health::Status s);

/// Most nesting levels of Health::details the host reports.
inline constexpr int kMaxHealthDetailsDepth = 16;

/// Health::details as the host reports it (health() applies it): null when null or {}; the
/// object redacted (jarvis::redact); {"error": "<why>"} when it is not an object, is nested deeper
/// than kMaxHealthDetailsDepth or serializes to more than jarvis::kMaxHealthDetailsBytes.
jarvis::Json bounded_health_details(const jarvis::Json& details);

/// {"health": "healthy|degraded|failed", "detail"?: "…", "details"?: {…}} — one plugin's health
/// in GET /api/v1/system/status and `jarvis doctor --json`.
jarvis::Json plugin_health_json(const jarvis::Health& h);

}  // namespace jarvis::host

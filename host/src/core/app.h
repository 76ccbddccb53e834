// host/src/core/app.h — the host application: owns every service and registry, loads plugins,
// applies migrations and runs `jarvis serve`. The CLI builds one per invocation.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "config/host_settings.h"
#include "core/services.h"
#include "jarvis/json.h"

namespace jarvis::host {

class SqlDatabase;
class MigrationRunner;
struct MigrationSource;
class PluginManager;
class HttpServer;
class Dispatcher;
class CurlHttpClient;
class SystemState;
struct PluginOutcome;

/// What a process needs from the host.
enum class AppMode {
  Serve,    ///< `jarvis serve`: everything, plugins started
  Command,  ///< CLI commands: database + plugins set up (registries filled), nothing started
  Offline,  ///< no database connection (config show, plugins list without DB)
};

class Application {
 public:
  /// Takes the loaded config; throws std::runtime_error on invalid host settings.
  Application(ConfigStore store, std::string workdir);
  ~Application();

  const HostSettings& settings() const { return settings_; }
  const ConfigStore& config() const { return store_; }
  const std::string& workdir() const { return workdir_; }
  /// When this application was constructed (uptime in the status document).
  std::chrono::steady_clock::time_point started_at() const { return started_; }

  /// Opens the database (unless Offline), creates registries, registers host routes, tasks and
  /// commands, discovers and sets up plugins. Throws std::runtime_error with a clear message on a
  /// fatal problem (database unreachable, required plugin failed, invalid plugin config).
  /// `plugin_errors_fatal = false` (diagnostic commands: plugins list/info, config show) keeps
  /// going after a plugin problem; the plugin's record says what went wrong.
  void init(AppMode mode, bool plugin_errors_fatal = true);

  /// Migration sources: host first, then loaded plugins in dependency order.
  std::vector<MigrationSource> migration_sources() const;
  /// Applies pending migrations; prints one line per applied file to `out`. Returns count.
  /// A plugin whose migration fails is marked failed and recorded in migration_failures().
  int migrate(std::ostream& out);
  /// (plugin, error) for every plugin migration that failed in migrate().
  const std::vector<std::pair<std::string, std::string>>& migration_failures() const {
    return migration_failures_;
  }
  /// True when every migration of host and loaded plugins is applied (and none edited).
  bool migrations_current(std::string* problem = nullptr);

  /// Runs the server until SIGTERM/SIGINT; returns the exit code. `migrate_first` applies
  /// pending migrations before serving.
  int serve(bool migrate_first);

  /// /readyz body; `ok` decides 200 vs 503. Side-effect free.
  jarvis::Json readiness();

  HostServices& services() { return services_; }
  PluginManager& plugins() { return *plugins_; }
  SqlDatabase& db() { return *db_; }
  Router& router();
  SystemState& system_state();
  CommandTable& commands();

  /// Asks a serving application to stop (used by signal handling and tests).
  void request_stop();

 private:
  /// Throws std::runtime_error with every fatal reason when `outcome.fatal`.
  static void throw_if_fatal(const PluginOutcome& outcome);
  int started_plugin_count() const;

  struct Parts;
  ConfigStore store_;
  HostSettings settings_;
  std::string workdir_;
  std::chrono::steady_clock::time_point started_;
  std::unique_ptr<Parts> parts_;
  std::unique_ptr<SqlDatabase> db_;
  std::unique_ptr<PluginManager> plugins_;
  HostServices services_;
  AppMode mode_ = AppMode::Offline;
  std::vector<std::pair<std::string, std::string>> migration_failures_;
  std::atomic<bool> stop_requested_{false};
  /// The serving HTTP server while serve() runs (for /readyz's connection report), else null.
  std::atomic<const HttpServer*> http_server_{nullptr};
};

}  // namespace jarvis::host

// host/src/plugins/plugin_host.h — the per-plugin jarvis::Host view.
//
// Each plugin gets its own PluginHost: every registration it makes is forwarded to the host's
// registries together with its Owner (plugin name + a reference that keeps its library mapped),
// so errors name it, its handlers are counted against it, and no closure outlives its library.
// A service missing from HostServices (unit tests, some CLI paths) throws std::logic_error when the
// plugin reaches for it.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/services.h"
#include "jarvis/host.h"
#include "registry/owner.h"

namespace jarvis::host {

class InFlight;
class PluginConfigImpl;
class PluginMetrics;

/// The jarvis::Host a plugin's setup() receives.
class PluginHost : public jarvis::Host {
 public:
  /// `owner.keep` must hold the plugin's library. `config` must outlive this view.
  /// `available` answers plugin_available() (asks the manager). Every handler registered through
  /// this view (routes, tools, policies, tasks, commands, event subscribers) is wrapped so its
  /// calls count in `calls` (none when null) — shutdown waits for them (see in_flight.h).
  PluginHost(Owner owner, const HostServices& services, const PluginConfigImpl& config,
             std::function<bool(const std::string&)> available,
             std::shared_ptr<InFlight> calls = nullptr);
  ~PluginHost() override;
  PluginHost(const PluginHost&) = delete;
  PluginHost& operator=(const PluginHost&) = delete;

  const std::string& plugin_name() const override { return owner_.name; }
  std::shared_ptr<spdlog::logger> log() override { return logger_; }
  const jarvis::PluginConfig& config() const override;
  jarvis::RouteRegistry& routes() override;
  jarvis::ToolRegistry& tools() override;
  jarvis::PolicyRegistry& policies() override;
  jarvis::TaskRegistry& tasks() override;
  jarvis::CommandRegistry& commands() override;
  jarvis::EventBus& events() override;
  jarvis::Database& db() override;
  jarvis::HttpClient& http() override;
  jarvis::Metrics& metrics() override;
  bool plugin_available(const std::string& name) const override;
  jarvis::SystemControl& system() override;
  jarvis::ThreadRegistry& threads() override;

 private:
  struct Adapters;
  Owner owner_;
  HostServices services_;
  const PluginConfigImpl& config_;
  std::function<bool(const std::string&)> available_;
  std::shared_ptr<spdlog::logger> logger_;
  std::unique_ptr<Adapters> adapters_;
};

/// The logger named `name` from the shared spdlog registry, created with the default logger's
/// sinks and level when it does not exist yet.
std::shared_ptr<spdlog::logger> plugin_logger(const std::string& name);

}  // namespace jarvis::host

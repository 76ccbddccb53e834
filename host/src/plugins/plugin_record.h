// host/src/plugins/plugin_record.h — private to host/src/plugins: PluginManager's record of one
// plugin folder, shared by plugin_admission.cpp (discovery and the checks before any plugin code
// runs) and plugin_manager.cpp (loading and lifecycle).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <boost/dll/shared_library.hpp>

#include "jarvis/plugin.h"
#include "plugins/in_flight.h"
#include "plugins/manifest.h"
#include "plugins/plugin_config.h"
#include "plugins/plugin_host.h"
#include "plugins/plugin_manager.h"

namespace jarvis::host {

/// One plugin folder. Member order matters: `plugin` (code in the library) is destroyed first,
/// then `host` (holds an Owner that references the library), then `library`.
struct PluginManager::Record {
  std::string folder;  ///< folder name
  std::string dir;
  std::optional<Manifest> manifest;
  std::unique_ptr<PluginConfigImpl> config;
  bool required = false;
  bool winner = true;  ///< false for a refused duplicate name
  PluginState state = PluginState::Discovered;
  std::string code;
  std::string reason;

  /// Calls running in the plugin's code (every registered handler and health() count here).
  std::shared_ptr<InFlight> calls = std::make_shared<InFlight>();
  std::shared_ptr<boost::dll::shared_library> library;
  std::unique_ptr<PluginHost> host;
  std::shared_ptr<jarvis::Plugin> plugin;

  const std::string& name() const { return manifest ? manifest->name : folder; }
  std::string library_path() const { return manifest ? manifest->library_path() : ""; }
};

}  // namespace jarvis::host

// jarvis/host.h — everything a plugin can reach: the `Host&` passed to Plugin::setup.
//
// Each plugin gets its own Host view: registrations are recorded as owned by that plugin (for
// error messages, metrics and lifetime), and config() returns that plugin's own keys.
// References returned here stay valid until Plugin::stop returns.
#pragma once

#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "jarvis/commands.h"
#include "jarvis/config.h"
#include "jarvis/database.h"
#include "jarvis/events.h"
#include "jarvis/http.h"
#include "jarvis/http_client.h"
#include "jarvis/metrics.h"
#include "jarvis/system.h"
#include "jarvis/tasks.h"
#include "jarvis/threads.h"
#include "jarvis/tools.h"
#include "jarvis/version.h"

namespace jarvis {

/// Services and registries the host offers a plugin.
class JARVIS_API Host {
 public:
  virtual ~Host();
  /// Name of the plugin this view belongs to (from its manifest).
  virtual const std::string& plugin_name() const = 0;
  /// Logger named after the plugin (the host's shared spdlog registry). Never log secrets.
  virtual std::shared_ptr<spdlog::logger> log() = 0;
  /// The plugin's validated configuration.
  virtual const PluginConfig& config() const = 0;
  virtual RouteRegistry& routes() = 0;
  virtual ToolRegistry& tools() = 0;
  virtual PolicyRegistry& policies() = 0;
  virtual TaskRegistry& tasks() = 0;
  virtual CommandRegistry& commands() = 0;
  virtual EventBus& events() = 0;
  virtual Database& db() = 0;
  virtual HttpClient& http() = 0;
  virtual Metrics& metrics() = 0;
  /// True when the named plugin is present and set up (loaded, migrated or started) — for
  /// degrading cleanly without it. CLI processes never start plugins, so "started" is not required.
  virtual bool plugin_available(const std::string& name) const = 0;
  /// Safety state: lockdown, unlock codes, controlled restart, rollback reports.
  virtual SystemControl& system() = 0;
  /// Conversation-thread ownership: claim the threads the plugin creates for their users.
  virtual ThreadRegistry& threads() = 0;
};

}  // namespace jarvis

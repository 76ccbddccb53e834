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
// and counted, and mark the plugin failed.
#pragma once

#include <string>

#include "jarvis/host.h"
#include "jarvis/version.h"

namespace jarvis {

/// Health a plugin reports on /readyz.
struct Health {
  enum class Status { Healthy, Degraded, Failed };
  Status status = Status::Healthy;
  std::string detail;  ///< short reason when not healthy
};

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
  /// Current health (called from /readyz; must be cheap and thread-safe).
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

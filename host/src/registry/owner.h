// host/src/registry/owner.h — who registered something, and what keeps its code mapped.
//
// Every handler a plugin hands the host (route, tool, task, policy, command, event subscription)
// is stored together with an Owner. `keep` holds the plugin's shared library; registries declare
// the handler *after* the Owner member so the handler (a closure whose code lives in the library)
// is destroyed first and the library is unmapped last. Host-registered entries use owner "host"
// and an empty `keep`.
#pragma once

#include <memory>
#include <string>

namespace jarvis::host {

struct Owner {
  std::string name = "host";   ///< plugin name, or "host"
  std::shared_ptr<void> keep;  ///< keeps the plugin's library loaded; null for the host
};

}  // namespace jarvis::host

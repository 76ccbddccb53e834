// host/src/core/install_layout.h — where the host finds its own files: migrations, the default
// plugin directory and the web UI, located from the executable's path so that neither a source
// nor a build path is compiled into the binary.
//
// The build tree and an install share one layout (docs/decisions/0019):
//   <root>/bin/jarvis
//   <root>/lib/jarvis/plugins/<name>/        default plugin directory
//   <root>/share/jarvis/migrations/          the host's schema
//   <root>/share/jarvis/web/                 the built web UI (web/dist)
// where <root> is the build directory (build/share/jarvis/* are links into the source tree, made
// at configure time) or the install prefix. Environment overrides stay: JARVIS_MIGRATIONS_DIR,
// JARVIS_PLUGIN_DIRS (added after the default), WEB_DIST_DIR.
#pragma once

#include <string>

namespace jarvis::host {

/// <root> above: the parent of the directory holding the running executable
/// (/proc/self/exe), or "" when it cannot be read.
std::string install_root();

/// The host's migrations: $JARVIS_MIGRATIONS_DIR if set, else <root>/share/jarvis/migrations.
std::string host_migrations_dir();

/// The default plugin directory, searched before JARVIS_PLUGIN_DIRS: <root>/lib/jarvis/plugins.
std::string default_plugin_dir();

/// The web UI under <root>: <root>/share/jarvis/web (used when WEB_DIST_DIR, relative to the
/// working directory, holds no index.html and was not set by the operator).
std::string installed_web_dir();

}  // namespace jarvis::host

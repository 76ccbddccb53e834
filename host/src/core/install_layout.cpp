// host/src/core/install_layout.cpp — the host's own files, located from the executable's path.
#include "core/install_layout.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace fs = std::filesystem;

namespace jarvis::host {

std::string install_root() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec || exe.empty()) return "";
  return exe.parent_path().parent_path().string();
}

std::string host_migrations_dir() {
  if (const char* env = std::getenv("JARVIS_MIGRATIONS_DIR"); env && *env) return env;
  return (fs::path(install_root()) / "share" / "jarvis" / "migrations").string();
}

std::string default_plugin_dir() {
  return (fs::path(install_root()) / "lib" / "jarvis" / "plugins").string();
}

std::string installed_web_dir() {
  return (fs::path(install_root()) / "share" / "jarvis" / "web").string();
}

}  // namespace jarvis::host

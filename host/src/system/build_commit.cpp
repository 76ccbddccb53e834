// host/src/system/build_commit.cpp — the running commit (see build_commit.h). The only file that
// includes the generated jarvis_build_commit.h (outside the unity batches, host/CMakeLists.txt).
#include "system/build_commit.h"

#include <fstream>

#include "core/install_layout.h"
#include "jarvis_build_commit.h"

namespace jarvis::host {
namespace {

// A hex commit id of 7 to 64 characters (sha1 or sha256, possibly abbreviated).
bool looks_like_commit(const std::string& s) {
  if (s.size() < 7 || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string installed_commit() {
  const std::string root = install_root();
  if (root.empty()) return "";
  std::ifstream in(root + "/share/jarvis/commit");
  std::string line;
  if (!in || !std::getline(in, line)) return "";
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return looks_like_commit(line) ? line : "";
}

}  // namespace

std::string build_commit() {
  static const std::string compiled = JARVIS_BUILD_COMMIT;
  return looks_like_commit(compiled) ? compiled : "unknown";
}

std::string running_commit() {
  static const std::string commit = [] {
    std::string installed = installed_commit();
    return installed.empty() ? build_commit() : installed;
  }();
  return commit;
}

}  // namespace jarvis::host

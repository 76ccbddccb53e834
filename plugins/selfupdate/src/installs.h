// selfupdate/src/installs.h — the install layout the service runs from:
//
//   ${SELFUPDATE_INSTALL_DIR}/releases/<name>/   one installed build (bin/, lib/, share/)
//   ${SELFUPDATE_INSTALL_DIR}/current -> releases/<name>
//
// A new build is installed into releases/<name>.partial, renamed to releases/<name> when
// complete, and made current by renaming a temporary symlink over `current` — one rename(2),
// the single commit point of an apply: before it the old release runs, after it the new one;
// never anything in between. The previous release stays for the rollback.
//
//   Installs in(settings.install_dir);
//   std::string before = in.current();          // "initial"
//   in.switch_to(trace_id);                     // current -> releases/<trace_id>
//   in.switch_to(before);                       // rollback
#pragma once

#include <set>
#include <string>
#include <vector>

#include "jarvis/json.h"

namespace selfupdate {

/// The releases and the `current` symlink. Not thread-safe (one apply at a time holds the lock).
class Installs {
 public:
  /// `install_dir` absolute.
  explicit Installs(std::string install_dir) : dir_(std::move(install_dir)) {}

  /// The release `current` points to ("" when there is no `current`). Throws
  /// std::runtime_error when `current` exists but is not a symlink to releases/<name>.
  std::string current() const;
  /// releases/<name>, absolute.
  std::string release_dir(const std::string& name) const;
  /// releases/<name>.partial, absolute: where the install commands write.
  std::string partial_dir(const std::string& name) const;
  /// True when releases/<name> is a complete release.
  bool has_release(const std::string& name) const;
  /// Removes a leftover partial folder and creates an empty one.
  void start_partial(const std::string& name) const;
  /// Writes .selfupdate-release.json into the partial folder and renames it to releases/<name>
  /// (a complete older one of that name, never current, is removed first).
  void finish_release(const std::string& name, const jarvis::Json& info) const;
  /// The release's .selfupdate-release.json (empty object when none).
  jarvis::Json release_info(const std::string& name) const;
  /// Makes `current` point to releases/<name> atomically. Throws std::runtime_error when the
  /// release is missing or the rename fails (then `current` is unchanged).
  void switch_to(const std::string& name) const;
  /// Removes complete releases beyond the `keep` newest (by the time of their release info, or of
  /// the folder without one), never one named in `protect` (current, its rollback target) nor
  /// `current` itself; `.partial` folders and anything that is not a folder are left alone.
  /// Returns the names removed, oldest first. Decision 0079.
  std::vector<std::string> prune(int keep, const std::set<std::string>& protect) const;

 private:
  std::string dir_;
};

}  // namespace selfupdate

// host/src/http/static_files.h — serves the built web UI (web/dist) with a safe path join, content
// types by extension, and the single-page-app fallback to index.html.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "jarvis/http.h"

namespace jarvis::host {

/// Files under one root directory. Thread-safe (read-only after construction).
class StaticFiles {
 public:
  /// `root` need not exist yet; serve() answers nullopt while it does not.
  explicit StaticFiles(std::string root);

  /// The response for GET of `raw_path` (percent-encoded, no query): the file itself, `index.html`
  /// for a directory, or the root `index.html` for a client route of the app (see
  /// spa_route()). nullopt when the root (or its index.html, for a fallback) does not exist, when
  /// the path is not a client route (a missing file such as "/x.js", or "/proc/self/environ"), or
  /// when it tries to leave the root ("..", "." or NUL segments, malformed escapes, symlinks
  /// pointing outside).
  std::optional<jarvis::Response> serve(const std::string& raw_path) const;

  /// Content type for a file name by extension; application/octet-stream when unknown.
  static std::string content_type(const std::string& filename);

  /// True when the app shell answers `segments` (decoded path segments) on the client: the last
  /// segment has no file extension, and the first is one of the app's top-level routes — the
  /// lines of `<root>/spa-routes.txt` when the UI ships one, else the built-in list (threads,
  /// bugs, tasks, schedules, settings, login, admin, plugins, system).
  bool spa_route(const std::vector<std::string>& segments) const;

  const std::string& root() const { return root_; }

 private:
  std::optional<jarvis::Response> file_response(const std::string& file, bool immutable) const;
  std::string root_;
};

}  // namespace jarvis::host

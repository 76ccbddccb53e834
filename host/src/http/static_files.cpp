// host/src/http/static_files.cpp — serves the built web UI with a safe path join and SPA fallback.
#include "http/static_files.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "http/url.h"

namespace fs = std::filesystem;

namespace jarvis::host {

namespace {

// True when `p` is `root` or lies under it (both canonical).
bool inside(const fs::path& root, const fs::path& p) {
  auto r = root.begin(), q = p.begin();
  for (; r != root.end(); ++r, ++q) {
    if (q == p.end() || *r != *q) return false;
  }
  return true;
}

}  // namespace

StaticFiles::StaticFiles(std::string root) : root_(std::move(root)) {}

std::string StaticFiles::content_type(const std::string& filename) {
  auto dot = filename.rfind('.');
  if (dot == std::string::npos) return "application/octet-stream";
  std::string ext = filename.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (ext == "html" || ext == "htm") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
  if (ext == "gif") return "image/gif";
  if (ext == "webp") return "image/webp";
  if (ext == "ico") return "image/x-icon";
  if (ext == "json" || ext == "map") return "application/json";
  if (ext == "webmanifest") return "application/manifest+json";
  if (ext == "woff2") return "font/woff2";
  if (ext == "woff") return "font/woff";
  if (ext == "txt") return "text/plain; charset=utf-8";
  if (ext == "wasm") return "application/wasm";
  return "application/octet-stream";
}

std::optional<jarvis::Response> StaticFiles::serve(const std::string& raw_path) const {
  std::error_code ec;
  if (root_.empty() || !fs::is_directory(root_, ec)) return std::nullopt;

  fs::path rel;
  std::vector<std::string> segments;
  for (auto part : split_path(raw_path)) {
    auto seg = percent_decode(part);
    if (!seg) return std::nullopt;
    if (*seg == ".." || *seg == "." || seg->find('\0') != std::string::npos ||
        seg->find('/') != std::string::npos || seg->find('\\') != std::string::npos) {
      return std::nullopt;
    }
    if (!seg->empty()) rel /= *seg;
    segments.push_back(std::move(*seg));
  }
  fs::path root = fs::canonical(root_, ec);
  if (ec) return std::nullopt;
  fs::path candidate = root / rel;
  if (fs::is_directory(candidate, ec)) candidate /= "index.html";
  if (fs::is_regular_file(candidate, ec)) {
    fs::path real = fs::canonical(candidate, ec);
    if (ec || !inside(root, real)) return std::nullopt;
    // Built assets (web/dist/assets/) carry a content hash in their name and never change.
    bool immutable = !rel.empty() && *rel.begin() == "assets" &&
                     content_type(real.string()).rfind("text/html", 0) != 0;
    return file_response(real.string(), immutable);
  }
  // Single-page app: the app's client routes get the app shell, which routes on the client. A
  // path that looks like a file, or lies outside the app's routes, is a plain 404.
  bool root_path = segments.size() == 1 && segments[0].empty();
  if (!root_path && !spa_route(segments)) return std::nullopt;
  fs::path index = fs::canonical(root / "index.html", ec);
  if (ec || !inside(root, index) || !fs::is_regular_file(index, ec)) return std::nullopt;
  return file_response(index.string(), false);
}

bool StaticFiles::spa_route(const std::vector<std::string>& segments) const {
  if (segments.empty() || segments.front().empty()) return false;
  const std::string& last = segments.back();
  if (last.find('.') != std::string::npos) return false;  // "app.js", ".env", "x.php"
  std::vector<std::string> routes;
  std::ifstream list(fs::path(root_) / "spa-routes.txt");
  if (list) {
    for (std::string line; std::getline(list, line);) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      while (!line.empty() && (line.front() == '/' || line.front() == ' ')) line.erase(0, 1);
      if (!line.empty() && line.front() != '#') routes.push_back(line);
    }
  } else {
    routes = {"threads", "bugs",  "tasks",   "schedules", "settings",
              "login",   "admin", "plugins", "system"};
  }
  return std::find(routes.begin(), routes.end(), segments.front()) != routes.end();
}

std::optional<jarvis::Response> StaticFiles::file_response(const std::string& file,
                                                           bool immutable) const {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  jarvis::Response res;
  res.status = 200;
  res.body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) return std::nullopt;
  std::string type = content_type(file);
  res.headers.set("Content-Type", type);
  res.headers.set("X-Content-Type-Options", "nosniff");
  res.headers.set("Cache-Control", immutable ? "public, max-age=31536000, immutable" : "no-cache");
  return res;
}

}  // namespace jarvis::host

// host/src/http/router.cpp — the route table: pattern validation, duplicate refusal, matching with
// `{name}` parameters, literal-over-parameter precedence, HEAD→GET and 405 detection.
#include "http/router.h"

#include <algorithm>
#include <set>

#include "http/url.h"
#include "jarvis/error.h"

namespace jarvis::host {

namespace {

bool valid_param_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool valid_method(const std::string& method) {
  return !method.empty() &&
         std::all_of(method.begin(), method.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

[[noreturn]] void invalid(const jarvis::RouteSpec& spec, const std::string& owner,
                          const std::string& why) {
  throw jarvis::Error(400, "invalid_route",
                      "route " + spec.method + " " + spec.path + " registered by '" + owner +
                          "' is invalid: " + why);
}

}  // namespace

void Router::add(Owner owner, jarvis::RouteSpec spec, RouteExecution execution) {
  if (!valid_method(spec.method)) invalid(spec, owner.name, "method must be an upper-case token");
  if (spec.path.empty() || spec.path.front() != '/')
    invalid(spec, owner.name, "path must start with '/'");
  if (!spec.handler) invalid(spec, owner.name, "handler is empty");

  Compiled compiled;
  std::set<std::string> names;
  auto parts = split_path(spec.path);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    std::string_view part = parts[i];
    if (part.empty() && !(parts.size() == 1)) invalid(spec, owner.name, "empty path segment");
    if (part.find_first_of("?#") != std::string_view::npos) {
      invalid(spec, owner.name, "'?' and '#' are not allowed in a path pattern");
    }
    Segment seg;
    if (!part.empty() && part.front() == '{') {
      if (part.back() != '}' || !valid_param_name(part.substr(1, part.size() - 2))) {
        invalid(spec, owner.name, "parameter segment '" + std::string(part) + "' must be {name}");
      }
      seg.param = true;
      seg.text = std::string(part.substr(1, part.size() - 2));
      if (!names.insert(seg.text).second) {
        invalid(spec, owner.name, "parameter '" + seg.text + "' appears twice");
      }
      compiled.shape += "/{}";
    } else {
      if (part.find_first_of("{}") != std::string_view::npos) {
        invalid(spec, owner.name,
                "a parameter must be a whole segment, got '" + std::string(part) + "'");
      }
      auto decoded = percent_decode(part);
      if (!decoded)
        invalid(spec, owner.name, "malformed percent escape in '" + std::string(part) + "'");
      seg.text = std::move(*decoded);
      compiled.shape += "/" + seg.text;
    }
    compiled.segments.push_back(std::move(seg));
  }

  std::unique_lock lock(mu_);
  for (const auto& existing : routes_) {
    if (existing.entry->spec.method == spec.method && existing.shape == compiled.shape) {
      std::string as = existing.entry->spec.path == spec.path
                           ? std::string()
                           : " (as " + existing.entry->spec.path + ")";
      throw jarvis::Error(409, "duplicate_route",
                          "route " + spec.method + " " + spec.path + " registered by '" +
                              owner.name + "' is already registered by '" +
                              existing.entry->owner.name + "'" + as);
    }
  }
  compiled.entry =
      std::make_shared<const RouteEntry>(RouteEntry{std::move(owner), std::move(spec), execution});
  routes_.push_back(std::move(compiled));
}

RouteMatch Router::match(const std::string& method, const std::string& path) const {
  auto raw = split_path(path);
  std::vector<std::string> segments;
  segments.reserve(raw.size());
  for (auto part : raw) {
    if (part.find('%') == std::string_view::npos) {
      segments.emplace_back(part);
      continue;
    }
    auto decoded = percent_decode(part);
    if (!decoded)
      throw jarvis::Error(400, "invalid_path", "request path has a malformed percent escape");
    segments.push_back(std::move(*decoded));
  }

  RouteMatch result;
  std::shared_lock lock(mu_);
  const Compiled* best = nullptr;      // best route for the exact method
  const Compiled* best_get = nullptr;  // best GET route, used for HEAD
  bool other_methods = false;          // the path exists for some other method
  // Literal beats parameter at the first position where two candidates differ.
  auto better = [](const Compiled& a, const Compiled& b) {
    for (std::size_t i = 0; i < a.segments.size(); ++i) {
      if (a.segments[i].param != b.segments[i].param) return !a.segments[i].param;
    }
    return false;
  };
  auto matches = [&](const Compiled& route) {
    if (route.segments.size() != segments.size()) return false;
    for (std::size_t i = 0; i < segments.size(); ++i) {
      const Segment& seg = route.segments[i];
      if (seg.param ? segments[i].empty() : seg.text != segments[i]) return false;
    }
    return true;
  };
  for (const auto& route : routes_) {
    if (!matches(route)) continue;
    const std::string& m = route.entry->spec.method;
    other_methods = true;
    if (m == method) {
      if (!best || better(route, *best)) best = &route;
    } else if (m == "GET" && method == "HEAD") {
      if (!best_get || better(route, *best_get)) best_get = &route;
    }
  }
  if (!best) best = best_get;
  if (best) {
    result.kind = RouteMatch::Kind::Found;
    result.route = best->entry;
    for (std::size_t i = 0; i < segments.size(); ++i) {
      if (best->segments[i].param)
        result.path_params[best->segments[i].text] = std::move(segments[i]);
    }
    return result;
  }
  if (other_methods) {
    std::set<std::string> allowed;
    for (const auto& route : routes_) {
      if (matches(route)) allowed.insert(route.entry->spec.method);
    }
    if (allowed.count("GET")) allowed.insert("HEAD");
    result.kind = RouteMatch::Kind::MethodNotAllowed;
    result.allowed_methods.assign(allowed.begin(), allowed.end());
  }
  return result;
}

std::vector<std::shared_ptr<const RouteEntry>> Router::routes() const {
  std::vector<std::shared_ptr<const RouteEntry>> out;
  {
    std::shared_lock lock(mu_);
    out.reserve(routes_.size());
    for (const auto& r : routes_) out.push_back(r.entry);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    if (a->spec.path != b->spec.path) return a->spec.path < b->spec.path;
    return a->spec.method < b->spec.method;
  });
  return out;
}

void Router::remove_owner(const std::string& owner_name) {
  std::unique_lock lock(mu_);
  std::erase_if(routes_, [&](const Compiled& r) { return r.entry->owner.name == owner_name; });
}

}  // namespace jarvis::host

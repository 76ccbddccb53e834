// host/src/plugins/plugin_admission.cpp — what PluginManager decides before any plugin code runs:
// discovery (manifests, duplicate names, disabled plugins), the library checks (SDK range, ELF
// ABI marker, entry point, migrations folder) and requirement ordering (unmet requirements,
// cycles, load order). Loading and lifecycle are in plugin_manager.cpp.
#include <algorithm>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "observability/metrics.h"
#include "plugins/elf_exports.h"
#include "plugins/plugin_manager.h"
#include "plugins/plugin_record.h"

namespace jarvis::host {

namespace fs = std::filesystem;

namespace {

std::string host_sdk_text() {
  return std::to_string(JARVIS_SDK_VERSION_MAJOR) + "." + std::to_string(JARVIS_SDK_VERSION_MINOR);
}

std::string expected_marker() {
  return std::string(JARVIS_ABI_MARKER_PREFIX) + JARVIS_ABI_TAG + "__sdk_" +
         std::to_string(JARVIS_SDK_VERSION_MAJOR) + "_" + std::to_string(JARVIS_SDK_VERSION_MINOR);
}

}  // namespace

void PluginManager::discover() {
  if (!order_.empty())
    throw std::logic_error("PluginManager::discover: plugins are already loaded");
  std::vector<std::unique_ptr<Record>> found;
  for (const std::string& base : options_.plugin_dirs) {
    std::error_code ec;
    if (base.empty() || !fs::is_directory(base, ec)) {
      spdlog::debug("plugin dir {} does not exist; skipped", base);
      continue;
    }
    std::vector<fs::path> folders;
    for (const auto& entry : fs::directory_iterator(base, ec)) {
      std::error_code ec2;
      if (entry.is_directory(ec2) && fs::is_regular_file(entry.path() / "plugin.yaml", ec2)) {
        folders.push_back(entry.path());
      }
    }
    std::sort(folders.begin(), folders.end());
    for (const fs::path& folder : folders) {
      auto r = std::make_unique<Record>();
      r->folder = folder.filename().string();
      r->dir = fs::absolute(folder).lexically_normal().string();
      try {
        r->manifest = load_manifest(r->dir);
      } catch (const ManifestError& e) {
        r->state = PluginState::Refused;
        r->code = "manifest_invalid";
        r->reason = std::string("plugin '") + r->folder + "': invalid manifest: " + e.what();
      }
      found.push_back(std::move(r));
    }
  }
  // First of a name wins; later ones are refused naming both folders.
  std::map<std::string, Record*> first;
  for (auto& r : found) {
    r->required = options_.required.count(r->name()) > 0;
    auto [it, inserted] = first.emplace(r->name(), r.get());
    if (!inserted) {
      r->winner = false;
      r->state = PluginState::Refused;
      r->code = "duplicate_name";
      r->reason = "plugin '" + r->name() + "' in " + r->dir + " has the same name as " +
                  it->second->dir + ", which was found first; this copy is ignored";
      continue;
    }
    if (!r->manifest) continue;
    r->config =
        std::make_unique<PluginConfigImpl>(r->name(), r->manifest->config, services_.config);
    if (options_.disabled.count(r->name())) {
      r->state = PluginState::Disabled;
      r->code = "disabled";
      r->reason = "disabled by configuration (JARVIS_PLUGINS_DISABLED / plugins.disabled)";
    }
  }
  {
    std::lock_guard lock(mu_);
    records_ = std::move(found);
    discovered_ = true;
  }
  for (auto& r : records_) {
    PluginState s = r->state;
    set_state(*r, s, r->code, r->reason);
    // Exported at 0 from the start, so a dashboard or alert sees the series before any error.
    if (services_.metrics && r->winner) {
      services_.metrics->counter_add(kErrorsMetric, "Exceptions caught from plugin code",
                                     {{"plugin", r->name()}}, 0);
    }
  }
}

bool PluginManager::check(Record& r) {
  const Manifest& m = *r.manifest;
  const std::string who = "plugin '" + m.name + "' (";
  const Version host_sdk{JARVIS_SDK_VERSION_MAJOR, JARVIS_SDK_VERSION_MINOR, 0};
  if (!m.sdk.contains(host_sdk)) {
    set_state(r, PluginState::Refused, "sdk_incompatible",
              who + m.file + "): requires SDK \"" + m.sdk.text() + "\", host provides SDK " +
                  host_sdk_text());
    return false;
  }
  const std::string lib = m.library_path();
  std::error_code ec;
  if (!fs::is_regular_file(lib, ec)) {
    set_state(r, PluginState::Refused, "library_missing",
              who + lib + "): library not found (manifest field 'library', default lib" + m.name +
                  ".so)");
    return false;
  }
  ElfExports exports;
  try {
    exports = read_elf_exports(lib);
  } catch (const std::exception& e) {
    set_state(r, PluginState::Refused, "library_corrupt",
              who + lib + "): not a loadable shared library: " + e.what());
    return false;
  }
  std::vector<std::string> markers;
  bool has_entry = false;
  for (const std::string& s : exports.symbols) {
    if (s.rfind(JARVIS_ABI_MARKER_PREFIX, 0) == 0) markers.push_back(s);
    if (s == "jarvis_plugin_create") has_entry = true;
  }
  const std::string expected = expected_marker();
  if (markers.empty()) {
    set_state(r, PluginState::Refused, "abi_marker_missing",
              who + lib + "): no ABI marker symbol: expected " + expected +
                  " (export it with JARVIS_PLUGIN(...)), found none");
    return false;
  }
  if (markers.size() > 1) {
    std::string all;
    for (const auto& s : markers) all += (all.empty() ? "" : ", ") + s;
    set_state(r, PluginState::Refused, "abi_incompatible",
              who + lib + "): expected exactly one ABI marker " + expected + ", found " + all);
    return false;
  }
  const std::string& marker = markers.front();
  const std::string body = marker.substr(std::string(JARVIS_ABI_MARKER_PREFIX).size());
  const auto sdk_at = body.rfind("__sdk_");
  int major = -1;
  int minor = -1;
  std::string tag;
  if (sdk_at != std::string::npos) {
    tag = body.substr(0, sdk_at);
    auto v = Version::parse_partial([&] {
      std::string s = body.substr(sdk_at + 6);
      std::replace(s.begin(), s.end(), '_', '.');
      return s;
    }());
    if (v && v->patch == 0 &&
        std::count(body.begin() + static_cast<long>(sdk_at) + 6, body.end(), '_') == 1) {
      major = v->major;
      minor = v->minor;
    }
  }
  if (tag.empty() || major < 0) {
    set_state(r, PluginState::Refused, "abi_incompatible",
              who + lib + "): malformed ABI marker: expected " + expected + ", found " + marker);
    return false;
  }
  if (tag != JARVIS_ABI_TAG) {
    set_state(r, PluginState::Refused, "abi_incompatible",
              who + lib + "): ABI mismatch: expected " + JARVIS_ABI_TAG + ", found " + tag +
                  " (marker " + marker + ")");
    return false;
  }
  const std::string built = std::to_string(major) + "." + std::to_string(minor);
  if (major != JARVIS_SDK_VERSION_MAJOR) {
    set_state(r, PluginState::Refused, "sdk_incompatible",
              who + lib + "): built against SDK " + built + ", host provides SDK " +
                  host_sdk_text() + " (major versions differ)");
    return false;
  }
  if (minor > JARVIS_SDK_VERSION_MINOR) {
    set_state(r, PluginState::Refused, "sdk_incompatible",
              who + lib + "): built against SDK " + built + ", newer than the host's SDK " +
                  host_sdk_text());
    return false;
  }
  if (minor < JARVIS_SDK_OLDEST_COMPATIBLE_MINOR) {
    set_state(r, PluginState::Refused, "sdk_incompatible",
              who + lib + "): built against SDK " + built + ", older than the oldest SDK " +
                  std::to_string(JARVIS_SDK_VERSION_MAJOR) + "." +
                  std::to_string(JARVIS_SDK_OLDEST_COMPATIBLE_MINOR) +
                  " this host loads (structs changed in that release); rebuild the plugin");
    return false;
  }
  if (!has_entry) {
    set_state(r, PluginState::Refused, "entry_missing",
              who + lib +
                  "): no entry point: expected exported symbol jarvis_plugin_create "
                  "(from JARVIS_PLUGIN(...)), found none");
    return false;
  }
  // A manifest that names its migrations folder has tables: without the folder its code would
  // fail later with "no such table", so refuse now. Without `migrations:` a missing folder simply
  // means no tables (docs/decisions/0018-…).
  const std::string mig = m.migrations_path();
  if (m.migrations_declared && !fs::is_directory(mig, ec)) {
    set_state(r, PluginState::Refused, "migrations_missing",
              who + m.file + "): manifest field 'migrations' names " + m.migrations +
                  " but the folder " + mig +
                  " does not exist (install the plugin's migrations/ folder, or remove the field "
                  "if the plugin has no tables)");
    return false;
  }
  if (m.migrations_declared) {
    bool any_sql = false;
    for (const auto& e : fs::directory_iterator(mig, ec)) {
      if (e.path().extension() == ".sql") any_sql = true;
    }
    if (!any_sql) {
      spdlog::warn("plugin {}: manifest field 'migrations' names {}, which holds no .sql files",
                   m.name, mig);
    }
  }
  return true;
}

std::vector<PluginManager::Record*> PluginManager::order_records() {
  auto pending = [](const Record* r) { return r->state == PluginState::Discovered; };
  // 1. Requirements that cannot be met: missing, disabled, wrong version, or refused. Repeated
  //    until nothing changes, so refusals cascade to dependents.
  auto cascade = [&] {
    for (bool changed = true; changed;) {
      changed = false;
      for (auto& up : records_) {
        Record& r = *up;
        if (!pending(&r)) continue;
        for (const Requirement& req : r.manifest->requires_) {
          const std::string who = "plugin '" + r.name() + "' (" + r.manifest->file +
                                  "): requires '" + req.name + "' " + req.range.text();
          Record* dep = find(req.name);
          if (!dep || !dep->manifest) {
            set_state(r, PluginState::Refused, "dependency_missing",
                      who + ", which is not installed" + (dep ? " (its manifest is invalid)" : ""));
          } else if (!req.range.contains(dep->manifest->version)) {
            set_state(r, PluginState::Refused, "dependency_version",
                      who + ", found version " + dep->manifest->version.str() + " in " + dep->dir);
          } else if (dep->state == PluginState::Disabled) {
            set_state(r, PluginState::Refused, "dependency_unavailable",
                      who + ", which is disabled");
          } else if (dep->state == PluginState::Refused || dep->state == PluginState::Failed) {
            set_state(r, PluginState::Refused, "dependency_unavailable",
                      who + ", which was " + to_string(dep->state) + " (" + dep->code + ")");
          } else {
            continue;
          }
          changed = true;
          break;
        }
      }
    }
  };
  cascade();

  // 2. Cycles: strongly connected components (Tarjan) of the pending plugins.
  std::map<Record*, int> index, low;
  std::vector<Record*> stack;
  std::set<Record*> on_stack;
  int counter = 0;
  std::vector<std::vector<Record*>> cycles;
  std::function<void(Record*)> visit = [&](Record* v) {
    index[v] = low[v] = counter++;
    stack.push_back(v);
    on_stack.insert(v);
    for (const Requirement& req : v->manifest->requires_) {
      Record* w = find(req.name);
      if (!w || !pending(w)) continue;
      if (!index.count(w)) {
        visit(w);
        low[v] = std::min(low[v], low[w]);
      } else if (on_stack.count(w)) {
        low[v] = std::min(low[v], index[w]);
      }
    }
    if (low[v] == index[v]) {
      std::vector<Record*> scc;
      Record* w = nullptr;
      do {
        w = stack.back();
        stack.pop_back();
        on_stack.erase(w);
        scc.push_back(w);
      } while (w != v);
      if (scc.size() > 1) cycles.push_back(scc);
    }
  };
  for (auto& up : records_) {
    if (pending(up.get()) && !index.count(up.get())) visit(up.get());
  }
  for (auto& scc : cycles) {
    std::set<Record*> members(scc.begin(), scc.end());
    for (Record* start : scc) {
      // Shortest path start -> … -> start inside the component, for a readable message.
      std::map<Record*, Record*> prev;
      std::deque<Record*> queue{start};
      Record* last = nullptr;
      while (!queue.empty() && !last) {
        Record* cur = queue.front();
        queue.pop_front();
        for (const Requirement& req : cur->manifest->requires_) {
          Record* nxt = find(req.name);
          if (!nxt || !members.count(nxt)) continue;
          if (nxt == start) {
            last = cur;
            break;
          }
          if (!prev.count(nxt)) {
            prev[nxt] = cur;
            queue.push_back(nxt);
          }
        }
      }
      std::vector<std::string> path{start->name()};
      for (Record* p = last; p && p != start; p = prev[p]) path.insert(path.begin() + 1, p->name());
      std::string text;
      for (const auto& n : path) text += n + " -> ";
      text += start->name();
      set_state(*start, PluginState::Refused, "dependency_cycle",
                "plugin '" + start->name() + "' (" + start->manifest->file +
                    "): dependency cycle: " + text);
    }
  }
  cascade();

  // 3. Topological order; ties keep discovery order.
  std::vector<Record*> order;
  std::set<Record*> placed;
  for (bool progress = true; progress;) {
    progress = false;
    for (auto& up : records_) {
      Record* r = up.get();
      if (!pending(r) || placed.count(r)) continue;
      bool ready =
          std::all_of(r->manifest->requires_.begin(), r->manifest->requires_.end(),
                      [&](const Requirement& q) { return placed.count(find(q.name)) > 0; });
      if (ready) {
        order.push_back(r);
        placed.insert(r);
        progress = true;
      }
    }
  }
  return order;
}

}  // namespace jarvis::host

// host/src/plugins/plugin_manager.cpp — plugin loading and lifecycle: load, setup, migrate, start,
// stop, drain, health (see plugin_manager.h and docs/decisions/0001-plugin-contract.md). Discovery
// and the checks before any plugin code runs are in plugin_admission.cpp.
#include "plugins/plugin_manager.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include <boost/dll/shared_library.hpp>
#include <spdlog/spdlog.h>

#include "http/router.h"
#include "jarvis/error.h"
#include "observability/metrics.h"
#include "plugins/in_flight.h"
#include "plugins/plugin_host.h"
#include "plugins/plugin_record.h"
#include "registry/command_table.h"
#include "registry/event_bus.h"
#include "registry/tool_registry.h"
#include "tasks/task_service.h"

namespace jarvis::host {

namespace fs = std::filesystem;

namespace {

constexpr PluginState kAllStates[] = {
    PluginState::Discovered, PluginState::Refused, PluginState::Loaded,   PluginState::Migrated,
    PluginState::Started,    PluginState::Failed,  PluginState::Disabled, PluginState::Stopped};

bool running(PluginState s) {
  return s == PluginState::Loaded || s == PluginState::Migrated || s == PluginState::Started;
}

/// The message of the exception in flight, with the jarvis::Error code when there is one.
std::string current_exception_text() {
  try {
    throw;
  } catch (const jarvis::Error& e) {
    return e.code() + ": " + e.what();
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception (not derived from std::exception)";
  }
}

}  // namespace

const char* to_string(PluginState s) {
  switch (s) {
    case PluginState::Discovered:
      return "discovered";
    case PluginState::Refused:
      return "refused";
    case PluginState::Loaded:
      return "loaded";
    case PluginState::Migrated:
      return "migrated";
    case PluginState::Started:
      return "started";
    case PluginState::Failed:
      return "failed";
    case PluginState::Disabled:
      return "disabled";
    case PluginState::Stopped:
      return "stopped";
  }
  return "unknown";
}

/// What the /metrics collector reaches the manager through; cleared by the manager's destructor.
struct PluginManager::MetricsLink {
  std::mutex mu;
  PluginManager* manager = nullptr;
};

PluginManager::PluginManager(HostServices services, PluginManagerOptions options)
    : services_(services),
      options_(std::move(options)),
      metrics_link_(std::make_shared<MetricsLink>()) {
  metrics_link_->manager = this;
  if (services_.metrics) {
    // Health and in-flight calls are refreshed on every scrape of /metrics.
    services_.metrics->add_collector([link = metrics_link_](MetricsRegistry& m) {
      std::lock_guard lock(link->mu);
      if (link->manager) link->manager->export_health(m);
    });
  }
}

PluginManager::~PluginManager() {
  {
    std::lock_guard lock(metrics_link_->mu);
    metrics_link_->manager = nullptr;
  }
  stop_all();
}

namespace {

// True when `v` nests deeper than `limit` levels (an object or array is one level).
bool deeper_than(const jarvis::Json& v, int limit) {
  if (!v.is_structured()) return false;
  if (limit <= 0) return true;
  for (const auto& child : v) {
    if (deeper_than(child, limit - 1)) return true;
  }
  return false;
}

}  // namespace

jarvis::Json bounded_health_details(const jarvis::Json& details) {
  if (details.is_null() || (details.is_object() && details.empty())) return nullptr;
  if (!details.is_object()) return {{"error", "health details must be a JSON object"}};
  if (deeper_than(details, kMaxHealthDetailsDepth)) {
    return {{"error", "health details nested deeper than " +
                          std::to_string(kMaxHealthDetailsDepth) + " levels"}};
  }
  jarvis::Json out = jarvis::redact(details);
  const std::size_t size = out.dump(-1, ' ', false, jarvis::Json::error_handler_t::replace).size();
  if (size > jarvis::kMaxHealthDetailsBytes) {
    return {{"error", "health details too large (" + std::to_string(size) + " bytes, at most " +
                          std::to_string(jarvis::kMaxHealthDetailsBytes) + ")"}};
  }
  return out;
}

jarvis::Json plugin_health_json(const jarvis::Health& h) {
  jarvis::Json j = {{"health", to_string(h.status)}};
  if (!h.detail.empty()) j["detail"] = h.detail;
  if (!h.details.is_null()) j["details"] = h.details;
  return j;
}

const char* to_string(jarvis::Health::Status s) {
  switch (s) {
    case jarvis::Health::Status::Healthy:
      return "healthy";
    case jarvis::Health::Status::Degraded:
      return "degraded";
    case jarvis::Health::Status::Failed:
      return "failed";
  }
  return "unknown";
}

void PluginManager::export_health(MetricsRegistry& m) const {
  static constexpr jarvis::Health::Status kStatuses[] = {jarvis::Health::Status::Healthy,
                                                         jarvis::Health::Status::Degraded,
                                                         jarvis::Health::Status::Failed};
  std::map<std::string, std::int64_t> in_flight;
  {
    std::lock_guard lock(mu_);
    for (const auto& r : records_) {
      if (r->winner) in_flight[r->name()] = r->calls->count();
    }
  }
  m.gauge_reset(kHealthReasonMetric);
  for (const PluginHealth& h : health()) {
    for (auto status : kStatuses) {
      m.gauge_set(kHealthMetric, "Plugin health (1 = current status)",
                  {{"plugin", h.name}, {"status", to_string(status)}},
                  h.health.status == status ? 1 : 0);
    }
    if (h.health.status != jarvis::Health::Status::Healthy) {
      std::string reason = h.health.detail.substr(0, 200);
      m.gauge_set(kHealthReasonMetric, "Why a plugin is not healthy (1 = current reason)",
                  {{"plugin", h.name}, {"status", to_string(h.health.status)}, {"reason", reason}},
                  1);
    }
  }
  for (const auto& [name, n] : in_flight) {
    m.gauge_set(kInFlightMetric, "Calls running inside the plugin's code", {{"plugin", name}},
                static_cast<double>(n));
  }
}

PluginManager::Record* PluginManager::find(const std::string& name) const {
  for (const auto& r : records_) {
    if (r->winner && r->name() == name) return r.get();
  }
  return nullptr;
}

void PluginManager::set_state(Record& r, PluginState s, std::string code, std::string reason) {
  {
    std::lock_guard lock(mu_);
    r.state = s;
    r.code = std::move(code);
    r.reason = std::move(reason);
  }
  if (s == PluginState::Refused || s == PluginState::Failed) {
    spdlog::warn("plugin {}: {} ({}): {}", r.name(), to_string(s), r.code, r.reason);
  } else {
    spdlog::debug("plugin {}: {}", r.name(), to_string(s));
  }
  if (services_.metrics && r.winner) {
    for (PluginState each : kAllStates) {
      services_.metrics->gauge_set(kStateMetric, "Plugin lifecycle state (1 = current)",
                                   {{"plugin", r.name()}, {"state", to_string(each)}},
                                   each == s ? 1 : 0);
    }
  }
}

void PluginManager::count_error(const Record& r) {
  if (services_.metrics) {
    services_.metrics->counter_add(kErrorsMetric, "Exceptions caught from plugin code",
                                   {{"plugin", r.name()}});
  }
}

bool PluginManager::load(Record& r) {
  const std::string lib_path = r.library_path();
  const std::string who = "plugin '" + r.name() + "' (" + lib_path + "): ";
  for (const Requirement& req : r.manifest->requires_) {
    Record* dep = find(req.name);
    if (!dep || dep->state != PluginState::Loaded) {
      set_state(r, PluginState::Failed, "dependency_unavailable",
                who + "required plugin '" + req.name + "' did not load" +
                    (dep ? " (" + dep->code + ")" : ""));
      return false;
    }
  }
  try {
    r.library = std::make_shared<boost::dll::shared_library>(
        fs::path(lib_path), boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    set_state(r, PluginState::Failed, "load_failed", who + "cannot load the library: " + e.what());
    return false;
  }
  jarvis::Plugin* raw = nullptr;
  try {
    auto& create = r.library->get<jarvis::Plugin*()>("jarvis_plugin_create");
    raw = create();
  } catch (...) {
    count_error(r);
    const std::string why = current_exception_text();
    r.library.reset();
    set_state(r, PluginState::Failed, "factory_failed", who + "factory threw: " + why);
    return false;
  }
  if (!raw) {
    count_error(r);
    r.library.reset();
    set_state(r, PluginState::Failed, "factory_failed", who + "factory returned null");
    return false;
  }
  // The deleter owns a reference to the library: the object's code stays mapped until it is gone.
  std::shared_ptr<boost::dll::shared_library> keep = r.library;
  std::string name = r.name();
  std::shared_ptr<jarvis::Plugin> plugin(raw, [keep, name](jarvis::Plugin* p) {
    try {
      delete p;
    } catch (...) {
      spdlog::error("plugin {}: destructor threw: {}", name, current_exception_text());
    }
  });
  {
    std::lock_guard lock(mu_);
    r.plugin = std::move(plugin);
  }
  r.host = std::make_unique<PluginHost>(
      Owner{r.name(), std::shared_ptr<void>(r.library)}, services_, *r.config,
      [this](const std::string& n) { return available(n); }, r.calls);
  try {
    r.plugin->setup(*r.host);
  } catch (...) {
    count_error(r);
    const std::string why = current_exception_text();
    teardown(r);
    set_state(r, PluginState::Failed, "setup_failed", who + "setup failed: " + why);
    return false;
  }
  set_state(r, PluginState::Loaded);
  return true;
}

void PluginManager::drop_registrations(const std::string& name) {
  if (services_.routes) services_.routes->remove_owner(name);
  if (services_.tools) services_.tools->remove_owner(name);
  if (services_.policies) services_.policies->remove_owner(name);
  if (services_.tasks) services_.tasks->remove_owner(name);
  if (services_.commands) services_.commands->remove_owner(name);
  if (services_.events) services_.events->remove_owner(name);
}

std::shared_ptr<jarvis::Plugin> PluginManager::take_plugin(Record& r) {
  std::lock_guard lock(mu_);  // health() copies the pointer under the same lock
  return std::move(r.plugin);
}

void PluginManager::teardown(Record& r) {
  drop_registrations(r.name());
  take_plugin(r).reset();  // destroyed outside the lock (guarded deleter)
  r.host.reset();
  r.library.reset();
}

PluginOutcome PluginManager::load_all() {
  if (!discovered_) discover();
  PluginOutcome out;
  for (auto& up : records_) {
    Record& r = *up;
    if (r.state != PluginState::Discovered) continue;
    if (!check(r)) continue;
    auto problems = r.config->validate();
    if (!problems.empty()) {
      std::string all;
      for (const auto& p : problems) {
        all += (all.empty() ? "" : "; ") + p;
        out.errors.push_back(p);
      }
      out.fatal = true;
      set_state(r, PluginState::Refused, "config_invalid", all);
    }
  }
  std::vector<Record*> order = order_records();
  for (Record* r : order) load(*r);
  {
    std::lock_guard lock(mu_);
    order_ = order;
  }
  for (const std::string& name : options_.required) {
    Record* r = find(name);
    if (!r) {
      std::string dirs;
      for (const auto& d : options_.plugin_dirs) dirs += (dirs.empty() ? "" : ":") + d;
      out.fatal = true;
      out.errors.push_back("required plugin '" + name + "' was not found in " + dirs);
    } else if (r->state != PluginState::Loaded && r->code != "config_invalid") {
      out.fatal = true;
      out.errors.push_back("required plugin '" + name + "' is " + to_string(r->state) + ": " +
                           r->reason);
    }
  }
  return out;
}

std::vector<MigrationSource> PluginManager::migration_sources() const {
  std::vector<MigrationSource> out;
  std::lock_guard lock(mu_);
  for (Record* r : order_) {
    if (r->state != PluginState::Loaded) continue;
    std::error_code ec;
    const std::string dir = r->manifest->migrations_path();
    if (fs::is_directory(dir, ec)) out.push_back({r->name(), dir});
  }
  return out;
}

void PluginManager::mark_migrated(const std::string& name) {
  Record* r = find(name);
  if (r && r->state == PluginState::Loaded) set_state(*r, PluginState::Migrated);
}

void PluginManager::mark_all_migrated() {
  for (Record* r : order_) {
    if (r->state == PluginState::Loaded) set_state(*r, PluginState::Migrated);
  }
}

PluginOutcome PluginManager::mark_failed(const std::string& name, const std::string& reason) {
  PluginOutcome out;
  Record* r = find(name);
  if (!r) return out;
  teardown(*r);
  set_state(*r, PluginState::Failed, "migration_failed",
            "plugin '" + name + "' (" + r->dir + "): " + reason);
  if (r->required) {
    out.fatal = true;
    out.errors.push_back("required plugin '" + name + "' failed: " + r->reason);
  }
  return out;
}

PluginOutcome PluginManager::start_all() {
  PluginOutcome out;
  for (Record* r : order_) {
    if (r->state != PluginState::Migrated) continue;
    const std::string who = "plugin '" + r->name() + "' (" + r->library_path() + "): ";
    std::string missing;
    for (const Requirement& req : r->manifest->requires_) {
      Record* dep = find(req.name);
      if (!dep || dep->state != PluginState::Started) missing = req.name;
    }
    if (!missing.empty()) {
      teardown(*r);
      set_state(*r, PluginState::Failed, "dependency_unavailable",
                who + "required plugin '" + missing + "' is not started");
      continue;
    }
    try {
      r->plugin->start();
      set_state(*r, PluginState::Started);
    } catch (...) {
      count_error(*r);
      const std::string why = current_exception_text();
      try {
        r->plugin->stop();
      } catch (...) {
        count_error(*r);
        spdlog::error("plugin {}: stop after a failed start threw: {}", r->name(),
                      current_exception_text());
      }
      teardown(*r);
      set_state(*r, PluginState::Failed, "start_failed", who + "start failed: " + why);
    }
  }
  for (const std::string& name : options_.required) {
    Record* r = find(name);
    if (r && r->state != PluginState::Started) {
      out.fatal = true;
      out.errors.push_back("required plugin '" + name + "' is " + to_string(r->state) +
                           (r->reason.empty() ? "" : ": " + r->reason));
    }
  }
  return out;
}

bool PluginManager::stop_all() {
  std::vector<Record*> order;
  {
    std::lock_guard lock(mu_);
    if (drain_timed_out_) return false;
    order = order_;
  }
  std::reverse(order.begin(), order.end());
  std::vector<std::pair<Record*, std::string>> stop_errors;
  // 1. stop() in reverse dependency order.
  for (Record* r : order) {
    if (r->state != PluginState::Started || !r->plugin) continue;
    try {
      r->plugin->stop();
    } catch (...) {
      count_error(*r);
      stop_errors.emplace_back(
          r, "plugin '" + r->name() + "': stop failed: " + current_exception_text());
    }
  }
  // 2. Registrations first, so no handler can reach an object being destroyed (another plugin's
  //    destructor emitting an event, a late tool call).
  for (Record* r : order) {
    if (r->plugin) drop_registrations(r->name());
  }
  // 3. Wait for calls still running in plugin code (a slow route, a task, an event handler): an
  //    object must not be destroyed under them. On timeout nothing is destroyed at all — the
  //    objects, Host views and libraries are deliberately leaked and the caller exits the process.
  const auto deadline = std::chrono::steady_clock::now() + options_.drain_timeout;
  std::vector<std::string> busy;
  for (Record* r : order) {
    if (!r->plugin) continue;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (r->calls->count() > 0) {
      spdlog::info("plugin {}: waiting up to {} ms for {} call(s) in flight", r->name(),
                   std::max<long long>(0, left.count()), r->calls->count());
    }
    if (!r->calls->wait_idle(std::max(left, std::chrono::milliseconds(0)))) {
      busy.push_back(r->name() + " (" + std::to_string(r->calls->count()) + " call(s))");
    }
  }
  if (!busy.empty()) {
    std::string names;
    for (const auto& b : busy) names += (names.empty() ? "" : ", ") + b;
    spdlog::error(
        "plugin drain timed out after {} ms (JARVIS_PLUGIN_DRAIN_SECONDS) with calls still "
        "running in: {}; plugin objects are not destroyed",
        options_.drain_timeout.count(), names);
    // Never freed: running threads may still use them until the process exits. Kept reachable
    // from a static so leak checkers do not report them.
    static std::mutex graveyard_mu;
    static auto* graveyard = new std::vector<std::shared_ptr<void>>();
    std::lock_guard grave(graveyard_mu);
    for (Record* r : order) {
      graveyard->push_back(take_plugin(*r));
      graveyard->push_back(std::shared_ptr<PluginHost>(std::move(r->host)));
      graveyard->push_back(std::move(r->library));
      if (running(r->state)) set_state(*r, PluginState::Stopped, "drain_timeout", names);
    }
    std::lock_guard lock(mu_);
    drain_timed_out_ = true;
    stopped_ = true;
    return false;
  }
  // 4. Objects (their deleters run the destructors, guarded), then Host views, then libraries.
  for (Record* r : order) take_plugin(*r).reset();
  for (Record* r : order) r->host.reset();
  for (Record* r : order) {
    r->library.reset();
    if (running(r->state)) set_state(*r, PluginState::Stopped);
  }
  for (auto& [r, why] : stop_errors) set_state(*r, PluginState::Stopped, "stop_failed", why);
  std::lock_guard lock(mu_);
  stopped_ = true;
  return true;
}

std::vector<PluginHealth> PluginManager::health() const {
  struct Snap {
    const Record* record;
    std::string name;
    PluginState state;
    std::string reason;
    std::shared_ptr<jarvis::Plugin> plugin;
    std::shared_ptr<InFlight> calls;
  };
  std::vector<Snap> snaps;
  {
    std::lock_guard lock(mu_);
    for (const auto& r : records_) {
      snaps.push_back({r.get(), r->name(), r->state, r->reason, r->plugin, r->calls});
    }
  }
  std::vector<PluginHealth> out;
  for (Snap& s : snaps) {
    PluginHealth h;
    h.name = s.name;
    h.state = s.state;
    if (running(s.state) && s.plugin) {
      try {
        InFlight::Call call(*s.calls);
        h.health = s.plugin->health();
        h.health.details = bounded_health_details(h.health.details);
      } catch (...) {
        if (services_.metrics) {
          services_.metrics->counter_add(kErrorsMetric, "Exceptions caught from plugin code",
                                         {{"plugin", s.name}});
        }
        h.health = {jarvis::Health::Status::Failed,
                    "health check threw: " + current_exception_text()};
      }
    } else if (s.state == PluginState::Refused || s.state == PluginState::Failed) {
      h.health = {jarvis::Health::Status::Failed, s.reason};
    } else if (s.state == PluginState::Disabled) {
      h.health = {jarvis::Health::Status::Healthy, "disabled"};
    } else {
      h.health = {jarvis::Health::Status::Degraded, to_string(s.state)};
    }
    out.push_back(std::move(h));
  }
  return out;
}

std::vector<PluginInfo> PluginManager::list() const {
  std::vector<PluginInfo> out;
  std::lock_guard lock(mu_);
  for (const auto& up : records_) {
    const Record& r = *up;
    PluginInfo i;
    i.name = r.name();
    i.dir = r.dir;
    i.state = r.state;
    i.reason_code = r.code;
    i.reason = r.reason;
    i.required = r.required;
    if (r.manifest) {
      i.version = r.manifest->version.str();
      i.library = r.manifest->library_path();
      i.description = r.manifest->description;
      i.sdk_range = r.manifest->sdk.text();
      for (const auto& q : r.manifest->requires_)
        i.requires_.push_back(q.name + " " + q.range.text());
    }
    if (r.config) i.config = r.config->describe();
    out.push_back(std::move(i));
  }
  return out;
}

std::optional<PluginInfo> PluginManager::info(const std::string& name) const {
  for (auto& i : list()) {
    if (i.name == name) return i;
  }
  return std::nullopt;
}

bool PluginManager::available(const std::string& name) const {
  std::lock_guard lock(mu_);
  Record* r = find(name);
  return r && running(r->state);
}

const PluginConfigImpl* PluginManager::config(const std::string& name) const {
  std::lock_guard lock(mu_);
  Record* r = find(name);
  return r ? r->config.get() : nullptr;
}

std::string PluginManager::busy_plugins() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& r : records_) {
    if (const auto n = r->calls->count(); n > 0) {
      out += (out.empty() ? "" : ", ") + r->name() + " (" + std::to_string(n) + " call(s))";
    }
  }
  return out;
}

std::vector<std::string> PluginManager::load_order() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (Record* r : order_) out.push_back(r->name());
  return out;
}

}  // namespace jarvis::host
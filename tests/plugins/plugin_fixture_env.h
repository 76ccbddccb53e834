// tests/plugins/plugin_fixture_env.h — real host registries for plugin-manager tests, and a plugin
// dir in a temp folder holding symlinks to just the fixture plugins a test needs.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/services.h"
#include "db/sql_database.h"
#include "http/router.h"
#include "observability/metrics.h"
#include "registry/command_table.h"
#include "registry/event_bus.h"
#include "registry/tool_registry.h"
#include "support/support.h"
#include "tasks/task_service.h"

namespace jarvis::host::testing {

/// Every registry a plugin can reach, on a throwaway SQLite database.
struct Registries {
  test::TempDir tmp;
  ConfigStore config;
  MetricsRegistry metrics;
  std::unique_ptr<SqlDatabase> db = SqlDatabase::open("sqlite://" + tmp.file("test.db"), 2);
  Router routes;
  PolicyRegistryImpl policies;
  EventBusImpl events{nullptr, &metrics};
  ToolRegistryImpl tools{nullptr, policies, &events};
  TaskService tasks{*db, &events, &metrics};
  CommandTable commands;

  HostServices services() {
    HostServices s;
    s.config = &config;
    s.db = db.get();
    s.routes = &routes;
    s.tools = &tools;
    s.policies = &policies;
    s.tasks = &tasks;
    s.commands = &commands;
    s.events = &events;
    s.metrics = &metrics;
    return s;
  }

  /// Names of the routes / tools / tasks / commands / policies owned by `owner`.
  std::vector<std::string> owned(const std::string& owner) const {
    std::vector<std::string> out;
    for (const auto& r : routes.routes()) {
      if (r->owner.name == owner) out.push_back("route " + r->spec.method + " " + r->spec.path);
    }
    for (const auto& t : tools.list()) {
      if (t.owner == owner) out.push_back("tool " + t.name);
    }
    for (const auto& [name, o] : tasks.registered()) {
      if (o == owner) out.push_back("task " + name);
    }
    for (const auto& c : commands.all()) {
      if (c->owner.name == owner) out.push_back("command " + c->spec.group + " " + c->spec.name);
    }
    for (const auto& p : policies.all()) {
      if (p->owner.name == owner) out.push_back("policy " + p->name);
    }
    return out;
  }
};

/// A temp plugin dir with symlinks to the named fixtures (from JARVIS_TEST_PLUGIN_DIR).
class FixtureDir {
 public:
  explicit FixtureDir(const std::vector<std::string>& fixtures) {
    for (const auto& f : fixtures) add(f);
  }
  void add(const std::string& fixture) {
    std::filesystem::create_directory_symlink(std::string(JARVIS_TEST_PLUGIN_DIR) + "/" + fixture,
                                              dir_.file(fixture));
  }
  const std::string& path() const { return dir_.path(); }
  std::string file(const std::string& name) const { return dir_.file(name); }

 private:
  test::TempDir dir_;
};

}  // namespace jarvis::host::testing

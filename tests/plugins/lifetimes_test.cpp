// tests/plugins/lifetimes_test.cpp — no plugin object is destroyed while a call into it is in
// flight: stop_all() waits for running calls (counted by the host's wrappers around every
// registered handler and health()), and when the drain times out it destroys nothing. Also: a
// plugin's degraded health and its reason on /metrics, the error counter exported at 0 before any
// error, and a declared migrations folder that is missing (refused at load, not "no such table"
// later). Uses the fixture tests/fixtures/plugins/drain_probe.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include "plugin_fixture_env.h"
#include "plugins/plugin_manager.h"

namespace jarvis::host {
namespace {

namespace fs = std::filesystem;
using testing::FixtureDir;
using testing::Registries;

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

/// The drain_probe fixture loaded (and started) in-process, with its trace and release files.
struct Probe {
  Registries reg;
  FixtureDir dir{{"drain_probe"}};
  test::TempDir tmp;
  std::unique_ptr<PluginManager> pm;

  explicit Probe(std::chrono::milliseconds drain, const std::string& health_reason = "") {
    reg.config.set("DRAIN_PROBE_TRACE_FILE", tmp.file("trace"), ConfigSource::Environment);
    reg.config.set("DRAIN_PROBE_RELEASE_FILE", tmp.file("release"), ConfigSource::Environment);
    if (!health_reason.empty()) {
      reg.config.set("DRAIN_PROBE_HEALTH_REASON", health_reason, ConfigSource::Environment);
    }
    PluginManagerOptions o;
    o.plugin_dirs = {dir.path()};
    o.drain_timeout = drain;
    pm = std::make_unique<PluginManager>(reg.services(), o);
    pm->discover();
    EXPECT_FALSE(pm->load_all().fatal);
    pm->mark_all_migrated();
    EXPECT_FALSE(pm->start_all().fatal);
  }
  std::string trace() const {
    return fs::exists(tmp.file("trace")) ? test::read_file(tmp.file("trace")) : "";
  }
  void release() const { test::write_file(tmp.file("release"), "go"); }
  /// Calls the blocking route on another thread; returns once the handler has been entered.
  std::future<int> call_blocking() {
    auto m = reg.routes.match("GET", "/api/v1/drain_probe/block");
    EXPECT_EQ(m.kind, RouteMatch::Kind::Found);
    auto route = m.route;  // an in-flight request holds its route entry
    auto f = std::async(std::launch::async, [route] {
      jarvis::Request req;
      req.method = "GET";
      req.path = "/api/v1/drain_probe/block";
      return route->spec.handler(req).status;
    });
    while (!contains(trace(), "entered")) std::this_thread::yield();
    return f;
  }
  bool route_registered() {
    return reg.routes.match("GET", "/api/v1/drain_probe/block").kind == RouteMatch::Kind::Found;
  }
};

TEST(PluginLifetimes, ShutdownWaitsForAnInFlightCall) {
  Probe p(std::chrono::hours(1));
  auto call = p.call_blocking();
  EXPECT_EQ(p.reg.metrics.value(PluginManager::kInFlightMetric, {{"plugin", "drain_probe"}}), 0)
      << "gauges are refreshed on render only";
  p.reg.metrics.render();
  EXPECT_EQ(p.reg.metrics.value(PluginManager::kInFlightMetric, {{"plugin", "drain_probe"}}), 1);

  auto stopping = std::async(std::launch::async, [&] { return p.pm->stop_all(); });
  // stop_all removes the registrations before it waits; once they are gone it is draining.
  while (p.route_registered()) std::this_thread::yield();
  EXPECT_FALSE(contains(p.trace(), "destroyed")) << p.trace();
  p.release();
  EXPECT_EQ(call.get(), 200);
  EXPECT_TRUE(stopping.get());
  EXPECT_EQ(p.trace(), "entered\nreturned\ndestroyed\n");
  EXPECT_EQ(p.pm->info("drain_probe")->state, PluginState::Stopped);
}

TEST(PluginLifetimes, AStreamedResponsesStartCallbackCountsAsInFlight) {
  Probe p(std::chrono::hours(1));
  auto m = p.reg.routes.match("GET", "/api/v1/drain_probe/stream");
  ASSERT_EQ(m.kind, RouteMatch::Kind::Found);
  jarvis::Request req;
  jarvis::Response res = m.route->spec.handler(req);  // the handler itself has returned
  ASSERT_TRUE(res.is_stream());
  auto streaming = std::async(std::launch::async, [&res] { res.stream_start(nullptr); });
  while (!contains(p.trace(), "stream entered")) std::this_thread::yield();
  p.reg.metrics.render();
  EXPECT_EQ(p.reg.metrics.value(PluginManager::kInFlightMetric, {{"plugin", "drain_probe"}}), 1);
  auto stopping = std::async(std::launch::async, [&] { return p.pm->stop_all(); });
  while (p.route_registered()) std::this_thread::yield();
  EXPECT_FALSE(contains(p.trace(), "destroyed")) << p.trace();
  p.release();
  streaming.get();
  EXPECT_TRUE(stopping.get());
  EXPECT_EQ(p.trace(), "stream entered\nstream returned\ndestroyed\n");
}

TEST(PluginLifetimes, DrainTimeoutDestroysNothing) {
  Probe p(std::chrono::milliseconds(0));
  auto call = p.call_blocking();
  EXPECT_FALSE(p.pm->stop_all());  // the call is still running: gives up at once
  EXPECT_FALSE(contains(p.trace(), "destroyed")) << p.trace();
  auto info = p.pm->info("drain_probe");
  EXPECT_EQ(info->state, PluginState::Stopped);
  EXPECT_EQ(info->reason_code, "drain_timeout");
  EXPECT_TRUE(contains(info->reason, "drain_probe (1 call(s))")) << info->reason;
  // The object is still alive: the handler finishes normally, using its members.
  p.release();
  EXPECT_EQ(call.get(), 200);
  EXPECT_FALSE(p.pm->stop_all());  // sticky: a later stop (the destructor) destroys nothing
  p.pm.reset();
  EXPECT_EQ(p.trace(), "entered\nreturned\n");  // never destroyed (leaked on purpose)
}

TEST(PluginLifetimes, NothingInFlightStopsAtOnceEvenWithZeroDrain) {
  Probe p(std::chrono::milliseconds(0));
  EXPECT_TRUE(p.pm->stop_all());
  EXPECT_EQ(p.trace(), "destroyed\n");
}

TEST(PluginHealth, DegradedWithReasonOnMetrics) {
  Probe p(std::chrono::hours(1), "upstream slow: p95 4.2s");
  auto health = p.pm->health();
  ASSERT_EQ(health.size(), 1u);
  EXPECT_EQ(health[0].health.status, jarvis::Health::Status::Degraded);
  EXPECT_EQ(health[0].health.detail, "upstream slow: p95 4.2s");
  const std::string out = p.reg.metrics.render();
  EXPECT_TRUE(contains(out, "jarvis_plugin_health{plugin=\"drain_probe\",status=\"degraded\"} 1\n"))
      << out;
  EXPECT_TRUE(contains(out, "jarvis_plugin_health{plugin=\"drain_probe\",status=\"healthy\"} 0\n"))
      << out;
  EXPECT_TRUE(contains(out,
                       "jarvis_plugin_health_reason{plugin=\"drain_probe\",reason=\"upstream "
                       "slow: p95 4.2s\",status=\"degraded\"} 1\n"))
      << out;
}

TEST(PluginHealth, HealthyHasNoReasonSeries) {
  Probe p(std::chrono::hours(1));
  const std::string out = p.reg.metrics.render();
  EXPECT_TRUE(contains(out, "jarvis_plugin_health{plugin=\"drain_probe\",status=\"healthy\"} 1\n"))
      << out;
  EXPECT_FALSE(contains(out, "jarvis_plugin_health_reason{plugin=\"drain_probe\"")) << out;
}

TEST(PluginMetricsAtZero, ErrorCounterExportedBeforeAnyError) {
  Registries reg;
  FixtureDir dir({"drain_probe", "trivial"});
  PluginManagerOptions o;
  o.plugin_dirs = {dir.path()};
  PluginManager pm(reg.services(), o);
  pm.discover();
  const std::string out = reg.metrics.render();
  EXPECT_TRUE(contains(out, "jarvis_plugin_errors_total{plugin=\"drain_probe\"} 0\n")) << out;
  EXPECT_TRUE(contains(out, "jarvis_plugin_errors_total{plugin=\"trivial\"} 0\n")) << out;
}

/// A plugin folder in `parent` named `name` using the trivial fixture's library.
void make_plugin(const std::string& parent, const std::string& name, const std::string& extra) {
  fs::create_directories(parent + "/" + name);
  fs::copy_file(std::string(JARVIS_TEST_PLUGIN_DIR) + "/trivial/libtrivial.so",
                parent + "/" + name + "/libtrivial.so");
  test::write_file(
      parent + "/" + name + "/plugin.yaml",
      "name: " + name + "\nversion: 1.0.0\nsdk: \">=1.1 <2.0\"\nlibrary: libtrivial.so\n" + extra);
}

TEST(PluginMigrationsFolder, DeclaredButMissingIsRefusedAtLoad) {
  Registries reg;
  test::TempDir plugins;
  make_plugin(plugins.path(), "declared_missing", "migrations: migrations/\n");
  make_plugin(plugins.path(), "undeclared", "");
  PluginManagerOptions o;
  o.plugin_dirs = {plugins.path()};
  PluginManager pm(reg.services(), o);
  pm.discover();
  EXPECT_FALSE(pm.load_all().fatal);
  auto bad = pm.info("declared_missing");
  EXPECT_EQ(bad->state, PluginState::Refused);
  EXPECT_EQ(bad->reason_code, "migrations_missing");
  EXPECT_TRUE(contains(bad->reason, "manifest field 'migrations' names migrations/"))
      << bad->reason;
  EXPECT_TRUE(contains(bad->reason, "does not exist")) << bad->reason;
  // Without the field a missing folder means "no tables": loads.
  EXPECT_EQ(pm.info("undeclared")->state, PluginState::Loaded);
  EXPECT_TRUE(pm.migration_sources().empty());
}

}  // namespace
}  // namespace jarvis::host

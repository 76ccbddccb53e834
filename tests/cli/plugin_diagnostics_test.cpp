// tests/cli/plugin_diagnostics_test.cpp — what a third-party plugin author tripped over (issue 9
// item 13), end to end with the real binary: `jarvis migrate` exits 1 naming the plugin whose
// migration failed; a plugin whose setup() threw answers its commands with the failure, not
// "unknown command"; `plugins list` still lists (exit 0) with one plugin's bad key; `plugins list`
// shows a running server's view (started) or says it is the local one; secrets never reach
// config show, plugins info/list, errors or the server log; /readyz and /metrics show degraded
// health; and a drain timeout at shutdown exits 1 without destroying the plugin object.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <future>
#include <thread>

#include <nlohmann/json.hpp>

#include "support/support.h"

using jarvis::test::free_port;
using jarvis::test::run_jarvis;
using jarvis::test::ServerProcess;
using jarvis::test::TempDir;
using jarvis::test::write_file;
using nlohmann::json;

namespace fs = std::filesystem;

namespace {

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

class PluginDiagnostics : public ::testing::Test {
 protected:
  PluginDiagnostics() { fs::create_directories(plugins_); }
  std::map<std::string, std::string> env() const {
    return {{"APP_DB", dir_.file("var/jarvis.db")},
            {"LOG_LEVEL", "warn"},
            {"JARVIS_PLUGIN_DIRS", plugins_},
            // Nothing listens here: `plugins list` shows the local view unless a test serves.
            {"BIND_PORT", std::to_string(port_)}};
  }
  /// Links a fixture plugin (tests/fixtures/plugins/<name>) into the plugin dir.
  void add_fixture(const std::string& name) const {
    fs::create_directory_symlink(std::string(JARVIS_TEST_PLUGIN_DIR) + "/" + name,
                                 plugins_ + "/" + name);
  }
  /// A plugin folder using the trivial fixture's library with the given manifest tail.
  void add_trivial(const std::string& name, const std::string& manifest_tail) const {
    fs::create_directories(plugins_ + "/" + name);
    fs::copy_file(std::string(JARVIS_TEST_PLUGIN_DIR) + "/trivial/libtrivial.so",
                  plugins_ + "/" + name + "/libtrivial.so");
    write_file(plugins_ + "/" + name + "/plugin.yaml",
               "name: " + name + "\nversion: 1.0.0\nsdk: \">=1.1 <2.0\"\nlibrary: libtrivial.so\n" +
                   manifest_tail);
  }
  json list(const std::map<std::string, std::string>& e) const {
    auto r = run_jarvis({"plugins", "list", "--json"}, dir_.path(), e);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }
  static json entry(const json& listing, const std::string& name) {
    for (const auto& p : listing["plugins"]) {
      if (p["name"] == name) return p;
    }
    ADD_FAILURE() << name << " not listed: " << listing.dump();
    return json::object();
  }

  TempDir dir_;
  std::string plugins_ = dir_.file("plugins");
  int port_ = free_port();
};

TEST_F(PluginDiagnostics, MigrateExitsOneNamingThePluginWhoseMigrationFailed) {
  add_trivial("badmig", "migrations: migrations/\n");
  fs::create_directories(plugins_ + "/badmig/migrations");
  write_file(plugins_ + "/badmig/migrations/001_init.sql", "CREATE TABLE broken (;\n");
  auto r = run_jarvis({"migrate"}, dir_.path(), env());
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.err, "jarvis migrate: plugin 'badmig' migration failed")) << r.err;
  auto j = run_jarvis({"migrate", "--json"}, dir_.path(), env());
  EXPECT_EQ(j.exit_code, 1);
  json doc = json::parse(j.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << j.out;
  ASSERT_EQ(doc["failed"].size(), 1u) << j.out;
  EXPECT_EQ(doc["failed"][0]["plugin"], "badmig");
  // The host's and the healthy plugins' migrations were applied all the same.
  EXPECT_TRUE(contains(r.out, "applied host")) << r.out;
}

TEST_F(PluginDiagnostics, MigrateExitsZeroWhenEverythingApplies) {
  auto r = run_jarvis({"migrate"}, dir_.path(), env());
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(PluginDiagnostics, DeclaredMigrationsFolderMissingIsRefusedAtLoad) {
  add_trivial("nofolder", "migrations: migrations/\n");
  json p = entry(list(env()), "nofolder");
  EXPECT_EQ(p["state"], "refused");
  EXPECT_EQ(p["reason_code"], "migrations_missing");
  EXPECT_TRUE(contains(p["reason"].get<std::string>(), "does not exist")) << p.dump();
}

TEST_F(PluginDiagnostics, CommandOfAPluginWhoseSetupThrewNamesTheFailure) {
  add_fixture("setup_throws");
  auto r = run_jarvis({"setup_throws", "run"}, dir_.path(), env());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "plugin 'setup_throws' is failed (setup_failed)")) << r.err;
  EXPECT_TRUE(contains(r.err, "deliberately broken setup")) << r.err;
  EXPECT_FALSE(contains(r.err, "unknown command")) << r.err;
  // A name no plugin has is still a usage error.
  EXPECT_EQ(run_jarvis({"frobnicate"}, dir_.path(), env()).exit_code, 2);
}

TEST_F(PluginDiagnostics, ListStillListsWithOnePluginsBadKey) {
  add_fixture("good");
  auto e = env();
  e["GOOD_MAX_ITEMS"] = "lots";
  json l = list(e);
  json good = entry(l, "good");
  EXPECT_EQ(good["state"], "refused");
  EXPECT_EQ(good["reason_code"], "config_invalid");
  EXPECT_TRUE(contains(good["reason"].get<std::string>(), "GOOD_MAX_ITEMS")) << good.dump();
  EXPECT_EQ(entry(l, "bugs")["state"], "loaded");
  auto text = run_jarvis({"plugins", "list"}, dir_.path(), e);
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_TRUE(contains(text.out, "config_invalid") || contains(text.out, "GOOD_MAX_ITEMS"))
      << text.out;
  EXPECT_EQ(run_jarvis({"plugins", "info", "good"}, dir_.path(), e).exit_code, 0);
  // Serving with it is still refused: the operator's typo must stop start-up.
  EXPECT_EQ(run_jarvis({"migrate"}, dir_.path(), e).exit_code, 1);
}

TEST_F(PluginDiagnostics, ListWithoutAServerSaysItIsTheLocalView) {
  json l = list(env());
  EXPECT_EQ(l["view"], "local");
  EXPECT_TRUE(contains(l["view_note"].get<std::string>(), "this CLI process")) << l.dump();
  EXPECT_EQ(entry(l, "bugs")["state"], "loaded");
  auto text = run_jarvis({"plugins", "list"}, dir_.path(), env());
  EXPECT_TRUE(contains(text.out, "view: local")) << text.out;
}

TEST_F(PluginDiagnostics, ListAgainstARunningServerShowsItsStates) {
  add_fixture("drain_probe");
  auto e = env();
  e["DRAIN_PROBE_HEALTH_REASON"] = "cache cold";
  ServerProcess server(dir_.path(), e);
  ASSERT_TRUE(server.ready()) << server.output();
  json l = list(e);
  EXPECT_EQ(l["view"], "server") << l.dump();
  EXPECT_EQ(l["server"], "http://127.0.0.1:" + std::to_string(port_));
  EXPECT_EQ(entry(l, "bugs")["state"], "started");
  json probe = entry(l, "drain_probe");
  EXPECT_EQ(probe["state"], "started");
  EXPECT_EQ(probe["health"], "degraded");
  EXPECT_EQ(probe["health_detail"], "cache cold");
  auto text = run_jarvis({"plugins", "list"}, dir_.path(), e);
  EXPECT_TRUE(contains(text.out, "view: server")) << text.out;
  // --local forces this process's own view.
  auto local = run_jarvis({"plugins", "list", "--json", "--local"}, dir_.path(), e);
  EXPECT_EQ(json::parse(local.out)["view"], "local");
}

TEST_F(PluginDiagnostics, DegradedHealthOnReadyzAndMetricsAndErrorCountersAtZero) {
  add_fixture("drain_probe");
  auto e = env();
  e["DRAIN_PROBE_HEALTH_REASON"] = "upstream slow";
  ServerProcess server(dir_.path(), e);
  ASSERT_TRUE(server.ready()) << server.output();
  auto ready = jarvis::test::http("GET", server.url("/readyz"));
  json body = json::parse(ready.body, nullptr, false);
  bool seen = false;
  for (const auto& p : body["plugins"]) {
    if (p["name"] != "drain_probe") continue;
    seen = true;
    EXPECT_EQ(p["health"], "degraded");
    EXPECT_EQ(p["health_detail"], "upstream slow");
  }
  EXPECT_TRUE(seen) << ready.body;
  EXPECT_EQ(ready.status, 200) << "degraded is still ready";
  auto metrics = jarvis::test::http("GET", server.url("/metrics")).body;
  EXPECT_TRUE(
      contains(metrics, "jarvis_plugin_health{plugin=\"drain_probe\",status=\"degraded\"} 1"))
      << metrics;
  EXPECT_TRUE(contains(metrics,
                       "jarvis_plugin_health_reason{plugin=\"drain_probe\",reason="
                       "\"upstream slow\",status=\"degraded\"} 1"))
      << metrics;
  EXPECT_TRUE(contains(metrics, "jarvis_plugin_health{plugin=\"bugs\",status=\"healthy\"} 1"));
  // Promised counters are there before the first error.
  EXPECT_TRUE(contains(metrics, "jarvis_plugin_errors_total{plugin=\"bugs\"} 0")) << metrics;
  EXPECT_TRUE(contains(metrics, "jarvis_plugin_errors_total{plugin=\"drain_probe\"} 0"));
  EXPECT_TRUE(contains(metrics, "jarvis_plugin_calls_in_flight{plugin=\"drain_probe\"} 0"));
}

TEST_F(PluginDiagnostics, SecretNeverInConfigShowPluginsInfoListErrorsOrLogs) {
  add_fixture("good");
  const std::string secret = "sk-very-secret-4711-value";
  auto e = env();
  e["GOOD_API_KEY"] = secret;
  e["LOG_LEVEL"] = "debug";
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"config", "show"},
                                             {"config", "show", "--json"},
                                             {"plugins", "info", "good"},
                                             {"plugins", "info", "good", "--json"},
                                             {"plugins", "list", "--json"},
                                             {"doctor"}}) {
    auto r = run_jarvis(args, dir_.path(), e);
    EXPECT_FALSE(contains(r.out + r.err, secret)) << args[0] << " " << args[1] << ": " << r.out;
  }
  auto info = run_jarvis({"plugins", "info", "good"}, dir_.path(), e);
  EXPECT_TRUE(contains(info.out, "[REDACTED]")) << info.out;
  // With another key bad, the failure message names that key and still hides the secret.
  auto bad = e;
  bad["GOOD_MAX_ITEMS"] = "lots";
  auto m = run_jarvis({"migrate"}, dir_.path(), bad);
  EXPECT_EQ(m.exit_code, 1);
  EXPECT_TRUE(contains(m.err, "GOOD_MAX_ITEMS")) << m.err;
  EXPECT_FALSE(contains(m.out + m.err, secret)) << m.err;
  // The server's log at debug level never shows it either.
  {
    ServerProcess server(dir_.path(), e);
    ASSERT_TRUE(server.ready()) << server.output();
    jarvis::test::http("GET", server.url("/metrics"));
    jarvis::test::http("GET", server.url("/readyz"));
    server.terminate();
    EXPECT_FALSE(contains(server.output(), secret)) << server.output();
  }
}

TEST_F(PluginDiagnostics, DrainTimeoutExitsOneWithoutDestroyingThePlugin) {
  add_fixture("drain_probe");
  auto e = env();
  e["LOG_LEVEL"] = "info";
  e["DRAIN_PROBE_TRACE_FILE"] = dir_.file("trace");
  e["DRAIN_PROBE_RELEASE_FILE"] = dir_.file("release");
  e["JARVIS_PLUGIN_DRAIN_SECONDS"] = "0";
  e["TASK_RUNNER_SHUTDOWN_TIMEOUT_SECONDS"] = "0";
  ServerProcess server(dir_.path(), e);
  ASSERT_TRUE(server.ready()) << server.output();
  auto call = std::async(std::launch::async, [&] {
    return jarvis::test::http("GET", server.url("/api/v1/drain_probe/block")).status;
  });
  while (!fs::exists(dir_.file("trace")) ||
         !contains(jarvis::test::read_file(dir_.file("trace")), "entered")) {
    std::this_thread::yield();
  }
  EXPECT_EQ(server.terminate(), 1) << server.output();
  EXPECT_TRUE(contains(server.output(), "plugin drain timed out")) << server.output();
  EXPECT_TRUE(contains(server.output(), "drain_probe (1 call(s))")) << server.output();
  EXPECT_FALSE(contains(jarvis::test::read_file(dir_.file("trace")), "destroyed"));
  write_file(dir_.file("release"), "go");
  call.get();  // the connection died with the process
}

TEST_F(PluginDiagnostics, ShutdownWaitsForTheInFlightCallThenDestroys) {
  add_fixture("drain_probe");
  auto e = env();
  e["LOG_LEVEL"] = "info";
  e["DRAIN_PROBE_TRACE_FILE"] = dir_.file("trace");
  e["DRAIN_PROBE_RELEASE_FILE"] = dir_.file("release");
  e["JARVIS_PLUGIN_DRAIN_SECONDS"] = "600";
  e["TASK_RUNNER_SHUTDOWN_TIMEOUT_SECONDS"] = "0";
  ServerProcess server(dir_.path(), e);
  ASSERT_TRUE(server.ready()) << server.output();
  auto call = std::async(std::launch::async, [&] {
    return jarvis::test::http("GET", server.url("/api/v1/drain_probe/block")).status;
  });
  while (!fs::exists(dir_.file("trace")) ||
         !contains(jarvis::test::read_file(dir_.file("trace")), "entered")) {
    std::this_thread::yield();
  }
  ::kill(server.pid(), SIGTERM);
  // Shutdown has begun and reached the HTTP drain (grace 0), which is where the call is stuck.
  while (!contains(server.output(), "HTTP shutdown:")) std::this_thread::yield();
  EXPECT_FALSE(contains(jarvis::test::read_file(dir_.file("trace")), "destroyed"));
  write_file(dir_.file("release"), "go");
  EXPECT_EQ(server.terminate(), 0) << server.output();
  EXPECT_EQ(jarvis::test::read_file(dir_.file("trace")), "entered\nreturned\ndestroyed\n");
  call.get();
}

}  // namespace

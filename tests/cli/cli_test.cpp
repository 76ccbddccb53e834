// tests/cli/cli_test.cpp — the `jarvis` binary's host commands end to end: exit codes (0 ok,
// 1 failure, 2 usage), --json output that parses as pure JSON, config sources and redaction,
// migrations status, doctor, and serve's graceful SIGTERM.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/support.h"

using jarvis::test::run_jarvis;
using jarvis::test::ServerProcess;
using jarvis::test::TempDir;
using jarvis::test::write_file;
using nlohmann::json;

namespace {

class Cli : public ::testing::Test {
 protected:
  std::map<std::string, std::string> env() const {
    return {{"APP_DB", dir_.file("var/jarvis.db")}, {"LOG_LEVEL", "warn"}};
  }
  TempDir dir_;
};

json parse_pure(const std::string& out) {
  json j = json::parse(out, nullptr, false);  // the whole stdout must be one JSON document
  EXPECT_FALSE(j.is_discarded()) << "not pure JSON: " << out;
  return j;
}

TEST_F(Cli, HelpAndUsageExitCodes) {
  EXPECT_EQ(run_jarvis({"--help"}, dir_.path(), env()).exit_code, 0);
  EXPECT_EQ(run_jarvis({}, dir_.path(), env()).exit_code, 2);
  auto unknown = run_jarvis({"frobnicate"}, dir_.path(), env());
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown command"), std::string::npos) << unknown.err;
  EXPECT_EQ(run_jarvis({"migrate", "--bogus"}, dir_.path(), env()).exit_code, 2);
  EXPECT_EQ(run_jarvis({"plugins"}, dir_.path(), env()).exit_code, 2);
  EXPECT_EQ(run_jarvis({"plugins", "--help"}, dir_.path(), env()).exit_code, 0);
  EXPECT_EQ(run_jarvis({"config"}, dir_.path(), env()).exit_code, 2);
  EXPECT_EQ(run_jarvis({"tasks"}, dir_.path(), env()).exit_code, 2);
  EXPECT_EQ(run_jarvis({"tasks", "--help"}, dir_.path(), env()).exit_code, 0);
  EXPECT_EQ(run_jarvis({"tasks", "list", "--help"}, dir_.path(), env()).exit_code, 0);
}

TEST_F(Cli, VersionJson) {
  auto r = run_jarvis({"version", "--json"}, dir_.path(), env());
  ASSERT_EQ(r.exit_code, 0);
  json j = parse_pure(r.out);
  EXPECT_TRUE(j["version"].is_string());
  EXPECT_EQ(j["sdk"], "1.1");
  EXPECT_EQ(j["abi"], "itanium_libstdcxx_cxx11");
}

TEST_F(Cli, MigrateThenStatusIsCurrent) {
  auto before = run_jarvis({"migrate", "--status", "--json"}, dir_.path(), env());
  EXPECT_EQ(before.exit_code, 1);  // pending migrations
  EXPECT_FALSE(parse_pure(before.out)["current"].get<bool>());
  auto m = run_jarvis({"migrate", "--json"}, dir_.path(), env());
  ASSERT_EQ(m.exit_code, 0) << m.err;
  EXPECT_GT(parse_pure(m.out)["applied"].get<int>(), 0);
  auto again = run_jarvis({"migrate", "--json"}, dir_.path(), env());
  EXPECT_EQ(parse_pure(again.out)["applied"], 0);
  auto after = run_jarvis({"migrate", "--status", "--json"}, dir_.path(), env());
  EXPECT_EQ(after.exit_code, 0);
  json st = parse_pure(after.out);
  EXPECT_TRUE(st["current"].get<bool>());
  bool host = false, bugs = false;
  for (const auto& mig : st["migrations"]) {
    EXPECT_EQ(mig["state"], "applied");
    host |= mig["component"] == "host";
    bugs |= mig["component"] == "bugs";
  }
  EXPECT_TRUE(host);
  EXPECT_TRUE(bugs);
}

TEST_F(Cli, PluginsListAndInfoJson) {
  auto l = run_jarvis({"plugins", "list", "--json"}, dir_.path(), env());
  ASSERT_EQ(l.exit_code, 0) << l.err;
  json j = parse_pure(l.out);
  std::set<std::string> names;
  for (const auto& p : j["plugins"]) names.insert(p["name"]);
  EXPECT_TRUE(names.count("bugs"));
  EXPECT_TRUE(names.count("maintenance"));
  auto i = run_jarvis({"plugins", "info", "maintenance", "--json"}, dir_.path(), env());
  ASSERT_EQ(i.exit_code, 0) << i.err;
  json info = parse_pure(i.out);
  EXPECT_EQ(info["name"], "maintenance");
  bool found = false;
  for (const auto& c : info["config"]) found |= c["env"] == "MAINTENANCE_COMMANDS";
  EXPECT_TRUE(found) << i.out;
  EXPECT_EQ(run_jarvis({"plugins", "info", "nope"}, dir_.path(), env()).exit_code, 1);
  EXPECT_EQ(run_jarvis({"plugins", "info"}, dir_.path(), env()).exit_code, 2);
}

TEST_F(Cli, DisabledPluginIsShownDisabled) {
  auto e = env();
  e["JARVIS_PLUGINS_DISABLED"] = "maintenance";
  json j = parse_pure(run_jarvis({"plugins", "list", "--json"}, dir_.path(), e).out);
  for (const auto& p : j["plugins"]) {
    if (p["name"] == "maintenance") {
      EXPECT_EQ(p["state"], "disabled");
    }
  }
}

TEST_F(Cli, ConfigShowSourcesAndRedaction) {
  write_file(dir_.file(".env"), "BIND_PORT=8123\n");
  write_file(dir_.file("jarvis.yaml"), "log_level: error\n");
  auto e = env();
  e.erase("LOG_LEVEL");
  e["MAINTENANCE_TIMEOUT_SECONDS"] = "99";
  auto r = run_jarvis({"config", "show", "--json"}, dir_.path(), e);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = parse_pure(r.out);
  std::map<std::string, json> host;
  for (const auto& c : j["host"]) host[c["key"]] = c;
  EXPECT_EQ(host["BIND_PORT"]["value"], "8123");
  EXPECT_EQ(host["BIND_PORT"]["source"], dir_.file(".env"));
  EXPECT_EQ(host["LOG_LEVEL"]["source"], dir_.file("jarvis.yaml"));
  EXPECT_EQ(host["APP_DB"]["source"], "environment");
  EXPECT_EQ(host["BIND_HOST"]["source"], "default");
  bool timeout_seen = false;
  for (const auto& c : j["plugins"]["maintenance"]) {
    if (c["env"] == "MAINTENANCE_TIMEOUT_SECONDS") {
      timeout_seen = true;
      EXPECT_EQ(c["value"], "99");
      EXPECT_EQ(c["source"], "environment");
    }
  }
  EXPECT_TRUE(timeout_seen) << r.out;
}

TEST_F(Cli, ConfigShowNeedsNoDatabaseAndHidesPasswords) {
  auto e = env();
  e["DATABASE_URL"] = "postgresql://u:hunter2@127.0.0.1:1/db";  // nothing listens there
  auto r = run_jarvis({"config", "show", "--json"}, dir_.path(), e);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("hunter2"), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find("hunter2"), std::string::npos) << r.err;
  json j = parse_pure(r.out);
  EXPECT_TRUE(j["plugins_error"].is_string());
  for (const auto& c : j["host"]) {
    if (c["key"] == "DATABASE_URL") {
      EXPECT_EQ(c["value"], "postgresql://u:***@127.0.0.1:1/db");
    }
  }
  auto m = run_jarvis({"migrate"}, dir_.path(), e);
  EXPECT_EQ(m.exit_code, 1);
  EXPECT_EQ(m.err.find("hunter2"), std::string::npos) << m.err;
}

TEST_F(Cli, BadConfigIsAFailureNamingKeyAndSource) {
  write_file(dir_.file(".env"), "BIND_PORT=eighty\n");
  auto r = run_jarvis({"config", "show"}, dir_.path(), env());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("BIND_PORT"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(".env"), std::string::npos) << r.err;
  auto s = run_jarvis({"serve"}, dir_.path(), env());
  EXPECT_EQ(s.exit_code, 1);
  write_file(dir_.file(".env"), "NOT A LINE\n");
  EXPECT_EQ(run_jarvis({"version"}, dir_.path(), env()).exit_code, 0);
  EXPECT_EQ(run_jarvis({"migrate"}, dir_.path(), env()).exit_code, 1);
}

TEST_F(Cli, DoctorJsonIsPureAndFixMigrates) {
  write_file(dir_.file(".env.example"), "LOG_LEVEL=warn\n");
  auto e = env();
  e["BIND_PORT"] = std::to_string(jarvis::test::free_port());
  auto before = run_jarvis({"doctor", "--json"}, dir_.path(), e);
  EXPECT_EQ(before.exit_code, 1);  // migrations pending
  json b = parse_pure(before.out);
  EXPECT_FALSE(b["ok"].get<bool>());
  auto fix = run_jarvis({"doctor", "--fix", "--json"}, dir_.path(), e);
  json f = parse_pure(fix.out);
  EXPECT_EQ(fix.exit_code, 0) << fix.out;
  EXPECT_TRUE(f["ok"].get<bool>()) << fix.out;
  EXPECT_TRUE(std::filesystem::exists(dir_.file(".env")));
  std::set<std::string> names;
  for (const auto& c : f["checks"]) names.insert(c["name"]);
  for (const char* n : {"config", "database", "migrations", "port", "plugin:bugs"}) {
    EXPECT_TRUE(names.count(n)) << n << " missing in " << fix.out;
  }
}

TEST_F(Cli, ServeStopsGracefullyOnSigterm) {
  ASSERT_EQ(run_jarvis({"migrate"}, dir_.path(), env()).exit_code, 0);
  ServerProcess server(dir_.path(), env(), {"--no-migrate"});
  ASSERT_TRUE(server.ready()) << server.output();
  auto ready = jarvis::test::http("GET", server.url("/readyz"));
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(server.terminate(), 0) << server.output();
}

TEST_F(Cli, ServeRefusesABusyPort) {
  ASSERT_EQ(run_jarvis({"migrate"}, dir_.path(), env()).exit_code, 0);
  ServerProcess first(dir_.path(), env());
  ASSERT_TRUE(first.ready());
  auto e = env();
  e["BIND_PORT"] = std::to_string(first.port());
  auto second = run_jarvis({"serve"}, dir_.path(), e);
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find(std::to_string(first.port())), std::string::npos) << second.err;
}

TEST_F(Cli, RoutesJsonListsEveryRouteWithItsAuthLevel) {
  auto r = run_jarvis({"routes", "--json"}, dir_.path(), env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = parse_pure(r.out);
  std::map<std::string, std::string> auth;
  for (const auto& route : j["routes"])
    auth[route["method"].get<std::string>() + " " + route["path"].get<std::string>()] =
        route["auth"];
  EXPECT_EQ(auth["GET /healthz"], "public");
  EXPECT_EQ(auth["GET /api/v1/bugs"], "user");
  EXPECT_EQ(auth["POST /api/v1/system/lockdown"], "admin");
  EXPECT_EQ(auth["GET /api/v1/maintenance/status"], "admin");
}

}  // namespace

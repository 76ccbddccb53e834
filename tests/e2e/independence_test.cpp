// tests/e2e/independence_test.cpp — plugins are independent: the host starts and each plugin works
// with only `bugs`, only `maintenance`, both, or none; a disabled plugin leaves no routes behind.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/support.h"

using jarvis::test::bearer;
using jarvis::test::http;
using jarvis::test::run_jarvis;
using jarvis::test::ServerProcess;
using nlohmann::json;

namespace {

struct Subset {
  const char* name;
  const char* disabled;
  bool bugs;
  bool maintenance;
};

class Independence : public ::testing::TestWithParam<Subset> {};

TEST_P(Independence, HostStartsAndPresentPluginsWork) {
  const Subset& s = GetParam();
  jarvis::test::TempDir dir;
  std::map<std::string, std::string> env{{"APP_DB", dir.file("j.db")},
                                         {"LOG_LEVEL", "warn"},
                                         {"JARVIS_PLUGINS_DISABLED", s.disabled},
                                         {"MAINTENANCE_ENABLED", "1"},
                                         {"MAINTENANCE_COMMANDS", "true"},
                                         {"MAINTENANCE_WORKDIR", dir.path()}};
  ASSERT_EQ(run_jarvis({"migrate"}, dir.path(), env).exit_code, 0);
  std::string admin = jarvis::test::create_user_token(dir.path(), env, "root", true);
  ServerProcess server(dir.path(), env);
  ASSERT_TRUE(server.ready()) << server.output();
  auto ready = http("GET", server.url("/readyz"));
  EXPECT_EQ(ready.status, 200) << ready.body;

  auto bugs = http("POST", server.url("/api/v1/bugs"), R"({"title":"matrix"})",
                   {bearer(admin), "Content-Type: application/json"});
  EXPECT_EQ(bugs.status, s.bugs ? 201 : 404) << bugs.body;
  auto status = http("GET", server.url("/api/v1/maintenance/status"), "", {bearer(admin)});
  EXPECT_EQ(status.status, s.maintenance ? 200 : 404) << status.body;
  if (s.maintenance) {
    json st = json::parse(status.body);
    EXPECT_EQ(st["bug_filing"], s.bugs ? "bugs.report" : "unavailable: bugs plugin not loaded");
    auto run = run_jarvis({"maintenance", "run", "--json"}, dir.path(), env);
    EXPECT_EQ(run.exit_code, 0) << run.err;
  } else {
    EXPECT_EQ(run_jarvis({"maintenance", "status"}, dir.path(), env).exit_code, 2);
  }
  if (s.bugs) {
    EXPECT_EQ(run_jarvis({"bugs", "list", "--json"}, dir.path(), env).exit_code, 0);
  }
  EXPECT_EQ(server.terminate(), 0) << server.output();
}

INSTANTIATE_TEST_SUITE_P(Subsets, Independence,
                         ::testing::Values(Subset{"both", "", true, true},
                                           Subset{"only_bugs", "maintenance", true, false},
                                           Subset{"only_maintenance", "bugs", false, true},
                                           Subset{"none", "bugs,maintenance", false, false}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace

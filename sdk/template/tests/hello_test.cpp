// hello/tests/hello_test.cpp — the example plugin, end to end against the built `jarvis` binary:
// loaded from a plugin folder in JARVIS_PLUGIN_DIRS, used through the CLI and over HTTP.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "support/support.h"

using jarvis::test::run_jarvis;
using nlohmann::json;

namespace {

class HelloPlugin : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string plugins = dir_.file("plugins");
    std::filesystem::create_directories(plugins);
    std::filesystem::create_directory_symlink(std::string(JARVIS_TEST_PLUGIN_DIR) + "/hello",
                                              plugins + "/hello");
    env_ = {{"APP_DB", dir_.file("jarvis.db")},
            {"JARVIS_PLUGIN_DIRS", plugins},
            {"JARVIS_PLUGINS_REQUIRED", "hello"},
            {"LOG_LEVEL", "warn"}};
    auto m = run_jarvis({"migrate"}, dir_.path(), env_);
    ASSERT_EQ(m.exit_code, 0) << m.out << m.err;
  }

  jarvis::test::TempDir dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(HelloPlugin, IsListedAsLoaded) {
  auto r = run_jarvis({"plugins", "list", "--json"}, dir_.path(), env_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  bool found = false;
  for (const auto& p : j["plugins"]) {
    if (p["name"] == "hello") {
      found = true;
      EXPECT_EQ(p["version"], "1.0.0");
      EXPECT_NE(p["state"], "refused");
      EXPECT_NE(p["state"], "failed");
    }
  }
  EXPECT_TRUE(found) << r.out;
}

TEST_F(HelloPlugin, CliGreetsAndCounts) {
  auto r1 = run_jarvis({"hello", "greet", "Ada", "--json"}, dir_.path(), env_);
  ASSERT_EQ(r1.exit_code, 0) << r1.err;
  EXPECT_EQ(json::parse(r1.out)["greeting"], "Hello, Ada!");
  EXPECT_EQ(json::parse(r1.out)["count"], 1);
  auto r2 = run_jarvis({"hello", "greet", "Ada", "--json"}, dir_.path(), env_);
  EXPECT_EQ(json::parse(r2.out)["count"], 2);
}

TEST_F(HelloPlugin, ConfigFromEnvironmentIsUsed) {
  auto env = env_;
  env["HELLO_GREETING"] = "Hi";
  auto r = run_jarvis({"hello", "greet", "Bob"}, dir_.path(), env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Hi, Bob!\n");
}

TEST_F(HelloPlugin, BadConfigValueStopsWithKeyAndSource) {
  auto env = env_;
  env["HELLO_MAX_NAME_LENGTH"] = "many";
  auto r = run_jarvis({"hello", "greet", "Bob"}, dir_.path(), env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("HELLO_MAX_NAME_LENGTH"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("environment"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("int"), std::string::npos) << r.err;
}

TEST_F(HelloPlugin, CliUsageErrorsExitTwo) {
  auto missing = run_jarvis({"hello", "greet"}, dir_.path(), env_);
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  EXPECT_NE(missing.err.find("NAME"), std::string::npos) << missing.err;
  auto unknown = run_jarvis({"hello", "greet", "Ada", "--loud"}, dir_.path(), env_);
  EXPECT_EQ(unknown.exit_code, 2);
  auto nosuch = run_jarvis({"hello", "wave"}, dir_.path(), env_);
  EXPECT_EQ(nosuch.exit_code, 2);
}

TEST_F(HelloPlugin, InvalidNameIsAFailureWithItsCode) {
  auto env = env_;
  env["HELLO_MAX_NAME_LENGTH"] = "3";
  auto r = run_jarvis({"hello", "greet", "Alexandra"}, dir_.path(), env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("invalid_name"), std::string::npos) << r.err;
}

}  // namespace

namespace {

TEST_F(HelloPlugin, RouteGreetsSignedInUsersAndValidates) {
  std::string token = jarvis::test::create_user_token(dir_.path(), env_, "ada", false);
  jarvis::test::ServerProcess server(dir_.path(), env_);
  ASSERT_TRUE(server.ready()) << server.output();
  EXPECT_EQ(jarvis::test::http("GET", server.url("/api/v1/hello/Ada")).status, 401);
  auto ok =
      jarvis::test::http("GET", server.url("/api/v1/hello/Ada"), "", {jarvis::test::bearer(token)});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(json::parse(ok.body)["greeting"], "Hello, Ada!");
  auto too_long = jarvis::test::http("GET", server.url("/api/v1/hello/" + std::string(65, 'x')), "",
                                     {jarvis::test::bearer(token)});
  EXPECT_EQ(too_long.status, 400);
  EXPECT_EQ(json::parse(too_long.body)["error"]["code"], "invalid_name");
}

TEST_F(HelloPlugin, TaskRunsAndRejectsBadPayload) {
  auto ok = run_jarvis({"tasks", "enqueue", "hello.greet", "--payload", R"({"name":"Task"})",
                        "--wait", "--run-here", "--json"},
                       dir_.path(), env_);
  ASSERT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_EQ(json::parse(ok.out)["result"]["greeting"], "Hello, Task!");
  auto bad = run_jarvis({"tasks", "enqueue", "hello.greet", "--payload", R"({"who":1})", "--wait",
                         "--run-here", "--json"},
                        dir_.path(), env_);
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
}

}  // namespace

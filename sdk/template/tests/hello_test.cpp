// hello/tests/hello_test.cpp — the example plugin end to end: a real `jarvis` host with the plugin
// folder loaded (jarvis/testing.h), used through the CLI and over HTTP. Builds in the Jarvis tree
// and, unchanged, out of tree against the installed SDK (HELLO_PLUGIN_DIR: the built folder).
#include <gtest/gtest.h>

#include <string>

#include "jarvis/testing.h"

using jarvis::testing::TestHost;

namespace {

class HelloPlugin : public ::testing::Test {
 protected:
  TestHost host_{{.plugins = {HELLO_PLUGIN_DIR}}};  // migrated; hello required
};

TEST_F(HelloPlugin, IsListedAsLoaded) {
  auto r = host_.run({"plugins", "list", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  bool found = false;
  const auto doc = r.json();  // keep the document alive while iterating over it
  for (const auto& p : doc["plugins"]) {
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
  auto r1 = host_.run({"hello", "greet", "Ada", "--json"});
  ASSERT_EQ(r1.exit_code, 0) << r1.err;
  EXPECT_EQ(r1.json()["greeting"], "Hello, Ada!");
  EXPECT_EQ(r1.json()["count"], 1);
  auto r2 = host_.run({"hello", "greet", "Ada", "--json"});
  EXPECT_EQ(r2.json()["count"], 2);
}

TEST_F(HelloPlugin, ConfigFromEnvironmentIsUsed) {
  auto r = host_.run({"hello", "greet", "Bob"}, "", {{"HELLO_GREETING", "Hi"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Hi, Bob!\n");
}

TEST_F(HelloPlugin, BadConfigValueStopsWithKeyAndSource) {
  auto r = host_.run({"hello", "greet", "Bob"}, "", {{"HELLO_MAX_NAME_LENGTH", "many"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("HELLO_MAX_NAME_LENGTH"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("environment"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("int"), std::string::npos) << r.err;
}

TEST_F(HelloPlugin, CliUsageErrorsExitTwo) {
  auto missing = host_.run({"hello", "greet"});
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  EXPECT_NE(missing.err.find("NAME"), std::string::npos) << missing.err;
  EXPECT_EQ(host_.run({"hello", "greet", "Ada", "--loud"}).exit_code, 2);
  EXPECT_EQ(host_.run({"hello", "wave"}).exit_code, 2);
}

TEST_F(HelloPlugin, InvalidNameIsAFailureWithItsCode) {
  auto r = host_.run({"hello", "greet", "Alexandra"}, "", {{"HELLO_MAX_NAME_LENGTH", "3"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("invalid_name"), std::string::npos) << r.err;
}

TEST_F(HelloPlugin, RouteGreetsSignedInUsersAndValidates) {
  host_.start();
  EXPECT_EQ(host_.get("/api/v1/hello/Ada").status, 401);
  auto ada = host_.login_user("ada");
  auto ok = ada.get("/api/v1/hello/Ada");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json()["greeting"], "Hello, Ada!");
  auto too_long = ada.get("/api/v1/hello/" + std::string(65, 'x'));
  EXPECT_EQ(too_long.status, 400);
  EXPECT_EQ(too_long.json()["error"]["code"], "invalid_name");
}

TEST_F(HelloPlugin, AnApiTokenFromTheCliAlsoWorks) {
  host_.create_user("grace");
  std::string token = host_.create_token("grace");  // the CLI needs no running server
  host_.start();
  jarvis::testing::Client grace(host_.url(), token);
  auto ok = grace.get("/api/v1/hello/Grace");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json()["greeting"], "Hello, Grace!");
}

TEST_F(HelloPlugin, TaskRunsAndRejectsBadPayload) {
  auto ok = host_.run({"tasks", "enqueue", "hello.greet", "--payload", R"({"name":"Task"})",
                       "--wait", "--run-here", "--json"});
  ASSERT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_EQ(ok.json()["result"]["greeting"], "Hello, Task!");
  auto bad = host_.run({"tasks", "enqueue", "hello.greet", "--payload", R"({"who":1})", "--wait",
                        "--run-here", "--json"});
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
}

}  // namespace

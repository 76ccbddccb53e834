// tests/sdk_install/testing_test.cpp — the contract of jarvis/testing.h (Jarvis::testing) itself:
// isolation from the caller's environment, failures that carry the host's output, the CLI asking
// this host's server, logins, headers and exact bodies. The fixture plugins of tests/fixtures/.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "jarvis/testing.h"

using jarvis::testing::TestHost;

namespace {

const std::string kFixtures = JARVIS_TEST_PLUGIN_DIR;

TEST(TestingHost, MigratesAPrivateDatabaseAndIgnoresTheCallersDatabaseSettings) {
  // A developer's environment must not send a test to a real database.
  ::setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/real", 1);
  ::setenv("APP_DB", "/nonexistent/real.db", 1);
  std::string dir;
  {
    TestHost host({.plugins = {kFixtures + "/good"}});
    dir = host.dir();
    EXPECT_TRUE(std::filesystem::exists(dir + "/var/jarvis.db"));
    auto status = host.run({"migrate", "--status", "--json"});
    EXPECT_EQ(status.exit_code, 0) << status.err;
    EXPECT_EQ(host.environment().at("JARVIS_PLUGINS_REQUIRED"), "good");
  }
  ::unsetenv("DATABASE_URL");
  ::unsetenv("APP_DB");
  EXPECT_FALSE(std::filesystem::exists(dir)) << "the temporary directory is removed";
}

TEST(TestingHost, AFolderWithoutManifestOrAFailingRequiredPluginThrowsWithTheReason) {
  EXPECT_THROW(TestHost({.plugins = {kFixtures + "/no-such-plugin"}}), std::runtime_error);
  try {
    TestHost host({.plugins = {kFixtures + "/setup_throws"}});
    FAIL() << "a required plugin whose setup throws must fail the TestHost";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("setup_throws"), std::string::npos) << e.what();
  }
}

TEST(TestingHost, ServesAndTheCliAsksThisServer) {
  TestHost host({.plugins = {kFixtures + "/good"}, .env = {{"GOOD_GREETING", "hi"}}});
  EXPECT_FALSE(host.running());
  EXPECT_EQ(host.run({"plugins", "list", "--json"}).json()["view"], "local");
  host.start();
  ASSERT_TRUE(host.running());
  auto ping = host.get("/api/v1/good/ping");
  ASSERT_EQ(ping.status, 200) << ping.body;
  EXPECT_EQ(ping.json()["greeting"], "hi");
  EXPECT_FALSE(ping.header("X-Request-Id").empty());
  EXPECT_EQ(ping.header("x-request-id"), ping.headers.at("x-request-id"));
  EXPECT_EQ(host.run({"plugins", "list", "--json"}).json()["view"], "server");
  EXPECT_EQ(host.stop(), 0) << host.server_output();
  EXPECT_FALSE(host.running());
  EXPECT_EQ(host.get("/healthz").status, 0) << "stopped: nothing answers";
}

TEST(TestingHost, LogsInUsersAndAdminsAndRefusesAWrongPassword) {
  TestHost host;
  host.start();
  auto user = host.login_user("ada");
  auto admin = host.login_admin("root");
  EXPECT_EQ(user.get("/api/v1/auth/me").json()["role"], "user");
  EXPECT_EQ(admin.get("/api/v1/auth/me").json()["role"], "admin");
  EXPECT_EQ(host.get("/api/v1/auth/me").status, 401);
  EXPECT_THROW(host.login("ada", "wrong password"), std::runtime_error);
  EXPECT_THROW(host.create_user("ada"), std::runtime_error) << "the name exists";
  jarvis::testing::Client by_token(host.url(), host.create_token("ada"));
  EXPECT_EQ(by_token.get("/api/v1/auth/me").json()["username"], "ada");
}

}  // namespace

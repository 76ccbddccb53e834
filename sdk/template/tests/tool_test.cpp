// hello/tests/tool_test.cpp — the example plugin's tool from outside, end to end against the built
// `jarvis` binary: listed and invoked with `jarvis tools …` and the admin routes, refused with the
// offending path when its arguments do not match the schema, denied until a permission is granted.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/support.h"

using jarvis::test::run_jarvis;
using nlohmann::json;

namespace {

class HelloTool : public ::testing::Test {
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
  jarvis::test::RunResult jarvis(const std::vector<std::string>& args) {
    return run_jarvis(args, dir_.path(), env_);
  }

  jarvis::test::TempDir dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(HelloTool, CliListsAndInvokesWithValidationAndPermissions) {
  auto list = jarvis({"tools", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  json greet;
  json listed = json::parse(list.out);
  for (const auto& t : listed["items"]) {
    if (t["name"] == "hello.greet") greet = t;
  }
  ASSERT_TRUE(greet.is_object()) << list.out;
  EXPECT_EQ(greet["owner"], "hello");
  EXPECT_EQ(greet["parameters"]["required"], json::array({"name"}));

  // Denied by default: the CLI calls as "system", which has no permission yet.
  auto denied = jarvis({"tools", "invoke", "hello.greet", "--args", R"({"name":"Ada"})"});
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_NE(denied.err.find("no_permission"), std::string::npos) << denied.err;
  ASSERT_EQ(jarvis({"permissions", "allow", "system", "hello.greet"}).exit_code, 0);
  auto ok = jarvis({"tools", "invoke", "hello.greet", "--args", R"({"name":"Ada"})", "--json"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(json::parse(ok.out)["result"]["greeting"], "Hello, Ada!");

  // Bad arguments: exit 1 naming the path; nothing is greeted.
  auto empty = jarvis({"tools", "invoke", "hello.greet", "--args", R"({"name":""})"});
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.err.find("/name: must be at least 1 characters long"), std::string::npos)
      << empty.err;
  auto extra =
      jarvis({"tools", "invoke", "hello.greet", "--args", R"({"name":"Bo","loud":1})", "--json"});
  EXPECT_EQ(extra.exit_code, 1);
  EXPECT_EQ(json::parse(extra.out)["result"]["error"]["path"], "/loud");
  auto missing = jarvis({"tools", "invoke", "hello.greet"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("/name: is required"), std::string::npos) << missing.err;
  auto count = jarvis({"hello", "greet", "Ada", "--json"});
  EXPECT_EQ(json::parse(count.out)["count"], 2);  // the tool's greeting + this one

  // Usage errors exit 2.
  EXPECT_EQ(jarvis({"tools", "invoke"}).exit_code, 2);
  EXPECT_EQ(jarvis({"tools", "invoke", "hello.greet", "--args", "{oops"}).exit_code, 2);
  EXPECT_EQ(jarvis({"tools", "invoke", "hello.greet", "--shout"}).exit_code, 2);
  // Unknown tool or user: 1.
  EXPECT_EQ(jarvis({"tools", "invoke", "hello.wave"}).exit_code, 1);
  EXPECT_EQ(
      jarvis({"tools", "invoke", "hello.greet", "--args", R"({"name":"Ada"})", "--as", "nobody"})
          .exit_code,
      1);
}

TEST_F(HelloTool, AdminRoutesListAndInvoke) {
  std::string admin = jarvis::test::create_user_token(dir_.path(), env_, "root", true);
  std::string user = jarvis::test::create_user_token(dir_.path(), env_, "ada", false);
  jarvis::test::ServerProcess server(dir_.path(), env_);
  ASSERT_TRUE(server.ready()) << server.output();
  auto as = [](const std::string& tok) {
    return std::vector<std::string>{jarvis::test::bearer(tok), "Content-Type: application/json"};
  };
  EXPECT_EQ(jarvis::test::http("GET", server.url("/api/v1/tools")).status, 401);
  EXPECT_EQ(jarvis::test::http("GET", server.url("/api/v1/tools"), "", as(user)).status, 403);
  auto list = jarvis::test::http("GET", server.url("/api/v1/tools"), "", as(admin));
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_NE(list.body.find("hello.greet"), std::string::npos);

  std::string url = server.url("/api/v1/tools/hello.greet/invoke");
  auto bad = jarvis::test::http("POST", url, R"({"args":{"name":42}})", as(admin));
  ASSERT_EQ(bad.status, 422) << bad.body;
  EXPECT_EQ(json::parse(bad.body)["error"]["code"], "invalid_args");
  EXPECT_EQ(json::parse(bad.body)["error"]["path"], "/name");
  auto denied = jarvis::test::http("POST", url, R"({"args":{"name":"Ada"}})", as(admin));
  ASSERT_EQ(denied.status, 403) << denied.body;
  EXPECT_EQ(json::parse(denied.body)["error"]["reason"], "no_permission");
  EXPECT_EQ(jarvis::test::http("POST", url, R"({"args":{"name":"Ada"}})", as(user)).status, 403);

  // Grant the admin's own id (the permission key of a direct call), then it runs.
  auto me = jarvis::test::http("GET", server.url("/api/v1/auth/me"), "", as(admin));
  std::string admin_id = json::parse(me.body)["user_id"];
  ASSERT_EQ(jarvis({"permissions", "allow", admin_id, "hello.greet"}).exit_code, 0);
  auto ok = jarvis::test::http("POST", url, R"({"args":{"name":"Ada"}})", as(admin));
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(json::parse(ok.body)["ok"], true);
  EXPECT_EQ(json::parse(ok.body)["result"]["greeting"], "Hello, Ada!");
  EXPECT_EQ(
      jarvis::test::http("POST", server.url("/api/v1/tools/hello.wave/invoke"), "{}", as(admin))
          .status,
      404);
}

}  // namespace

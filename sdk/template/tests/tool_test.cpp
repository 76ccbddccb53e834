// hello/tests/tool_test.cpp — the example plugin's tool from outside, end to end against a real
// host (jarvis/testing.h): listed and invoked with `jarvis tools …` and the admin routes, refused
// with the offending path when its arguments do not match the schema, denied until a permission is
// granted.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "jarvis/testing.h"

using jarvis::Json;
using jarvis::testing::CommandResult;
using jarvis::testing::TestHost;

namespace {

class HelloTool : public ::testing::Test {
 protected:
  CommandResult jarvis(const std::vector<std::string>& args) { return host_.run(args); }

  TestHost host_{{.plugins = {HELLO_PLUGIN_DIR}}};
};

TEST_F(HelloTool, CliListsAndInvokesWithValidationAndPermissions) {
  auto list = jarvis({"tools", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  Json greet;
  const Json listed = list.json();
  for (const auto& t : listed["items"]) {
    if (t["name"] == "hello.greet") greet = t;
  }
  ASSERT_TRUE(greet.is_object()) << list.out;
  EXPECT_EQ(greet["owner"], "hello");
  EXPECT_EQ(greet["parameters"]["required"], Json::array({"name"}));

  // Denied by default: the CLI calls as "system", which has no permission yet.
  auto denied = jarvis({"tools", "invoke", "hello.greet", "--args", R"({"name":"Ada"})"});
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_NE(denied.err.find("no_permission"), std::string::npos) << denied.err;
  ASSERT_EQ(jarvis({"permissions", "allow", "system", "hello.greet"}).exit_code, 0);
  auto ok = jarvis({"tools", "invoke", "hello.greet", "--args", R"({"name":"Ada"})", "--json"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.json()["result"]["greeting"], "Hello, Ada!");

  // Bad arguments: exit 1 naming the path; nothing is greeted.
  auto empty = jarvis({"tools", "invoke", "hello.greet", "--args", R"({"name":""})"});
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.err.find("/name: must be at least 1 characters long"), std::string::npos)
      << empty.err;
  auto extra =
      jarvis({"tools", "invoke", "hello.greet", "--args", R"({"name":"Bo","loud":1})", "--json"});
  EXPECT_EQ(extra.exit_code, 1);
  EXPECT_EQ(extra.json()["result"]["error"]["path"], "/loud");
  auto missing = jarvis({"tools", "invoke", "hello.greet"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("/name: is required"), std::string::npos) << missing.err;
  auto count = jarvis({"hello", "greet", "Ada", "--json"});
  EXPECT_EQ(count.json()["count"], 2);  // the tool's greeting + this one

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
  host_.start();
  auto admin = host_.login_admin("root");
  auto user = host_.login_user("ada");
  EXPECT_EQ(host_.get("/api/v1/tools").status, 401);
  EXPECT_EQ(user.get("/api/v1/tools").status, 403);
  auto list = admin.get("/api/v1/tools");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_NE(list.body.find("hello.greet"), std::string::npos);

  const std::string invoke = "/api/v1/tools/hello.greet/invoke";
  auto bad = admin.post(invoke, {{"args", {{"name", 42}}}});
  ASSERT_EQ(bad.status, 422) << bad.body;
  EXPECT_EQ(bad.json()["error"]["code"], "invalid_args");
  EXPECT_EQ(bad.json()["error"]["path"], "/name");
  const Json ada = {{"args", {{"name", "Ada"}}}};
  auto denied = admin.post(invoke, ada);
  ASSERT_EQ(denied.status, 403) << denied.body;
  EXPECT_EQ(denied.json()["error"]["reason"], "no_permission");
  EXPECT_EQ(user.post(invoke, ada).status, 403);

  // Grant the admin's own id (the permission key of a direct call), then it runs.
  std::string admin_id = admin.get("/api/v1/auth/me").json()["user_id"];
  ASSERT_EQ(jarvis({"permissions", "allow", admin_id, "hello.greet"}).exit_code, 0);
  auto ok = admin.post(invoke, ada);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json()["ok"], true);
  EXPECT_EQ(ok.json()["result"]["greeting"], "Hello, Ada!");
  EXPECT_EQ(admin.post("/api/v1/tools/hello.wave/invoke").status, 404);
}

}  // namespace

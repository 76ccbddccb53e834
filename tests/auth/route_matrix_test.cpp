// tests/auth/route_matrix_test.cpp — the RBAC matrix over the WHOLE route table of a real
// `jarvis serve` (host routes and every plugin in the build): each `admin` route answers 401 to an
// anonymous caller and 403 to a user; each `user` route answers 401 to an anonymous caller. The
// table comes from `jarvis routes --json`, so a route added later is covered without editing this
// test. `{param}` segments get a dummy value: auth runs before any handler looks at them.
#include <gtest/gtest.h>

#include <regex>

#include "jarvis/json.h"
#include "support/support.h"

namespace jarvis::test {
namespace {

std::string fill_params(const std::string& pattern) {
  return std::regex_replace(pattern, std::regex(R"(\{[^/}]+\})"), "rbac-probe-1");
}

class RouteMatrixTest : public testing::Test {
 protected:
  void SetUp() override {
    env_ = {{"APP_DB", tmp_.file("var/jarvis.db")}, {"LOG_LEVEL", "warn"}};
    auto m = run_jarvis({"migrate"}, tmp_.path(), env_);
    ASSERT_EQ(m.exit_code, 0) << m.out << m.err;
    auto u = run_jarvis({"users", "add", "matrix-user", "--password-stdin"}, tmp_.path(), env_,
                        "matrix password\n");
    ASSERT_EQ(u.exit_code, 0) << u.out << u.err;
    auto t =
        run_jarvis({"tokens", "create", "--user", "matrix-user", "--ttl", "1"}, tmp_.path(), env_);
    ASSERT_EQ(t.exit_code, 0) << t.out << t.err;
    user_token_ = t.out.substr(0, t.out.find('\n'));
    ASSERT_EQ(user_token_.rfind("jvt_", 0), 0u) << t.out;
    auto r = run_jarvis({"routes", "--json"}, tmp_.path(), env_);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    routes_ = jarvis::Json::parse(r.out)["routes"];
    ASSERT_TRUE(routes_.is_array());
  }

  TempDir tmp_;
  std::map<std::string, std::string> env_;
  std::string user_token_;
  jarvis::Json routes_;
};

TEST_F(RouteMatrixTest, EveryProtectedRouteRefusesAnonymousAndUsers) {
  ServerProcess server(tmp_.path(), env_);
  ASSERT_TRUE(server.ready()) << server.output();
  int admin_routes = 0, user_routes = 0;
  bool saw_me = false, saw_permissions = false, saw_tool_invoke = false;
  for (const auto& route : routes_) {
    std::string method = route["method"], path = route["path"], auth = route["auth"];
    if (auth != "admin" && auth != "user") continue;
    std::string url = server.url(fill_params(path));
    std::string what = method + " " + path + " (" + auth + ", " + route.value("owner", "?") + ")";
    auto anon = http(method, url);
    EXPECT_EQ(anon.status, 401) << what << ": " << anon.body;
    EXPECT_NE(anon.body.find("\"unauthorized\""), std::string::npos) << what;
    if (auth == "admin") {
      ++admin_routes;
      auto as_user = http(method, url, "", {"Authorization: Bearer " + user_token_});
      EXPECT_EQ(as_user.status, 403) << what << ": " << as_user.body;
      EXPECT_NE(as_user.body.find("\"forbidden\""), std::string::npos) << what;
    } else {
      ++user_routes;
    }
    saw_me |= path == "/api/v1/auth/me";
    saw_permissions |= path == "/api/v1/permissions";
    saw_tool_invoke |= path == "/api/v1/tools/{name}/invoke" && auth == "admin";
  }
  // The table really is the server's: it holds the identity routes of both levels.
  EXPECT_TRUE(saw_me);
  EXPECT_TRUE(saw_permissions);
  EXPECT_TRUE(saw_tool_invoke);  // tools are invoked from outside by admins only
  EXPECT_GT(admin_routes, 0);
  EXPECT_GT(user_routes, 0);
}

}  // namespace
}  // namespace jarvis::test

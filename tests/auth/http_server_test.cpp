// tests/auth/http_server_test.cpp — identity over real sockets: the HttpServer (Boost.Beast) on
// 127.0.0.1 with the auth hook, driven by libcurl — login sets the cookie, the cookie and the
// Bearer token authenticate, logout ends the session.
#include "auth_fixture.h"

#include "http/server.h"

namespace jarvis::host::authtest {
namespace {

using AuthOverHttpTest = AuthTest;

TEST_P(AuthOverHttpTest, LoginCookieMeLogout) {
  // The CSRF rule compares with the configured origin, derived from BIND_HOST/BIND_PORT.
  int port = jarvis::test::free_port();
  start({{"WEB_CORS_ORIGINS", "http://localhost:5173"},
         {"BIND_HOST", "127.0.0.1"},
         {"BIND_PORT", std::to_string(port)}});
  auth_->add_user("web", "web password", jarvis::Role::User);
  ServerOptions opts;
  opts.port = static_cast<uint16_t>(port);
  opts.threads = 2;
  HttpServer server(opts, *dispatcher_);
  server.start();
  std::string base = "http://127.0.0.1:" + std::to_string(server.port());

  auto login = jarvis::test::http("POST", base + "/api/v1/auth/login",
                                  R"({"username":"web","password":"web password"})",
                                  {"Content-Type: application/json"});
  ASSERT_EQ(login.status, 200) << login.body;
  std::string cookie = login.headers["set-cookie"];
  ASSERT_EQ(cookie.rfind("jarvis_session=", 0), 0u) << cookie;
  std::string token = cookie.substr(15, cookie.find(';') - 15);
  EXPECT_EQ(jarvis::Json::parse(login.body)["token"], token);

  auto me =
      jarvis::test::http("GET", base + "/api/v1/auth/me", "", {"Cookie: jarvis_session=" + token});
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(jarvis::Json::parse(me.body)["username"], "web");
  EXPECT_EQ(
      jarvis::test::http("GET", base + "/api/v1/auth/me", "", {"Authorization: Bearer " + token})
          .status,
      200);
  EXPECT_EQ(jarvis::test::http("GET", base + "/api/v1/auth/me").status, 401);

  // Cross-site logout with the cookie is refused; same-origin logout works.
  auto csrf =
      jarvis::test::http("POST", base + "/api/v1/auth/logout", "",
                         {"Cookie: jarvis_session=" + token, "Origin: https://evil.example"});
  EXPECT_EQ(csrf.status, 403);
  auto out = jarvis::test::http("POST", base + "/api/v1/auth/logout", "",
                                {"Cookie: jarvis_session=" + token,
                                 "Origin: http://127.0.0.1:" + std::to_string(server.port())});
  EXPECT_EQ(out.status, 200) << out.body;
  EXPECT_NE(out.headers["set-cookie"].find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(
      jarvis::test::http("GET", base + "/api/v1/auth/me", "", {"Cookie: jarvis_session=" + token})
          .status,
      401);
  server.shutdown(std::chrono::seconds(2));
}

INSTANTIATE_TEST_SUITE_P(Backends, AuthOverHttpTest, testing::Values(Backend::Sqlite),
                         backend_name);

}  // namespace
}  // namespace jarvis::host::authtest

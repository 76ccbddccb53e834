// tests/auth/web_hygiene_test.cpp — RBAC by route level, the CSRF origin rule for cookie
// sessions, and CORS (preflight and response headers), through the real pipeline.
#include "auth_fixture.h"

namespace jarvis::host::authtest {
namespace {

class WebHygieneTest : public AuthTest {
 protected:
  void start_with_probe_routes(const std::map<std::string, std::string>& values = {}) {
    start(values);
    for (auto level :
         {jarvis::Auth::Public, jarvis::Auth::User, jarvis::Auth::Admin, jarvis::Auth::Webhook}) {
      std::string name = jarvis::to_string(level);
      for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
        router_->add(Owner{"probe"},
                     jarvis::RouteSpec{.method = method,
                                       .path = "/api/v1/probe/" + name,
                                       .auth = level,
                                       .summary = "probe",
                                       .handler = [](jarvis::Request& req) {
                                         return jarvis::Response::json(
                                             200, {{"user", req.principal.username},
                                                   {"authenticated", req.principal.authenticated}});
                                       }});
      }
    }
    user_ = token_for("user1", jarvis::Role::User);
    admin_ = token_for("admin1", jarvis::Role::Admin);
  }
  static std::pair<std::string, std::string> cookie(const std::string& token) {
    return {"Cookie", "jarvis_session=" + token};
  }
  std::string user_, admin_;
};

TEST_P(WebHygieneTest, RouteLevelsAreEnforced) {
  start_with_probe_routes();
  // public: anyone; the principal is filled when a valid credential is present.
  EXPECT_EQ(call({.target = "/api/v1/probe/public"}).status, 200);
  EXPECT_EQ(body(call({.target = "/api/v1/probe/public", .headers = {bearer(user_)}}))["user"],
            "user1");
  EXPECT_EQ(call({.target = "/api/v1/probe/public", .headers = {bearer("jvt_garbage")}}).status,
            200);
  // user: 401 without valid credentials.
  auto anon = call({.target = "/api/v1/probe/user"});
  EXPECT_EQ(anon.status, 401);
  EXPECT_EQ(code(anon), "unauthorized");
  EXPECT_EQ(call({.target = "/api/v1/probe/user", .headers = {bearer("jvt_garbage")}}).status, 401);
  EXPECT_EQ(
      call({.target = "/api/v1/probe/user", .headers = {{"Authorization", "Basic dTpw"}}}).status,
      401);
  EXPECT_EQ(call({.target = "/api/v1/probe/user", .headers = {bearer(user_)}}).status, 200);
  EXPECT_EQ(call({.target = "/api/v1/probe/user", .headers = {bearer(admin_)}}).status, 200);
  // admin: 401 anonymous, 403 users.
  EXPECT_EQ(call({.target = "/api/v1/probe/admin"}).status, 401);
  auto forbidden = call({.target = "/api/v1/probe/admin", .headers = {bearer(user_)}});
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_EQ(code(forbidden), "forbidden");
  EXPECT_EQ(call({.target = "/api/v1/probe/admin", .headers = {bearer(admin_)}}).status, 200);
  // webhook: no session check, no principal even with a valid token.
  auto hook =
      call({.method = "POST", .target = "/api/v1/probe/webhook", .headers = {bearer(admin_)}});
  EXPECT_EQ(hook.status, 200);
  EXPECT_EQ(body(hook)["authenticated"], false);
}

TEST_P(WebHygieneTest, CookieUnsafeMethodsNeedAnAllowedOrigin) {
  // The server's own origin is configured (WEB_PUBLIC_ORIGIN), never taken from the Host header.
  start_with_probe_routes({{"WEB_CORS_ORIGINS", "http://localhost:5173"},
                           {"WEB_PUBLIC_ORIGIN", "http://jarvis.test:8000"}});
  for (const char* m : {"POST", "PUT", "PATCH", "DELETE"}) {
    // No Origin at all.
    auto none = call({.method = m, .target = "/api/v1/probe/user", .headers = {cookie(user_)}});
    EXPECT_EQ(none.status, 403) << m;
    EXPECT_EQ(code(none), "csrf_origin_mismatch") << m;
    // A foreign origin.
    auto evil = call({.method = m,
                      .target = "/api/v1/probe/admin",
                      .headers = {cookie(admin_), {"Origin", "https://evil.example"}}});
    EXPECT_EQ(evil.status, 403) << m;
    EXPECT_EQ(code(evil), "csrf_origin_mismatch");
    // "null" origin (sandboxed frames, file://).
    EXPECT_EQ(call({.method = m,
                    .target = "/api/v1/probe/user",
                    .headers = {cookie(user_), {"Origin", "null"}}})
                  .status,
              403);
    // The server's own origin (same authority as Host).
    EXPECT_EQ(call({.method = m,
                    .target = "/api/v1/probe/user",
                    .headers = {cookie(user_), {"Origin", "http://jarvis.test:8000"}}})
                  .status,
              200)
        << m;
    // A listed origin (case-insensitive, trailing slash tolerated).
    EXPECT_EQ(call({.method = m,
                    .target = "/api/v1/probe/user",
                    .headers = {cookie(user_), {"Origin", "HTTP://LOCALHOST:5173"}}})
                  .status,
              200)
        << m;
    // Bearer requests are exempt.
    EXPECT_EQ(call({.method = m,
                    .target = "/api/v1/probe/user",
                    .headers = {bearer(user_), {"Origin", "https://evil.example"}}})
                  .status,
              200)
        << m;
  }
  // Safe methods with a cookie need no Origin.
  EXPECT_EQ(call({.target = "/api/v1/probe/user", .headers = {cookie(user_)}}).status, 200);
  // A wrong port is another origin.
  EXPECT_EQ(call({.method = "POST",
                  .target = "/api/v1/probe/user",
                  .headers = {cookie(user_), {"Origin", "http://jarvis.test:9000"}}})
                .status,
            403);
  // On a public route a cross-site cookie request proceeds, but anonymously.
  auto pub = call({.method = "POST",
                   .target = "/api/v1/probe/public",
                   .headers = {cookie(user_), {"Origin", "https://evil.example"}}});
  EXPECT_EQ(pub.status, 200);
  EXPECT_EQ(body(pub)["authenticated"], false);
  // Logout is a cookie-authenticated POST like any other.
  EXPECT_EQ(code(call({.method = "POST",
                       .target = "/api/v1/auth/logout",
                       .headers = {cookie(user_), {"Origin", "https://evil.example"}}})),
            "csrf_origin_mismatch");
}

TEST_P(WebHygieneTest, WildcardCorsNeverSatisfiesCsrf) {
  start_with_probe_routes({{"WEB_CORS_ORIGINS", "*"}});
  EXPECT_EQ(call({.method = "POST",
                  .target = "/api/v1/probe/user",
                  .headers = {cookie(user_), {"Origin", "https://evil.example"}}})
                .status,
            403);
  auto res =
      call({.target = "/api/v1/probe/public", .headers = {{"Origin", "https://any.example"}}});
  EXPECT_EQ(res.headers.get("Access-Control-Allow-Origin").value_or(""), "*");
  EXPECT_FALSE(res.headers.has("Access-Control-Allow-Credentials"));
}

TEST_P(WebHygieneTest, CorsPreflightAndResponseHeaders) {
  start_with_probe_routes({{"WEB_CORS_ORIGINS", "http://localhost:5173, https://app.example.com"}});
  // Preflight for a listed origin on any path (even one with no OPTIONS route).
  auto pre = call({.method = "OPTIONS",
                   .target = "/api/v1/probe/admin",
                   .headers = {{"Origin", "http://localhost:5173"},
                               {"Access-Control-Request-Method", "DELETE"},
                               {"Access-Control-Request-Headers", "authorization, content-type"}}});
  EXPECT_EQ(pre.status, 204);
  EXPECT_EQ(pre.headers.get("Access-Control-Allow-Origin").value_or(""), "http://localhost:5173");
  EXPECT_EQ(pre.headers.get("Access-Control-Allow-Credentials").value_or(""), "true");
  EXPECT_NE(pre.headers.get("Access-Control-Allow-Methods").value_or("").find("DELETE"),
            std::string::npos);
  EXPECT_EQ(pre.headers.get("Access-Control-Allow-Headers").value_or(""),
            "authorization, content-type");
  EXPECT_TRUE(pre.headers.has("Access-Control-Max-Age"));
  // Preflight from an unlisted origin: refused with a clear code.
  auto bad = call(
      {.method = "OPTIONS",
       .target = "/api/v1/auth/me",
       .headers = {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "GET"}}});
  EXPECT_EQ(bad.status, 403);
  EXPECT_EQ(code(bad), "cors_origin_not_allowed");
  EXPECT_FALSE(bad.headers.has("Access-Control-Allow-Origin"));
  // A plain OPTIONS (not a preflight) is routed normally.
  EXPECT_EQ(call({.method = "OPTIONS", .target = "/api/v1/auth/me"}).status, 405);
  // Actual responses: credentials only for listed origins, even on errors.
  auto ok = call({.target = "/api/v1/auth/me",
                  .headers = {bearer(user_), {"Origin", "https://app.example.com"}}});
  EXPECT_EQ(ok.headers.get("Access-Control-Allow-Origin").value_or(""), "https://app.example.com");
  EXPECT_EQ(ok.headers.get("Access-Control-Allow-Credentials").value_or(""), "true");
  EXPECT_NE(ok.headers.get("Access-Control-Expose-Headers").value_or("").find("X-Request-Id"),
            std::string::npos);
  auto err =
      call({.target = "/api/v1/auth/me", .headers = {{"Origin", "https://app.example.com"}}});
  EXPECT_EQ(err.status, 401);
  EXPECT_EQ(err.headers.get("Access-Control-Allow-Origin").value_or(""), "https://app.example.com");
  auto foreign = call({.target = "/api/v1/auth/me",
                       .headers = {bearer(user_), {"Origin", "https://evil.example"}}});
  EXPECT_FALSE(foreign.headers.has("Access-Control-Allow-Origin"));
  EXPECT_EQ(foreign.headers.get("Vary").value_or(""), "Origin");
  // The decorate hook covers every answer: an unmatched path and a request refused before dispatch.
  auto missing =
      call({.target = "/api/v1/nothing-here", .headers = {{"Origin", "http://localhost:5173"}}});
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.headers.get("Access-Control-Allow-Origin").value_or(""),
            "http://localhost:5173");
  jarvis::Request big;
  big.method = "POST";
  big.target = "/api/v1/auth/login";
  big.headers.set("Origin", "http://localhost:5173");
  auto refused = dispatcher_->reject(big, 413, "payload_too_large", "body too large");
  EXPECT_EQ(refused.status, 413);
  EXPECT_EQ(refused.headers.get("Access-Control-Allow-Origin").value_or(""),
            "http://localhost:5173");
}

TEST_P(WebHygieneTest, InvalidCorsSettingIsRefusedNamingTheKey) {
  ConfigStore store;
  store.set("WEB_CORS_ORIGINS", "localhost:5173", ConfigSource::Environment, "environment");
  try {
    AuthSettings::from(store);
    FAIL() << "accepted an origin without scheme";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("WEB_CORS_ORIGINS"), std::string::npos);
  }
  ConfigStore ttl;
  ttl.set("WEB_AUTH_TOKEN_TTL_HOURS", "forever", ConfigSource::Environment, "environment");
  EXPECT_THROW(AuthSettings::from(ttl), std::runtime_error);
}

INSTANTIATE_TEST_SUITE_P(Backends, WebHygieneTest,
                         testing::Values(Backend::Sqlite, Backend::Postgresql), backend_name);

}  // namespace
}  // namespace jarvis::host::authtest

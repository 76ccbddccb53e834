// tests/security/auth_login_csrf_test.cpp — issue 8, finding 9 "CSRF at login and a weak Origin
// check": login needs Content-Type application/json and a trusted Origin when one is sent; the
// cookie CSRF check compares the Origin with the configured public origin(s) (WEB_PUBLIC_ORIGIN,
// default derived from BIND_HOST/BIND_PORT, plus WEB_CORS_ORIGINS) by scheme, host and port, never
// with the request's Host header; several Origin headers are refused.
#include "auth/auth_fixture.h"

namespace jarvis::host::authtest {
namespace {

class AuthLoginCsrf : public AuthTest {
 protected:
  jarvis::Response raw_login(const std::string& content_type,
                             std::vector<std::pair<std::string, std::string>> extra = {}) {
    std::vector<std::pair<std::string, std::string>> headers = std::move(extra);
    if (!content_type.empty()) headers.emplace_back("Content-Type", content_type);
    return call({.method = "POST",
                 .target = "/api/v1/auth/login",
                 .body = jarvis::Json{{"username", "alice"}, {"password", "alice password"}}.dump(),
                 .headers = headers});
  }
  static std::pair<std::string, std::string> cookie(const std::string& token) {
    return {"Cookie", "jarvis_session=" + token};
  }
  jarvis::Response logout_with(std::vector<std::pair<std::string, std::string>> headers) {
    return call({.method = "POST", .target = "/api/v1/auth/logout", .headers = headers});
  }
};

TEST_P(AuthLoginCsrf, CrossOriginTextPlainLoginIsRefused) {
  start({{"BIND_HOST", "127.0.0.1"}, {"BIND_PORT", "8000"}});
  auth_->add_user("alice", "alice password", jarvis::Role::User);
  auto plain = raw_login("text/plain", {{"Origin", "http://evil.com"}});
  EXPECT_EQ(plain.status, 415) << plain.body;
  EXPECT_EQ(code(plain), "unsupported_media_type");
  EXPECT_FALSE(plain.headers.has("Set-Cookie"));
  EXPECT_EQ(raw_login("").status, 415);
  EXPECT_EQ(raw_login("application/x-www-form-urlencoded").status, 415);

  auto foreign = raw_login("application/json", {{"Origin", "http://evil.com"}});
  EXPECT_EQ(foreign.status, 403) << foreign.body;
  EXPECT_EQ(code(foreign), "csrf_origin_mismatch");
  EXPECT_FALSE(foreign.headers.has("Set-Cookie"));
  // Host is attacker-controlled (DNS rebinding, a proxy passing it on): it does not help.
  EXPECT_EQ(
      raw_login("application/json", {{"Origin", "http://evil.com"}, {"Host", "evil.com"}}).status,
      403);

  // Same origin (derived from BIND_HOST/BIND_PORT, loopback aliases), or no Origin at all.
  EXPECT_EQ(
      raw_login("application/json; charset=utf-8", {{"Origin", "http://127.0.0.1:8000"}}).status,
      200);
  EXPECT_EQ(raw_login("application/json", {{"Origin", "http://localhost:8000"}}).status, 200);
  EXPECT_EQ(raw_login("application/json").status, 200);
  // Scheme and port count.
  EXPECT_EQ(raw_login("application/json", {{"Origin", "https://127.0.0.1:8000"}}).status, 403);
  EXPECT_EQ(raw_login("application/json", {{"Origin", "http://127.0.0.1:8001"}}).status, 403);
}

TEST_P(AuthLoginCsrf, CookieCsrfComparesWithThePublicOriginNotTheHostHeader) {
  start({{"WEB_PUBLIC_ORIGIN", "https://jarvis.example.org"},
         {"WEB_CORS_ORIGINS", "http://localhost:5173"}});
  std::string token = token_for("bob", jarvis::Role::User);
  // Origin equal to the request's own Host: used to pass.
  auto rebound = logout_with({cookie(token), {"Host", "evil.com"}, {"Origin", "http://evil.com"}});
  EXPECT_EQ(rebound.status, 403) << rebound.body;
  EXPECT_EQ(code(rebound), "csrf_origin_mismatch");
  // The scheme matters.
  EXPECT_EQ(logout_with({cookie(token), {"Origin", "http://jarvis.example.org"}}).status, 403);
  EXPECT_EQ(logout_with({cookie(token), {"Origin", "https://jarvis.example.org:8443"}}).status,
            403);
  // Several Origin headers: refused even when the first one is right.
  auto twice = logout_with(
      {cookie(token), {"Origin", "https://jarvis.example.org"}, {"Origin", "http://evil.com"}});
  EXPECT_EQ(twice.status, 403);
  EXPECT_EQ(code(twice), "csrf_origin_mismatch");
  // The configured origins pass (default port dropped).
  EXPECT_EQ(logout_with({cookie(token), {"Origin", "https://jarvis.example.org:443"}}).status, 200);
  std::string second = auth_->create_api_token("bob", 1, "t2").token;
  EXPECT_EQ(logout_with({cookie(second), {"Origin", "http://localhost:5173"}}).status, 200);
}

TEST_P(AuthLoginCsrf, PublicOriginIsValidatedAndDerived) {
  ConfigStore bad;
  bad.set("WEB_PUBLIC_ORIGIN", "https://x.example/path", ConfigSource::Environment, "test");
  EXPECT_THROW(AuthSettings::from(bad), std::runtime_error);

  ConfigStore wide;
  wide.set("BIND_HOST", "0.0.0.0", ConfigSource::Environment, "test");
  wide.set("BIND_PORT", "9000", ConfigSource::Environment, "test");
  auto o = public_origins(wide);
  EXPECT_NE(std::find(o.begin(), o.end(), "http://localhost:9000"), o.end());
  EXPECT_NE(std::find(o.begin(), o.end(), "http://127.0.0.1:9000"), o.end());
  EXPECT_EQ(std::find(o.begin(), o.end(), "http://0.0.0.0:9000"), o.end());

  ConfigStore named;
  named.set("BIND_HOST", "jarvis.lan", ConfigSource::Environment, "test");
  named.set("BIND_PORT", "80", ConfigSource::Environment, "test");
  EXPECT_EQ(public_origins(named), std::vector<std::string>{"http://jarvis.lan"});
}

INSTANTIATE_TEST_SUITE_P(Backends, AuthLoginCsrf,
                         testing::Values(Backend::Sqlite, Backend::Postgresql), backend_name);

}  // namespace
}  // namespace jarvis::host::authtest

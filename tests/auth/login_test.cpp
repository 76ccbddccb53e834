// tests/auth/login_test.cpp — login, me, logout, cookie flags, bootstrap admin, rate limits,
// expiry/revocation/disabled users and bad inputs, through the real pipeline on SQLite and
// PostgreSQL.
#include "auth_fixture.h"

#include "auth/credentials.h"

namespace jarvis::host::authtest {
namespace {

using LoginTest = AuthTest;

std::string cookie_of(const jarvis::Response& r) {
  for (const auto& [k, v] : r.headers.all()) {
    if (k == "Set-Cookie") return v;
  }
  return "";
}

TEST_P(LoginTest, LoginMeLogoutWithBearerAndCookie) {
  start();
  auth_->add_user("Alice", "correct horse", jarvis::Role::User);
  auto res = login("alice", "correct horse");
  ASSERT_EQ(res.status, 200) << res.body;
  auto j = body(res);
  std::string token = j["token"];
  EXPECT_EQ(j["username"], "alice");  // stored lower-case
  EXPECT_EQ(j["role"], "user");
  EXPECT_GE(token.size(), 4u + 43u);  // jvt_ + 256 bits base64url
  EXPECT_EQ(res.headers.get("Cache-Control").value_or(""), "no-store");

  // Cookie flags: HttpOnly, SameSite=Lax, Path=/, Max-Age = TTL, no Secure on plain http.
  std::string cookie = cookie_of(res);
  EXPECT_EQ(cookie.rfind("jarvis_session=" + token + ";", 0), 0u) << cookie;
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Lax"), std::string::npos);
  EXPECT_NE(cookie.find("Path=/"), std::string::npos);
  EXPECT_NE(cookie.find("Max-Age=604800"), std::string::npos);
  EXPECT_EQ(cookie.find("Secure"), std::string::npos);

  auto me = call({.target = "/api/v1/auth/me", .headers = {bearer(token)}});
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(body(me)["username"], "alice");
  EXPECT_EQ(body(me)["role"], "user");
  auto me_cookie =
      call({.target = "/api/v1/auth/me", .headers = {{"Cookie", "x=1; jarvis_session=" + token}}});
  EXPECT_EQ(me_cookie.status, 200);

  // The token is stored only as its SHA-256.
  EXPECT_EQ(
      count("SELECT COUNT(*) FROM auth_tokens WHERE token_hash = '" + token_digest(token) + "'"),
      1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM auth_tokens WHERE token_hash = '" + token + "'"), 0);

  auto out = call({.method = "POST", .target = "/api/v1/auth/logout", .headers = {bearer(token)}});
  ASSERT_EQ(out.status, 200) << out.body;
  EXPECT_NE(cookie_of(out).find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(call({.target = "/api/v1/auth/me", .headers = {bearer(token)}}).status, 401);
}

TEST_P(LoginTest, WrongPasswordAndUnknownUserGetTheSameAnswer) {
  start();
  auth_->add_user("bob", "right password", jarvis::Role::User);
  auto wrong = login("bob", "wrong password");
  auto unknown = login("nobody", "wrong password");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(code(wrong), "invalid_credentials");
  EXPECT_EQ(body(wrong)["error"]["message"], body(unknown)["error"]["message"]);
  EXPECT_TRUE(cookie_of(wrong).empty());
  // Failed attempts are audited as system events (admin-only), without the password.
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE type = 'auth.login_failed'"), 2);
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE payload LIKE '%wrong password%'"), 0);
}

TEST_P(LoginTest, CookieIsSecureOverHttpsOrWhenConfigured) {
  start({{"WEB_AUTH_TOKEN_TTL_HOURS", "2"}});
  auth_->add_user("carol", "password one", jarvis::Role::User);
  auto res =
      call({.method = "POST",
            .target = "/api/v1/auth/login",
            .body = R"({"username":"carol","password":"password one"})",
            .headers = {{"X-Forwarded-Proto", "https"}, {"Content-Type", "application/json"}}});
  ASSERT_EQ(res.status, 200);
  EXPECT_NE(cookie_of(res).find("; Secure"), std::string::npos);
  EXPECT_NE(cookie_of(res).find("Max-Age=7200"), std::string::npos);

  start({{"WEB_COOKIE_SECURE", "1"}});
  auto res2 = login("carol", "password one");
  ASSERT_EQ(res2.status, 200);
  EXPECT_NE(cookie_of(res2).find("; Secure"), std::string::npos);
}

TEST_P(LoginTest, SetupPasswordBootstrapsTheFirstAdminOnlyOnce) {
  start({{"WEB_AUTH_SETUP_PASSWORD", "setup-secret-1"}});
  auth_->add_user("plain", "plain password", jarvis::Role::User);
  // The setup password does not open an existing account.
  EXPECT_EQ(login("plain", "setup-secret-1").status, 401);
  // A new name with the setup password becomes the first admin.
  auto res = login("root", "setup-secret-1");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(body(res)["role"], "admin");
  EXPECT_EQ(body(res)["bootstrap"], true);
  EXPECT_EQ(count("SELECT COUNT(*) FROM users WHERE role = 'admin'"), 1);
  // Once an admin exists, the setup password creates nobody.
  EXPECT_EQ(login("second", "setup-secret-1").status, 401);
  EXPECT_EQ(count("SELECT COUNT(*) FROM users WHERE username = 'second'"), 0);
  // The admin logs in again with that password (stored as its argon2id hash).
  EXPECT_EQ(login("root", "setup-secret-1").status, 200);
}

TEST_P(LoginTest, NoSetupPasswordMeansNoBootstrap) {
  start();
  EXPECT_EQ(login("root", "anything at all").status, 401);
  EXPECT_EQ(count("SELECT COUNT(*) FROM users"), 0);
  ConfigStore short_pw;
  short_pw.set("WEB_AUTH_SETUP_PASSWORD", "short", ConfigSource::Environment);
  EXPECT_THROW(AuthSettings::from(short_pw), std::runtime_error);
}

TEST_P(LoginTest, RateLimitedPerUsernameWithRetryAfter) {
  start({{"LOGIN_RATE_LIMIT_PER_USERNAME", "2"},
         {"LOGIN_RATE_LIMIT_USERNAME_WINDOW_SECONDS", "600"}});
  auth_->add_user("dave", "dave password", jarvis::Role::User);
  EXPECT_EQ(login("dave", "nope nope").status, 401);
  EXPECT_EQ(login("dave", "nope nope", "10.0.0.2").status, 401);
  auto limited = login("dave", "dave password", "10.0.0.3");  // even the right password
  ASSERT_EQ(limited.status, 429) << limited.body;
  EXPECT_EQ(code(limited), "rate_limited");
  int retry = std::stoi(limited.headers.get("Retry-After").value_or("0"));
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 600);
  // Another username is not affected.
  auth_->add_user("erin", "erin password", jarvis::Role::User);
  EXPECT_EQ(login("erin", "erin password").status, 200);
}

TEST_P(LoginTest, RateLimitedPerAddressAcrossUsernames) {
  start({{"LOGIN_RATE_LIMIT_PER_ADDRESS", "2"}, {"LOGIN_RATE_LIMIT_PER_USERNAME", "0"}});
  EXPECT_EQ(login("u1", "whatever1", "192.0.2.7").status, 401);
  EXPECT_EQ(login("u2", "whatever2", "192.0.2.7").status, 401);
  auto limited = login("u3", "whatever3", "192.0.2.7");
  EXPECT_EQ(limited.status, 429);
  EXPECT_TRUE(limited.headers.has("Retry-After"));
  EXPECT_EQ(login("u4", "whatever4", "192.0.2.8").status, 401);  // another address still answers
}

TEST_P(LoginTest, SuccessfulLoginsDoNotCountAgainstTheLimit) {
  start({{"LOGIN_RATE_LIMIT_PER_USERNAME", "1"}, {"LOGIN_RATE_LIMIT_PER_ADDRESS", "1"}});
  auth_->add_user("frank", "frank password", jarvis::Role::User);
  EXPECT_EQ(login("frank", "frank password").status, 200);
  EXPECT_EQ(login("frank", "frank password").status, 200);
}

TEST_P(LoginTest, ExpiredRevokedAndDisabledCredentialsAreRejected) {
  start();
  std::string token = token_for("gina", jarvis::Role::User);
  EXPECT_EQ(call({.target = "/api/v1/auth/me", .headers = {bearer(token)}}).status, 200);

  // Expired: a token row whose expiry is in the past.
  std::string expired = new_token();
  {
    auto s = db_->session();
    std::string uid = auth_->store().find_by_name("gina")->id, digest = token_digest(expired);
    std::string past = jarvis::iso_from_now(-1000), created = jarvis::iso_from_now(-3600 * 1000);
    *s << "INSERT INTO auth_tokens(id, user_id, token_hash, kind, label, created_at, expires_at) "
          "VALUES('tok_expired', :u, :h, 'session', '', :c, :e)",
        soci::use(uid), soci::use(digest), soci::use(created), soci::use(past);
  }
  auto r = call({.target = "/api/v1/auth/me", .headers = {bearer(expired)}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(code(r), "unauthorized");
  EXPECT_EQ(r.headers.get("WWW-Authenticate").value_or(""), "Bearer realm=\"jarvis\"");

  // Disabled user: every token stops at once; re-enabled: works again.
  auth_->add_user("admin1", "admin password", jarvis::Role::Admin);
  auth_->set_disabled("gina", true);
  EXPECT_EQ(call({.target = "/api/v1/auth/me", .headers = {bearer(token)}}).status, 401);
  EXPECT_EQ(login("gina", "password-gina").status, 403);
  auth_->set_disabled("gina", false);
  EXPECT_EQ(call({.target = "/api/v1/auth/me", .headers = {bearer(token)}}).status, 200);

  // Revoked by id.
  auto id = auth_->store().list_tokens(auth_->store().find_by_name("gina")->id).front().id;
  EXPECT_TRUE(auth_->revoke_token(id));
  EXPECT_EQ(call({.target = "/api/v1/auth/me", .headers = {bearer(token)}}).status, 401);
  EXPECT_FALSE(auth_->revoke_token(id));
}

TEST_P(LoginTest, LastUsedIsRecorded) {
  start();
  std::string token = token_for("hank", jarvis::Role::User);
  EXPECT_EQ(count("SELECT COUNT(*) FROM auth_tokens WHERE last_used_at IS NOT NULL"), 0);
  EXPECT_EQ(call({.target = "/api/v1/auth/me", .headers = {bearer(token)}}).status, 200);
  EXPECT_EQ(count("SELECT COUNT(*) FROM auth_tokens WHERE last_used_at IS NOT NULL"), 1);
}

TEST_P(LoginTest, BadLoginBodiesNameTheField) {
  start();
  struct Case {
    std::string body;
    std::string code;
    std::string mentions;
  };
  std::vector<Case> cases = {
      {"not json", "invalid_json", ""},
      {"[1,2]", "invalid_json", ""},
      {R"({"password":"x"})", "invalid_field", "username"},
      {R"({"username":"a"})", "invalid_field", "password"},
      {R"({"username":5,"password":"x"})", "invalid_field", "username"},
      {R"({"username":"a","password":["x"]})", "invalid_field", "password"},
      {R"({"username":")" + std::string(65, 'a') + R"(","password":"x"})", "invalid_field",
       "username"},
      {R"({"username":"bad name","password":"x"})", "invalid_field", "username"},
      {R"({"username":"ok","password":""})", "invalid_field", "password"},
      {R"({"username":"ok","password":")" + std::string(1025, 'p') + R"("})", "invalid_field",
       "password"},
  };
  for (const auto& c : cases) {
    auto r = call({.method = "POST",
                   .target = "/api/v1/auth/login",
                   .body = c.body,
                   .headers = {{"Content-Type", "application/json"}}});
    EXPECT_EQ(r.status, 400) << c.body;
    EXPECT_EQ(code(r), c.code) << c.body;
    if (!c.mentions.empty()) {
      EXPECT_NE(body(r)["error"]["message"].get<std::string>().find("'" + c.mentions + "'"),
                std::string::npos)
          << r.body;
    }
  }
  // Bad inputs never count as attempts and never create users.
  EXPECT_EQ(count("SELECT COUNT(*) FROM users"), 0);
}

TEST_P(LoginTest, ManagementRulesAndPasswordChange) {
  start();
  auth_->add_user("ivy", "ivy password", jarvis::Role::Admin);
  EXPECT_THROW(auth_->add_user("IVY", "another password", jarvis::Role::User), jarvis::Error);
  try {
    auth_->add_user("jack", "short", jarvis::Role::User);
    FAIL() << "short password accepted";
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.code(), "invalid_field");
    EXPECT_NE(std::string(e.what()).find("'password'"), std::string::npos);
  }
  // The last active admin can neither be demoted nor disabled.
  try {
    auth_->set_role("ivy", jarvis::Role::User);
    FAIL() << "demoted the last admin";
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.code(), "last_admin");
  }
  EXPECT_THROW(auth_->set_disabled("ivy", true), jarvis::Error);
  // A password change revokes login sessions but keeps API tokens.
  auto session = login("ivy", "ivy password");
  ASSERT_EQ(session.status, 200);
  std::string session_token = body(session)["token"];
  std::string api = auth_->create_api_token("ivy", 1, "ci").token;
  auth_->set_password("ivy", "new ivy password");
  EXPECT_EQ(call({.target = "/api/v1/auth/me", .headers = {bearer(session_token)}}).status, 401);
  EXPECT_EQ(call({.target = "/api/v1/auth/me", .headers = {bearer(api)}}).status, 200);
  EXPECT_EQ(login("ivy", "ivy password").status, 401);
  EXPECT_EQ(login("ivy", "new ivy password").status, 200);
}

TEST_P(LoginTest, TokenCacheScopeIsDocumentedBehaviour) {
  // Cache off: a revocation by another process (a second service on the same database) applies
  // to the very next request.
  start({{"WEB_AUTH_CACHE_SECONDS", "0"}});
  std::string token = token_for("kim", jarvis::Role::User);
  EXPECT_EQ(call({.target = "/api/v1/auth/me", .headers = {bearer(token)}}).status, 200);
  AuthService other(*db_, nullptr, AuthSettings{});
  other.logout(token);
  EXPECT_EQ(call({.target = "/api/v1/auth/me", .headers = {bearer(token)}}).status, 401);

  // Cache on: the other process's revocation is seen only after the cache time; this process's
  // own revocations apply at once.
  start({{"WEB_AUTH_CACHE_SECONDS", "300"}});
  std::string t2 = auth_->create_api_token("kim", 1, "two").token;
  EXPECT_EQ(call({.target = "/api/v1/auth/me", .headers = {bearer(t2)}}).status, 200);
  other.logout(t2);
  EXPECT_EQ(call({.target = "/api/v1/auth/me", .headers = {bearer(t2)}}).status, 200);
  std::string t3 = auth_->create_api_token("kim", 1, "three").token;
  EXPECT_EQ(call({.target = "/api/v1/auth/me", .headers = {bearer(t3)}}).status, 200);
  auth_->logout(t3);
  EXPECT_EQ(call({.target = "/api/v1/auth/me", .headers = {bearer(t3)}}).status, 401);
  EXPECT_EQ(call({.target = "/api/v1/auth/me", .headers = {bearer(t2)}}).status,
            401);  // cache cleared
}

INSTANTIATE_TEST_SUITE_P(Backends, LoginTest, testing::Values(Backend::Sqlite, Backend::Postgresql),
                         backend_name);

}  // namespace
}  // namespace jarvis::host::authtest

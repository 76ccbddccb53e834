// tests/auth/cli_test.cpp — `jarvis users …` and `jarvis tokens …` run in-process against a real
// database (the same handlers the `jarvis` binary dispatches to).
#include "auth_fixture.h"

#include <fcntl.h>
#include <unistd.h>

namespace jarvis::host::authtest {
namespace {

class AuthCliTest : public AuthTest {
 protected:
  void SetUp() override {
    AuthTest::SetUp();
    if (HasFatalFailure()) return;
    start();
    register_auth_commands(table_, *auth_);
  }
  int run(const std::string& group, const std::string& name, std::vector<std::string> args,
          const std::string& in = "") {
    return run_command(table_, group, name, std::move(args), in, out_, err_);
  }
  CommandTable table_;
  std::string out_, err_;
};

TEST_P(AuthCliTest, UsersLifecycle) {
  ASSERT_EQ(run("users", "add", {"Root", "--admin", "--password-stdin"}, "root password 1\n"), 0)
      << err_;
  EXPECT_NE(out_.find("created user root"), std::string::npos);
  EXPECT_NE(out_.find("role admin"), std::string::npos);
  ASSERT_EQ(run("users", "add", {"alice", "--password-stdin"}, "alice password\r\n"), 0) << err_;
  EXPECT_EQ(login("alice", "alice password").status, 200);  // CRLF stripped
  EXPECT_EQ(login("root", "root password 1").status, 200);

  // Duplicates and bad input: exit 1 with the code and the field.
  EXPECT_EQ(run("users", "add", {"ALICE", "--password-stdin"}, "another password\n"), 1);
  EXPECT_NE(err_.find("user_exists"), std::string::npos);
  EXPECT_EQ(run("users", "add", {"bob", "--password-stdin"}, "short\n"), 1);
  EXPECT_NE(err_.find("'password'"), std::string::npos);
  EXPECT_EQ(run("users", "add", {"bad name!", "--password-stdin"}, "long enough pw\n"), 1);
  EXPECT_NE(err_.find("'username'"), std::string::npos);
  EXPECT_THROW(run("users", "add", {}), jarvis::UsageError);
  EXPECT_THROW(run("users", "add", {"x", "--bogus"}), jarvis::UsageError);

  ASSERT_EQ(run("users", "list", {"--json"}), 0);
  auto users = jarvis::Json::parse(out_)["items"];
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0]["username"], "root");
  EXPECT_EQ(users[0]["role"], "admin");
  EXPECT_EQ(users[1]["disabled"], false);
  EXPECT_FALSE(users[0].contains("password_hash"));
  ASSERT_EQ(run("users", "list", {}), 0);
  EXPECT_NE(out_.find("alice"), std::string::npos);

  ASSERT_EQ(run("users", "set-role", {"alice", "admin"}), 0) << err_;
  EXPECT_EQ(auth_->store().find_by_name("alice")->role, jarvis::Role::Admin);
  EXPECT_THROW(run("users", "set-role", {"alice", "superuser"}), jarvis::UsageError);
  EXPECT_EQ(run("users", "set-role", {"nobody", "user"}), 1);
  EXPECT_NE(err_.find("user_not_found"), std::string::npos);

  ASSERT_EQ(run("users", "passwd", {"alice", "--password-stdin"}, "alice new password\n"), 0)
      << err_;
  EXPECT_EQ(login("alice", "alice password").status, 401);
  EXPECT_EQ(login("alice", "alice new password").status, 200);

  ASSERT_EQ(run("users", "disable", {"alice"}), 0);
  EXPECT_EQ(login("alice", "alice new password").status, 403);
  ASSERT_EQ(run("users", "enable", {"alice"}), 0);
  EXPECT_EQ(login("alice", "alice new password").status, 200);
  // Demoting then disabling the last admin is refused.
  ASSERT_EQ(run("users", "set-role", {"alice", "user"}), 0);
  EXPECT_EQ(run("users", "disable", {"root"}), 1);
  EXPECT_NE(err_.find("last_admin"), std::string::npos);
}

TEST_P(AuthCliTest, PasswordPromptNeedsATerminal) {
  // The test has no controlling terminal: without --password-stdin the command says what to do.
  int tty = ::open("/dev/tty", O_RDWR | O_NOCTTY);
  if (tty >= 0) {
    ::close(tty);
    GTEST_SKIP() << "running with a terminal";
  }
  EXPECT_EQ(run("users", "add", {"carl"}), 1);
  EXPECT_NE(err_.find("--password-stdin"), std::string::npos);
  EXPECT_FALSE(auth_->store().find_by_name("carl"));
}

TEST_P(AuthCliTest, TokensCreateListRevoke) {
  ASSERT_EQ(run("users", "add", {"bot", "--password-stdin"}, "bot password\n"), 0);
  ASSERT_EQ(run("tokens", "create", {"--user", "bot", "--ttl", "2", "--label", "ci"}), 0) << err_;
  std::string token = out_.substr(0, out_.find('\n'));
  EXPECT_EQ(token.rfind("jvt_", 0), 0u);
  EXPECT_EQ(out_, token + "\n");  // stdout is just the token (for $(...)), details on stderr
  EXPECT_NE(err_.find("shown once"), std::string::npos);
  auto me = call({.target = "/api/v1/auth/me", .headers = {bearer(token)}});
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(body(me)["username"], "bot");

  ASSERT_EQ(run("tokens", "create", {"--user", "bot", "--json"}), 0);
  auto j = jarvis::Json::parse(out_);
  EXPECT_EQ(j["kind"], "api");
  EXPECT_EQ(j["username"], "bot");
  EXPECT_EQ(j["token"].get<std::string>().rfind("jvt_", 0), 0u);
  // Default lifetime: WEB_AUTH_API_TOKEN_TTL_HOURS (2160 h = 90 days).
  EXPECT_GT(j["expires_at"].get<std::string>(), jarvis::iso_from_now(89LL * 24 * 3600 * 1000));
  EXPECT_LT(j["expires_at"].get<std::string>(), jarvis::iso_from_now(91LL * 24 * 3600 * 1000));

  ASSERT_EQ(run("tokens", "list", {"--user", "bot", "--json"}), 0);
  auto tokens = jarvis::Json::parse(out_)["tokens"];
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_FALSE(tokens[0].contains("token"));
  EXPECT_FALSE(tokens[0].contains("token_hash"));
  std::string first_id;
  for (const auto& t : tokens) {
    if (t["label"] == "ci") first_id = t["id"];
  }
  ASSERT_FALSE(first_id.empty());
  ASSERT_EQ(run("tokens", "revoke", {first_id}), 0) << err_;
  EXPECT_EQ(call({.target = "/api/v1/auth/me", .headers = {bearer(token)}}).status, 401);
  EXPECT_EQ(run("tokens", "revoke", {first_id}), 1);
  EXPECT_NE(err_.find("token_not_found"), std::string::npos);
  ASSERT_EQ(run("tokens", "list", {}), 0);
  EXPECT_NE(out_.find("revoked"), std::string::npos);

  EXPECT_THROW(run("tokens", "create", {}), jarvis::UsageError);
  EXPECT_THROW(run("tokens", "create", {"--user", "bot", "--ttl", "0"}), jarvis::UsageError);
  EXPECT_THROW(run("tokens", "create", {"--user", "bot", "--ttl", "abc"}), jarvis::UsageError);
  EXPECT_EQ(run("tokens", "create", {"--user", "ghost"}), 1);
  EXPECT_NE(err_.find("user_not_found"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, AuthCliTest,
                         testing::Values(Backend::Sqlite, Backend::Postgresql), backend_name);

}  // namespace
}  // namespace jarvis::host::authtest

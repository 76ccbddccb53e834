// tests/security/ws_sessions_revocation_test.cpp — issue 8, finding 4 "Sessions that outlive
// revocation", black-box against a real `jarvis serve`: an open /ws subscribed to the user's thread
// is closed with 1008 and a reason after its token is revoked with the CLI (another process), after
// its user is disabled with the CLI, and an admin demoted to user by the CLI loses its socket (it
// held the system channel). The only time limit is a generous wait for the close frame.
#include <gtest/gtest.h>

#include "db/sql_database.h"
#include "support/support.h"
#include "support/ws_client.h"

namespace {

using namespace std::chrono_literals;
using jarvis::test::Backend;
using jarvis::test::WsClient;

class WsSessionsRevocation : public testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    url_ = jarvis::test::fresh_database_url(GetParam(), tmp_);
    ASSERT_FALSE(url_.empty());
    env_ = {{"DATABASE_URL", url_}};
    auto m = jarvis::test::run_jarvis({"migrate"}, tmp_.path(), env_);
    ASSERT_EQ(m.exit_code, 0) << m.err;
  }

  /// The user's thread, registered in thread_owners as a plugin would.
  void own_thread(const std::string& username, const std::string& thread) {
    auto db = jarvis::host::SqlDatabase::open(url_, 1);
    auto s = db->session();
    std::string uid;
    *s << "SELECT id FROM users WHERE username = :u", soci::use(username), soci::into(uid);
    ASSERT_FALSE(uid.empty());
    std::string now = jarvis::now_iso();
    *s << "INSERT INTO thread_owners(thread_id, user_id, component, created_at) "
          "VALUES(:t, :u, 'test', :c)",
        soci::use(thread), soci::use(uid), soci::use(now);
  }

  /// Connects with the bearer token and checks auth.ok.
  void open(WsClient& c, const jarvis::test::ServerProcess& server, const std::string& token) {
    ASSERT_TRUE(
        c.connect(static_cast<uint16_t>(server.port()), {{"Authorization", "Bearer " + token}}))
        << c.error;
    auto hello = c.read();
    ASSERT_TRUE(hello);
    ASSERT_EQ((*hello)["type"], "auth.ok");
  }

  /// Reads until the connection ends (generous limit); the close frame must be 1008.
  static void expect_policy_close(WsClient& c, const std::string& reason_part) {
    // Events may still arrive first; the read after the last one ends with the close frame.
    // (A timed-out read cancels the socket, so one generous read per message.)
    for (int i = 0; i < 1000 && c.read(60s); ++i) {
    }
    EXPECT_EQ(c.close_code, 1008u) << c.ended;
    EXPECT_NE(c.close_reason.find(reason_part), std::string::npos) << c.close_reason;
  }

  std::string token_id_of(const std::string& username) {
    auto r = jarvis::test::run_jarvis({"tokens", "list", "--user", username, "--json"}, tmp_.path(),
                                      env_);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto j = jarvis::Json::parse(r.out, nullptr, false);
    if (!j.is_object() || j["tokens"].empty()) return "";
    return j["tokens"][0].value("id", "");
  }

  jarvis::test::TempDir tmp_;
  std::string url_;
  std::map<std::string, std::string> env_;
};

TEST_P(WsSessionsRevocation, RevokedTokenDisabledUserAndDemotedAdminAreClosedWith1008) {
  std::string alice = jarvis::test::create_user_token(tmp_.path(), env_, "alice", false);
  std::string bob = jarvis::test::create_user_token(tmp_.path(), env_, "bob", false);
  std::string root = jarvis::test::create_user_token(tmp_.path(), env_, "root", true);
  std::string ops = jarvis::test::create_user_token(tmp_.path(), env_, "ops", true);
  ASSERT_FALSE(alice.empty() || bob.empty() || root.empty() || ops.empty());
  own_thread("alice", "thr_alice");
  own_thread("bob", "thr_bob");

  jarvis::test::ServerProcess server(tmp_.path(), env_);
  ASSERT_TRUE(server.ready()) << server.output();

  WsClient a, b, o;
  open(a, server, alice);
  open(b, server, bob);
  open(o, server, ops);
  a.send(R"({"action":"subscribe","thread_id":"thr_alice"})");
  b.send(R"({"action":"subscribe","thread_id":"thr_bob"})");
  o.send(R"({"action":"subscribe_system"})");
  ASSERT_EQ((*a.read())["type"], "subscribed");
  ASSERT_EQ((*b.read())["type"], "subscribed");
  ASSERT_EQ((*o.read())["type"], "subscribed.system");

  // Revoking alice's token from another process (the CLI) closes her socket.
  std::string id = token_id_of("alice");
  ASSERT_FALSE(id.empty());
  auto rv = jarvis::test::run_jarvis({"tokens", "revoke", id}, tmp_.path(), env_);
  ASSERT_EQ(rv.exit_code, 0) << rv.err;
  expect_policy_close(a, "revoked");

  // Disabling bob closes his.
  auto dis = jarvis::test::run_jarvis({"users", "disable", "bob"}, tmp_.path(), env_);
  ASSERT_EQ(dis.exit_code, 0) << dis.err;
  expect_policy_close(b, "disabled");

  // Demoting ops (an admin on the system channel) to user closes its socket too.
  auto role = jarvis::test::run_jarvis({"users", "set-role", "ops", "user"}, tmp_.path(), env_);
  ASSERT_EQ(role.exit_code, 0) << role.err;
  expect_policy_close(o, "role");

  // A valid socket stays open and usable.
  WsClient r;
  open(r, server, root);
  r.send(R"({"action":"subscribe_system"})");
  auto ok = r.read();
  ASSERT_TRUE(ok);
  EXPECT_EQ((*ok)["type"], "subscribed.system");
}

INSTANTIATE_TEST_SUITE_P(Backends, WsSessionsRevocation,
                         testing::Values(Backend::Sqlite, Backend::Postgresql),
                         jarvis::test::backend_name);

}  // namespace

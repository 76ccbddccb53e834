// tests/auth/policy_test.cpp — the deny-by-default policy engine's order (ToolRegistryImpl on a
// real database) and the permissions admin API and CLI that feed it.
#include "auth_fixture.h"

#include "registry/tool_registry.h"

namespace jarvis::host::authtest {
namespace {

class PolicyTest : public AuthTest {
 protected:
  void SetUp() override {
    AuthTest::SetUp();
    if (HasFatalFailure()) return;
    tools_ = std::make_unique<ToolRegistryImpl>(db_.get(), policies_, events_.get());
    tools_->add(Owner{"demo"}, jarvis::ToolSpec{.name = "demo.echo",
                                                .description = "echo",
                                                .handler = [this](const jarvis::ToolCall& c) {
                                                  ++runs_;
                                                  return jarvis::Json{{"echo", c.args}};
                                                }});
    tools_->add(Owner{"demo"}, jarvis::ToolSpec{.name = "demo.shell",
                                                .description = "protected",
                                                .is_protected = true,
                                                .handler = [this](const jarvis::ToolCall&) {
                                                  ++runs_;
                                                  return jarvis::Json{{"ran", true}};
                                                }});
  }
  void allow(const std::string& p, const std::string& t, const std::string& effect = "allow") {
    PermissionStore(*db_, nullptr).put(p, t, effect, "test");
  }
  // A direct (agent-less) caller whose permission key is `id`.
  static jarvis::Principal as_user(const std::string& id) {
    return jarvis::Principal{id, id, jarvis::Role::User, true};
  }
  jarvis::ToolResult invoke(const std::string& principal, const std::string& tool) {
    return tools_->invoke(jarvis::ToolCall{.caller = as_user(principal),
                                           .tool = tool,
                                           .args = {{"x", 1}},
                                           .thread_id = "thr_1",
                                           .trace_id = "trc_policy"});
  }
  /// The payloads of policy.decision events, oldest first.
  std::vector<jarvis::Json> decisions() {
    auto s = db_->session();
    std::vector<jarvis::Json> out;
    std::string payload;
    std::string order = db_->dialect() == jarvis::Dialect::Sqlite ? "rowid" : "seq";
    soci::statement st = (s->prepare << "SELECT payload FROM events WHERE type = 'policy.decision' "
                                        "ORDER BY created_at, " +
                                            order,
                          soci::into(payload));
    st.execute(false);
    while (st.fetch()) out.push_back(jarvis::Json::parse(payload));
    return out;
  }

  PolicyRegistryImpl policies_;
  std::unique_ptr<ToolRegistryImpl> tools_;
  int runs_ = 0;
  bool lockdown_ = false;
  bool restarting_ = false;
};

TEST_P(PolicyTest, DenyByDefaultInOrder) {
  tools_->set_system_flags(SystemFlags{.lockdown = [this] { return lockdown_; },
                                       .restarting = [this] { return restarting_; }});
  // 1. Unknown tool, even for an allowed principal.
  allow("agent:main", "demo.missing");
  EXPECT_EQ(invoke("agent:main", "demo.missing").reason, "unknown_tool");
  // 2. No permission row → deny.
  EXPECT_EQ(invoke("agent:main", "demo.echo").reason, "no_permission");
  // An explicit deny row is also a deny (only allow rows allow).
  allow("agent:main", "demo.echo", "deny");
  EXPECT_EQ(invoke("agent:main", "demo.echo").reason, "no_permission");
  allow("agent:main", "demo.echo");
  auto ok = invoke("agent:main", "demo.echo");
  EXPECT_TRUE(ok.allowed);
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ok.result["echo"]["x"], 1);
  // Permissions are per principal.
  EXPECT_EQ(invoke("agent:other", "demo.echo").reason, "no_permission");
  // 3. Lockdown denies protected tools only (before the permission check).
  allow("agent:main", "demo.shell");
  lockdown_ = true;
  EXPECT_EQ(invoke("agent:main", "demo.shell").reason, "lockdown");
  EXPECT_TRUE(invoke("agent:main", "demo.echo").allowed);
  lockdown_ = false;
  EXPECT_TRUE(invoke("agent:main", "demo.shell").allowed);
  // 4. Restarting denies everything known (before lockdown and permissions).
  restarting_ = true;
  lockdown_ = true;
  EXPECT_EQ(invoke("agent:main", "demo.shell").reason, "restarting");
  EXPECT_EQ(invoke("agent:main", "demo.echo").reason, "restarting");
  EXPECT_EQ(invoke("agent:main", "demo.nothing").reason, "unknown_tool");
  restarting_ = lockdown_ = false;
  EXPECT_EQ(runs_, 3);  // denied calls never reach the handler
}

TEST_P(PolicyTest, PluginPoliciesRunInOrderAndAnyDenyWins) {
  allow("agent:main", "demo.echo");
  std::vector<std::string> order;
  policies_.add(Owner{"p1"}, "first", [&](const jarvis::ToolCall&) {
    order.push_back("first");
    return jarvis::PolicyDecision{true, "ok"};
  });
  policies_.add(Owner{"p2"}, "second", [&](const jarvis::ToolCall& c) {
    order.push_back("second");
    if (c.args.contains("deny")) return jarvis::PolicyDecision{false, "second_says_no"};
    return jarvis::PolicyDecision{true, "ok"};
  });
  policies_.add(Owner{"p3"}, "third", [&](const jarvis::ToolCall&) {
    order.push_back("third");
    return jarvis::PolicyDecision{true, "ok"};
  });
  EXPECT_TRUE(invoke("agent:main", "demo.echo").allowed);
  EXPECT_EQ(order, (std::vector<std::string>{"first", "second", "third"}));
  order.clear();
  auto denied = tools_->invoke(jarvis::ToolCall{
      .caller = as_user("agent:main"), .tool = "demo.echo", .args = {{"deny", true}}});
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.reason, "second_says_no");
  EXPECT_EQ(order, (std::vector<std::string>{"first", "second"}));  // later policies not consulted
  // No permission → plugin policies are not even asked.
  order.clear();
  EXPECT_EQ(invoke("agent:x", "demo.echo").reason, "no_permission");
  EXPECT_TRUE(order.empty());
  // A duplicate policy name is refused.
  EXPECT_THROW(policies_.add(Owner{"p4"}, "first",
                             [](const jarvis::ToolCall&) {
                               return jarvis::PolicyDecision{true, ""};
                             }),
               jarvis::Error);
}

TEST_P(PolicyTest, ThrowingPolicyDeniesAndDecisionsAreEvents) {
  allow("agent:main", "demo.echo");
  policies_.add(Owner{"bad"}, "explodes", [](const jarvis::ToolCall&) -> jarvis::PolicyDecision {
    throw std::runtime_error("policy bug");
  });
  auto r = invoke("agent:main", "demo.echo");
  EXPECT_FALSE(r.allowed);
  EXPECT_EQ(r.reason, "policy_error:explodes");
  EXPECT_EQ(runs_, 0);
  policies_.remove_owner("bad");
  EXPECT_TRUE(invoke("agent:main", "demo.echo").allowed);
  EXPECT_EQ(invoke("agent:main", "demo.none").reason, "unknown_tool");

  auto d = decisions();
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0], (jarvis::Json{{"tool", "demo.echo"},
                                {"principal", "agent:main"},
                                {"allowed", false},
                                {"reason", "policy_error:explodes"}}));
  EXPECT_EQ(d[1]["allowed"], true);
  EXPECT_EQ(d[2]["reason"], "unknown_tool");
  // Decisions carry the call's thread and trace.
  EXPECT_EQ(
      count("SELECT COUNT(*) FROM events WHERE type = 'policy.decision' AND thread_id = 'thr_1' "
            "AND trace_id = 'trc_policy'"),
      3);
}

TEST_P(PolicyTest, PermissionsApi) {
  start();
  std::string admin = token_for("admin1", jarvis::Role::Admin);
  std::string user = token_for("user1", jarvis::Role::User);
  auto put = [&](const std::string& target, const std::string& body, const std::string& tok) {
    return call({.method = "PUT", .target = target, .body = body, .headers = {bearer(tok)}});
  };
  // Admin only.
  EXPECT_EQ(put("/api/v1/permissions/agent:main/demo.echo", "", user).status, 403);
  EXPECT_EQ(call({.target = "/api/v1/permissions"}).status, 401);
  // Default effect allow; the engine now allows.
  auto r = put("/api/v1/permissions/agent:main/demo.echo", "", admin);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body(r)["effect"], "allow");
  EXPECT_TRUE(invoke("agent:main", "demo.echo").allowed);
  // Explicit deny replaces it.
  r = put("/api/v1/permissions/agent:main/demo.echo", R"({"effect":"deny"})", admin);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body(r)["effect"], "deny");
  EXPECT_EQ(invoke("agent:main", "demo.echo").reason, "no_permission");
  put("/api/v1/permissions/usr_1/demo.shell", R"({"effect":"allow"})", admin);
  // List, filtered.
  auto list = call({.target = "/api/v1/permissions", .headers = {bearer(admin)}});
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(body(list)["items"].size(), 2u);
  auto filtered =
      call({.target = "/api/v1/permissions?principal=usr_1", .headers = {bearer(admin)}});
  ASSERT_EQ(body(filtered)["items"].size(), 1u);
  EXPECT_EQ(body(filtered)["items"][0]["tool"], "demo.shell");
  // Bad inputs name the field.
  auto bad = put("/api/v1/permissions/agent:main/demo.echo", R"({"effect":"maybe"})", admin);
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(body(bad)["error"]["message"].get<std::string>().find("'effect'"), std::string::npos);
  EXPECT_EQ(code(put("/api/v1/permissions/agent:main/demo.echo", R"({"effect":1})", admin)),
            "invalid_field");
  EXPECT_EQ(code(put("/api/v1/permissions/agent:main/demo.echo", "{oops", admin)), "invalid_json");
  auto long_name = put("/api/v1/permissions/" + std::string(129, 'p') + "/demo.echo", "", admin);
  EXPECT_EQ(long_name.status, 400);
  EXPECT_NE(body(long_name)["error"]["message"].get<std::string>().find("'principal'"),
            std::string::npos);
  EXPECT_EQ(put("/api/v1/permissions/a%20b/demo.echo", "", admin).status, 400);
  // Delete.
  EXPECT_EQ(call({.method = "DELETE",
                  .target = "/api/v1/permissions/usr_1/demo.shell",
                  .headers = {bearer(admin)}})
                .status,
            204);
  auto gone = call({.method = "DELETE",
                    .target = "/api/v1/permissions/usr_1/demo.shell",
                    .headers = {bearer(admin)}});
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(code(gone), "permission_not_found");
  // Changes are audited with the acting admin.
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE type = 'permission.changed'"), 3);
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE type = 'permission.removed'"), 1);
}

TEST_P(PolicyTest, PermissionsCli) {
  CommandTable table;
  register_permission_commands(table, *db_, events_.get());
  std::string out, err;
  EXPECT_EQ(run_command(table, "permissions", "allow", {"agent:main", "demo.echo"}, "", out, err),
            0)
      << err;
  EXPECT_TRUE(invoke("agent:main", "demo.echo").allowed);
  EXPECT_EQ(run_command(table, "permissions", "deny", {"agent:main", "demo.echo"}, "", out, err),
            0);
  EXPECT_EQ(invoke("agent:main", "demo.echo").reason, "no_permission");
  EXPECT_EQ(run_command(table, "permissions", "list", {"--json"}, "", out, err), 0);
  auto j = jarvis::Json::parse(out);
  ASSERT_EQ(j["items"].size(), 1u);
  EXPECT_EQ(j["items"][0]["effect"], "deny");
  EXPECT_EQ(run_command(table, "permissions", "list", {}, "", out, err), 0);
  EXPECT_NE(out.find("agent:main"), std::string::npos);
  EXPECT_EQ(run_command(table, "permissions", "remove", {"agent:main", "demo.echo"}, "", out, err),
            0);
  EXPECT_EQ(run_command(table, "permissions", "remove", {"agent:main", "demo.echo"}, "", out, err),
            1);
  EXPECT_NE(err.find("permission_not_found"), std::string::npos);
  EXPECT_EQ(run_command(table, "permissions", "allow", {"bad name", "t"}, "", out, err), 1);
  EXPECT_NE(err.find("'principal'"), std::string::npos);
  EXPECT_THROW(run_command(table, "permissions", "allow", {"only-one"}, "", out, err),
               jarvis::UsageError);
}

INSTANTIATE_TEST_SUITE_P(Backends, PolicyTest,
                         testing::Values(Backend::Sqlite, Backend::Postgresql), backend_name);

}  // namespace
}  // namespace jarvis::host::authtest

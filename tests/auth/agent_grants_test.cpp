// tests/auth/agent_grants_test.cpp — ToolRegistry::grant_agent_tools (SDK 1.1): a plugin turns
// its agents' allowed tools into allow rows of tool_permissions, declaratively and only its own;
// admin rows (API/CLI) are never touched and an admin deny always wins. Real SQLite and
// PostgreSQL, the real policy engine, the permissions API and CLI.
#include "auth_fixture.h"

#include "registry/tool_registry.h"

namespace jarvis::host::authtest {
namespace {

class AgentGrantTest : public AuthTest {
 protected:
  void SetUp() override {
    AuthTest::SetUp();
    if (HasFatalFailure()) return;
    tools_ = std::make_unique<ToolRegistryImpl>(db_.get(), policies_, events_.get());
    for (const char* name : {"demo.a", "demo.b", "demo.c"}) {
      tools_->add(Owner{"demo"}, jarvis::ToolSpec{.name = name,
                                                  .description = "test tool",
                                                  .handler = [](const jarvis::ToolCall&) {
                                                    return jarvis::Json{{"ran", true}};
                                                  }});
    }
  }
  void grant(const std::string& plugin, const std::string& agent,
             const std::vector<std::string>& tools) {
    tools_->grant_agent_tools(Owner{plugin}, agent, tools);
  }
  // `tool` called by agent `agent` on a signed-in user's behalf: the policy's reason.
  std::string call(const std::string& agent, const std::string& tool) {
    jarvis::ToolCall c;
    c.caller = jarvis::Principal{"usr_1", "ada", jarvis::Role::User, true};
    c.agent_id = agent;
    c.tool = tool;
    return tools_->invoke(c).reason;
  }
  // tool -> "effect granted_by" of the agent's rows.
  std::map<std::string, std::string> rows(const std::string& agent) {
    std::map<std::string, std::string> out;
    for (const auto& r : PermissionStore(*db_, nullptr).list(agent)) {
      out[r.tool] = r.effect + " " + r.granted_by;
    }
    return out;
  }
  void admin(const std::string& agent, const std::string& tool, const std::string& effect) {
    PermissionStore(*db_, events_.get()).put(agent, tool, effect, "usr_admin");
  }

  PolicyRegistryImpl policies_;
  std::unique_ptr<ToolRegistryImpl> tools_;
};

TEST_P(AgentGrantTest, GrantAllowsExactlyTheListedTools) {
  EXPECT_EQ(call("agent:main", "demo.a"), "no_permission");
  grant("chat", "agent:main", {"demo.a", "demo.b", "demo.a"});  // duplicates are one row
  EXPECT_EQ(call("agent:main", "demo.a"), "allowed");
  EXPECT_EQ(call("agent:main", "demo.b"), "allowed");
  EXPECT_EQ(call("agent:main", "demo.c"), "no_permission");
  EXPECT_EQ(call("agent:other", "demo.a"), "no_permission") << "per agent";
  EXPECT_EQ(rows("agent:main"),
            (std::map<std::string, std::string>{{"demo.a", "allow plugin:chat"},
                                                {"demo.b", "allow plugin:chat"}}));
  // Audited once per changed row, attributed to the plugin.
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE type = 'permission.changed' AND "
                  "actor_type = 'plugin' AND actor_id = 'chat'"),
            2);
  // The same grant again changes nothing (and emits nothing).
  grant("chat", "agent:main", {"demo.b", "demo.a"});
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE type LIKE 'permission.%'"), 2);
}

TEST_P(AgentGrantTest, ReGrantWithFewerToolsRemovesThePluginsOwnRows) {
  grant("chat", "agent:main", {"demo.a", "demo.b", "demo.c"});
  grant("chat", "agent:main", {"demo.b"});
  EXPECT_EQ(rows("agent:main"),
            (std::map<std::string, std::string>{{"demo.b", "allow plugin:chat"}}));
  EXPECT_EQ(call("agent:main", "demo.a"), "no_permission");
  EXPECT_EQ(call("agent:main", "demo.b"), "allowed");
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE type = 'permission.removed' AND "
                  "actor_id = 'chat'"),
            2);
  grant("chat", "agent:main", {});  // an agent with no tools
  EXPECT_TRUE(rows("agent:main").empty());
}

TEST_P(AgentGrantTest, AnAdminDenyAlwaysWins) {
  grant("chat", "agent:main", {"demo.a"});
  ASSERT_EQ(call("agent:main", "demo.a"), "allowed");
  admin("agent:main", "demo.a", "deny");  // takes the plugin's row over
  EXPECT_EQ(call("agent:main", "demo.a"), "no_permission");
  EXPECT_EQ(rows("agent:main")["demo.a"], "deny admin");
  // The plugin grants again (every start-up): the deny stays, and is not removed when the plugin
  // stops listing the tool either.
  grant("chat", "agent:main", {"demo.a", "demo.b"});
  EXPECT_EQ(call("agent:main", "demo.a"), "no_permission");
  EXPECT_EQ(rows("agent:main")["demo.a"], "deny admin");
  grant("chat", "agent:main", {"demo.b"});
  EXPECT_EQ(rows("agent:main")["demo.a"], "deny admin");
  // A deny set before the plugin's first grant wins the same way.
  admin("agent:new", "demo.c", "deny");
  grant("chat", "agent:new", {"demo.c"});
  EXPECT_EQ(call("agent:new", "demo.c"), "no_permission");
}

TEST_P(AgentGrantTest, AdminAllowRowsAndOtherPluginsRowsAreUntouched) {
  admin("agent:main", "demo.a", "allow");
  grant("other", "agent:main", {"demo.c"});
  grant("chat", "agent:main", {"demo.a", "demo.b"});  // demo.a: already the admin's
  EXPECT_EQ(rows("agent:main"),
            (std::map<std::string, std::string>{{"demo.a", "allow admin"},
                                                {"demo.b", "allow plugin:chat"},
                                                {"demo.c", "allow plugin:other"}}));
  grant("chat", "agent:main", {});  // chat removes only its own row
  EXPECT_EQ(rows("agent:main"), (std::map<std::string, std::string>{
                                    {"demo.a", "allow admin"}, {"demo.c", "allow plugin:other"}}));
  EXPECT_EQ(call("agent:main", "demo.a"), "allowed");
  EXPECT_EQ(call("agent:main", "demo.c"), "allowed");
}

TEST_P(AgentGrantTest, APluginGrantsOnlyAgents) {
  for (const char* who : {"usr_1", "system", "agent:", "Agent:main", "admin"}) {
    try {
      grant("chat", who, {"demo.a"});
      ADD_FAILURE() << "granted " << who;
    } catch (const jarvis::Error& e) {
      EXPECT_EQ(e.status(), 403) << who;
      EXPECT_EQ(e.code(), "grant_forbidden") << who;
    }
  }
  try {
    grant("chat", "agent:main", {"demo.a", "bad tool"});
    ADD_FAILURE() << "a malformed tool name was granted";
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.code(), "invalid_field");
  }
  std::vector<std::string> many(PermissionStore::kMaxAgentGrantTools + 1, "demo.a");
  EXPECT_THROW(grant("chat", "agent:main", many), jarvis::Error);
  EXPECT_EQ(count("SELECT COUNT(*) FROM tool_permissions"), 0) << "a refused grant writes nothing";
}

TEST_P(AgentGrantTest, ListingsShowWhoGranted) {
  grant("chat", "agent:main", {"demo.a"});
  admin("agent:main", "demo.b", "deny");
  start();
  std::string root = token_for("root", jarvis::Role::Admin);
  auto r = AuthTest::call(
      {.target = "/api/v1/permissions?principal=agent:main", .headers = {bearer(root)}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto items = body(r)["items"];
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0]["tool"], "demo.a");
  EXPECT_EQ(items[0]["granted_by"], "plugin:chat");
  EXPECT_EQ(items[1]["granted_by"], "admin");
  CommandTable table;
  register_permission_commands(table, *db_, events_.get());
  std::string out, err;
  ASSERT_EQ(run_command(table, "permissions", "list", {}, "", out, err), 0) << err;
  EXPECT_NE(out.find("GRANTED BY"), std::string::npos) << out;
  EXPECT_NE(out.find("plugin:chat"), std::string::npos) << out;
  ASSERT_EQ(run_command(table, "permissions", "list", {"--json"}, "", out, err), 0) << err;
  EXPECT_EQ(jarvis::Json::parse(out)["items"][0]["granted_by"], "plugin:chat");
}

INSTANTIATE_TEST_SUITE_P(Backends, AgentGrantTest,
                         testing::Values(Backend::Sqlite, Backend::Postgresql), backend_name);

}  // namespace
}  // namespace jarvis::host::authtest

// tests/registry/tool_validation_test.cpp — ToolRegistryImpl with argument validation and callers
// (decision 0017): schemas refused at registration naming the tool, invalid arguments refused with
// a JSON Pointer before the policy engine and the handler, deep arguments, the permission key of an
// agent acting on a user's behalf, and the admin routes and CLI commands that invoke tools from
// outside.
#include "auth/auth_fixture.h"
#include "registry/tool_registry.h"
#include "registry/tool_routes.h"

namespace jarvis::host::authtest {
namespace {

using jarvis::Json;

const Json kSearchSchema = {
    {"type", "object"},
    {"properties",
     {{"query", {{"type", "string"}, {"minLength", 1}, {"maxLength", 20}}},
      {"limit", {{"type", "integer"}, {"minimum", 1}, {"maximum", 50}}},
      {"mode", {{"enum", {"fast", "full"}}}},
      {"tags", {{"type", "array"}, {"items", {{"type", "string"}}}, {"maxItems", 3}}},
      {"items",
       {{"type", "array"},
        {"items",
         {{"type", "object"},
          {"properties", {{"name", {{"type", "string"}}}}},
          {"required", {"name"}}}}}}}},
    {"required", {"query"}},
    {"additionalProperties", false}};

jarvis::Principal user_principal(const std::string& id, jarvis::Role role = jarvis::Role::User) {
  return jarvis::Principal{id, id, role, true};
}

class ToolValidationTest : public AuthTest {
 protected:
  void SetUp() override {
    AuthTest::SetUp();
    if (HasFatalFailure()) return;
    tools_ = std::make_unique<ToolRegistryImpl>(db_.get(), policies_, events_.get());
    tools_->add(
        Owner{"demo"},
        jarvis::ToolSpec{
            .name = "demo.search",
            .description = "search",
            .parameters = kSearchSchema,
            .handler = [this](const jarvis::ToolCall& c) {
              ++runs_;
              return Json{{"caller", c.caller.user_id}, {"agent", c.agent_id}, {"args", c.args}};
            }});
    tools_->add(Owner{"demo"}, jarvis::ToolSpec{.name = "demo.fail",
                                                .description = "always fails",
                                                .handler = [](const jarvis::ToolCall&) -> Json {
                                                  throw jarvis::Error(409, "busy", "try later");
                                                }});
  }
  void allow(const std::string& p, const std::string& t) {
    PermissionStore(*db_, nullptr).put(p, t, "allow", "test");
  }
  jarvis::ToolResult search(const Json& args, const std::string& caller = "usr_a") {
    return tools_->invoke({.caller = user_principal(caller), .tool = "demo.search", .args = args});
  }
  std::string path_of(const jarvis::ToolResult& r) {
    return r.result["error"].value("path", "<none>");
  }
  /// Wires the tool routes into the in-process pipeline.
  void start_routes() {
    start();
    register_tool_routes(*router_, *tools_, *db_);
  }

  PolicyRegistryImpl policies_;
  std::unique_ptr<ToolRegistryImpl> tools_;
  int runs_ = 0;
};

TEST_P(ToolValidationTest, SchemaIsCheckedAtRegistrationNamingTheTool) {
  auto add = [&](const std::string& name, const Json& schema) -> std::string {
    try {
      tools_->add(Owner{"plug"},
                  jarvis::ToolSpec{.name = name,
                                   .parameters = schema,
                                   .handler = [](const jarvis::ToolCall&) { return Json(); }});
      return "";
    } catch (const jarvis::Error& e) {
      EXPECT_EQ(e.status(), 400);
      EXPECT_EQ(e.code(), "invalid_tool_schema");
      return e.what();
    }
  };
  EXPECT_EQ(add("plug.ok", {{"type", "object"}, {"properties", {{"a", {{"type", "string"}}}}}}),
            "");
  std::string bad = add("plug.pattern", {{"properties", {{"a", {{"pattern", "^x"}}}}}});
  EXPECT_NE(bad.find("tool 'plug.pattern'"), std::string::npos) << bad;
  EXPECT_NE(bad.find("/properties/a/pattern: unsupported keyword 'pattern'"), std::string::npos)
      << bad;
  bad = add("plug.type", {{"type", "dict"}});
  EXPECT_NE(bad.find("/type: unknown type 'dict'"), std::string::npos) << bad;
  bad = add("plug.notobject", Json::array());
  EXPECT_NE(bad.find("tool 'plug.notobject'"), std::string::npos) << bad;
  Json deep = true;
  for (int i = 0; i < 40; ++i) deep = Json{{"properties", {{"a", deep}}}};
  bad = add("plug.deep", deep);
  EXPECT_NE(bad.find("deeper than 64"), std::string::npos) << bad;
  // Refused tools are not registered.
  EXPECT_FALSE(tools_->find("plug.pattern"));
  EXPECT_TRUE(tools_->find("plug.ok"));
}

TEST_P(ToolValidationTest, InvalidArgumentsNeverReachPoliciesOrTheHandler) {
  allow("usr_a", "demo.search");
  int policy_calls = 0;
  policies_.add(Owner{"p"}, "counter", [&](const jarvis::ToolCall&) {
    ++policy_calls;
    return jarvis::PolicyDecision{true, "ok"};
  });
  struct Case {
    Json args;
    std::string path;
    std::string message;
  };
  std::vector<Case> cases = {
      {Json::object(), "/query", "is required"},
      {Json::array(), "", "must be an object (got array)"},
      {{{"query", 5}}, "/query", "must be a string (got integer)"},
      {{{"query", ""}}, "/query", "at least 1 characters"},
      {{{"query", std::string(21, 'q')}}, "/query", "at most 20 characters"},
      {{{"query", "q"}, {"limit", 0}}, "/limit", "must be >= 1"},
      {{{"query", "q"}, {"limit", 51}}, "/limit", "must be <= 50"},
      {{{"query", "q"}, {"limit", 2.5}}, "/limit", "must be an integer (got number)"},
      {{{"query", "q"}, {"mode", "slow"}}, "/mode", "must be one of [\"fast\",\"full\"]"},
      {{{"query", "q"}, {"tags", {"a", 1}}}, "/tags/1", "must be a string"},
      {{{"query", "q"}, {"tags", {"a", "b", "c", "d"}}}, "/tags", "at most 3 items"},
      {{{"query", "q"}, {"items", {{{"name", "x"}}, {{"name", "y"}}, {{"name", 3}}}}},
       "/items/2/name",
       "must be a string"},
      {{{"query", "q"}, {"items", {Json::object()}}}, "/items/0/name", "is required"},
      {{{"query", "q"}, {"extra", true}}, "/extra", "is not an allowed property"},
  };
  for (const auto& c : cases) {
    auto r = search(c.args);
    EXPECT_FALSE(r.allowed) << c.args.dump();
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "invalid_args") << c.args.dump();
    EXPECT_EQ(r.result["error"]["code"], "invalid_args");
    EXPECT_EQ(path_of(r), c.path) << c.args.dump();
    std::string msg = r.result["error"].value("message", "");
    EXPECT_NE(msg.find(c.message), std::string::npos) << c.args.dump() << ": " << msg;
    EXPECT_NE(msg.find("tool 'demo.search'"), std::string::npos) << msg;
  }
  EXPECT_EQ(runs_, 0);
  EXPECT_EQ(policy_calls, 0);
  // Each refusal is a recorded decision.
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE type = 'policy.decision'"),
            static_cast<int>(cases.size()));
  // Valid arguments pass (1.0 is an integer).
  auto ok =
      search({{"query", "q"}, {"limit", 1.0}, {"mode", "full"}, {"items", {{{"name", "x"}}}}});
  EXPECT_TRUE(ok.ok) << ok.result.dump();
  EXPECT_EQ(runs_, 1);
  EXPECT_EQ(policy_calls, 1);
}

TEST_P(ToolValidationTest, DeepArgumentsAreRefusedBeforeAnything) {
  allow("usr_a", "demo.search");
  Json deep = 1;
  for (int i = 0; i < 70; ++i) deep = Json{{"a", deep}};
  auto r = search({{"query", "q"}, {"extra", deep}});
  EXPECT_EQ(r.reason, "json_too_deep");
  EXPECT_EQ(runs_, 0);
  // 60 levels inside a property the schema does not constrain: valid shape, refused by
  // additionalProperties, not by depth.
  Json fine = 1;
  for (int i = 0; i < 60; ++i) fine = Json{{"a", fine}};
  EXPECT_EQ(search({{"query", "q"}, {"extra", fine}}).reason, "invalid_args");
}

TEST_P(ToolValidationTest, UnknownToolAndInvalidArgsOrder) {
  // An unknown tool is unknown, whatever its arguments.
  auto r = tools_->invoke({.caller = user_principal("usr_a"), .tool = "demo.none"});
  EXPECT_EQ(r.reason, "unknown_tool");
  // Invalid arguments are refused even without a permission (the shape is not a secret), and a
  // valid call without permission is denied.
  EXPECT_EQ(search(Json::object()).reason, "invalid_args");
  EXPECT_EQ(search({{"query", "q"}}).reason, "no_permission");
  EXPECT_EQ(runs_, 0);
}

TEST_P(ToolValidationTest, AgentOnBehalfOfUserIsCheckedAgainstTheAgent) {
  jarvis::Principal alice = user_principal("usr_alice");
  jarvis::ToolCall call{.caller = alice,
                        .agent_id = "agent:main",
                        .tool = "demo.search",
                        .args = {{"query", "q"}},
                        .thread_id = "thr_9"};
  EXPECT_EQ(call.permission_principal(), "agent:main");
  // The user's own permission does not let an agent call for them …
  allow("usr_alice", "demo.search");
  EXPECT_EQ(tools_->invoke(call).reason, "no_permission");
  // … the agent's does, and the tool sees whose data it acts on.
  allow("agent:main", "demo.search");
  auto r = tools_->invoke(call);
  ASSERT_TRUE(r.ok) << r.result.dump();
  EXPECT_EQ(r.result["caller"], "usr_alice");
  EXPECT_EQ(r.result["agent"], "agent:main");
  // Another agent has no permission; the agent's permission does not extend to direct calls.
  call.agent_id = "agent:other";
  EXPECT_EQ(tools_->invoke(call).reason, "no_permission");
  EXPECT_EQ(search({{"query", "q"}}, "usr_bob").reason, "no_permission");
  // Every call is for someone: an anonymous caller is denied even through an allowed agent.
  call.agent_id = "agent:main";
  call.caller = jarvis::Principal{};
  EXPECT_EQ(tools_->invoke(call).reason, "unauthenticated");
  // The decision names the agent as principal and the user it acted for.
  auto s = db_->session();
  std::string payload;
  *s << "SELECT payload FROM events WHERE type = 'policy.decision' AND thread_id = 'thr_9' AND "
        "payload LIKE '%\"allowed\":true%'",
      soci::into(payload);
  Json p = Json::parse(payload);
  EXPECT_EQ(p["principal"], "agent:main");
  EXPECT_EQ(p["on_behalf_of"], "usr_alice");
}

TEST_P(ToolValidationTest, PoliciesSeeTheAgentAndTheUser) {
  allow("agent:main", "demo.search");
  // A plugin policy that keeps an agent's tool from a user: the mechanism for per-user limits.
  policies_.add(Owner{"p"}, "no_bob", [](const jarvis::ToolCall& c) {
    if (!c.agent_id.empty() && c.caller.user_id == "usr_bob") {
      return jarvis::PolicyDecision{false, "bob_blocked"};
    }
    return jarvis::PolicyDecision{true, "ok"};
  });
  jarvis::ToolCall call{.caller = user_principal("usr_alice"),
                        .agent_id = "agent:main",
                        .tool = "demo.search",
                        .args = {{"query", "q"}}};
  EXPECT_TRUE(tools_->invoke(call).ok);
  call.caller = user_principal("usr_bob");
  EXPECT_EQ(tools_->invoke(call).reason, "bob_blocked");
}

TEST_P(ToolValidationTest, AdminRoutes) {
  start_routes();
  std::string admin = token_for("root", jarvis::Role::Admin);
  std::string user = token_for("alice", jarvis::Role::User);
  auto post = [&](const std::string& target, const std::string& b, const std::string& tok) {
    std::vector<std::pair<std::string, std::string>> h = {{"Content-Type", "application/json"}};
    if (!tok.empty()) h.push_back(bearer(tok));
    return call({.method = "POST", .target = target, .body = b, .headers = h});
  };
  // Listing: admin only.
  EXPECT_EQ(call({.target = "/api/v1/tools"}).status, 401);
  EXPECT_EQ(call({.target = "/api/v1/tools", .headers = {bearer(user)}}).status, 403);
  auto list = call({.target = "/api/v1/tools", .headers = {bearer(admin)}});
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(body(list)["total"], 2);
  EXPECT_EQ(body(list)["items"][1]["name"], "demo.search");
  EXPECT_EQ(body(list)["items"][1]["parameters"], kSearchSchema);
  EXPECT_EQ(body(list)["items"][1]["owner"], "demo");
  EXPECT_EQ(body(list)["has_more"], false);
  auto page = call({.target = "/api/v1/tools?limit=1&offset=1", .headers = {bearer(admin)}});
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(body(page)["items"].size(), 1u);
  EXPECT_EQ(body(page)["items"][0]["name"], "demo.search");
  EXPECT_EQ(body(page)["total"], 2);
  EXPECT_EQ(call({.target = "/api/v1/tools?limit=0", .headers = {bearer(admin)}}).status, 400);

  const std::string url = "/api/v1/tools/demo.search/invoke";
  EXPECT_EQ(post(url, R"({"args":{"query":"q"}})", "").status, 401);
  EXPECT_EQ(code(post(url, R"({"args":{"query":"q"}})", user)), "forbidden");
  // Unknown tool, bad JSON, bad body shape.
  auto missing = post("/api/v1/tools/demo.none/invoke", "{}", admin);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(code(missing), "tool_not_found");
  auto bad_json = post(url, "{oops", admin);
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(code(bad_json), "invalid_json");
  EXPECT_EQ(code(post(url, "[]", admin)), "invalid_json");  // the body must be an object
  EXPECT_EQ(code(post(url, R"({"argz":{}})", admin)), "invalid_field");
  EXPECT_EQ(code(post(url, R"({"args":{"query":"q"},"as":7})", admin)), "invalid_field");
  // Invalid arguments: 422 with the path, and the ToolResult shape.
  auto invalid = post(url, R"({"args":{"query":"q","items":[{"name":1}]}})", admin);
  ASSERT_EQ(invalid.status, 422) << invalid.body;
  EXPECT_EQ(code(invalid), "invalid_args");
  EXPECT_EQ(body(invalid)["error"]["path"], "/items/0/name");
  EXPECT_FALSE(body(invalid)["error"]["request_id"].get<std::string>().empty());
  EXPECT_EQ(body(invalid)["reason"], "invalid_args");
  EXPECT_EQ(body(invalid)["ok"], false);
  // Valid but not permitted: 403 with the reason.
  auto denied = post(url, R"({"args":{"query":"q"}})", admin);
  ASSERT_EQ(denied.status, 403) << denied.body;
  EXPECT_EQ(code(denied), "tool_denied");
  EXPECT_EQ(body(denied)["error"]["reason"], "no_permission");
  EXPECT_EQ(body(denied)["allowed"], false);
  EXPECT_EQ(runs_, 0);
  // The admin's own id is the permission key of a direct call.
  std::string admin_id =
      body(call({.target = "/api/v1/auth/me", .headers = {bearer(admin)}})).value("user_id", "");
  ASSERT_FALSE(admin_id.empty());
  allow(admin_id, "demo.search");
  auto ok = post(url, R"({"args":{"query":"q"}})", admin);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(body(ok)["ok"], true);
  EXPECT_EQ(body(ok)["result"]["caller"], admin_id);
  // As an agent on behalf of a user: the agent's permission, the user's data.
  EXPECT_EQ(body(post(url, R"({"args":{"query":"q"},"as":"agent:main","on_behalf_of":"alice"})",
                      admin))["error"]["reason"],
            "no_permission");
  allow("agent:main", "demo.search");
  auto agent =
      post(url, R"({"args":{"query":"q"},"as":"agent:main","on_behalf_of":"Alice"})", admin);
  ASSERT_EQ(agent.status, 200) << agent.body;
  EXPECT_EQ(body(agent)["result"]["agent"], "agent:main");
  EXPECT_NE(body(agent)["result"]["caller"], admin_id);
  // The decision records the agent, the user it acted for and the admin who asked.
  {
    auto sql = db_->session();
    std::string payload;
    *sql << "SELECT payload FROM events WHERE type = 'policy.decision' AND payload LIKE "
            "'%\"allowed\":true%' AND payload LIKE '%agent:main%'",
        soci::into(payload);
    Json p = Json::parse(payload);
    EXPECT_EQ(p["principal"], "agent:main");
    EXPECT_EQ(p["on_behalf_of"], body(agent)["result"]["caller"]);
    EXPECT_EQ(p["requested_by"], admin_id);
  }
  EXPECT_EQ(code(post(url, R"({"args":{"query":"q"},"as":"nobody"})", admin)), "user_not_found");
  EXPECT_EQ(code(post(url, R"({"args":{"query":"q"},"on_behalf_of":"alice"})", admin)),
            "invalid_field");
  // As a user directly: that user's permission (alice has none).
  EXPECT_EQ(body(post(url, R"({"args":{"query":"q"},"as":"alice"})", admin))["error"]["reason"],
            "no_permission");
  // A tool that fails ran: 200 with ok false and its error.
  allow(admin_id, "demo.fail");
  auto failed = post("/api/v1/tools/demo.fail/invoke", "", admin);
  ASSERT_EQ(failed.status, 200) << failed.body;
  EXPECT_EQ(body(failed)["ok"], false);
  EXPECT_EQ(body(failed)["result"]["error"]["code"], "busy");
}

TEST_P(ToolValidationTest, CliListAndInvoke) {
  CommandTable table;
  register_tool_commands(table, *tools_, *db_);
  std::string out, err;
  EXPECT_EQ(run_command(table, "tools", "list", {"--json"}, "", out, err), 0) << err;
  Json j = Json::parse(out);
  ASSERT_EQ(j["items"].size(), 2u);
  EXPECT_EQ(j["items"][1]["name"], "demo.search");
  EXPECT_EQ(run_command(table, "tools", "list", {}, "", out, err), 0);
  EXPECT_NE(out.find("demo.search"), std::string::npos);

  auto invoke = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "demo.search");
    return run_command(table, "tools", "invoke", args, "", out, err);
  };
  // The CLI runs as the system principal.
  EXPECT_EQ(invoke({"--args", R"({"query":"q"})"}), 1);
  EXPECT_NE(err.find("denied: no_permission"), std::string::npos) << err;
  allow("system", "demo.search");
  EXPECT_EQ(invoke({"--args", R"({"query":"q"})", "--json"}), 0) << err;
  EXPECT_EQ(Json::parse(out)["result"]["caller"], "system");
  EXPECT_EQ(invoke({"--args", R"({"query":"q"})"}), 0) << err;
  EXPECT_EQ(Json::parse(out)["args"]["query"], "q");
  // Invalid arguments: exit 1 naming the path; the handler did not run.
  int before = runs_;
  EXPECT_EQ(invoke({"--args", R"({"query":"q","limit":"ten"})"}), 1);
  EXPECT_NE(err.find("/limit: must be an integer (got string)"), std::string::npos) << err;
  EXPECT_NE(err.find("invalid_args"), std::string::npos) << err;
  EXPECT_EQ(invoke({"--args", R"({"limit":3})", "--json"}), 1);
  EXPECT_EQ(Json::parse(out)["result"]["error"]["path"], "/query");
  EXPECT_EQ(runs_, before);
  // --as an agent.
  EXPECT_EQ(invoke({"--args", R"({"query":"q"})", "--as", "agent:cli"}), 1);
  allow("agent:cli", "demo.search");
  EXPECT_EQ(invoke({"--args", R"({"query":"q"})", "--as", "agent:cli", "--json"}), 0) << err;
  EXPECT_EQ(Json::parse(out)["result"]["agent"], "agent:cli");
  EXPECT_EQ(invoke({"--args", R"({"query":"q"})", "--as", "ghost"}), 1);
  EXPECT_NE(err.find("user_not_found"), std::string::npos) << err;
  // Unknown tool: 1. Usage errors (exit 2 in the CLI) are UsageError.
  EXPECT_EQ(run_command(table, "tools", "invoke", {"demo.none"}, "", out, err), 1);
  EXPECT_NE(err.find("tool_not_found"), std::string::npos);
  EXPECT_THROW(invoke({"--args", "{oops"}), jarvis::UsageError);
  EXPECT_THROW(run_command(table, "tools", "invoke", {}, "", out, err), jarvis::UsageError);
  EXPECT_THROW(invoke({"--loud"}), jarvis::UsageError);
}

INSTANTIATE_TEST_SUITE_P(Backends, ToolValidationTest,
                         testing::Values(Backend::Sqlite, Backend::Postgresql), backend_name);

}  // namespace
}  // namespace jarvis::host::authtest

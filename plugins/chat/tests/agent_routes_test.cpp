// chat/tests/agent_routes_test.cpp — GET /api/v1/agents and /api/v1/agents/{id} over real HTTP on
// 127.0.0.1: the routes are registered through the plugin's own jarvis::Host view on the host's
// real router and tool registry (another "plugin" registers memory.search, so known/unknown is
// decided against the live registry), served by the host's HTTP server and dispatcher. The
// authorize hook stands in for session auth: it maps a test header to a principal and enforces
// the route's auth level as the host does. Also report_bundle_problems / report_unknown_tools
// emitting their events on the real bus.
#include <gtest/gtest.h>

#include <mutex>

#include "agent/agent_routes.h"
#include "agent/bundles.h"
#include "http/dispatcher.h"
#include "http/server.h"
#include "plugins/plugin_config.h"
#include "plugins/plugin_fixture_env.h"
#include "plugins/plugin_host.h"
#include "support/support.h"

namespace agent_routes_test {

using jarvis::host::Owner;
using jarvis::host::PluginConfigImpl;
using jarvis::host::PluginHost;
using nlohmann::json;

namespace {

void write_bundle(const std::string& dir, const std::string& id, const std::string& identity_md,
                  const std::string& soul = "soul\n") {
  std::filesystem::create_directories(dir + "/" + id);
  jarvis::test::write_file(dir + "/" + id + "/identity.md", identity_md);
  jarvis::test::write_file(dir + "/" + id + "/soul.md", soul);
}

class AgentRoutes : public ::testing::Test {
 protected:
  void SetUp() override {
    write_bundle(agents_.path(), "researcher",
                 "---\nagent_id: researcher\nallowed_tools: [memory.search, web.fetch]\n"
                 "risk_tier: low\nmax_actions_per_step: 4\nallowed_paths: [/srv/research]\n---\n"
                 "# Researcher\n",
                 "Digs deep.\n");
    write_bundle(agents_.path(), "broken", "---\nagent_id: broken\nrisk_tier: wild\n---\n");
    write_bundle(agents_.path(), "main", "---\nagent_id: main\n---\n");  // invalid override
    bundles_ = chat::BundleSet::load({.agents_dir = agents_.path()});

    memory_ =
        std::make_unique<PluginHost>(Owner{"memory", {}}, reg_.services(), memory_config_, nullptr);
    memory_->tools().add({.name = "memory.search",
                          .description = "Search memory",
                          .parameters = {{"type", "object"}, {"properties", json::object()}},
                          .handler = [](const jarvis::ToolCall&) { return json::object(); }});
    chat_ = std::make_unique<PluginHost>(Owner{"chat", {}}, reg_.services(), chat_config_, nullptr);
    chat::register_agent_routes(*chat_, bundles_);

    jarvis::host::DispatchHooks hooks;
    hooks.authorize = [](jarvis::Request& req,
                         const jarvis::host::RouteEntry& route) -> std::optional<jarvis::Response> {
      if (auto who = req.headers.get("X-Test-User")) {
        if (*who == "root") req.principal = {"usr_root", "root", jarvis::Role::Admin, true};
        if (*who == "alice") req.principal = {"usr_alice", "alice", jarvis::Role::User, true};
      }
      if (route.spec.auth != jarvis::Auth::Public && !req.principal.authenticated)
        return jarvis::Response::json(401, {{"error", {{"code", "unauthenticated"}}}});
      if (route.spec.auth == jarvis::Auth::Admin && !req.principal.is_admin())
        return jarvis::Response::json(403, {{"error", {{"code", "forbidden"}}}});
      return std::nullopt;
    };
    dispatcher_ = std::make_unique<jarvis::host::Dispatcher>(reg_.routes, reg_.metrics, hooks);
    jarvis::host::ServerOptions o;
    o.port = 0;
    o.threads = 1;
    o.handler_threads = 2;
    server_ = std::make_unique<jarvis::host::HttpServer>(o, *dispatcher_);
    server_->start();
  }
  void TearDown() override { server_->shutdown(std::chrono::seconds(5)); }

  jarvis::test::HttpResult get(const std::string& path, const std::string& user = "") {
    std::vector<std::string> h;
    if (!user.empty()) h.push_back("X-Test-User: " + user);
    return jarvis::test::http("GET", "http://127.0.0.1:" + std::to_string(server_->port()) + path,
                              "", h);
  }
  json get_json(const std::string& path, const std::string& user, int status = 200) {
    auto r = get(path, user);
    EXPECT_EQ(r.status, status) << path << " " << r.body;
    return json::parse(r.body, nullptr, false);
  }

  jarvis::test::TempDir agents_;
  chat::BundleSet bundles_;
  jarvis::host::testing::Registries reg_;
  PluginConfigImpl memory_config_{"memory", {}, nullptr};
  PluginConfigImpl chat_config_{"chat", {}, nullptr};
  std::unique_ptr<PluginHost> memory_;
  std::unique_ptr<PluginHost> chat_;
  std::unique_ptr<jarvis::host::Dispatcher> dispatcher_;
  std::unique_ptr<jarvis::host::HttpServer> server_;
};

}  // namespace

TEST_F(AgentRoutes, TheRoutesBelongToTheChatPluginAndNeedAUser) {
  auto owned = reg_.owned("chat");
  EXPECT_EQ(owned, (std::vector<std::string>{"route GET /api/v1/agents",
                                             "route GET /api/v1/agents/{id}"}));
  EXPECT_EQ(get("/api/v1/agents").status, 401);
  EXPECT_EQ(get("/api/v1/agents/main").status, 401);
}

TEST_F(AgentRoutes, ListForAUser) {
  json body = get_json("/api/v1/agents", "alice");
  EXPECT_EQ(body["total"], 3);  // main, researcher, broken
  EXPECT_EQ(body["limit"], 50);
  EXPECT_EQ(body["offset"], 0);
  EXPECT_EQ(body["has_more"], false);
  EXPECT_FALSE(body.contains("problems"));  // AGENTS_DIR-level detail is for admins
  ASSERT_EQ(body["items"].size(), 3u);
  const json& main = body["items"][0];
  EXPECT_EQ(main["id"], "main");
  EXPECT_EQ(main["valid"], true);
  EXPECT_EQ(main["origin"], "shipped");  // the invalid override left the shipped one in effect
  EXPECT_EQ(main["principal"], "agent:main");
  EXPECT_EQ(main["risk_tier"], "medium");
  EXPECT_EQ(main["max_actions_per_step"], 8);
  EXPECT_EQ(main["can_request_privileged_change"], false);
  EXPECT_EQ(main["allowed_tools"][0], (json{{"name", "memory.search"}, {"known", true}}));
  EXPECT_EQ(main["allowed_tools"][1], (json{{"name", "memory.remember"}, {"known", false}}));
  EXPECT_EQ(main["unknown_tools"], (json{"memory.remember", "memory.forget"}));
  ASSERT_EQ(main["problems"].size(), 1u);
  EXPECT_EQ(main["problems"][0]["origin"], "agents_dir");
  EXPECT_EQ(main["problems"][0]["shipped_kept"], true);
  EXPECT_EQ(main["problems"][0]["file"], "identity.md");
  EXPECT_FALSE(main["problems"][0].contains("location"));
  // Host details stay with admins.
  EXPECT_FALSE(main.contains("location"));
  EXPECT_FALSE(main.contains("allowed_paths"));
  EXPECT_FALSE(main.contains("soul"));
  const json& researcher = body["items"][1];
  EXPECT_EQ(researcher["id"], "researcher");
  EXPECT_EQ(researcher["origin"], "agents_dir");
  EXPECT_EQ(researcher["unknown_tools"], (json{"web.fetch"}));
  const json& broken = body["items"][2];
  EXPECT_EQ(broken["id"], "broken");
  EXPECT_EQ(broken["valid"], false);
  EXPECT_EQ(broken["problems"][0]["line"], 3);
  EXPECT_EQ(broken["problems"][0]["message"], "risk_tier must be low, medium or high, not 'wild'");
  EXPECT_EQ(body.dump().find(agents_.path()), std::string::npos);  // no host paths for users

  json page = get_json("/api/v1/agents?limit=1&offset=1", "alice");
  EXPECT_EQ(page["total"], 3);
  EXPECT_EQ(page["has_more"], true);
  ASSERT_EQ(page["items"].size(), 1u);
  EXPECT_EQ(page["items"][0]["id"], "researcher");
  EXPECT_EQ(get("/api/v1/agents?limit=0", "alice").status, 400);
  EXPECT_EQ(get("/api/v1/agents?limit=x", "alice").status, 400);
}

TEST_F(AgentRoutes, ListForAnAdmin) {
  json body = get_json("/api/v1/agents", "root");
  const json& researcher = body["items"][1];
  EXPECT_EQ(researcher["location"], agents_.path() + "/researcher");
  EXPECT_EQ(researcher["allowed_paths"], (json{"/srv/research"}));
  EXPECT_FALSE(researcher.contains("soul"));  // texts only on the detail route
  ASSERT_EQ(body["problems"].size(), 2u);
  EXPECT_EQ(body["problems"][0]["id"], "broken");
  EXPECT_EQ(body["problems"][1]["id"], "main");
  EXPECT_EQ(body["problems"][1]["location"], agents_.path() + "/main");
}

TEST_F(AgentRoutes, Detail) {
  json user = get_json("/api/v1/agents/researcher", "alice");
  EXPECT_EQ(user["id"], "researcher");
  EXPECT_EQ(user["max_actions_per_step"], 4);
  EXPECT_EQ(user["risk_tier"], "low");
  EXPECT_FALSE(user.contains("soul"));
  EXPECT_FALSE(user.contains("identity"));
  json admin = get_json("/api/v1/agents/researcher", "root");
  EXPECT_EQ(admin["identity"], "# Researcher\n");
  EXPECT_EQ(admin["soul"], "Digs deep.\n");
  EXPECT_EQ(admin["tools_doc"], "");
  json broken = get_json("/api/v1/agents/broken", "alice");
  EXPECT_EQ(broken["valid"], false);
  EXPECT_EQ(broken["origin"], "agents_dir");

  json missing = get_json("/api/v1/agents/nobody", "alice", 404);
  EXPECT_EQ(missing["error"]["code"], "agent_not_found");
  EXPECT_EQ(missing["error"]["message"], "no agent 'nobody'");
  json weird = get_json("/api/v1/agents/%FF%FEx", "alice", 404);
  EXPECT_EQ(weird["error"]["message"], "no agent '??x'");
}

TEST_F(AgentRoutes, KnownToolsFollowTheLiveRegistry) {
  EXPECT_EQ(get_json("/api/v1/agents/researcher", "alice")["unknown_tools"], (json{"web.fetch"}));
  memory_->tools().add({.name = "web.fetch",
                        .description = "Fetch a page",
                        .handler = [](const jarvis::ToolCall&) { return json::object(); }});
  EXPECT_EQ(get_json("/api/v1/agents/researcher", "alice")["unknown_tools"], json::array());
}

TEST_F(AgentRoutes, ProblemsAndUnknownToolsAreReportedAsEvents) {
  std::mutex mu;
  std::vector<jarvis::Event> seen;
  chat_->events().subscribe("agent.bundle.", [&](const jarvis::Event& e) {
    std::lock_guard lock(mu);
    seen.push_back(e);
  });
  chat::report_bundle_problems(*chat_, bundles_);
  auto unknown = chat::report_unknown_tools(*chat_, bundles_);
  ASSERT_EQ(unknown.size(), 3u);  // main: memory.remember, memory.forget; researcher: web.fetch
  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0].type, "agent.bundle.invalid");
  EXPECT_EQ(seen[0].payload["id"], "broken");
  EXPECT_EQ(seen[0].payload["line"], 3);
  EXPECT_EQ(seen[0].component, "chat");
  EXPECT_EQ(seen[1].payload["id"], "main");
  EXPECT_EQ(seen[1].payload["shipped_kept"], true);
  EXPECT_EQ(seen[2].type, "agent.bundle.unknown_tool");
  EXPECT_EQ(seen[2].payload, (json{{"agent_id", "main"}, {"tool", "memory.remember"}}));
  EXPECT_EQ(seen[4].payload, (json{{"agent_id", "researcher"}, {"tool", "web.fetch"}}));
}

}  // namespace agent_routes_test

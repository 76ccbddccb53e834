// tests/system/sdk_for_chat_test.cpp — the host-side SDK 1.1 calls the chat plugin needs, made by
// a real plugin (tests/fixtures/plugins/sdk_probe) from its handler threads in a real `jarvis
// serve`, on SQLite and PostgreSQL, each compared with the host's own route for the same thing:
// SystemControl::status() vs GET /api/v1/system/status, set_lockdown vs the admin lockdown API
// (events and reason codes), EventBus::trace vs GET /api/v1/traces/{id} (ownership), agent grants
// from start() and refused principals, and Health::details in /readyz, the status document and
// `jarvis doctor --json` (redacted, bounded).
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/support.h"

using jarvis::test::Backend;
using jarvis::test::bearer;
using jarvis::test::http;
using jarvis::test::run_jarvis;
using jarvis::test::ServerProcess;
using nlohmann::json;

namespace fs = std::filesystem;

namespace {

class SdkForChat : public testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    std::string url = jarvis::test::fresh_database_url(GetParam(), dir_);
    ASSERT_FALSE(url.empty()) << "no test PostgreSQL";
    fs::create_directories(dir_.file("var"));
    fs::create_directories(dir_.file("plugins"));
    fs::create_directory_symlink(std::string(JARVIS_TEST_PLUGIN_DIR) + "/sdk_probe",
                                 dir_.file("plugins/sdk_probe"));
    env_ = {{"DATABASE_URL", url},
            {"LOG_LEVEL", "warn"},
            {"JARVIS_PLUGIN_DIRS", dir_.file("plugins")},
            {"JARVIS_PLUGINS_REQUIRED", "sdk_probe"},
            {"ADMIN_UNLOCK_CODE_PATH", dir_.file("var/unlock_code")},
            {"BIND_PORT", std::to_string(jarvis::test::free_port())}};
    auto m = run_jarvis({"migrate"}, dir_.path(), env_);
    ASSERT_EQ(m.exit_code, 0) << m.out << m.err;
    admin_ = jarvis::test::create_user_token(dir_.path(), env_, "root", true);
    ada_ = jarvis::test::create_user_token(dir_.path(), env_, "ada", false);
    bob_ = jarvis::test::create_user_token(dir_.path(), env_, "bob", false);
    server_ = std::make_unique<ServerProcess>(dir_.path(), env_);
    ASSERT_TRUE(server_->ready()) << server_->output();
  }

  json get(const std::string& path, const std::string& token, int expect = 200) {
    auto r = http("GET", server_->url(path), "", {bearer(token)});
    EXPECT_EQ(r.status, expect) << path << ": " << r.body;
    return json::parse(r.body, nullptr, false);
  }
  jarvis::test::HttpResult post(const std::string& path, const json& body,
                                const std::string& token) {
    return http("POST", server_->url(path), body.dump(),
                {bearer(token), "Content-Type: application/json"});
  }
  static json plugin_entry(const json& readyz, const std::string& name) {
    for (const auto& p : readyz["plugins"]) {
      if (p["name"] == name) return p;
    }
    return json::object();
  }

  jarvis::test::TempDir dir_;
  std::map<std::string, std::string> env_;
  std::string admin_, ada_, bob_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_P(SdkForChat, StatusFromAPluginIsTheSystemStatusDocument) {
  json mine = get("/api/v1/sdk_probe/status", ada_);
  json host = get("/api/v1/system/status", ada_);
  ASSERT_TRUE(mine.is_object()) << mine;
  // The same document: every key, and the same values where nothing moves between two calls
  // (the host's own periodic tasks may run in between: compare the queue's shape, not counts).
  auto keys = [](const json& j) {
    std::vector<std::string> out;
    for (auto it = j.begin(); it != j.end(); ++it) out.push_back(it.key());
    return out;
  };
  EXPECT_EQ(keys(mine), keys(host));
  EXPECT_EQ(mine["version"], host["version"]);
  EXPECT_EQ(mine["plugins"], host["plugins"]);
  EXPECT_EQ(keys(mine["plugin_health"]), keys(host["plugin_health"]));
  EXPECT_EQ(mine["plugin_health"]["sdk_probe"], host["plugin_health"]["sdk_probe"]);
  EXPECT_EQ(keys(mine["system"]), keys(host["system"]));
  EXPECT_EQ(mine["system"]["lockdown"], host["system"]["lockdown"]);
  EXPECT_EQ(keys(mine["tasks"]), keys(host["tasks"]));
  EXPECT_EQ(keys(mine["scheduler"]), keys(host["scheduler"]));
  EXPECT_EQ(mine["scheduler"]["schedule_count"], host["scheduler"]["schedule_count"]);
  EXPECT_TRUE(mine.contains("oldest_queued_at"));
  EXPECT_TRUE(mine.contains("uptime_seconds"));
  EXPECT_TRUE(mine.contains("time"));
  // The scheduler backlog fields chat's /status shows (runbook "Scheduler Check").
  for (const char* key : {"dispatchable_total", "deferred_total", "schedule_count"}) {
    EXPECT_TRUE(mine["scheduler"].contains(key)) << key << ": " << mine["scheduler"].dump();
  }
  EXPECT_EQ(mine["plugins"]["sdk_probe"], "started");
  EXPECT_EQ(mine["system"]["lockdown"], false);
}

TEST_P(SdkForChat, LockdownFromAPluginIsTheAdminLockdown) {
  auto on = post("/api/v1/sdk_probe/lockdown", {{"on", true}, {"reason", "chat says so"}}, admin_);
  ASSERT_EQ(on.status, 200) << on.body;
  EXPECT_EQ(json::parse(on.body), (json{{"changed", true}, {"lockdown", true}}));
  json st = get("/api/v1/system/status", admin_);
  EXPECT_EQ(st["system"]["lockdown"], true);
  EXPECT_EQ(st["system"]["lockdown_reason"], "chat says so");
  // Already locked: no change, the first reason stays.
  auto again = post("/api/v1/sdk_probe/lockdown", {{"on", true}, {"reason", "other"}}, admin_);
  EXPECT_EQ(json::parse(again.body)["changed"], false);
  EXPECT_EQ(get("/api/v1/system/status", admin_)["system"]["lockdown_reason"], "chat says so");
  // Cleared the same way; the events are the admin API's, reason codes included.
  auto off = post("/api/v1/sdk_probe/lockdown", {{"on", false}}, admin_);
  EXPECT_EQ(json::parse(off.body), (json{{"changed", true}, {"lockdown", false}}));
  auto on2 = post("/api/v1/sdk_probe/lockdown", {{"on", true}}, admin_);  // no reason: "manual"
  EXPECT_EQ(json::parse(on2.body)["changed"], true);
  EXPECT_EQ(get("/api/v1/system/status", admin_)["system"]["lockdown_reason"], "manual");
  // The admin API clears a plugin's lockdown (one state).
  auto api = post("/api/v1/system/lockdown", {{"lockdown", false}}, admin_);
  EXPECT_EQ(json::parse(api.body)["changed"], true);
  json triggered = get("/api/v1/events?type=lockdown.triggered", admin_)["items"];
  json cleared = get("/api/v1/events?type=lockdown.cleared", admin_)["items"];
  ASSERT_EQ(triggered.size(), 2u) << triggered;
  ASSERT_EQ(cleared.size(), 2u) << cleared;
  json first = triggered[1];  // newest first
  EXPECT_EQ(first["payload"]["reason"], "chat says so");
  EXPECT_EQ(first["payload"]["source"], "admin");
  EXPECT_EQ(first["payload"]["by"].get<std::string>().rfind("user:usr_", 0), 0u) << first;
  EXPECT_EQ(first["actor_type"], "user");
  EXPECT_FALSE(first["trace_id"].is_null()) << "the request id links the event";
  EXPECT_EQ(triggered[0]["payload"]["reason"], "manual");
  EXPECT_EQ(cleared[1]["payload"]["via"], "admin");
  EXPECT_EQ(cleared[1]["payload"]["previous_reason"], "chat says so");
  // Bad input is the SDK's jarvis::Error, answered as JSON.
  auto long_reason =
      post("/api/v1/sdk_probe/lockdown", {{"on", true}, {"reason", std::string(201, 'r')}}, admin_);
  EXPECT_EQ(long_reason.status, 400);
  EXPECT_EQ(json::parse(long_reason.body)["error"]["code"], "invalid_field");
  EXPECT_EQ(get("/api/v1/system/status", admin_)["system"]["lockdown"], false);
}

TEST_P(SdkForChat, TraceForAPrincipalIsWhatTheTracesRouteShowsThem) {
  const std::string trace = "trc_chat_logs_1";
  ASSERT_EQ(
      post("/api/v1/sdk_probe/emit", {{"trace_id", trace}, {"thread_id", "thr_ada"}}, ada_).status,
      201);
  ASSERT_EQ(
      post("/api/v1/sdk_probe/emit", {{"trace_id", trace}, {"thread_id", "thr_bob"}}, bob_).status,
      201);
  ASSERT_EQ(
      post("/api/v1/sdk_probe/emit", {{"trace_id", trace}, {"type", "sdk_probe.sys"}}, ada_).status,
      201);  // no thread: a system event, admin-only
  ASSERT_EQ(
      post("/api/v1/sdk_probe/emit", {{"trace_id", trace}, {"thread_id", "thr_ada"}}, ada_).status,
      201);
  auto ids = [](const json& items) {
    std::vector<std::string> out;
    for (const auto& e : items) out.push_back(e["id"]);
    return out;
  };
  for (const auto& [token, expected] :
       std::vector<std::pair<std::string, std::size_t>>{{ada_, 2}, {bob_, 1}, {admin_, 4}}) {
    json mine = get("/api/v1/sdk_probe/trace/" + trace, token);
    json route = get("/api/v1/traces/" + trace, token);
    EXPECT_EQ(mine["items"].size(), expected) << mine;
    EXPECT_EQ(ids(mine["items"]), ids(route["items"])) << "same events, same order";
    EXPECT_EQ(mine["truncated"], false);
    for (const auto& e : mine["items"]) {
      EXPECT_EQ(e["trace_id"], trace);
      EXPECT_EQ(e["payload"]["token"], "[REDACTED]") << "payloads are redacted";
      EXPECT_EQ(e["component"], "sdk_probe");
    }
  }
  // Held in a variable: a range-for over get(…)["items"] would walk a destroyed temporary.
  const json ada_items = get("/api/v1/sdk_probe/trace/" + trace, ada_)["items"];
  for (const auto& e : ada_items) {
    EXPECT_EQ(e["thread_id"], "thr_ada") << "only ada's own thread";
  }
  // Limit and truncation as the route has them; nothing visible or too long an id: empty.
  json two = get("/api/v1/sdk_probe/trace/" + trace + "?limit=2", admin_);
  EXPECT_EQ(two["items"].size(), 2u);
  EXPECT_EQ(two["truncated"], true);
  EXPECT_EQ(ids(two["items"]), ids(get("/api/v1/traces/" + trace + "?limit=2", admin_)["items"]));
  EXPECT_EQ(get("/api/v1/sdk_probe/trace/" + trace + "?limit=0", admin_)["items"].size(), 1u)
      << "a limit of 0 is 1";
  EXPECT_TRUE(get("/api/v1/sdk_probe/trace/trc_nobody", admin_)["items"].empty());
  EXPECT_TRUE(get("/api/v1/sdk_probe/trace/" + std::string(201, 't'), admin_)["items"].empty());
}

TEST_P(SdkForChat, AgentGrantsFromAPluginAndRefusedPrincipals) {
  json rows = get("/api/v1/permissions?principal=agent:probe", admin_)["items"];
  ASSERT_EQ(rows.size(), 1u) << rows;  // granted in start()
  EXPECT_EQ(rows[0]["tool"], "sdk_probe.echo");
  EXPECT_EQ(rows[0]["effect"], "allow");
  EXPECT_EQ(rows[0]["granted_by"], "plugin:sdk_probe");
  auto invoke =
      post("/api/v1/tools/sdk_probe.echo/invoke",
           {{"args", {{"x", 1}}}, {"as", "agent:probe"}, {"on_behalf_of", "ada"}}, admin_);
  EXPECT_EQ(invoke.status, 200) << invoke.body;
  for (const char* who : {"usr_1", "system", "agent:"}) {
    auto r =
        post("/api/v1/sdk_probe/grant", {{"agent", who}, {"tools", {"sdk_probe.echo"}}}, admin_);
    EXPECT_EQ(r.status, 403) << who << ": " << r.body;
    EXPECT_EQ(json::parse(r.body)["error"]["code"], "grant_forbidden");
  }
  // Re-grant with no tools: the plugin's row goes.
  auto none =
      post("/api/v1/sdk_probe/grant", {{"agent", "agent:probe"}, {"tools", json::array()}}, admin_);
  EXPECT_EQ(none.status, 204) << none.body;
  EXPECT_TRUE(get("/api/v1/permissions?principal=agent:probe", admin_)["items"].empty());
}

TEST_P(SdkForChat, HealthDetailsInReadyzStatusAndDoctor) {
  json ready = json::parse(http("GET", server_->url("/readyz")).body);
  json probe = plugin_entry(ready, "sdk_probe");
  EXPECT_EQ(probe["health"], "degraded");
  EXPECT_EQ(probe["health_detail"], "provider openai failing");
  json details = probe["health_details"];
  EXPECT_EQ(details["providers"]["openai"]["gpt-4o"]["last_error"], "timeout") << ready;
  EXPECT_EQ(details["providers"]["openai"]["gpt-4o"]["last_success"], "2026-12-01T10:00:00.000Z");
  EXPECT_EQ(details["api_key"], "[REDACTED]") << "sensitive keys are redacted";
  json st = get("/api/v1/system/status", ada_);
  EXPECT_EQ(
      st["plugin_health"]["sdk_probe"],
      (json{{"health", "degraded"}, {"detail", "provider openai failing"}, {"details", details}}));
  // doctor --json asks the running server (its own port check fails: the server holds the port).
  auto doc = run_jarvis({"doctor", "--json"}, dir_.path(), env_);
  json checks = json::parse(doc.out, nullptr, false);
  ASSERT_TRUE(checks.is_object()) << doc.out << doc.err;
  json check;
  for (const auto& c : checks["checks"]) {
    if (c["name"] == "plugin:sdk_probe") check = c;
  }
  ASSERT_TRUE(check.is_object()) << doc.out;
  EXPECT_EQ(check["health"]["health"], "degraded") << check;
  EXPECT_EQ(check["health"]["health_details"], details);
  EXPECT_EQ(check["health"]["state"], "started");
  EXPECT_EQ(doc.out.find("sk-must-not-leak"), std::string::npos);
  // Bounded: too large, too deep or not an object is replaced by an error; none shows nothing.
  for (const auto& [mode, why] : std::vector<std::pair<std::string, std::string>>{
           {"huge", "too large"}, {"deep", "nested deeper"}, {"not_object", "JSON object"}}) {
    ASSERT_EQ(post("/api/v1/sdk_probe/health", {{"mode", mode}}, admin_).status, 204);
    json p = plugin_entry(json::parse(http("GET", server_->url("/readyz")).body), "sdk_probe");
    ASSERT_TRUE(p["health_details"].contains("error")) << mode << ": " << p;
    EXPECT_NE(p["health_details"]["error"].get<std::string>().find(why), std::string::npos)
        << p["health_details"];
    EXPECT_EQ(get("/api/v1/system/status", ada_)["plugin_health"]["sdk_probe"]["details"],
              p["health_details"]);
  }
  ASSERT_EQ(post("/api/v1/sdk_probe/health", {{"mode", "none"}}, admin_).status, 204);
  json healthy = plugin_entry(json::parse(http("GET", server_->url("/readyz")).body), "sdk_probe");
  EXPECT_EQ(healthy["health"], "healthy");
  EXPECT_FALSE(healthy.contains("health_details")) << healthy;
  EXPECT_EQ(get("/api/v1/system/status", ada_)["plugin_health"]["sdk_probe"],
            (json{{"health", "healthy"}}));
  // /metrics never carries the details.
  EXPECT_EQ(http("GET", server_->url("/metrics")).body.find("last_success"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, SdkForChat,
                         testing::Values(Backend::Sqlite, Backend::Postgresql),
                         jarvis::test::backend_name);

}  // namespace

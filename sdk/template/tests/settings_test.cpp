// hello/tests/settings_test.cpp — typed config in the example plugin (SDK 1.1): the secret status
// token guards GET /api/v1/hello/status and is never printed, the duration key becomes
// Retry-After, a maintenance note makes the plugin degraded on the route, /readyz and /metrics,
// and each check is observed in a histogram.
#include <gtest/gtest.h>

#include <string>

#include "jarvis/testing.h"

using jarvis::testing::TestHost;

namespace {

const std::string kToken = "hello-status-token-7f3a";

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

TEST(HelloSettings, StatusNeedsTheSecretTokenAndReportsHealthy) {
  TestHost host({.plugins = {HELLO_PLUGIN_DIR}, .env = {{"HELLO_STATUS_TOKEN", kToken}}});
  host.start();
  EXPECT_EQ(host.get("/api/v1/hello/status").status, 401);
  EXPECT_EQ(host.get("/api/v1/hello/status", {{"X-Hello-Token", "wrong"}}).status, 401);
  auto ok = host.get("/api/v1/hello/status", {{"X-Hello-Token", kToken}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json()["health"], "healthy");
  auto metrics = host.get("/metrics").body;
  EXPECT_TRUE(contains(metrics, "# TYPE jarvis_plugin_hello_status_seconds histogram")) << metrics;
  EXPECT_TRUE(contains(metrics, "jarvis_plugin_hello_status_seconds_bucket{le=\"+Inf\"} 1"));
  EXPECT_TRUE(contains(metrics, "jarvis_plugin_hello_status_seconds_count 1"));
  // The token is shown nowhere.
  auto info = host.run({"plugins", "info", "hello"});
  auto show = host.run({"config", "show", "--json"});
  EXPECT_TRUE(contains(info.out, "[REDACTED]")) << info.out;
  EXPECT_FALSE(contains(info.out + info.err + show.out + show.err, kToken));
  host.stop();
  EXPECT_FALSE(contains(host.server_output(), kToken));
}

TEST(HelloSettings, MaintenanceNoteMakesItDegradedWithRetryAfter) {
  TestHost host({.plugins = {HELLO_PLUGIN_DIR},
                 .env = {{"HELLO_STATUS_TOKEN", kToken},
                         {"HELLO_MAINTENANCE_NOTE", "database upgrade until 18:00"},
                         {"HELLO_RETRY_AFTER", "2m"}}});
  host.start();
  auto r = host.get("/api/v1/hello/status", {{"X-Hello-Token", kToken}});
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.json()["reason"], "database upgrade until 18:00");
  EXPECT_EQ(r.header("Retry-After"), "120");
  bool seen = false;
  const auto ready = host.get("/readyz").json();  // keep the value: the loop refers into it
  for (const auto& p : ready["plugins"]) {
    if (p["name"] != "hello") continue;
    seen = true;
    EXPECT_EQ(p["health"], "degraded");
    EXPECT_EQ(p["health_detail"], "database upgrade until 18:00");
  }
  EXPECT_TRUE(seen);
  EXPECT_TRUE(contains(host.get("/metrics").body,
                       "jarvis_plugin_health{plugin=\"hello\",status=\"degraded\"} 1"));
}

// SDK 1.1: Health::details — structured, read-only — reaches /readyz, the status document and
// `jarvis doctor --json`, never /metrics.
TEST(HelloSettings, HealthDetailsInReadyzStatusAndDoctor) {
  TestHost host({.plugins = {HELLO_PLUGIN_DIR}, .env = {{"HELLO_STATUS_TOKEN", kToken}}});
  host.start();
  ASSERT_EQ(host.get("/api/v1/hello/status", {{"X-Hello-Token", kToken}}).status, 200);
  jarvis::Json details;
  const auto ready = host.get("/readyz").json();
  for (const auto& p : ready["plugins"]) {
    if (p["name"] == "hello") details = p.value("health_details", jarvis::Json());
  }
  ASSERT_TRUE(details.is_object()) << ready.dump();
  EXPECT_EQ(details["status_checks"], 1);
  EXPECT_TRUE(details["last_status_check"].is_string());
  auto ada = host.login_user("ada");
  auto status = ada.get("/api/v1/system/status").json();
  EXPECT_EQ(status["plugin_health"]["hello"]["health"], "healthy");
  EXPECT_EQ(status["plugin_health"]["hello"]["details"], details);
  auto doctor = host.run({"doctor", "--json"});  // asks the running server for plugin health
  jarvis::Json checks = jarvis::Json::parse(doctor.out, nullptr, false);
  ASSERT_TRUE(checks.is_object()) << doctor.out << doctor.err;
  bool seen = false;
  for (const auto& c : checks["checks"]) {
    if (c["name"] != "plugin:hello") continue;
    seen = true;
    EXPECT_EQ(c["health"]["health_details"], details) << c.dump();
  }
  EXPECT_TRUE(seen) << doctor.out;
  EXPECT_FALSE(contains(host.get("/metrics").body, "status_checks"));
}

TEST(HelloSettings, StatusRouteIsOffWithoutAToken) {
  TestHost host({.plugins = {HELLO_PLUGIN_DIR}});
  host.start();
  auto r = host.get("/api/v1/hello/status", {{"X-Hello-Token", ""}});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.json()["error"]["code"], "status_disabled");
}

TEST(HelloSettings, BadDurationStopsWithKeySourceAndExpectation) {
  TestHost host({.plugins = {HELLO_PLUGIN_DIR}});
  auto r = host.run({"hello", "greet", "Ada"}, "", {{"HELLO_RETRY_AFTER", "5"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "HELLO_RETRY_AFTER")) << r.err;
  EXPECT_TRUE(contains(r.err, "environment variable")) << r.err;
  EXPECT_TRUE(contains(r.err, "a unit is required")) << r.err;
  auto big = host.run({"hello", "greet", "Ada"}, "", {{"HELLO_RETRY_AFTER", "2h"}});
  EXPECT_TRUE(contains(big.err, "must be at most 1h (max)")) << big.err;
}

}  // namespace

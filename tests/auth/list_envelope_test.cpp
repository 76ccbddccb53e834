// tests/auth/list_envelope_test.cpp — every list endpoint of a real `jarvis serve` (host routes and
// every plugin in the build) answers the one list envelope of jarvis/list.h: {items, total, limit,
// offset, has_more}, or for the event log the documented alternative without `total`. The routes
// come from `jarvis routes --json`, so a list route added later is covered without editing this
// test; routes with `{param}` segments are covered by their own tests.
#include <gtest/gtest.h>

#include <set>

#include "jarvis/json.h"
#include "support/support.h"

namespace jarvis::test {
namespace {

TEST(ListEnvelope, EveryListRouteAnswersTheSameEnvelope) {
  TempDir tmp;
  std::map<std::string, std::string> env = {{"APP_DB", tmp.file("var/jarvis.db")},
                                            {"LOG_LEVEL", "warn"}};
  ASSERT_EQ(run_jarvis({"migrate"}, tmp.path(), env).exit_code, 0);
  auto u = run_jarvis({"users", "add", "lister", "--admin", "--password-stdin"}, tmp.path(), env,
                      "lister password\n");
  ASSERT_EQ(u.exit_code, 0) << u.out << u.err;
  auto t = run_jarvis({"tokens", "create", "--user", "lister", "--ttl", "1"}, tmp.path(), env);
  ASSERT_EQ(t.exit_code, 0) << t.out << t.err;
  const std::string token = t.out.substr(0, t.out.find('\n'));
  auto r = run_jarvis({"routes", "--json"}, tmp.path(), env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json routes = Json::parse(r.out)["routes"];

  ServerProcess server(tmp.path(), env);
  ASSERT_TRUE(server.ready()) << server.output();
  // Unbounded or cursor-paged: no count.
  const std::set<std::string> logs = {"/api/v1/events", "/api/v1/memory/export"};
  std::set<std::string> checked;
  for (const auto& route : routes) {
    std::string method = route["method"], path = route["path"];
    if (method != "GET" || path.find('{') != std::string::npos) continue;
    auto res = http("GET", server.url(path + "?limit=1"), "", {bearer(token)});
    if (res.status != 200) continue;
    Json body = Json::parse(res.body, nullptr, false);
    if (!body.is_object() || !body.contains("items")) continue;
    checked.insert(path);
    EXPECT_TRUE(body["items"].is_array()) << path << ": " << res.body;
    EXPECT_LE(body["items"].size(), 1u) << path << " ignores ?limit=";
    EXPECT_EQ(body["limit"], 1) << path << ": " << res.body;
    EXPECT_EQ(body["offset"], 0) << path << ": " << res.body;
    EXPECT_TRUE(body["has_more"].is_boolean()) << path << ": " << res.body;
    if (logs.count(path)) {
      EXPECT_FALSE(body.contains("total")) << path;
    } else {
      EXPECT_TRUE(body["total"].is_number_integer()) << path << ": " << res.body;
    }
    // Out-of-range paging is refused the same way everywhere.
    auto bad = http("GET", server.url(path + "?limit=0"), "", {bearer(token)});
    EXPECT_EQ(bad.status, 400) << path << ": " << bad.body;
    EXPECT_NE(bad.body.find("invalid_query"), std::string::npos) << path;
  }
  // The known list routes were among them (the filter above did not silently skip them).
  for (const char* must :
       {"/api/v1/tasks", "/api/v1/schedules", "/api/v1/task-catalog", "/api/v1/plugins",
        "/api/v1/permissions", "/api/v1/events", "/api/v1/bugs", "/api/v1/feature-requests"}) {
    EXPECT_TRUE(checked.count(must)) << must << " was not checked";
  }
}

}  // namespace
}  // namespace jarvis::test

// tests/db/session_pool_http_test.cpp — an exhausted session pool seen from HTTP: a route whose
// handler cannot get a database session in time answers 503 `database_busy` with Retry-After
// instead of hanging its handler thread; the same route works once a session is free again.
#include <gtest/gtest.h>

#include <vector>

#include "db/sql_database.h"
#include "http/dispatcher.h"
#include "http/router.h"
#include "observability/metrics.h"
#include "support/support.h"

namespace jarvis::host {
namespace {

using namespace std::chrono_literals;

TEST(SessionPoolHttp, AnExhaustedPoolAnswers503DatabaseBusyWithRetryAfter) {
  jarvis::test::TempDir dir;
  auto db = SqlDatabase::open(dir.file("pool.db"), 2);
  db->set_session_timeout(50ms);
  Router router;
  MetricsRegistry metrics;
  jarvis::RouteSpec spec;
  spec.method = "GET";
  spec.path = "/api/v1/count";
  spec.handler = [&db](jarvis::Request&) {
    auto sql = db->session();  // the default wait: JARVIS_DB_SESSION_TIMEOUT_MS
    int n = 0;
    *sql << "SELECT 1", soci::into(n);
    return jarvis::Response::json(200, {{"n", n}});
  };
  router.add(Owner{"test", nullptr}, std::move(spec));
  Dispatcher dispatcher(router, metrics);

  std::vector<jarvis::DbSession> held;
  held.push_back(db->session());
  held.push_back(db->session());
  jarvis::Request req;
  req.method = "GET";
  req.target = "/api/v1/count";
  auto busy = dispatcher.dispatch(req);
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(busy.headers.get("Retry-After"), "1");
  auto j = jarvis::Json::parse(busy.body);
  EXPECT_EQ(j["error"]["code"], "database_busy");

  held.clear();
  jarvis::Request again;
  again.method = "GET";
  again.target = "/api/v1/count";
  auto ok = dispatcher.dispatch(again);
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(db->idle_sessions(), 2u);
}

}  // namespace
}  // namespace jarvis::host

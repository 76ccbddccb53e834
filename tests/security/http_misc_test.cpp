// tests/security/http_misc_test.cpp — issue 8 finding 11, the HTTP bits: the SPA fallback no
// longer answers index.html for file-like paths or paths outside the app's routes; NUL (and, in
// the path, every C0 control byte) is refused once for every route; the access log escapes raw
// bytes of the request target; a second `serve` on a busy port fails before starting anything.
#include <sys/socket.h>

#include <filesystem>
#include <memory>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "http/dispatcher.h"
#include "http/router.h"
#include "http/server.h"
#include "observability/metrics.h"
#include "support/raw_http_client.h"
#include "support/support.h"

using jarvis::host::Dispatcher;
using jarvis::host::MetricsRegistry;
using jarvis::host::Owner;
using jarvis::host::Router;

namespace {

jarvis::Request request(const std::string& method, const std::string& target) {
  jarvis::Request r;
  r.method = method;
  r.target = target;
  return r;
}

void add(Router& router, const std::string& path, jarvis::RouteHandler h) {
  jarvis::RouteSpec s;
  s.method = "GET";
  s.path = path;
  s.auth = jarvis::Auth::Public;
  s.handler = std::move(h);
  router.add(Owner{}, std::move(s));
}

std::string error_code(const jarvis::Response& res) {
  return nlohmann::json::parse(res.body)["error"]["code"];
}

class HttpMiscTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(tmp.file("dist/assets"));
    jarvis::test::write_file(tmp.file("dist/index.html"), "<html>app</html>");
    jarvis::test::write_file(tmp.file("dist/assets/app.js"), "js");
    add(router, "/api/v1/traces/{id}", [this](jarvis::Request& r) {
      ++handled;
      return jarvis::Response::json(200, {{"id", r.path_param("id")}});
    });
    add(router, "/api/v1/search", [this](jarvis::Request& r) {
      ++handled;
      return jarvis::Response::json(200, {{"q", r.query_param("search").value_or("")}});
    });
    dispatcher.set_static_dir(tmp.file("dist"));
  }
  jarvis::test::TempDir tmp;
  int handled = 0;
  Router router;
  MetricsRegistry metrics;
  Dispatcher dispatcher{router, metrics};
};

TEST_F(HttpMiscTest, Finding11_SpaFallbackIs404ForFileLikePathsAndOutsideTheAppRoutes) {
  for (const char* target : {"/nonexistent.js", "/proc/self/environ", "/etc/passwd", "/.env",
                             "/wp-login.php", "/assets/missing.css", "/threads/42/export.csv"}) {
    auto req = request("GET", target);
    auto res = dispatcher.dispatch(req);
    EXPECT_EQ(res.status, 404) << target;
    EXPECT_EQ(error_code(res), "not_found") << target;
  }
  // The app's own client routes and real files are still served.
  for (const char* target : {"/", "/threads/42", "/settings", "/assets/app.js"}) {
    auto req = request("GET", target);
    EXPECT_EQ(dispatcher.dispatch(req).status, 200) << target;
  }
  // A UI that ships spa-routes.txt decides its own top-level routes.
  jarvis::test::write_file(tmp.file("dist/spa-routes.txt"), "/inbox\n# comment\nnotes\n");
  auto inbox = request("GET", "/inbox/7");
  EXPECT_EQ(dispatcher.dispatch(inbox).status, 200);
  auto threads = request("GET", "/threads/42");
  EXPECT_EQ(dispatcher.dispatch(threads).status, 404);
}

TEST_F(HttpMiscTest, Finding11_NulAndControlBytesAreRefusedForEveryRoute) {
  for (const char* target :
       {"/api/v1/traces/%00", "/api/v1/traces/a%00b", "/api/v1/traces/%01", "/api/v1/traces/%1b",
        "/api/v1/traces/x%0d%0aSet-Cookie:%20a", "/api/v1/traces/%7f", "/api/v1/search?search=%00",
        "/api/v1/search?se%00arch=x", "/nothing/%00"}) {
    auto req = request("GET", target);
    auto res = dispatcher.dispatch(req);
    EXPECT_EQ(res.status, 400) << target;
    EXPECT_EQ(error_code(res), "invalid_request") << target;
  }
  EXPECT_EQ(handled, 0);
  // Other bytes in a query value are data (a search for a tab or newline is not an attack).
  auto tab = request("GET", "/api/v1/search?search=a%09b");
  auto res = dispatcher.dispatch(tab);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(nlohmann::json::parse(res.body)["q"], "a\tb");
  auto utf8 = request("GET", "/api/v1/traces/caf%C3%A9");
  EXPECT_EQ(dispatcher.dispatch(utf8).status, 200);
}

TEST_F(HttpMiscTest, Finding11_AccessLogEscapesRawBytesOfTheTarget) {
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  auto logger = std::make_shared<spdlog::logger>("capture", sink);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(logger);
  auto req = request("GET", std::string("/caf\xff\xfe/\x1b[31mred\x7f\\x"));
  dispatcher.dispatch(req);
  spdlog::set_default_logger(previous);
  std::string line = captured.str();
  EXPECT_NE(line.find("/caf\\xff\\xfe/\\x1b[31mred\\x7f\\x5cx"), std::string::npos) << line;
  EXPECT_EQ(line.find('\x1b'), std::string::npos);
  EXPECT_EQ(line.find('\xff'), std::string::npos);
}

TEST(HttpMiscServeTest, Finding11_RawTargetBytesOverTheWireAreEscapedInTheLog) {
  jarvis::test::TempDir dir;
  jarvis::test::ServerProcess server(dir.path(), {{"APP_DB", dir.file("jarvis.db")}});
  ASSERT_TRUE(server.ready()) << server.output();
  jarvis::test::RawHttpClient c(server.port());
  c.send(std::string("GET /x\xff\xc3(y HTTP/1.1\r\nHost: t\r\n\r\n"));
  int status = c.read_response().status;
  EXPECT_EQ(status, 404);  // Beast accepts obs-text (0x80–0xFF) in a target
  server.terminate();
  std::string log = server.output();
  EXPECT_EQ(log.find("\xff"), std::string::npos);
  EXPECT_NE(log.find("/x\\xff\\xc3(y"), std::string::npos) << log;
}

TEST(HttpMiscServeTest, Finding11_SecondServeOnABusyPortFailsBeforeStartingWorkers) {
  jarvis::test::TempDir dir;
  jarvis::test::ServerProcess first(dir.path(), {{"APP_DB", dir.file("first.db")}});
  ASSERT_TRUE(first.ready()) << first.output();
  auto second = jarvis::test::run_jarvis({"serve"}, dir.path(),
                                         {{"APP_DB", dir.file("second.db")},
                                          {"BIND_PORT", std::to_string(first.port())},
                                          {"BIND_HOST", "127.0.0.1"}});
  std::string out = second.out + second.err;
  EXPECT_EQ(second.exit_code, 1) << out;
  EXPECT_NE(out.find("cannot listen on 127.0.0.1:" + std::to_string(first.port())),
            std::string::npos)
      << out;
  // Nothing ran before the bind failed: no migrations, no task workers, no scheduler.
  EXPECT_EQ(out.find("workers started"), std::string::npos) << out;
  EXPECT_EQ(out.find("applied"), std::string::npos) << out;
  EXPECT_EQ(first.terminate(), 0);
}

}  // namespace

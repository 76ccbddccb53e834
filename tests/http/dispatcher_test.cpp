// tests/http/dispatcher_test.cpp — the request pipeline without sockets: JSON errors with request
// ids, jarvis::Error rendering, crash isolation with error ids and metrics, query parsing, the auth
// hook, static files with the SPA fallback and no path escape.
#include "http/dispatcher.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "jarvis/error.h"
#include "support/support.h"

using jarvis::host::Dispatcher;
using jarvis::host::DispatchHooks;
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

void add(Router& router, const std::string& owner, const std::string& method,
         const std::string& path, jarvis::RouteHandler handler) {
  jarvis::RouteSpec s;
  s.method = method;
  s.path = path;
  s.handler = std::move(handler);
  router.add(Owner{owner, nullptr}, std::move(s));
}

jarvis::Json body_json(const jarvis::Response& res) { return jarvis::Json::parse(res.body); }

class DispatcherTest : public ::testing::Test {
 protected:
  Router router;
  MetricsRegistry metrics;
};

}  // namespace

TEST_F(DispatcherTest, NotFoundIsJsonWithRequestId) {
  Dispatcher d(router, metrics);
  auto req = request("GET", "/api/v1/missing?x=1");
  auto res = d.dispatch(req);
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.headers.get("Content-Type"), "application/json");
  auto j = body_json(res);
  EXPECT_EQ(j["error"]["code"], "not_found");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("/api/v1/missing"), std::string::npos);
  ASSERT_EQ(req.request_id.size(), 32u);
  EXPECT_EQ(j["error"]["request_id"], req.request_id);
  EXPECT_EQ(res.headers.get("X-Request-Id"), req.request_id);
  EXPECT_EQ(metrics.value("jarvis_http_requests_total",
                          {{"route", "unmatched"}, {"method", "GET"}, {"status", "404"}}),
            1);
}

TEST_F(DispatcherTest, MethodNotAllowedHasAllowHeader) {
  add(router, "p", "GET", "/api/v1/items/{id}",
      [](jarvis::Request&) { return jarvis::Response::no_content(); });
  add(router, "p", "PATCH", "/api/v1/items/{id}",
      [](jarvis::Request&) { return jarvis::Response::no_content(); });
  Dispatcher d(router, metrics);
  auto req = request("DELETE", "/api/v1/items/3");
  auto res = d.dispatch(req);
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(res.headers.get("Allow"), "GET, HEAD, PATCH");
  auto j = body_json(res);
  EXPECT_EQ(j["error"]["code"], "method_not_allowed");
  EXPECT_EQ(j["error"]["request_id"], req.request_id);
  EXPECT_EQ(res.headers.get("X-Request-Id"), req.request_id);
}

TEST_F(DispatcherTest, RendersJarvisErrorFromHandler) {
  add(router, "bugs", "GET", "/api/v1/bugs/{id}", [](jarvis::Request& r) -> jarvis::Response {
    throw jarvis::Error(404, "bug_not_found", "bug " + r.path_param("id") + " does not exist");
  });
  Dispatcher d(router, metrics);
  auto req = request("GET", "/api/v1/bugs/12");
  auto res = d.dispatch(req);
  EXPECT_EQ(res.status, 404);
  auto j = body_json(res);
  EXPECT_EQ(j["error"]["code"], "bug_not_found");
  EXPECT_EQ(j["error"]["message"], "bug 12 does not exist");
  EXPECT_EQ(j["error"]["request_id"], req.request_id);
  EXPECT_EQ(metrics.value("jarvis_plugin_handler_errors_total", {{"plugin", "bugs"}}), 0)
      << "a jarvis::Error is a normal answer, not a crash";
}

TEST_F(DispatcherTest, CrashingHandlerGives500WithErrorIdAndHostKeepsServing) {
  std::string hook_owner, hook_id, hook_what;
  DispatchHooks hooks;
  hooks.on_handler_crash = [&](const std::string& o, const std::string& id, const std::string& w) {
    hook_owner = o;
    hook_id = id;
    hook_what = w;
  };
  add(router, "flaky", "GET", "/api/v1/boom",
      [](jarvis::Request&) -> jarvis::Response { throw std::runtime_error("database exploded"); });
  add(router, "flaky", "GET", "/api/v1/weird",
      [](jarvis::Request&) -> jarvis::Response { throw 42; });
  add(router, "flaky", "GET", "/api/v1/ok",
      [](jarvis::Request&) { return jarvis::Response::text(200, "fine"); });
  Dispatcher d(router, metrics, hooks);

  auto req = request("GET", "/api/v1/boom");
  auto res = d.dispatch(req);
  EXPECT_EQ(res.status, 500);
  auto j = body_json(res);
  EXPECT_EQ(j["error"]["code"], "internal_error");
  std::string message = j["error"]["message"];
  EXPECT_EQ(hook_owner, "flaky");
  EXPECT_EQ(hook_what, "database exploded");
  ASSERT_FALSE(hook_id.empty());
  EXPECT_NE(message.find(hook_id), std::string::npos) << message;
  EXPECT_EQ(message.find("database exploded"), std::string::npos) << "internals are not leaked";
  EXPECT_EQ(res.headers.get("X-Request-Id"), req.request_id);
  EXPECT_EQ(metrics.value("jarvis_plugin_handler_errors_total", {{"plugin", "flaky"}}), 1);

  auto req2 = request("GET", "/api/v1/weird");
  EXPECT_EQ(d.dispatch(req2).status, 500);
  EXPECT_EQ(metrics.value("jarvis_plugin_handler_errors_total", {{"plugin", "flaky"}}), 2);

  auto req3 = request("GET", "/api/v1/ok");
  auto ok = d.dispatch(req3);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "fine");
  EXPECT_NE(req3.request_id, req.request_id);
}

TEST_F(DispatcherTest, InvalidStatusFromHandlerBecomes500) {
  add(router, "p", "GET", "/odd", [](jarvis::Request&) {
    jarvis::Response r;
    r.status = 42;
    return r;
  });
  Dispatcher d(router, metrics);
  auto req = request("GET", "/odd");
  auto res = d.dispatch(req);
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(body_json(res)["error"]["code"], "internal_error");
}

TEST_F(DispatcherTest, RequestIdOnEveryResponseAndCallerIdReused) {
  add(router, "p", "GET", "/ok",
      [](jarvis::Request&) { return jarvis::Response::text(200, "ok"); });
  Dispatcher d(router, metrics);

  auto req = request("GET", "/ok");
  req.headers.add("x-request-id", "lb-trace.42");
  auto res = d.dispatch(req);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(req.request_id, "lb-trace.42");
  EXPECT_EQ(res.headers.get("X-Request-Id"), "lb-trace.42");

  auto bad = request("GET", "/ok");
  bad.headers.add("X-Request-Id", "evil\r\nheader");
  auto res2 = d.dispatch(bad);
  EXPECT_EQ(bad.request_id.size(), 32u) << "an unsafe caller id is replaced";
  EXPECT_EQ(res2.headers.get("X-Request-Id"), bad.request_id);

  auto preset = request("GET", "/ok");
  preset.request_id = "server-assigned";
  EXPECT_EQ(d.dispatch(preset).headers.get("X-Request-Id"), "server-assigned");

  for (const char* target : {"/missing", "/ok?x=%zz", "/ok%zz", "nope"}) {
    auto r = request("GET", target);
    auto rr = d.dispatch(r);
    EXPECT_EQ(rr.headers.get("X-Request-Id"), r.request_id) << target;
    EXPECT_FALSE(r.request_id.empty()) << target;
  }
}

TEST_F(DispatcherTest, ParsesQueryAndPathParams) {
  jarvis::Request seen;
  add(router, "p", "GET", "/api/v1/items/{id}", [&](jarvis::Request& r) {
    seen = r;
    return jarvis::Response::no_content();
  });
  Dispatcher d(router, metrics);
  auto req = request("GET", "/api/v1/items/a%20b?q=hello+world&path=%2Fetc&empty&n=1&n=2");
  EXPECT_EQ(d.dispatch(req).status, 204);
  EXPECT_EQ(seen.path, "/api/v1/items/a b");
  EXPECT_EQ(seen.path_params.at("id"), "a b");
  EXPECT_EQ(seen.query.at("q"), "hello world");
  EXPECT_EQ(seen.query.at("path"), "/etc");
  EXPECT_EQ(seen.query.at("empty"), "");
  EXPECT_EQ(seen.query.at("n"), "2");

  auto bad = request("GET", "/api/v1/items/x?q=%G1");
  auto res = d.dispatch(bad);
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(body_json(res)["error"]["code"], "invalid_query");
  auto badpath = request("GET", "/api/v1/items/%");
  res = d.dispatch(badpath);
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(body_json(res)["error"]["code"], "invalid_path");
}

TEST_F(DispatcherTest, AuthorizeHookCanShortCircuitOrFillPrincipal) {
  bool called = false;
  std::string user;
  add(router, "p", "GET", "/api/v1/me", [&](jarvis::Request& r) {
    called = true;
    user = r.principal.username;
    return jarvis::Response::no_content();
  });
  DispatchHooks hooks;
  hooks.authorize = [](jarvis::Request& r,
                       const jarvis::host::RouteEntry& route) -> std::optional<jarvis::Response> {
    EXPECT_EQ(route.spec.path, "/api/v1/me");
    if (!r.headers.has("Authorization")) {
      return jarvis::host::Dispatcher::error_response(401, "unauthenticated", "login required",
                                                      r.request_id);
    }
    r.principal.username = "ada";
    r.principal.authenticated = true;
    return std::nullopt;
  };
  Dispatcher d(router, metrics, hooks);
  auto anon = request("GET", "/api/v1/me");
  auto res = d.dispatch(anon);
  EXPECT_EQ(res.status, 401);
  EXPECT_FALSE(called);
  EXPECT_EQ(res.headers.get("X-Request-Id"), anon.request_id);

  auto authed = request("GET", "/api/v1/me");
  authed.headers.add("Authorization", "Bearer t");
  EXPECT_EQ(d.dispatch(authed).status, 204);
  EXPECT_TRUE(called);
  EXPECT_EQ(user, "ada");
}

TEST_F(DispatcherTest, CountsRequestsByRoutePatternAndObservesDuration) {
  add(router, "p", "GET", "/api/v1/items/{id}",
      [](jarvis::Request&) { return jarvis::Response::text(200, "x"); });
  Dispatcher d(router, metrics);
  for (const char* id : {"1", "2", "3"}) {
    auto r = request("GET", std::string("/api/v1/items/") + id);
    d.dispatch(r);
  }
  auto h = request("HEAD", "/api/v1/items/4");
  d.dispatch(h);
  EXPECT_EQ(metrics.value("jarvis_http_requests_total",
                          {{"route", "/api/v1/items/{id}"}, {"method", "GET"}, {"status", "200"}}),
            3);
  EXPECT_EQ(metrics.value("jarvis_http_requests_total",
                          {{"route", "/api/v1/items/{id}"}, {"method", "HEAD"}, {"status", "200"}}),
            1);
  EXPECT_EQ(
      metrics.value("jarvis_http_request_duration_seconds", {{"route", "/api/v1/items/{id}"}}), 4);
  auto odd = request("BREW", "/api/v1/items/1");
  d.dispatch(odd);
  EXPECT_EQ(metrics.value("jarvis_http_requests_total",
                          {{"route", "unmatched"}, {"method", "OTHER"}, {"status", "405"}}),
            1);
  std::string text = metrics.render();
  EXPECT_NE(text.find("jarvis_http_request_duration_seconds_bucket{route=\"/api/v1/items/"
                      "{id}\",le=\"+Inf\"} 4"),
            std::string::npos)
      << text;
}

TEST_F(DispatcherTest, RejectAndBodyLimit) {
  jarvis::RouteSpec s;
  s.method = "POST";
  s.path = "/api/v1/upload/{name}";
  s.max_body_bytes = 123;
  s.handler = [](jarvis::Request&) { return jarvis::Response::no_content(); };
  router.add(Owner{}, s);
  Dispatcher d(router, metrics);
  EXPECT_EQ(d.body_limit("POST", "/api/v1/upload/a?x=1"), 123u);
  EXPECT_EQ(d.body_limit("GET", "/api/v1/upload/a"), 0u);
  EXPECT_EQ(d.body_limit("POST", "/elsewhere"), 0u);
  EXPECT_EQ(d.body_limit("POST", "/api/v1/upload/%zz"), 0u);

  auto req = request("POST", "/api/v1/upload/a");
  auto res = d.reject(req, 413, "payload_too_large", "too big");
  EXPECT_EQ(res.status, 413);
  auto j = body_json(res);
  EXPECT_EQ(j["error"]["code"], "payload_too_large");
  EXPECT_EQ(j["error"]["request_id"], req.request_id);
  EXPECT_EQ(res.headers.get("X-Request-Id"), req.request_id);
}

class StaticFilesTest : public DispatcherTest {
 protected:
  void SetUp() override {
    namespace fs = std::filesystem;
    jarvis::test::write_file(tmp.file("secret.txt"), "TOP-SECRET");
    fs::create_directories(tmp.file("dist/assets"));
    fs::create_directories(tmp.file("dist/docs"));
    jarvis::test::write_file(tmp.file("dist/index.html"), "<html>app</html>");
    jarvis::test::write_file(tmp.file("dist/docs/index.html"), "<html>docs</html>");
    jarvis::test::write_file(tmp.file("dist/assets/app-1234.js"), "console.log(1)");
    jarvis::test::write_file(tmp.file("dist/style.css"), "body{}");
    jarvis::test::write_file(tmp.file("dist/logo.svg"), "<svg/>");
    jarvis::test::write_file(tmp.file("dist/font.woff2"), "wOF2");
    fs::create_symlink(tmp.file("secret.txt"), tmp.file("dist/link.txt"));
    add(router, "host", "GET", "/healthz",
        [](jarvis::Request&) { return jarvis::Response::text(200, "ok"); });
  }
  jarvis::test::TempDir tmp;
};

TEST_F(StaticFilesTest, ServesFilesWithContentTypes) {
  Dispatcher d(router, metrics);
  d.set_static_dir(tmp.file("dist"));
  struct Case {
    const char* target;
    const char* body;
    const char* type;
  };
  for (const Case& c :
       {Case{"/", "<html>app</html>", "text/html; charset=utf-8"},
        Case{"/index.html", "<html>app</html>", "text/html; charset=utf-8"},
        Case{"/docs/", "<html>docs</html>", "text/html; charset=utf-8"},
        Case{"/assets/app-1234.js", "console.log(1)", "text/javascript; charset=utf-8"},
        Case{"/style.css?v=2", "body{}", "text/css; charset=utf-8"},
        Case{"/logo.svg", "<svg/>", "image/svg+xml"}, Case{"/font.woff2", "wOF2", "font/woff2"}}) {
    auto req = request("GET", c.target);
    auto res = d.dispatch(req);
    EXPECT_EQ(res.status, 200) << c.target;
    EXPECT_EQ(res.body, c.body) << c.target;
    EXPECT_EQ(res.headers.get("Content-Type"), c.type) << c.target;
    EXPECT_EQ(res.headers.get("X-Request-Id"), req.request_id) << c.target;
  }
  auto asset = request("GET", "/assets/app-1234.js");
  EXPECT_EQ(d.dispatch(asset).headers.get("Cache-Control"), "public, max-age=31536000, immutable");
  auto head = request("HEAD", "/style.css");
  EXPECT_EQ(d.dispatch(head).status, 200);
  EXPECT_EQ(metrics.value("jarvis_http_requests_total",
                          {{"route", "static"}, {"method", "GET"}, {"status", "200"}}),
            8);
}

TEST_F(StaticFilesTest, UnknownPathsFallBackToIndexButApiPathsStayJson) {
  Dispatcher d(router, metrics);
  d.set_static_dir(tmp.file("dist"));
  auto spa = request("GET", "/threads/42/settings");
  auto res = d.dispatch(spa);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "<html>app</html>");
  EXPECT_EQ(res.headers.get("Cache-Control"), "no-cache");

  for (const char* target :
       {"/api/v1/nothing", "/api", "/ws", "/readyz", "/metrics", "/healthz/x"}) {
    auto req = request("GET", target);
    auto r = d.dispatch(req);
    EXPECT_EQ(r.status, 404) << target;
    EXPECT_EQ(body_json(r)["error"]["code"], "not_found") << target;
  }
  auto post = request("POST", "/threads/42");
  EXPECT_EQ(d.dispatch(post).status, 404) << "only GET/HEAD get the web UI";
  auto health = request("GET", "/healthz");
  EXPECT_EQ(d.dispatch(health).body, "ok") << "routes win over files";
}

TEST_F(StaticFilesTest, NoEscapeFromTheRoot) {
  Dispatcher d(router, metrics);
  d.set_static_dir(tmp.file("dist"));
  for (const char* target : {"/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt",
                             "/assets/%2E%2E/%2E%2E/secret.txt", "/..%5c..%5csecret.txt",
                             "/link.txt", "/./index.html", "/%00index.html", "/%zz"}) {
    auto req = request("GET", target);
    auto res = d.dispatch(req);
    EXPECT_EQ(res.body.find("TOP-SECRET"), std::string::npos) << target;
    EXPECT_NE(res.status, 200) << target;
    EXPECT_EQ(res.headers.get("X-Request-Id"), req.request_id) << target;
  }
}

TEST_F(StaticFilesTest, MissingDirectoryMeansJson404) {
  Dispatcher d(router, metrics);
  d.set_static_dir(tmp.file("not-built-yet"));
  auto req = request("GET", "/");
  auto res = d.dispatch(req);
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(body_json(res)["error"]["code"], "not_found");
  // Once the UI is built, it is served without a restart.
  std::filesystem::create_directories(tmp.file("not-built-yet"));
  jarvis::test::write_file(tmp.file("not-built-yet/index.html"), "late");
  auto again = request("GET", "/");
  EXPECT_EQ(d.dispatch(again).body, "late");
}

// tests/http/router_test.cpp — the route table: parameters, literal precedence, HEAD→GET, 405,
// duplicate refusal naming both owners, pattern validation and percent-decoding.
#include "http/router.h"

#include <gtest/gtest.h>

#include "jarvis/error.h"

using jarvis::host::Owner;
using jarvis::host::RouteMatch;
using jarvis::host::Router;

namespace {

jarvis::RouteSpec spec(const std::string& method, const std::string& path) {
  jarvis::RouteSpec s;
  s.method = method;
  s.path = path;
  s.handler = [path](jarvis::Request&) { return jarvis::Response::text(200, path); };
  return s;
}

Owner owner(const std::string& name) { return Owner{name, nullptr}; }

}  // namespace

TEST(Router, MatchesParametersAndLiterals) {
  Router r;
  r.add(owner("bugs"), spec("GET", "/api/v1/bugs/{id}"));
  r.add(owner("bugs"), spec("GET", "/api/v1/bugs/{id}/comments/{comment}"));
  r.add(owner("host"), spec("GET", "/"));

  auto m = r.match("GET", "/api/v1/bugs/12");
  ASSERT_EQ(m.kind, RouteMatch::Kind::Found);
  EXPECT_EQ(m.route->spec.path, "/api/v1/bugs/{id}");
  EXPECT_EQ(m.route->owner.name, "bugs");
  EXPECT_EQ(m.path_params.at("id"), "12");

  m = r.match("GET", "/api/v1/bugs/7/comments/c9");
  ASSERT_EQ(m.kind, RouteMatch::Kind::Found);
  EXPECT_EQ(m.path_params.at("id"), "7");
  EXPECT_EQ(m.path_params.at("comment"), "c9");

  EXPECT_EQ(r.match("GET", "/").kind, RouteMatch::Kind::Found);
  EXPECT_EQ(r.match("GET", "/api/v1/bugs").kind, RouteMatch::Kind::NotFound);
  EXPECT_EQ(r.match("GET", "/api/v1/bugs/").kind, RouteMatch::Kind::NotFound)
      << "an empty segment is not a parameter value";
  EXPECT_EQ(r.match("GET", "/api/v1/bugs/1/2").kind, RouteMatch::Kind::NotFound);
}

TEST(Router, LiteralBeatsParameterWhateverTheRegistrationOrder) {
  for (bool literal_first : {true, false}) {
    Router r;
    if (literal_first) r.add(owner("a"), spec("GET", "/bugs/new"));
    r.add(owner("a"), spec("GET", "/bugs/{id}"));
    if (!literal_first) r.add(owner("a"), spec("GET", "/bugs/new"));
    auto m = r.match("GET", "/bugs/new");
    ASSERT_EQ(m.kind, RouteMatch::Kind::Found);
    EXPECT_EQ(m.route->spec.path, "/bugs/new");
    EXPECT_TRUE(m.path_params.empty());
    EXPECT_EQ(r.match("GET", "/bugs/17").route->spec.path, "/bugs/{id}");
  }
}

TEST(Router, EarlierLiteralSegmentDecidesPrecedence) {
  Router r;
  r.add(owner("a"), spec("GET", "/a/{x}/c"));
  r.add(owner("a"), spec("GET", "/a/b/{y}"));
  auto m = r.match("GET", "/a/b/c");
  ASSERT_EQ(m.kind, RouteMatch::Kind::Found);
  EXPECT_EQ(m.route->spec.path, "/a/b/{y}");
  EXPECT_EQ(m.path_params.at("y"), "c");
  EXPECT_EQ(r.match("GET", "/a/z/c").route->spec.path, "/a/{x}/c");
}

TEST(Router, HeadFallsBackToGetButExplicitHeadWins) {
  Router r;
  r.add(owner("a"), spec("GET", "/x"));
  r.add(owner("a"), spec("GET", "/y"));
  r.add(owner("a"), spec("HEAD", "/y"));
  auto m = r.match("HEAD", "/x");
  ASSERT_EQ(m.kind, RouteMatch::Kind::Found);
  EXPECT_EQ(m.route->spec.method, "GET");
  m = r.match("HEAD", "/y");
  ASSERT_EQ(m.kind, RouteMatch::Kind::Found);
  EXPECT_EQ(m.route->spec.method, "HEAD");
}

TEST(Router, MethodNotAllowedListsAllowedMethods) {
  Router r;
  r.add(owner("a"), spec("GET", "/items/{id}"));
  r.add(owner("a"), spec("DELETE", "/items/{id}"));
  r.add(owner("a"), spec("POST", "/items"));
  auto m = r.match("PUT", "/items/3");
  ASSERT_EQ(m.kind, RouteMatch::Kind::MethodNotAllowed);
  EXPECT_EQ(m.allowed_methods, (std::vector<std::string>{"DELETE", "GET", "HEAD"}));
  m = r.match("GET", "/items");
  ASSERT_EQ(m.kind, RouteMatch::Kind::MethodNotAllowed);
  EXPECT_EQ(m.allowed_methods, (std::vector<std::string>{"POST"}));
  EXPECT_EQ(r.match("GET", "/nothing").kind, RouteMatch::Kind::NotFound);
}

TEST(Router, DuplicateIsRefusedNamingBothOwners) {
  Router r;
  r.add(owner("b"), spec("GET", "/x"));
  try {
    r.add(owner("a"), spec("GET", "/x"));
    FAIL() << "duplicate accepted";
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.status(), 409);
    EXPECT_EQ(e.code(), "duplicate_route");
    EXPECT_STREQ(e.what(), "route GET /x registered by 'a' is already registered by 'b'");
  }
  // Same shape with another parameter name is the same route.
  r.add(owner("b"), spec("GET", "/items/{id}"));
  try {
    r.add(owner("c"), spec("GET", "/items/{name}"));
    FAIL() << "duplicate accepted";
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.code(), "duplicate_route");
    EXPECT_NE(std::string(e.what()).find("'c'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("'b'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("/items/{id}"), std::string::npos);
  }
  // Another method on the same path is fine.
  EXPECT_NO_THROW(r.add(owner("a"), spec("POST", "/x")));
  EXPECT_EQ(r.routes().size(), 3u);
}

TEST(Router, RefusesMalformedPatterns) {
  Router r;
  for (auto [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "x"},
           {"GET", ""},
           {"get", "/x"},
           {"", "/x"},
           {"GET", "/a//b"},
           {"GET", "/a/{"},
           {"GET", "/a/{1x}"},
           {"GET", "/a/pre{x}"},
           {"GET", "/a/{x}/{x}"},
           {"GET", "/a?b"},
       }) {
    try {
      r.add(owner("p"), spec(method, path));
      ADD_FAILURE() << "accepted " << method << " " << path;
    } catch (const jarvis::Error& e) {
      EXPECT_EQ(e.status(), 400) << path;
      EXPECT_EQ(e.code(), "invalid_route") << path;
      EXPECT_NE(std::string(e.what()).find("'p'"), std::string::npos) << e.what();
    }
  }
  jarvis::RouteSpec no_handler;
  no_handler.method = "GET";
  no_handler.path = "/h";
  EXPECT_THROW(r.add(owner("p"), no_handler), jarvis::Error);
  EXPECT_TRUE(r.routes().empty());
}

TEST(Router, DecodesSegmentsSeparately) {
  Router r;
  r.add(owner("a"), spec("GET", "/files/{name}"));
  r.add(owner("a"), spec("GET", "/hello world"));
  auto m = r.match("GET", "/files/a%20b%2Fc");
  ASSERT_EQ(m.kind, RouteMatch::Kind::Found);
  EXPECT_EQ(m.path_params.at("name"), "a b/c") << "%2F stays inside its segment";
  EXPECT_EQ(r.match("GET", "/hello%20world").kind, RouteMatch::Kind::Found);
  EXPECT_EQ(r.match("GET", "/files/a/b").kind, RouteMatch::Kind::NotFound);
  try {
    r.match("GET", "/files/%zz");
    FAIL() << "malformed escape accepted";
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_EQ(e.code(), "invalid_path");
  }
}

TEST(Router, RoutesAreSortedAndRemovableByOwner) {
  Router r;
  r.add(owner("b"), spec("POST", "/b"));
  r.add(owner("a"), spec("GET", "/b"));
  r.add(owner("a"), spec("GET", "/a"));
  auto all = r.routes();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0]->spec.path, "/a");
  EXPECT_EQ(all[1]->spec.method, "GET");
  EXPECT_EQ(all[2]->spec.method, "POST");
  r.remove_owner("a");
  all = r.routes();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0]->owner.name, "b");
  EXPECT_EQ(r.match("GET", "/a").kind, RouteMatch::Kind::NotFound);
  // The removed route can be registered again.
  EXPECT_NO_THROW(r.add(owner("c"), spec("GET", "/a")));
}

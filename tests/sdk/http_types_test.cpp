// Tests of the SDK's HTTP value types: Headers, Request accessors and Response constructors.
#include <gtest/gtest.h>

#include "jarvis/error.h"
#include "jarvis/http.h"

namespace {

using jarvis::Error;
using jarvis::Headers;
using jarvis::Request;
using jarvis::Response;

/// Runs `f`, expects a jarvis::Error and returns it.
template <typename F>
Error expect_error(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no jarvis::Error thrown";
  return Error(0, "", "");
}

TEST(Headers, GetIsCaseInsensitiveAndReturnsFirst) {
  Headers h;
  h.add("Set-Cookie", "a=1");
  h.add("set-cookie", "b=2");
  EXPECT_EQ(h.get("SET-COOKIE").value(), "a=1");
  EXPECT_TRUE(h.has("Set-cookie"));
  EXPECT_FALSE(h.has("Set-Cookie2"));
  EXPECT_FALSE(h.get("X").has_value());
  ASSERT_EQ(h.all().size(), 2u);
  EXPECT_EQ(h.all()[1].second, "b=2");
}

TEST(Headers, SetReplacesEveryValueOfTheName) {
  Headers h;
  h.add("Accept", "text/html");
  h.add("X-A", "1");
  h.add("accept", "application/json");
  h.set("ACCEPT", "*/*");
  ASSERT_EQ(h.all().size(), 2u);
  EXPECT_EQ(h.all()[0].first, "X-A");
  EXPECT_EQ(h.all()[1].first, "ACCEPT");
  EXPECT_EQ(h.get("accept").value(), "*/*");
}

TEST(Request, QueryIntParsesAndFallsBack) {
  Request r;
  r.query = {{"limit", "25"}, {"neg", "-3"}, {"empty", ""}};
  EXPECT_EQ(r.query_int("limit", 50, 1, 200), 25);
  EXPECT_EQ(r.query_int("missing", 50, 1, 200), 50);
  EXPECT_EQ(r.query_int("empty", 7, 1, 200), 7);
  EXPECT_EQ(r.query_int("neg", 0, -10, 10), -3);
  EXPECT_EQ(r.query_int("limit", 0, 25, 25), 25);  // bounds are inclusive
}

TEST(Request, QueryIntRejectsNonIntegersWithStableCode) {
  Request r;
  r.query = {{"limit", "12abc"}, {"f", "1.5"}, {"big", "99999999999999999999"}, {"sp", " 3"}};
  for (const char* name : {"limit", "f", "big", "sp"}) {
    Error e = expect_error([&] { r.query_int(name, 0, 0, 100); });
    EXPECT_EQ(e.status(), 400) << name;
    EXPECT_EQ(e.code(), "invalid_query") << name;
    EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
  }
}

TEST(Request, QueryIntRejectsOutOfRange) {
  Request r;
  r.query = {{"limit", "201"}, {"low", "0"}};
  Error e = expect_error([&] { r.query_int("limit", 50, 1, 200); });
  EXPECT_EQ(e.code(), "invalid_query");
  EXPECT_NE(std::string(e.what()).find("between 1 and 200"), std::string::npos) << e.what();
  EXPECT_EQ(expect_error([&] { r.query_int("low", 50, 1, 200); }).code(), "invalid_query");
}

TEST(Request, QueryParamAndPathParam) {
  Request r;
  r.query = {{"q", "x y"}};
  r.path_params = {{"id", "42"}};
  EXPECT_EQ(r.query_param("q").value(), "x y");
  EXPECT_FALSE(r.query_param("nope").has_value());
  EXPECT_EQ(r.path_param("id"), "42");
  Error e = expect_error([&] { r.path_param("other"); });
  EXPECT_EQ(e.status(), 400);
  EXPECT_EQ(e.code(), "missing_path_param");
}

TEST(Request, JsonBodyAcceptsObjectsOnly) {
  Request r;
  r.body = R"({"a": [1, 2], "b": {"c": null}})";
  jarvis::Json j = r.json_body();
  EXPECT_EQ(j["a"][1], 2);
  EXPECT_TRUE(j["b"]["c"].is_null());

  for (const char* bad : {"", "not json", "{\"a\":", "[1,2]", "42", "\"s\"", "null"}) {
    r.body = bad;
    Error e = expect_error([&] { r.json_body(); });
    EXPECT_EQ(e.status(), 400) << bad;
    EXPECT_EQ(e.code(), "invalid_json") << bad;
  }
}

TEST(Response, Constructors) {
  Response j = Response::json(201, {{"ok", true}});
  EXPECT_EQ(j.status, 201);
  EXPECT_EQ(j.headers.get("content-type").value(), "application/json");
  EXPECT_EQ(jarvis::Json::parse(j.body)["ok"], true);

  // Invalid UTF-8 in a JSON string is replaced, never thrown.
  Response bad = Response::json(200, {{"s", std::string("a\xff")}});
  EXPECT_EQ(bad.status, 200);
  EXPECT_FALSE(jarvis::Json::parse(bad.body)["s"].get<std::string>().empty());

  Response t = Response::text(404, "nope");
  EXPECT_EQ(t.status, 404);
  EXPECT_EQ(t.body, "nope");
  EXPECT_EQ(t.headers.get("Content-Type").value(), "text/plain; charset=utf-8");

  Response n = Response::no_content();
  EXPECT_EQ(n.status, 204);
  EXPECT_TRUE(n.body.empty());
}

TEST(Auth, ToString) {
  EXPECT_STREQ(jarvis::to_string(jarvis::Auth::Public), "public");
  EXPECT_STREQ(jarvis::to_string(jarvis::Auth::User), "user");
  EXPECT_STREQ(jarvis::to_string(jarvis::Auth::Admin), "admin");
  EXPECT_STREQ(jarvis::to_string(jarvis::Auth::Webhook), "webhook");
}

TEST(Error, HelpersCarryStatusAndCode) {
  EXPECT_EQ(jarvis::bad_request("m").status(), 400);
  EXPECT_EQ(jarvis::bad_request("m").code(), "invalid_request");
  EXPECT_EQ(jarvis::bad_request("m", "x_bad").code(), "x_bad");
  EXPECT_EQ(jarvis::not_found("m").status(), 404);
  EXPECT_EQ(jarvis::forbidden("m").status(), 403);
  EXPECT_EQ(jarvis::conflict("m").status(), 409);
  EXPECT_EQ(jarvis::unprocessable("m").code(), "validation_failed");
  EXPECT_STREQ(jarvis::not_found("bug 12 does not exist").what(), "bug 12 does not exist");
}

}  // namespace

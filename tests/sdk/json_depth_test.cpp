// tests/sdk/json_depth_test.cpp — the SDK's depth-bounded JSON reading (issue 8, finding 1):
// nlohmann copies, compares and prints values recursively, so untrusted JSON is refused past
// kMaxJsonDepth levels before a value is built.
#include <gtest/gtest.h>

#include <string>

#include "jarvis/error.h"
#include "jarvis/http.h"
#include "jarvis/json.h"

namespace {

std::string nested(int depth, char open = '[', char close = ']') {
  return std::string(static_cast<std::size_t>(depth), open) +
         std::string(static_cast<std::size_t>(depth), close);
}

std::string error_code(const std::function<void()>& f) {
  try {
    f();
  } catch (const jarvis::Error& e) {
    return e.code();
  }
  return "";
}

TEST(JsonDepth, TextDepthCountsArraysAndObjects) {
  EXPECT_FALSE(jarvis::json_text_too_deep("1", 0));
  EXPECT_TRUE(jarvis::json_text_too_deep("[]", 0));
  EXPECT_FALSE(jarvis::json_text_too_deep(nested(64), 64));
  EXPECT_TRUE(jarvis::json_text_too_deep(nested(65), 64));
  EXPECT_TRUE(jarvis::json_text_too_deep(R"({"a":{"a":{"a":1}}})", 2));
  EXPECT_FALSE(jarvis::json_text_too_deep(R"({"a":{"a":{"a":1}}})", 3));
  // Siblings do not add up.
  EXPECT_FALSE(jarvis::json_text_too_deep("[[1],[2],[3],[[4]]]", 3));
}

TEST(JsonDepth, BracketsInsideStringsDoNotCount) {
  std::string s = "[\"" + nested(1000) + "\"]";
  EXPECT_FALSE(jarvis::json_text_too_deep(s, 1));
  // An escaped quote does not end the string.
  EXPECT_FALSE(jarvis::json_text_too_deep(R"(["\"[[[[[[" ])", 1));
  EXPECT_FALSE(jarvis::json_text_too_deep(R"(["\\", 1])", 1));
  EXPECT_TRUE(jarvis::json_text_too_deep(R"(["\\", [[1]]])", 2));
}

TEST(JsonDepth, ParseRefusesDeepTextBeforeBuildingIt) {
  std::string deep = nested(70000, '[', ']');
  EXPECT_EQ(error_code([&] { jarvis::parse_json(deep); }), "json_too_deep");
  EXPECT_FALSE(jarvis::try_parse_json(deep));
  std::string objects;
  for (int i = 0; i < 70000; ++i) objects += "{\"a\":";
  objects += "1" + std::string(70000, '}');
  EXPECT_EQ(error_code([&] { jarvis::parse_json(objects); }), "json_too_deep");
  EXPECT_EQ(jarvis::parse_json(nested(64)).size(), 1u);
  EXPECT_EQ(error_code([&] { jarvis::parse_json("{"); }), "invalid_json");
  EXPECT_FALSE(jarvis::try_parse_json("{"));
}

TEST(JsonDepth, RequestBodyIsBounded) {
  jarvis::Request r;
  r.body = "{\"a\":" + nested(70000) + "}";
  EXPECT_EQ(error_code([&] { r.json_body(); }), "json_too_deep");
  r.body = "{\"a\":" + nested(63) + "}";
  EXPECT_TRUE(r.json_body().is_object());
}

TEST(JsonDepth, ValueDepthIsMeasuredWithoutRecursion) {
  EXPECT_EQ(jarvis::json_depth(jarvis::Json(1)), 0);
  EXPECT_EQ(jarvis::json_depth(jarvis::Json::object()), 1);
  EXPECT_EQ(jarvis::json_depth(jarvis::Json{{"a", {{"b", jarvis::Json::array({1})}}}}), 3);
  jarvis::Json deep = 1;
  for (int i = 0; i < 200; ++i) deep = jarvis::Json::array({std::move(deep)});
  EXPECT_EQ(jarvis::json_depth(deep, 1000), 200);
  EXPECT_EQ(jarvis::json_depth(deep, 64), 65);  // stops once past the bound
  EXPECT_EQ(error_code([&] { jarvis::require_json_depth(deep, "payload"); }), "json_too_deep");
  EXPECT_NO_THROW(jarvis::require_json_depth(deep, "payload", 200));
}

}  // namespace

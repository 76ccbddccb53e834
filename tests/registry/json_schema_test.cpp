// tests/registry/json_schema_test.cpp — jarvis::validate_json / check_json_schema: each supported
// keyword refusing bad input with a JSON Pointer path, schemas refused with the offending part
// named, and the depth bound.
#include <gtest/gtest.h>

#include "jarvis/json_schema.h"

namespace {

using jarvis::Json;

// The error of validating `value`, as "path|message" ("" when valid).
std::string err(const Json& schema, const Json& value) {
  auto e = jarvis::validate_json(schema, value);
  if (!e) return "";
  EXPECT_FALSE(e->in_schema) << jarvis::to_string(*e);
  return e->path + "|" + e->message;
}

std::string schema_err(const Json& schema) {
  auto e = jarvis::check_json_schema(schema);
  if (!e) return "";
  EXPECT_TRUE(e->in_schema);
  return e->path + "|" + e->message;
}

TEST(JsonSchema, TypeAsNameOrArrayAndIntegerVersusNumber) {
  EXPECT_EQ(err({{"type", "string"}}, "x"), "");
  EXPECT_EQ(err({{"type", "string"}}, 1), "|must be a string (got integer)");
  EXPECT_EQ(err({{"type", "integer"}}, 1.0), "");  // 1.0 is an integer
  EXPECT_EQ(err({{"type", "integer"}}, 1.5), "|must be an integer (got number)");
  EXPECT_EQ(err({{"type", "number"}}, 7), "");
  EXPECT_EQ(err({{"type", "number"}}, "7"), "|must be a number (got string)");
  EXPECT_EQ(err({{"type", "boolean"}}, 0), "|must be a boolean (got integer)");
  EXPECT_EQ(err({{"type", "null"}}, false), "|must be a null (got boolean)");
  EXPECT_EQ(err({{"type", "object"}}, Json::array()), "|must be an object (got array)");
  EXPECT_EQ(err({{"type", "array"}}, Json::object()), "|must be an array (got object)");
  Json either = {{"type", {"string", "null"}}};
  EXPECT_EQ(err(either, nullptr), "");
  EXPECT_EQ(err(either, 3), "|must be one of the types string, null (got integer)");
}

TEST(JsonSchema, EnumIsDeepAndNumeric) {
  Json s = {{"enum", {1, "a", {{"k", {1, 2}}}}}};
  EXPECT_EQ(err(s, 1.0), "");  // 1 == 1.0
  EXPECT_EQ(err(s, Json{{"k", {1.0, 2}}}), "");
  EXPECT_EQ(err(s, Json{{"k", {2, 1}}}), "|must be one of [1,\"a\",{\"k\":[1,2]}]");
  EXPECT_EQ(err(s, true), "|must be one of [1,\"a\",{\"k\":[1,2]}]");  // true is not 1
}

TEST(JsonSchema, NumericBounds) {
  EXPECT_EQ(err({{"minimum", 2}}, 2), "");
  EXPECT_EQ(err({{"minimum", 2}}, 1.5), "|must be >= 2 (got 1.5)");
  EXPECT_EQ(err({{"maximum", 2}}, 3), "|must be <= 2 (got 3)");
  EXPECT_EQ(err({{"exclusiveMinimum", 2}}, 2), "|must be > 2 (got 2)");
  EXPECT_EQ(err({{"exclusiveMaximum", 2.5}}, 2.5), "|must be < 2.5 (got 2.5)");
  EXPECT_EQ(err({{"maximum", 2}}, "not a number"), "");  // bounds ignore other types
  // Large integers compare exactly (no rounding through double).
  EXPECT_EQ(err({{"maximum", 9007199254740993LL}}, 9007199254740993LL), "");
  EXPECT_NE(err({{"maximum", 9007199254740992LL}}, 9007199254740993LL), "");
  EXPECT_EQ(err({{"minimum", 0}}, std::uint64_t{18446744073709551615ULL}), "");
}

TEST(JsonSchema, StringLengthCountsCodePoints) {
  Json s = {{"minLength", 2}, {"maxLength", 3}};
  EXPECT_EQ(err(s, "ab"), "");
  EXPECT_EQ(err(s, "é😀"), "");  // 2 code points, 6 bytes
  EXPECT_EQ(err(s, "😀"), "|must be at least 2 characters long (got 1)");
  EXPECT_EQ(err(s, "abcd"), "|must be at most 3 characters long (got 4)");
  EXPECT_EQ(err(s, 12345), "");
}

TEST(JsonSchema, ArraysItemsPrefixItemsAndCounts) {
  Json s = {{"type", "array"},
            {"minItems", 1},
            {"maxItems", 3},
            {"items", {{"type", "object"}, {"required", {"name"}}}}};
  EXPECT_EQ(err(s, Json::array()), "|must have at least 1 items (got 0)");
  EXPECT_EQ(err(s, Json::array({{{"name", 1}}, {{"name", 2}}, {{"name", 3}}, {{"name", 4}}})),
            "|must have at most 3 items (got 4)");
  EXPECT_EQ(err(s, Json::array({{{"name", 1}}, {{"name", 2}}, Json::object()})),
            "/2/name|is required");
  EXPECT_EQ(err(s, Json::array({{{"name", 1}}, 5})), "/1|must be an object (got integer)");
  // 2020-12 prefixItems: per position, then `items` for the rest.
  Json tuple = {{"prefixItems", {{{"type", "string"}}, {{"type", "integer"}}}},
                {"items", {{"type", "boolean"}}}};
  EXPECT_EQ(err(tuple, Json::array({"a", 1, true, false})), "");
  EXPECT_EQ(err(tuple, Json::array({"a", "b"})), "/1|must be an integer (got string)");
  EXPECT_EQ(err(tuple, Json::array({"a", 1, 2})), "/2|must be a boolean (got integer)");
  EXPECT_EQ(err(tuple, Json::array({"a"})), "");  // shorter than the prefix is fine
  // Draft 7's array form of items: per position, the rest unconstrained.
  Json d7 = {{"items", {{{"type", "string"}}}}};
  EXPECT_EQ(err(d7, Json::array({"a", 1})), "");
  EXPECT_EQ(err(d7, Json::array({1})), "/0|must be a string (got integer)");
  EXPECT_EQ(err({{"items", false}}, Json::array({1})), "/0|no value is allowed here");
}

TEST(JsonSchema, ObjectsRequiredPropertiesAdditional) {
  Json s = {{"type", "object"},
            {"properties",
             {{"name", {{"type", "string"}}},
              {"tags", {{"type", "array"}, {"items", {{"type", "string"}}}}}}},
            {"required", {"name"}},
            {"additionalProperties", false}};
  EXPECT_EQ(err(s, {{"name", "a"}, {"tags", {"x"}}}), "");
  EXPECT_EQ(err(s, Json::object()), "/name|is required");
  EXPECT_EQ(err(s, {{"name", 3}}), "/name|must be a string (got integer)");
  EXPECT_EQ(err(s, {{"name", "a"}, {"tags", {"x", 2}}}), "/tags/1|must be a string (got integer)");
  EXPECT_EQ(err(s, {{"name", "a"}, {"colour", "red"}}), "/colour|is not an allowed property");
  Json typed_extra = {{"properties", {{"a", true}}},
                      {"additionalProperties", {{"type", "integer"}}}};
  EXPECT_EQ(err(typed_extra, {{"a", "x"}, {"b", 2}}), "");
  EXPECT_EQ(err(typed_extra, {{"b", "x"}}), "/b|must be an integer (got string)");
  EXPECT_EQ(err({{"properties", {{"a", false}}}}, {{"a", 1}}), "/a|no value is allowed here");
}

TEST(JsonSchema, PathsAreJsonPointersWithEscapes) {
  Json s = {
      {"properties",
       {{"items",
         {{"items",
           {{"properties", {{"name", {{"type", "string"}}}, {"a/b~c", {{"type", "null"}}}}}}}}}}}};
  EXPECT_EQ(err(s, {{"items", {Json::object(), Json::object(), {{"name", 7}}}}}),
            "/items/2/name|must be a string (got integer)");
  EXPECT_EQ(err(s, {{"items", {{{"a/b~c", 1}}}}}), "/items/0/a~1b~0c|must be a null (got integer)");
  auto e = jarvis::validate_json({{"type", "object"}}, 1);
  ASSERT_TRUE(e);
  EXPECT_EQ(jarvis::to_string(*e), "(root): must be an object (got integer)");
}

TEST(JsonSchema, BooleanSchemasAndAnnotations) {
  EXPECT_EQ(err(true, {{"anything", 1}}), "");
  EXPECT_EQ(err(false, 1), "|no value is allowed here");
  Json annotated = {{"$schema", "https://json-schema.org/draft/2020-12/schema"},
                    {"title", "t"},
                    {"description", "d"},
                    {"default", 1},
                    {"examples", {1}},
                    {"format", "email"},
                    {"type", "string"}};
  EXPECT_EQ(schema_err(annotated), "");
  EXPECT_EQ(err(annotated, "not an email"), "");  // format is an annotation only
}

TEST(JsonSchema, MalformedOrUnsupportedSchemasAreRefusedWithThePath) {
  EXPECT_EQ(schema_err({{"type", "text"}}), "/type|unknown type 'text'");
  EXPECT_EQ(schema_err({{"type", Json::array()}}),
            "/type|type must be a type name or a non-empty array of type names");
  EXPECT_EQ(schema_err({{"type", {"string", "string"}}}), "/type|type 'string' is listed twice");
  EXPECT_EQ(schema_err({{"enum", Json::array()}}), "/enum|enum must be a non-empty array");
  EXPECT_EQ(schema_err({{"minimum", "1"}}), "/minimum|minimum must be a number");
  EXPECT_EQ(schema_err({{"exclusiveMinimum", true}}),
            "/exclusiveMinimum|exclusiveMinimum must be a number (draft 4's boolean form is not "
            "supported)");
  EXPECT_EQ(schema_err({{"minLength", -1}}), "/minLength|minLength must be a non-negative integer");
  EXPECT_EQ(schema_err({{"maxItems", 1.5}}), "/maxItems|maxItems must be a non-negative integer");
  EXPECT_EQ(schema_err({{"maxItems", 2.0}}), "");  // 2.0 is an integer
  EXPECT_EQ(schema_err({{"required", {"a", "a"}}}), "/required|required lists 'a' twice");
  EXPECT_EQ(schema_err({{"required", {1}}}), "/required|required must list strings only");
  EXPECT_EQ(schema_err({{"properties", {{"a", {{"type", 3}}}}}}),
            "/properties/a/type|type must be a type name or a non-empty array of type names");
  EXPECT_EQ(schema_err({{"properties", {{"a", {{"pattern", "^x"}}}}}}),
            "/properties/a/pattern|unsupported keyword 'pattern'");
  EXPECT_EQ(schema_err({{"$ref", "#/defs/x"}}), "/$ref|unsupported keyword '$ref'");
  EXPECT_EQ(schema_err({{"requried", {"a"}}}), "/requried|unsupported keyword 'requried'");
  EXPECT_EQ(schema_err({{"items", {1}}}), "/items/0|a schema must be an object or a boolean");
  EXPECT_EQ(schema_err({{"additionalProperties", "no"}}),
            "/additionalProperties|a schema must be an object or a boolean");
  EXPECT_EQ(schema_err({{"prefixItems", {true}}, {"items", {true}}}),
            "|prefixItems cannot be combined with the array form of items");
  EXPECT_EQ(schema_err("object"), "|a schema must be an object or a boolean");
  // validate_json refuses a bad schema instead of guessing.
  auto e = jarvis::validate_json({{"oneOf", Json::array()}}, 1);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->in_schema);
}

Json nested(int levels, const Json& leaf) {
  Json v = leaf;
  for (int i = 0; i < levels; ++i) v = Json{{"a", std::move(v)}};
  return v;
}

TEST(JsonSchema, DepthIsBounded) {
  // A schema nested 30 levels validates a value nested as deep (recursion follows the schema).
  Json schema = {{"type", "integer"}};
  for (int i = 0; i < 30; ++i) schema = Json{{"properties", {{"a", schema}}}};
  EXPECT_EQ(schema_err(schema), "");
  EXPECT_EQ(err(schema, nested(30, 1)), "");
  std::string path;
  for (int i = 0; i < 30; ++i) path += "/a";
  EXPECT_EQ(err(schema, nested(30, "x")), path + "|must be an integer (got string)");
  // Deeper than kMaxJsonDepth: the schema is refused; the value is refused without recursion.
  Json deep_schema = true;
  for (int i = 0; i < 40; ++i) deep_schema = Json{{"properties", {{"a", deep_schema}}}};
  EXPECT_NE(schema_err(deep_schema).find("nests deeper than 64 levels"), std::string::npos);
  EXPECT_EQ(err(true, nested(65, 1)), "|nests deeper than 64 levels");
  EXPECT_EQ(err(true, nested(64, 1)), "");
}

}  // namespace

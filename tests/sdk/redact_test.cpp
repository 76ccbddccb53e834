// Tests of jarvis::redact: recursive, case-insensitive redaction of sensitive keys.
#include <gtest/gtest.h>

#include "jarvis/events.h"

namespace {

using jarvis::Json;
using jarvis::redact;

const Json kRedacted = "[REDACTED]";

TEST(Redact, TopLevelKeysCaseInsensitive) {
  Json in = {{"password", "p"}, {"Token", "t"},  {"API_KEY", "k"}, {"Authorization", "Bearer x"},
             {"cookie", "c"},   {"user", "ana"}, {"count", 3}};
  Json out = redact(in);
  EXPECT_EQ(out["password"], kRedacted);
  EXPECT_EQ(out["Token"], kRedacted);
  EXPECT_EQ(out["API_KEY"], kRedacted);
  EXPECT_EQ(out["Authorization"], kRedacted);
  EXPECT_EQ(out["cookie"], kRedacted);
  EXPECT_EQ(out["user"], "ana");
  EXPECT_EQ(out["count"], 3);
}

TEST(Redact, NestedObjectsAndArrays) {
  Json in = Json::parse(R"({
    "outer": {"inner": {"secret": "s", "keep": 1}},
    "list": [{"refresh_token": "r", "id": 1}, [{"Access_Token": "a"}], "plain", 5],
    "pairing": {"pairing_code": "123-456", "qrcode": "data", "phone": "+1555"}
  })");
  Json out = redact(in);
  EXPECT_EQ(out["outer"]["inner"]["secret"], kRedacted);
  EXPECT_EQ(out["outer"]["inner"]["keep"], 1);
  EXPECT_EQ(out["list"][0]["refresh_token"], kRedacted);
  EXPECT_EQ(out["list"][0]["id"], 1);
  EXPECT_EQ(out["list"][1][0]["Access_Token"], kRedacted);
  EXPECT_EQ(out["list"][2], "plain");
  EXPECT_EQ(out["list"][3], 5);
  EXPECT_EQ(out["pairing"]["pairing_code"], kRedacted);
  EXPECT_EQ(out["pairing"]["qrcode"], kRedacted);
  EXPECT_EQ(out["pairing"]["phone"], kRedacted);
}

TEST(Redact, SensitiveKeyHidesWholeSubtree) {
  Json out = redact({{"secret", {{"a", 1}, {"b", {1, 2}}}}, {"token", Json::array({"x"})}});
  EXPECT_EQ(out["secret"], kRedacted);
  EXPECT_EQ(out["token"], kRedacted);
}

TEST(Redact, SpellingVariantsAndCompoundNames) {
  Json in = {{"X-Api-Key", "1"},   {"apiKey", "2"},       {"github_token", "3"},
             {"DB_PASSWORD", "4"}, {"clientSecret", "5"}, {"webhook.secret", "6"},
             {"Set-Cookie", "7"},  {"QRCode", "8"},       {"openai-api-key", "9"},
             {"accessToken", "10"}};
  Json out = redact(in);
  for (auto it = in.begin(); it != in.end(); ++it) {
    EXPECT_EQ(out[it.key()], kRedacted) << it.key();
  }
}

TEST(Redact, InnocentLookalikesAreKept) {
  Json in = {{"max_tokens", 100}, {"token_count", 7},   {"prompt_tokens", 3}, {"error_code", "x"},
             {"zipcode", "1000"}, {"tokenizer", "bpe"}, {"secretary", "bob"}, {"codes", 1}};
  EXPECT_EQ(redact(in), in);
}

TEST(Redact, ScalarsAndEmptyValuesPassThrough) {
  EXPECT_EQ(redact(Json(5)), Json(5));
  EXPECT_EQ(redact(Json("password")), Json("password"));  // values are not keys
  EXPECT_EQ(redact(Json(nullptr)), Json(nullptr));
  EXPECT_EQ(redact(Json::object()), Json::object());
  EXPECT_EQ(redact(Json::array()), Json::array());
}

TEST(Redact, DoesNotModifyTheInput) {
  Json in = {{"password", "p"}};
  Json out = redact(in);
  EXPECT_EQ(in["password"], "p");
  EXPECT_EQ(out["password"], kRedacted);
}

}  // namespace

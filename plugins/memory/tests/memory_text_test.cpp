// memory/tests/memory_text_test.cpp — query quoting (no FTS operator survives), the local
// embedder (deterministic, unit length, meaningful) and the vector encoding.
#include <gtest/gtest.h>

#include <cmath>

#include "embedder.h"
#include "fts_query.h"
#include "text_features.h"

namespace {

using namespace jarvis::memory;

float dot(const std::vector<float>& a, const std::vector<float>& b) {
  float s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

TEST(MemoryFtsQuery, EveryTokenIsQuotedAndOperatorsAreWords) {
  EXPECT_EQ(sqlite_match(fts_tokens("NEAR(\"x* y\" OR")), "\"near\" OR \"x\" OR \"y\"");
  EXPECT_TRUE(fts_tokens("\"*^():-+{}[]").empty());
  EXPECT_EQ(fts_tokens("the and of"), (std::vector<std::string>{"the", "and", "of"}));
  EXPECT_EQ(fts_tokens("the cat and THE dog"), (std::vector<std::string>{"cat", "dog"}));
  std::string many;
  for (int i = 0; i < 40; ++i) many += "w" + std::to_string(i) + " ";
  EXPECT_EQ(fts_tokens(many).size(), kMaxQueryTokens);
  EXPECT_EQ(postgres_tsquery({"a", "b"}),
            "(plainto_tsquery('english', :t0) || plainto_tsquery('english', :t1))");
  for (const auto& t : fts_tokens("é\"ü'ß")) {
    EXPECT_EQ(t.find('"'), std::string::npos);
  }
}

TEST(MemoryLocalEmbedder, DeterministicUnitLengthAndMeaningful) {
  auto e = make_local_embedder(384);
  jarvis::CancelToken none;
  auto a = e->embed({"The car is parked on level three of the garage"}, none)[0];
  auto a2 = e->embed({"The car is parked on level three of the garage"}, none)[0];
  auto b = e->embed({"Where did I park the car in the garage?"}, none)[0];
  auto c = e->embed({"Photosynthesis converts sunlight into chemical energy"}, none)[0];
  auto typo = e->embed({"the garrage where the kar is parkd"}, none)[0];
  ASSERT_EQ(a.size(), 384u);
  EXPECT_EQ(a, a2);  // bit-identical: never random
  EXPECT_NEAR(dot(a, a), 1.0F, 1e-4);
  EXPECT_GT(dot(a, b), dot(a, c) + 0.2F);
  EXPECT_GT(dot(a, typo), dot(c, typo));  // character n-grams survive typos
  EXPECT_EQ(e->model_id(), "local:v1:384");
  auto empty = e->embed({""}, none)[0];
  for (float x : empty) EXPECT_EQ(x, 0.0F);
}

TEST(MemoryVectorEncoding, RoundTripsAndRefusesGarbage) {
  std::vector<float> v = {0.0F, -1.5F, 3.25F, 1e-7F, 42.0F};
  EXPECT_EQ(decode_vector(encode_vector(v)), v);
  EXPECT_TRUE(decode_vector(encode_vector({})).empty());
  EXPECT_THROW(decode_vector("abc"), std::invalid_argument);
  EXPECT_THROW(decode_vector("@@@@"), std::invalid_argument);
  EXPECT_THROW(decode_vector("AAA="), std::invalid_argument);  // 2 bytes: not float32
}

TEST(MemoryText, Utf8PrefixNeverSplitsACharacter) {
  EXPECT_EQ(utf8_prefix("héllo", 2), "h");
  EXPECT_EQ(utf8_prefix("héllo", 3), "hé");
  EXPECT_EQ(estimate_tokens("12345"), 2);
}

}  // namespace

// memory/tests/memory_search_test.cpp — hybrid search on SQLite and PostgreSQL: hostile query
// text (every punctuation character and FTS operator), score parts, filters and owner scoping,
// tombstones, time travel, and the per-host vector index (persisted, synced from the table).
#include <gtest/gtest.h>

#include <cctype>
#include <set>

#include "fts_query.h"
#include "memory_db_support.h"

namespace memory_test {
namespace {

class MemorySearch : public ::testing::TestWithParam<Backend> {};

TEST_P(MemorySearch, NoPunctuationOrOperatorIsAnErrorOrSyntax) {
  MemoryDb d(GetParam());
  d.add("usr_a", "thr_1", "an unbalanced paren (and a star* and NEAR words) stays text");
  d.add("usr_a", "thr_1", "quotes \"inside\" and col:umn and a^b and -minus +plus");
  std::vector<std::string> queries = {"",
                                      " ",
                                      "AND",
                                      "OR",
                                      "NOT",
                                      "NEAR",
                                      "NEAR(a b, 2)",
                                      "a NEAR/2 b",
                                      "\"",
                                      "\"\"",
                                      "\"unclosed",
                                      "(",
                                      ")",
                                      "((a",
                                      "a))",
                                      "*",
                                      "a*",
                                      "*a",
                                      "^a",
                                      "col:umn",
                                      "text:x",
                                      "-x",
                                      "+x",
                                      "{a b}",
                                      "[a]",
                                      "'",
                                      "''",
                                      "\\",
                                      "%",
                                      "_",
                                      "a OR",
                                      "OR a",
                                      "AND NOT",
                                      "é ü 日本",
                                      std::string("a\0b", 3),
                                      std::string(5000, '('),
                                      std::string(3000, '"'),
                                      "!=<>|&~`$#@;,.?/"};
  for (int c = 33; c < 127; ++c) {
    if (std::isalnum(c)) continue;
    const std::string ch(1, static_cast<char>(c));
    for (const std::string& q :
         {ch, ch + ch + ch, "star" + ch, ch + "paren", "words" + ch + "text"}) {
      queries.push_back(q);
    }
  }
  for (const auto& q : queries) {
    json r;
    ASSERT_NO_THROW(r = d.find(q, {.owner_id = "usr_a"})) << "query: " << q;
    ASSERT_TRUE(r["items"].is_array()) << q;
  }
  // The words around the punctuation are still found, as plain words.
  json r = d.find("\"unbalanced (paren NEAR star*", {.owner_id = "usr_a"});
  ASSERT_FALSE(r["items"].empty());
  EXPECT_NE(r["items"][0]["text"].get<std::string>().find("unbalanced"), std::string::npos);
  EXPECT_FALSE(r["items"][0]["score_parts"]["fts"].is_null());
}

TEST_P(MemorySearch, HitsCarryTheirScoreParts) {
  MemoryDb d(GetParam());
  d.add("usr_a", "thr_1", "The spare house key is under the blue flower pot");
  d.add("usr_a", "thr_1", "Dentist appointment moved to Thursday morning");
  json r = d.find("where is the spare key", {.owner_id = "usr_a"});
  ASSERT_FALSE(r["items"].empty());
  const json& top = r["items"][0];
  EXPECT_NE(top["text"].get<std::string>().find("spare house key"), std::string::npos);
  const json& sp = top["score_parts"];
  ASSERT_FALSE(sp["fts"].is_null());
  ASSERT_FALSE(sp["vector"].is_null());
  ASSERT_FALSE(sp["recency"].is_null());
  const double k = 60;
  // The default weights (decision 0074).
  ASSERT_EQ(r["weights"], json({{"fts", 0.50}, {"vector", 0.25}, {"recency", 0.10}, {"k", 60}}));
  const double expect = 0.50 / (k + sp["fts"]["rank"].get<int>()) +
                        0.25 / (k + sp["vector"]["rank"].get<int>()) +
                        0.10 / (k + sp["recency"]["rank"].get<int>());
  EXPECT_NEAR(sp["fused"].get<double>(), expect, 1e-9);
  EXPECT_NEAR(top["score"].get<double>(), expect, 1e-9);
  EXPECT_EQ(r["vector"], "ok");
  // A misspelt query has no full-text match but is found by its character n-grams.
  json typo = d.find("spaer huose kye", {.owner_id = "usr_a"});
  ASSERT_FALSE(typo["items"].empty());
  EXPECT_TRUE(typo["items"][0]["score_parts"]["fts"].is_null());
  EXPECT_FALSE(typo["items"][0]["score_parts"]["vector"].is_null());
  EXPECT_NE(typo["items"][0]["text"].get<std::string>().find("spare house key"), std::string::npos);
}

TEST_P(MemorySearch, FiltersAndOwnersAreApplied) {
  MemoryDb d(GetParam());
  d.add("usr_a", "thr_a1", "alice parks the bike at the station");
  d.add("usr_a", "thr_a2", "alice keeps the bike lock code in her wallet");
  d.add("usr_b", "thr_b1", "bob parks the bike at the station too");
  for (const auto& t : texts(d.find("bike station", {.owner_id = "usr_a"}))) {
    EXPECT_EQ(t.find("bob"), std::string::npos) << t;
  }
  EXPECT_EQ(texts(d.find("bike station", {.owner_id = "usr_b"})),
            (std::vector<std::string>{"bob parks the bike at the station too"}));
  auto th = texts(d.find("bike", {.owner_id = "usr_a", .thread_id = "thr_a2"}));
  ASSERT_EQ(th.size(), 1u);
  EXPECT_NE(th[0].find("lock code"), std::string::npos);
  EXPECT_TRUE(d.find("bike", {.owner_id = "usr_a", .tier = "semantic"})["items"].empty());
  EXPECT_TRUE(d.find("bike", {.owner_id = "usr_a", .from_ts = "2999-01-01T00:00:00.000Z"})["items"]
                  .empty());
  EXPECT_EQ(d.find("bike", {})["items"].size(), 3u);  // no owner filter: admins and system only
  // No query words: the newest of the caller's items.
  json newest = d.find("", {.owner_id = "usr_a"});
  ASSERT_EQ(newest["items"].size(), 2u);
  EXPECT_NE(newest["items"][0]["text"].get<std::string>().find("lock code"), std::string::npos);
}

TEST_P(MemorySearch, TombstonedItemsVanishAndTimeTravelWorks) {
  MemoryDb d(GetParam());
  d.add("usr_a", "", "the wifi password rotates monthly", "2026-01-01T00:00:00.000Z");
  long long gone = d.add("usr_a", "", "the router sits in the hallway closet");
  {
    auto tx = d.db->transaction();
    std::string id =
        jarvis::sql::one_row(tx->session(), "SELECT id FROM memory_items WHERE seq = :s",
                             {jarvis::sql::Bind(gone)})["id"];
    EXPECT_TRUE(jarvis::memory::MemoryStore::tombstone(tx->session(), id));
    EXPECT_FALSE(jarvis::memory::MemoryStore::tombstone(tx->session(), id));
    // The first item stopped being valid in June (superseded).
    jarvis::sql::exec(
        tx->session(),
        "UPDATE memory_items SET valid_to = '2026-06-01T00:00:00.000Z' WHERE seq <> :s",
        {jarvis::sql::Bind(gone)});
    tx->commit();
  }
  EXPECT_TRUE(d.find("router hallway closet", {.owner_id = "usr_a"})["items"].empty());
  EXPECT_TRUE(d.find("wifi password", {.owner_id = "usr_a"})["items"].empty());
  auto then =
      texts(d.find("wifi password", {.owner_id = "usr_a", .as_of = "2026-03-01T00:00:00.000Z"}));
  EXPECT_EQ(then, (std::vector<std::string>{"the wifi password rotates monthly"}));
  EXPECT_TRUE(
      d.find("wifi", {.owner_id = "usr_a", .as_of = "2025-12-01T00:00:00.000Z"})["items"].empty());
}

TEST_P(MemorySearch, EachHostsIndexFollowsTheTableAndPersists) {
  MemoryDb d(GetParam());
  // A second host's index over the same database, in its own directory.
  jarvis::memory::VectorIndex other(d.dir.file("other-host"), d.embedder->model_id());
  other.load_or_create(384);
  long long seq = d.add("usr_a", "", "the lighthouse keeper logs every passing ship");
  {
    auto s = d.db->session();
    EXPECT_EQ(other.sync(*s), 1u);
    EXPECT_EQ(other.sync(*s), 0u);  // nothing new: the overlap window does not re-apply
  }
  auto q = d.embedder->embed({"lighthouse ships log"}, jarvis::CancelToken())[0];
  auto near = other.search(q, 5);
  ASSERT_FALSE(near.empty());
  EXPECT_EQ(near[0].seq, seq);
  other.save();
  jarvis::memory::VectorIndex reloaded(d.dir.file("other-host"), d.embedder->model_id());
  reloaded.load_or_create(384);
  EXPECT_EQ(reloaded.size(), 1u);
  ASSERT_FALSE(reloaded.search(q, 5).empty());
  EXPECT_EQ(reloaded.search(q, 5)[0].seq, seq);
  // A corrupt file is not fatal: the index starts empty and a rebuild refills it from the table.
  jarvis::test::write_file(reloaded.path(), "garbage");
  jarvis::memory::VectorIndex broken(d.dir.file("other-host"), d.embedder->model_id());
  broken.load_or_create(384);
  auto s = d.db->session();
  EXPECT_EQ(broken.rebuild(*s), 1u);
  EXPECT_EQ(broken.search(q, 5)[0].seq, seq);
}

TEST_P(MemorySearch, AVectorTheIndexHoldsAlreadyIsNotAddedAgain) {
  // memory.embed adds the vectors it wrote; the table sync then reads the same rows back. The
  // second add must leave the point alone (hnswlib would re-link its neighbourhood) — and a
  // changed vector must still replace it (decision 0100).
  MemoryDb d(GetParam());
  using Added = jarvis::memory::VectorIndex::Added;
  long long seq = d.add("usr_a", "", "the lighthouse keeper logs every passing ship");
  long long other = d.add("usr_a", "", "a recipe for plum cake with almonds");
  auto v = d.embedder->embed({"the lighthouse keeper logs every passing ship"},
                             jarvis::CancelToken())[0];
  EXPECT_EQ(d.index.add(seq, v), Added::Changed);
  EXPECT_EQ(d.index.add(seq, v), Added::Unchanged);
  {
    auto s = d.db->session();
    EXPECT_EQ(d.index.sync(*s), 1u);  // only the plum cake: the lighthouse vector was there
    EXPECT_EQ(d.index.size(), 2u);
  }
  // A different vector for the same item replaces the old one.
  auto cake = d.embedder->embed({"a recipe for plum cake with almonds"}, jarvis::CancelToken())[0];
  EXPECT_EQ(d.index.add(seq, cake), Added::Changed);
  EXPECT_EQ(d.index.size(), 2u);
  auto near = d.index.search(cake, 2);
  ASSERT_EQ(near.size(), 2u);
  EXPECT_NEAR(near[0].similarity, 1.0F, 1e-5);
  EXPECT_NEAR(near[1].similarity, 1.0F, 1e-5);
  EXPECT_EQ(std::set<long long>({near[0].seq, near[1].seq}), std::set<long long>({seq, other}));
  // A removed item comes back when its vector is added again.
  d.index.remove(seq);
  EXPECT_EQ(d.index.size(), 1u);
  EXPECT_EQ(d.index.add(seq, cake), Added::Changed);
  EXPECT_EQ(d.index.size(), 2u);
  EXPECT_EQ(d.index.add(seq, std::vector<float>(7, 0.5F)), Added::Ignored);
}

TEST_P(MemorySearch, AnOwnerWithoutItemsIsAnsweredAtOnceAndFoundOnceTheyHaveSome) {
  MemoryDb d(GetParam());
  d.add("usr_a", "thr_1", "the spare key is under the blue flower pot");
  // usr_b has nothing: no ranking at all, and nothing of usr_a leaks.
  json none = d.find("spare key flower pot", {.owner_id = "usr_b"});
  EXPECT_TRUE(none["items"].empty());
  EXPECT_EQ(none["skipped"], "no_items");
  // Not remembered as empty: the first item of usr_b is found by the next search.
  d.add("usr_b", "thr_2", "my spare key hangs behind the kitchen door");
  json some = d.find("spare key", {.owner_id = "usr_b"});
  ASSERT_EQ(some["items"].size(), 1u);
  EXPECT_EQ(some["items"][0]["text"], "my spare key hangs behind the kitchen door");
  EXPECT_FALSE(some.contains("skipped"));
  // A filter that hides every item of an owner with items: empty, like before.
  EXPECT_TRUE(d.find("spare key", {.owner_id = "usr_b", .thread_id = "thr_9"})["items"].empty());
}

TEST_P(MemorySearch, CommonWordsFillInWhenTheRareOnesFindTooFew) {
  // "alpha" and "beta" occur in more items than the plan ranks for a word (400: decision 0073),
  // "zzqx" (think: a misspelt query word) in one item that holds neither. The rare word finds
  // too few, so the items holding every common word are ranked too — all of them, the oldest
  // included, not only the newest (decision 0090).
  MemoryDb d(GetParam());
  const long long oldest =
      d.add("usr_a", "thr_1", "alpha beta, alpha beta: the original alpha beta");
  for (int i = 0; i < 430; ++i) {
    d.add("usr_a", "thr_1", "alpha beta filler line number " + std::to_string(i));
  }
  // Fewer than half of the items hold them: their idf is above bm25's floor (decision 0098).
  for (int i = 0; i < 450; ++i) d.add("usr_a", "thr_2", "unrelated words " + std::to_string(i));
  const long long rare_only = d.add("usr_a", "thr_1", "zzqx on its own");
  jarvis::memory::SearchRequest r{.query = "alpha beta zzqx",
                                  .filter = {.owner_id = "usr_a"},
                                  .limit = 10,
                                  .use_vector = false,
                                  .use_recency = false};
  {
    auto s = d.db->session();
    d.index.sync(*s);
  }
  json hits = d.search->run(r)["items"];
  ASSERT_GE(hits.size(), 2u);
  std::set<long long> seen;
  for (const auto& h : hits) seen.insert(h["seq"].get<long long>());
  // The best item with only the common words (it holds them three times) …
  EXPECT_TRUE(seen.count(oldest)) << hits.dump();
  if (GetParam() == Backend::Sqlite) {
    // … and the rare word's item (bm25 weighs by rarity; ts_rank does not).
    EXPECT_TRUE(seen.count(rare_only)) << hits.dump();
  }
}

TEST_P(MemorySearch, TheLegsSideBySideAnswerAsTheLegsInSequence) {
  // Decision 0098: the vector leg's query vector and index search run on a second thread.
  MemoryDb d(GetParam());
  const std::vector<std::string> texts = {
      "the spare key is under the blue flower pot", "my bicycle is locked at the station",
      "the dentist appointment moved to friday",    "parked the car on level 3 near the lift",
      "the wifi password is on the fridge",         "grandma's birthday is on the 12th of May",
      "the blue car needs new tyres in spring",     "the station bike racks are full on mondays"};
  for (int round = 0; round < 3; ++round) {
    for (const auto& t : texts) d.add("usr_a", "thr_" + std::to_string(round), t);
  }
  {
    auto s = d.db->session();
    d.index.sync(*s);
  }
  for (const std::string q : {"blue car", "where is the key", "station bike", "birthday",
                              "wifi pasword", "nothing matches zzqx"}) {
    jarvis::memory::SearchRequest r{.query = q, .filter = {.owner_id = "usr_a"}, .limit = 10};
    r.parallel_legs = true;
    json side = d.search->run(r);
    r.parallel_legs = false;
    json seq = d.search->run(r);
    EXPECT_EQ(side["vector"], seq["vector"]) << q;
    ASSERT_EQ(side["items"].size(), seq["items"].size()) << q;
    for (std::size_t i = 0; i < seq["items"].size(); ++i) {
      EXPECT_EQ(side["items"][i]["seq"], seq["items"][i]["seq"]) << q << " " << i;
      EXPECT_EQ(side["items"][i]["score_parts"], seq["items"][i]["score_parts"]) << q << " " << i;
    }
  }
}

// SQLite's full-text leg passes the common words' row counts to jarvis_bm25 from a cache
// (decision 0098) instead of letting every search walk their doclists.
class MemoryWordCounts : public ::testing::TestWithParam<Backend> {};

TEST_P(MemoryWordCounts, CachedCountsRankAsWalkedOnesAndEachCommonWordIsCountedOnce) {
  MemoryDb d(GetParam());
  // "alpha" and "beta" are held by more items than the plan ranks for a word (400), "zzqx" by 9.
  for (int i = 0; i < 430; ++i) {
    std::string text = "alpha beta filler line number " + std::to_string(i);
    if (i % 50 == 0) text += " zzqx";
    if (i % 7 == 0) text += " and alpha again";
    d.add("usr_a", "thr_1", text);
  }
  // Fewer than half of the items hold them: their idf is above bm25's floor (decision 0098).
  for (int i = 0; i < 450; ++i) d.add("usr_a", "thr_2", "unrelated words " + std::to_string(i));
  using jarvis::memory::MemoryStore;
  using jarvis::memory::WordCounts;
  const auto tokens = jarvis::memory::fts_tokens("alpha beta zzqx");
  const jarvis::memory::ItemFilter f{.owner_id = "usr_a"};
  auto s = d.db->session();
  auto walked = MemoryStore::fts_candidates(*s, jarvis::Dialect::Sqlite, tokens, f, 30);
  WordCounts cache;
  auto first = MemoryStore::fts_candidates(*s, jarvis::Dialect::Sqlite, tokens, f, 30, &cache);
  auto second = MemoryStore::fts_candidates(*s, jarvis::Dialect::Sqlite, tokens, f, 30, &cache);
  // alpha, beta and the row count, once; zzqx is rare: counted exactly each time.
  EXPECT_EQ(cache.recounts(), 3);
  EXPECT_EQ(cache.get("alpha"), 430);
  EXPECT_EQ(cache.get("zzqx"), -1);
  // The rare word's 9 items first, then the fill from the items holding both common words.
  ASSERT_EQ(walked.size(), 30u);
  for (const auto* run : {&first, &second}) {
    ASSERT_EQ(run->size(), walked.size());
    for (std::size_t i = 0; i < walked.size(); ++i) {
      EXPECT_EQ((*run)[i].seq, walked[i].seq) << i;
      EXPECT_NEAR((*run)[i].score, walked[i].score, 1e-12) << i;
    }
  }
  // The count in the cache is the one the ranking uses: told that "alpha" is rare, the items
  // holding it twice score higher than with its true count.
  cache.put("alpha", 1);
  auto told = MemoryStore::fts_candidates(*s, jarvis::Dialect::Sqlite, tokens, f, 30, &cache);
  ASSERT_FALSE(told.empty());
  EXPECT_GT(told[0].score, walked[0].score + 1.0);
  // A count older than the ttl is counted again.
  WordCounts expiring(std::chrono::milliseconds(0));
  MemoryStore::fts_candidates(*s, jarvis::Dialect::Sqlite, tokens, f, 30, &expiring);
  MemoryStore::fts_candidates(*s, jarvis::Dialect::Sqlite, tokens, f, 30, &expiring);
  EXPECT_EQ(expiring.recounts(), 6);
}

TEST_P(MemoryWordCounts, WordsHeldByHalfTheItemsFillWithTheNewestInsteadOfRankingAll) {
  // Every chat message of a benchmark (or a bot) repeats the same words: held by every item they
  // get bm25's floor idf, and ranking all items holding them orders ties. The fill takes the
  // newest ones (4 × the pool) instead (decision 0098); the rare word's item still comes first.
  MemoryDb d(GetParam());
  std::vector<long long> seqs;
  for (int i = 0; i < 500; ++i) {
    seqs.push_back(d.add("usr_a", "thr_1", "benchmark message " + std::to_string(i)));
  }
  using jarvis::memory::MemoryStore;
  const auto tokens = jarvis::memory::fts_tokens("benchmark message 7");
  jarvis::memory::WordCounts cache;
  auto s = d.db->session();
  auto hits = MemoryStore::fts_candidates(*s, jarvis::Dialect::Sqlite, tokens,
                                          {.owner_id = "usr_a"}, 30, &cache);
  ASSERT_EQ(hits.size(), 30u);
  EXPECT_EQ(hits[0].seq, seqs[7]);
  for (std::size_t i = 1; i < hits.size(); ++i) {
    EXPECT_GE(hits[i].seq, seqs[500 - 120]) << "an old item ranked: " << i;
  }
  // Without the counts (no cache) every item holding both words is ranked, as before.
  auto all =
      MemoryStore::fts_candidates(*s, jarvis::Dialect::Sqlite, tokens, {.owner_id = "usr_a"}, 30);
  ASSERT_EQ(all.size(), 30u);
  EXPECT_EQ(all[0].seq, seqs[7]);
}

INSTANTIATE_TEST_SUITE_P(Backends, MemoryWordCounts, ::testing::Values(Backend::Sqlite),
                         jarvis::test::backend_name);

INSTANTIATE_TEST_SUITE_P(Backends, MemorySearch,
                         ::testing::Values(Backend::Sqlite, Backend::Postgresql),
                         jarvis::test::backend_name);

}  // namespace
}  // namespace memory_test

// memory/tests/memory_relevance_test.cpp — retrieval quality on the hand-written relevance set
// plugins/memory/tests/data/relevance.json (50 things a user told the assistant, 52 questions a
// person would ask later in their own words, each with the items that answer it). Measures
// recall@1, recall@5 and MRR of full text alone, vectors alone and the fusion (with and without
// recency) on SQLite and prints them (the figures of docs/benchmarks.md); quality is reported,
// not asserted — the test fails on a malformed set or a ranking that finds nothing at all.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "db/migrations.h"
#include "db/sql_database.h"
#include "embedder.h"
#include "memory_db_support.h"

namespace memory_test {
namespace {

struct Quality {
  double r1 = 0, r5 = 0, mrr = 0;
};

TEST(MemoryRelevance, HandWrittenSetRecallOfEachRanking) {
  std::ifstream in(std::string(JARVIS_SOURCE_DIR) + "/plugins/memory/tests/data/relevance.json");
  ASSERT_TRUE(in.good());
  std::stringstream buf;
  buf << in.rdbuf();
  json set = json::parse(buf.str());
  ASSERT_GE(set["queries"].size(), 40u);
  MemoryDb d(Backend::Sqlite);
  std::map<long long, std::string> key_of;
  for (const auto& [key, text] : set["items"].items()) {
    key_of[d.add("usr_alice", "thr_" + key, text.get<std::string>())] = key;
  }
  {
    auto s = d.db->session();
    d.index.sync(*s);
  }
  struct Mode {
    const char* name;
    bool fts, vec, rec;
  };
  const std::vector<Mode> modes = {
      {"full text (bm25) alone", true, false, false},
      {"vectors alone", false, true, false},
      {"fused: full text + vectors", true, true, false},
      {"fused: full text + vectors + recency (default)", true, true, true}};
  std::map<std::string, Quality> q;
  const double n = static_cast<double>(set["queries"].size());
  for (const auto& m : modes) {
    Quality& out = q[m.name];
    for (const auto& item : set["queries"]) {
      std::set<std::string> relevant;
      for (const auto& r : item["relevant"]) {
        ASSERT_TRUE(set["items"].contains(r.get<std::string>())) << r;
        relevant.insert(r.get<std::string>());
      }
      jarvis::memory::SearchRequest r{.query = item["q"].get<std::string>(),
                                      .filter = {.owner_id = "usr_alice"},
                                      .limit = 5,
                                      .use_fts = m.fts,
                                      .use_vector = m.vec,
                                      .use_recency = m.rec};
      json hits = d.search->run(r)["items"];
      for (std::size_t i = 0; i < hits.size(); ++i) {
        if (relevant.count(key_of[hits[i]["seq"].get<long long>()]) == 0) continue;
        if (i == 0) out.r1 += 1;
        out.r5 += 1;
        out.mrr += 1.0 / static_cast<double>(i + 1);
        break;
      }
    }
    out.r1 /= n;
    out.r5 /= n;
    out.mrr /= n;
    EXPECT_GT(out.r5, 0.0) << m.name << " found nothing relevant for any query";
  }
  std::cout << "relevance set: " << set["items"].size() << " items, " << set["queries"].size()
            << " queries; recall@k = share of queries with a relevant item among the first k\n";
  for (const auto& m : modes) {
    std::printf("  %-48s recall@1 %.3f  recall@5 %.3f  MRR %.3f\n", m.name, q[m.name].r1,
                q[m.name].r5, q[m.name].mrr);
  }
}

}  // namespace
}  // namespace memory_test

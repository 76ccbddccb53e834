// memory/tests/memory_relevance_test.cpp — retrieval quality on the hand-written relevance set
// plugins/memory/tests/data/relevance.json (50 things a user told the assistant, 52 questions a
// person would ask later in their own words, each with the items that answer it). Measures
// recall@1, recall@5 and MRR of full text alone, vectors alone and the fusion (with and without
// recency) on SQLite, over the whole set and over its two halves (even and odd questions: the
// default weights of decision 0074 were chosen on the even half, the odd half is held out), and
// prints them (the figures of docs/benchmarks.md). It fails when the default fusion is worse
// than full text alone (recall@1, on the whole set and on the held-out half) or falls below
// recall@1 0.85 / recall@5 0.95 — floors on quality, not timings.
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
  // half: -1 = every question, 0 = the even ones (tuning), 1 = the odd ones (held out).
  std::map<std::pair<std::string, int>, Quality> q;
  for (const auto& m : modes) {
    for (int half : {-1, 0, 1}) {
      Quality& out = q[{m.name, half}];
      double n = 0;
      int index = -1;
      for (const auto& item : set["queries"]) {
        ++index;
        if (half >= 0 && index % 2 != half) continue;
        n += 1;
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
  }
  std::cout << "relevance set: " << set["items"].size() << " items, " << set["queries"].size()
            << " queries; recall@k = share of queries with a relevant item among the first k\n";
  for (int half : {-1, 0, 1}) {
    std::cout << (half < 0    ? "all 52 questions:\n"
                  : half == 0 ? "even questions (the weights were chosen on these):\n"
                              : "odd questions (held out):\n");
    for (const auto& m : modes) {
      const Quality& x = q[{m.name, half}];
      std::printf("  %-48s recall@1 %.3f  recall@5 %.3f  MRR %.3f\n", m.name, x.r1, x.r5, x.mrr);
    }
  }
  const std::string fused = "fused: full text + vectors + recency (default)";
  const std::string fts = "full text (bm25) alone";
  for (int half : {-1, 1}) {
    const double fused_r1 = q[{fused, half}].r1, fts_r1 = q[{fts, half}].r1;
    EXPECT_GE(fused_r1, fts_r1) << "half " << half;
  }
  const Quality all = q[{fused, -1}];
  EXPECT_GE(all.r1, 0.85);
  EXPECT_GE(all.r5, 0.95);
}

}  // namespace
}  // namespace memory_test

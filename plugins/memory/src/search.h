// memory/src/search.h — hybrid retrieval: full text + vectors + recency fused by weighted
// reciprocal rank (decision 0026).
//
//   jarvis::memory::HybridSearch search(host.db(), settings, embedder, index);
//   jarvis::Json r = search.run({.query = "where do I park", .filter = {.owner_id = uid},
//                                .limit = 10});
//   // r["items"][0]["score_parts"] == {"fts": {"rank": 1, "score": 3.2}, "vector": {"rank": 2,
//   //                                  "similarity": 0.61}, "recency": {"rank": 1}, …}
//
// Rankings: full text (bm25 / ts_rank over the quoted query words), vectors (hnswlib, joined back
// to the table so every filter applies; an exact scan when a selective filter leaves too few), and
// recency among the candidates those two found (or the newest items when the query has no words).
// fused = Σ weight_r / (k + rank_r) over the rankings an item appears in.
#pragma once

#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "embedder.h"
#include "jarvis/database.h"
#include "jarvis/json.h"
#include "settings.h"
#include "store.h"
#include "vector_index.h"

namespace jarvis::memory {

/// One search.
struct SearchRequest {
  std::string query;  ///< any text: never reaches FTS syntax raw
  ItemFilter filter;  ///< owner scoping and filters, filled by the caller
  int limit = 10;     ///< 1 … 100
  /// Which rankings take part (for measuring each alone): all three by default.
  bool use_fts = true;
  bool use_vector = true;
  bool use_recency = true;
  /// The vector leg's query vector and index search run on a second thread beside the full-text
  /// leg (decision 0098); false runs them one after the other (the benchmark's reference).
  bool parallel_legs = true;
};

/// Hybrid search over memory items. Thread-safe.
class HybridSearch {
 public:
  HybridSearch(Database& db, const MemorySettings& settings, Embedder& embedder,
               VectorIndex& index);
  /// {"items": [item + score + score_parts], "query_tokens": [...], "vector": "ok"|"unavailable"|
  /// "not_indexed"|"off"}. Reads only; never writes (callers report hits for access counting).
  /// A search scoped to an owner with nothing visible answers after one cheap count
  /// (`"skipped": "no_items"`, vector "off"): no ranking, no query vector (decision 0090).
  Json run(const SearchRequest& request);

 private:
  /// The query's vector: local embedders compute it here; remote ones within 2 s, cached.
  std::vector<float> query_vector(const std::string& text, std::string& status);

  Database& db_;
  const MemorySettings& settings_;
  Embedder& embedder_;
  VectorIndex& index_;
  /// True when the owner of `f` may have no visible item (one capped count, only until the owner
  /// was once seen with items: owners that have items keep them, so that is remembered).
  bool nothing_visible(soci::session& sql, const ItemFilter& f);
  /// The fusion weights every answer reports (`weights`).
  Json weights_json() const;

  std::mutex cache_mu_;
  std::unordered_map<std::string, std::vector<float>> cache_;  ///< remote query vectors
  std::unordered_set<std::string> owners_with_items_;          ///< guarded by cache_mu_
  WordCounts word_counts_;  ///< common words' full-text row counts (decision 0098)
};

}  // namespace jarvis::memory

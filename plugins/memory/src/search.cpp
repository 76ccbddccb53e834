// memory/src/search.cpp — the fusion of the three rankings.
#include "search.h"

#include <algorithm>
#include <map>

#include "fts_query.h"

namespace jarvis::memory {
namespace {

/// Vector neighbours below this cosine similarity are not candidates (unrelated texts sit near 0
/// with the local embedder).
constexpr float kMinSimilarity = 0.10F;
/// Exact vector scan when a filter leaves fewer hits than wanted and at most this many items.
constexpr int kExactScanMax = 5000;
constexpr std::size_t kQueryCacheMax = 1024;

struct Parts {
  int fts_rank = 0;
  double fts_score = 0;
  int vec_rank = 0;
  double similarity = 0;
  int rec_rank = 0;
};

}  // namespace

HybridSearch::HybridSearch(Database& db, const MemorySettings& settings, Embedder& embedder,
                           VectorIndex& index)
    : db_(db), settings_(settings), embedder_(embedder), index_(index) {}

std::vector<float> HybridSearch::query_vector(const std::string& text, std::string& status) {
  if (embedder_.is_local()) {
    status = "ok";
    return embedder_.embed({text}, CancelToken())[0];
  }
  {
    std::lock_guard lock(cache_mu_);
    auto it = cache_.find(text);
    if (it != cache_.end()) {
      status = "ok";
      return it->second;
    }
  }
  try {
    // A remote provider: bounded wait; on failure the search goes on without vectors.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    auto v = embedder_.embed({text}, CancelToken::when([deadline] {
                               return std::chrono::steady_clock::now() > deadline;
                             }))[0];
    std::lock_guard lock(cache_mu_);
    if (cache_.size() >= kQueryCacheMax) cache_.clear();
    cache_[text] = v;
    status = "ok";
    return v;
  } catch (const std::exception&) {
    status = "unavailable";
    return {};
  }
}

Json HybridSearch::run(const SearchRequest& req) {
  const int limit = std::clamp(req.limit, 1, 100);
  const int pool = std::max(3 * limit, 30);
  const std::vector<std::string> tokens = fts_tokens(req.query);
  auto sql = db_.session();
  std::map<long long, Parts> parts;
  std::vector<long long> order;  // first-seen order of candidates
  auto touch = [&](long long seq) -> Parts& {
    auto [it, fresh] = parts.try_emplace(seq);
    if (fresh) order.push_back(seq);
    return it->second;
  };

  if (req.use_fts && !tokens.empty()) {
    int rank = 0;
    for (const auto& c :
         MemoryStore::fts_candidates(*sql, db_.dialect(), tokens, req.filter, pool)) {
      Parts& p = touch(c.seq);
      p.fts_rank = ++rank;
      p.fts_score = c.score;
    }
  }

  std::string vector_status = "off";
  if (req.use_vector && !tokens.empty()) {
    std::vector<float> q = query_vector(req.query, vector_status);
    if (!q.empty() && index_.dims() != static_cast<int>(q.size())) vector_status = "not_indexed";
    if (!q.empty() && vector_status == "ok") {
      // Ask the index for more than the pool: filters (owner, thread, …) drop some.
      std::vector<Neighbour> near = index_.search(q, static_cast<std::size_t>(pool) * 4);
      std::vector<long long> seqs;
      for (const auto& n : near) {
        if (n.similarity >= kMinSimilarity) seqs.push_back(n.seq);
      }
      const auto visible = MemoryStore::visible_times(*sql, seqs, req.filter);
      std::map<long long, float> sim;
      for (const auto& n : near) sim[n.seq] = n.similarity;
      std::vector<std::pair<long long, float>> ranked;
      for (const auto& [seq, at] : visible) ranked.emplace_back(seq, sim[seq]);
      // The exact scan only when the filter hid neighbours of a saturated index answer (more
      // items may hide behind them); when nothing was hidden, the index's answer is complete.
      const bool filter_hid = visible.size() < seqs.size();
      if (filter_hid && static_cast<int>(ranked.size()) < pool &&
          near.size() >= static_cast<std::size_t>(pool) &&
          MemoryStore::count_at_most(*sql, req.filter, kExactScanMax + 1) <= kExactScanMax) {
        // A selective filter: score its items exactly when there are few enough.
        auto rows =
            MemoryStore::vectors_of(*sql, req.filter, embedder_.model_id(), kExactScanMax + 1);
        if (static_cast<int>(rows.size()) <= kExactScanMax) {
          ranked.clear();
          for (const auto& [seq, enc] : rows) {
            std::vector<float> v;
            try {
              v = decode_vector(enc);
            } catch (const std::exception&) {
              continue;
            }
            if (v.size() != q.size()) continue;
            float dot = 0;
            for (std::size_t i = 0; i < v.size(); ++i) dot += v[i] * q[i];
            if (dot >= kMinSimilarity) ranked.emplace_back(seq, dot);
          }
        }
      }
      std::stable_sort(ranked.begin(), ranked.end(),
                       [](const auto& a, const auto& b) { return a.second > b.second; });
      if (static_cast<int>(ranked.size()) > pool) ranked.resize(pool);
      int rank = 0;
      for (const auto& [seq, s] : ranked) {
        Parts& p = touch(seq);
        p.vec_rank = ++rank;
        p.similarity = s;
      }
    }
  }

  // Every candidate's creation time (filters applied again: the vector list came from the
  // index); full rows only for the hits returned.
  std::vector<std::pair<long long, std::string>> cands =
      MemoryStore::visible_times(*sql, order, req.filter);
  if (tokens.empty() && req.use_recency) {
    parts.clear();
    order.clear();
    for (const auto& c : MemoryStore::recency_candidates(*sql, req.filter, pool)) touch(c.seq);
    cands = MemoryStore::visible_times(*sql, order, req.filter);
  }
  if (req.use_recency) {
    std::vector<const std::pair<long long, std::string>*> by_time;
    for (const auto& c : cands) by_time.push_back(&c);
    std::stable_sort(by_time.begin(), by_time.end(),
                     [](const auto* a, const auto* b) { return a->second > b->second; });
    int rank = 0;
    for (const auto* c : by_time) parts[c->first].rec_rank = ++rank;
  }

  const double k = static_cast<double>(settings_.rrf_k);
  std::vector<std::pair<double, long long>> scored;
  for (const auto& [seq, at] : cands) {
    const Parts& p = parts[seq];
    double fused = 0;
    if (p.fts_rank > 0) fused += settings_.weight_fts / (k + p.fts_rank);
    if (p.vec_rank > 0) fused += settings_.weight_vector / (k + p.vec_rank);
    if (p.rec_rank > 0) fused += settings_.weight_recency / (k + p.rec_rank);
    scored.emplace_back(fused, seq);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  if (static_cast<int>(scored.size()) > limit) scored.resize(static_cast<std::size_t>(limit));
  std::vector<long long> top;
  for (const auto& [f, seq] : scored) top.push_back(seq);
  std::vector<Json> rows = MemoryStore::rows_by_seq(*sql, top, req.filter);
  Json items = Json::array();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    Json& row = rows[i];
    const Parts& p = parts[row["seq"].get<long long>()];
    Json sp = Json::object();
    sp["fts"] = p.fts_rank > 0 ? Json{{"rank", p.fts_rank}, {"score", p.fts_score}} : Json();
    sp["vector"] =
        p.vec_rank > 0 ? Json{{"rank", p.vec_rank}, {"similarity", p.similarity}} : Json();
    sp["recency"] = p.rec_rank > 0 ? Json{{"rank", p.rec_rank}} : Json();
    double fused = 0;
    if (p.fts_rank > 0) fused += settings_.weight_fts / (k + p.fts_rank);
    if (p.vec_rank > 0) fused += settings_.weight_vector / (k + p.vec_rank);
    if (p.rec_rank > 0) fused += settings_.weight_recency / (k + p.rec_rank);
    sp["fused"] = fused;
    row["score"] = fused;
    row["score_parts"] = std::move(sp);
    items.push_back(std::move(row));
  }
  return {{"items", std::move(items)},
          {"query_tokens", tokens},
          {"vector", vector_status},
          {"weights",
           {{"fts", settings_.weight_fts},
            {"vector", settings_.weight_vector},
            {"recency", settings_.weight_recency},
            {"k", settings_.rrf_k}}}};
}

}  // namespace jarvis::memory

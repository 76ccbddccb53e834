// memory/src/search.cpp — the fusion of the three rankings.
#include "search.h"

#include <algorithm>
#include <future>
#include <map>
#include <system_error>

#include "fts_query.h"

namespace jarvis::memory {
namespace {

/// Vector neighbours below this cosine similarity are not candidates (unrelated texts sit near 0
/// with the local embedder).
constexpr float kMinSimilarity = 0.10F;
/// Exact vector scan when a filter leaves fewer hits than wanted and at most this many items.
constexpr int kExactScanMax = 5000;
constexpr std::size_t kQueryCacheMax = 1024;
/// Owners remembered as having items (then forgotten all at once).
constexpr std::size_t kOwnersMax = 100000;

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

Json HybridSearch::weights_json() const {
  return {{"fts", settings_.weight_fts},
          {"vector", settings_.weight_vector},
          {"recency", settings_.weight_recency},
          {"k", settings_.rrf_k}};
}

bool HybridSearch::nothing_visible(soci::session& sql, const ItemFilter& f) {
  if (f.owner_id.empty()) return false;  // every owner: admins and system work
  {
    std::lock_guard lock(cache_mu_);
    if (owners_with_items_.count(f.owner_id) != 0) return false;
  }
  // Not remembered yet: a count capped at 1 (the owner index). Only a positive answer is kept —
  // an owner's first item may be written any moment, by this process or another one.
  if (MemoryStore::count_at_most(sql, f, 1) == 0) return true;
  std::lock_guard lock(cache_mu_);
  if (owners_with_items_.size() >= kOwnersMax) owners_with_items_.clear();
  owners_with_items_.insert(f.owner_id);
  return false;
}

Json HybridSearch::run(const SearchRequest& req) {
  const int limit = std::clamp(req.limit, 1, 100);
  const int pool = std::max(3 * limit, 30);
  const std::vector<std::string> tokens = fts_tokens(req.query);
  auto sql = db_.session();
  if (nothing_visible(*sql, req.filter)) {
    return {{"items", Json::array()},
            {"query_tokens", tokens},
            {"vector", "off"},
            {"skipped", "no_items"},
            {"weights", weights_json()}};
  }
  std::map<long long, Parts> parts;
  // Candidates in first-seen order with their creation time: every ranking reads the visible
  // (seq, created_at) of its candidates once, and recency ranks them without another query.
  std::vector<std::pair<long long, std::string>> cands;
  auto touch = [&](long long seq, const std::string& at) -> Parts& {
    auto [it, fresh] = parts.try_emplace(seq);
    if (fresh) cands.emplace_back(seq, at);
    return it->second;
  };

  // The vector leg's query vector and index search need no database session: they run on a
  // second thread while this one ranks the full text (decision 0098); its visibility checks run
  // here afterwards, on this session. The future is joined before anything it refers to goes.
  struct VectorAnswer {
    std::vector<float> q;
    std::string status = "off";
    std::vector<Neighbour> near;
  };
  auto vector_answer = [this, &req, pool] {
    VectorAnswer a;
    a.q = query_vector(req.query, a.status);
    if (!a.q.empty() && index_.dims() != static_cast<int>(a.q.size())) a.status = "not_indexed";
    // Ask the index for more than the pool: filters (owner, thread, …) drop some.
    if (!a.q.empty() && a.status == "ok") {
      a.near = index_.search(a.q, static_cast<std::size_t>(pool) * 4);
    }
    return a;
  };
  const bool want_vector = req.use_vector && !tokens.empty();
  std::future<VectorAnswer> vector_future;
  if (want_vector && req.parallel_legs && req.use_fts) {
    try {
      vector_future = std::async(std::launch::async, vector_answer);
    } catch (const std::system_error&) {
      // No thread to be had: the legs run one after the other below.
    }
  }

  if (req.use_fts && !tokens.empty()) {
    int rank = 0;
    for (const auto& c : MemoryStore::fts_candidates(*sql, db_.dialect(), tokens, req.filter, pool,
                                                     &word_counts_)) {
      Parts& p = touch(c.seq, c.created_at);
      p.fts_rank = ++rank;
      p.fts_score = c.score;
    }
  }

  std::string vector_status = "off";
  if (want_vector) {
    VectorAnswer answer = vector_future.valid() ? vector_future.get() : vector_answer();
    vector_status = answer.status;
    const std::vector<float>& q = answer.q;
    if (!q.empty() && vector_status == "ok") {
      const std::vector<Neighbour>& near = answer.near;
      std::vector<Neighbour> above;  // best first, as the index answers
      for (const auto& n : near) {
        if (n.similarity >= kMinSimilarity) above.push_back(n);
      }
      // The filters in similarity order, in growing chunks (the first a few more than the
      // pool), so a filter that hides nothing costs one small query: the pool best visible.
      std::vector<std::pair<long long, float>> ranked;
      std::map<long long, std::string> at_of;
      std::size_t checked = 0;
      for (std::size_t chunk = static_cast<std::size_t>(pool) + 8;
           checked < above.size() && static_cast<int>(ranked.size()) < pool; chunk *= 2) {
        const std::size_t to = std::min(above.size(), checked + chunk);
        std::vector<long long> seqs;
        for (std::size_t i = checked; i < to; ++i) seqs.push_back(above[i].seq);
        std::map<long long, std::string> visible;
        for (auto& [seq, at] : MemoryStore::visible_times(*sql, seqs, req.filter))
          visible[seq] = std::move(at);
        for (std::size_t i = checked; i < to && static_cast<int>(ranked.size()) < pool; ++i) {
          auto it = visible.find(above[i].seq);
          if (it == visible.end()) continue;
          ranked.emplace_back(above[i].seq, above[i].similarity);
          at_of[above[i].seq] = std::move(it->second);
        }
        checked = to;
      }
      // The exact scan only when the filter hid neighbours of a saturated index answer (more
      // items may hide behind them); when nothing was hidden, the index's answer is complete.
      const bool filter_hid = ranked.size() < above.size();
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
      // Times the visibility check did not read (the exact scan's items): one lookup.
      std::vector<long long> unknown;
      for (const auto& [seq, sim] : ranked) {
        if (at_of.count(seq) == 0 && parts.count(seq) == 0) unknown.push_back(seq);
      }
      if (!unknown.empty()) {
        for (auto& [seq, at] : MemoryStore::visible_times(*sql, unknown, req.filter))
          at_of[seq] = std::move(at);
      }
      int rank = 0;
      for (const auto& [seq, s] : ranked) {
        auto at = at_of.find(seq);
        if (at == at_of.end() && parts.count(seq) == 0) continue;  // gone since the scan
        Parts& p = touch(seq, at == at_of.end() ? std::string() : at->second);
        p.vec_rank = ++rank;
        p.similarity = s;
      }
    }
  }

  if (tokens.empty() && req.use_recency) {
    parts.clear();
    cands.clear();
    for (const auto& c : MemoryStore::recency_candidates(*sql, req.filter, pool))
      touch(c.seq, c.created_at);
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
          {"weights", weights_json()}};
}

}  // namespace jarvis::memory

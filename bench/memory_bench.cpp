// bench/memory_bench.cpp — the memory core on a real SQLite database (bench/memory.sh runs it):
// ingest (redaction + rows + full text, then local embeddings + vectors), index build and reload,
// hybrid search latency, recall@10 of full text alone, vectors alone and fused on a labelled
// query set, and peak RSS. Not a test: no thresholds.
//
//   jarvis-memory-bench CORPUS.txt WORKDIR [items=100000] [queries=300]
//
// The labelled set: for `queries` items picked at fixed strides, a query made of four of the
// item's content words, with (for two thirds of them) one or two words misspelt by swapping two
// inner letters — the item it came from is the one relevant answer (decision 0026).
//
// The full-text leg is also measured against its reference, the query before decision 0073 (bm25
// over every match of the OR, a global top 240, then the filters), in the same run: latency of
// each and how often their top 10 agree. A WORKDIR that already holds a previous run's bench.db
// and index (MEMORY_BENCH_REUSE=1) skips ingest and index build: search figures only.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "db/migrations.h"
#include "db/sql_database.h"
#include "embedder.h"
#include "fts_query.h"
#include "ip_kernels.h"
#include "jarvis/sql.h"
#include "redactor.h"
#include "search.h"
#include "store.h"
#include "text_features.h"
#include "vector_index.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace jarvis::memory;

double secs(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

long peak_rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

struct Query {
  std::string text;
  long long relevant_seq;
};

/// The full-text query before decision 0073, verbatim (SQLite): bm25 over every row matching the
/// OR of the words, the best 240 of the whole table, then the filters (again over every match
/// when fewer than `limit` remain).
std::vector<Candidate> reference_fts(soci::session& s, const std::vector<std::string>& tokens,
                                     const ItemFilter& f, int limit) {
  using jarvis::sql::Bind;
  std::vector<Candidate> out;
  if (tokens.empty()) return out;
  const int top = std::max(limit * 8, 240);
  for (const bool full : {false, true}) {
    std::string q;
    jarvis::sql::Binds b;
    const std::string match =
        "SELECT rowid AS r, bm25(memory_items_fts) AS s FROM memory_items_fts WHERE "
        "memory_items_fts MATCH :q";
    b.push_back(sqlite_match(tokens));
    if (full) {
      q = "SELECT m.seq, f.s FROM (" + match + ") f JOIN memory_items m ON m.seq = f.r WHERE 1 = 1";
    } else {
      q = "SELECT m.seq, f.s FROM (" + match +
          " ORDER BY s LIMIT :k) f JOIN memory_items m ON m.seq = f.r WHERE 1 = 1";
      b.push_back(Bind(top));
    }
    MemoryStore::append_filter(q, b, f, !full);
    q += " ORDER BY f.s LIMIT :n";
    b.push_back(Bind(limit));
    out.clear();
    jarvis::sql::for_each_row(s, q, b, [&](const soci::row& r) {
      jarvis::Json v = jarvis::sql::column(r, 1);
      out.push_back({jarvis::sql::column_int(r, 0), v.is_number() ? -v.get<double>()
                                                    : v.is_string()
                                                        ? -std::stod(v.get<std::string>())
                                                        : 0.0});
    });
    if (static_cast<int>(out.size()) >= limit) break;
  }
  return out;
}

std::string misspell(std::string w) {
  if (w.size() >= 4) std::swap(w[1], w[2]);
  return w;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: jarvis-memory-bench CORPUS.txt WORKDIR [items] [queries]\n";
    return 2;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each figure as soon as it is measured
  const std::string corpus = argv[1];
  const std::string work = argv[2];
  const long long n_items = argc > 3 ? std::stoll(argv[3]) : 100000;
  const int n_queries = argc > 4 ? std::stoi(argv[4]) : 300;

  std::vector<std::string> texts;
  {
    std::ifstream in(corpus);
    std::string line;
    while (static_cast<long long>(texts.size()) < n_items && std::getline(in, line)) {
      if (!line.empty()) texts.push_back(line);
    }
  }
  std::printf("corpus: %zu items from %s\n", texts.size(), corpus.c_str());

  auto db = jarvis::host::SqlDatabase::open("sqlite://" + work + "/bench.db", 4);
  jarvis::host::MigrationRunner(*db).apply(
      {{"host", std::string(JARVIS_SOURCE_DIR) + "/migrations"},
       {"memory", std::string(JARVIS_SOURCE_DIR) + "/plugins/memory/migrations"}});
  MemorySettings settings;
  Redactor redactor({.secret_scan = true, .pii_mode = "mask"});
  auto embedder = make_local_embedder(static_cast<int>(settings.embed_dims));

  const char* reuse_env = std::getenv("MEMORY_BENCH_REUSE");
  const bool reuse = reuse_env != nullptr && std::string(reuse_env) == "1" && [&] {
    auto s = db->session();
    return jarvis::sql::scalar_int(*s, "SELECT COUNT(*) FROM memory_items") ==
           static_cast<long long>(texts.size());
  }();
  // 1. Rows: redaction + insert (+ FTS5 trigger), 500 per transaction, as the writer does.
  auto t0 = Clock::now();
  std::vector<long long> seqs;
  seqs.reserve(texts.size());
  long long redactions = 0;
  if (reuse) {
    // The items were inserted in corpus order: seq i+1 is line i.
    for (std::size_t i = 0; i < texts.size(); ++i) seqs.push_back(static_cast<long long>(i) + 1);
    std::printf("reusing %s/bench.db (%zu items) and its index: search figures only\n",
                work.c_str(), texts.size());
  }
  for (std::size_t i = 0; !reuse && i < texts.size(); i += 500) {
    auto tx = db->transaction();
    for (std::size_t j = i; j < std::min(texts.size(), i + 500); ++j) {
      Redaction r = redactor.scan(texts[j]);
      redactions += static_cast<long long>(r.findings.size());
      NewItem it{.owner_id = "usr_bench",
                 .thread_id = "thr_" + std::to_string(j % 200),
                 .kind = "user_statement",
                 .text = r.text};
      ItemRef ref = MemoryStore::insert(tx->session(), it);
      seqs.push_back(ref.seq);
      record_redactions(tx->session(),
                        {.item_id = ref.id, .owner_id = "usr_bench", .source = "bench"}, r);
    }
    tx->commit();
  }
  auto t1 = Clock::now();
  if (!reuse)
    std::printf("ingest rows: %.1f s, %.0f items/s (redaction + row + FTS5; %lld redactions)\n",
                secs(t0, t1), static_cast<double>(texts.size()) / secs(t0, t1), redactions);

  // 2. Embeddings, as memory.embed does: read pending, embed outside the transaction, write.
  auto t2 = Clock::now();
  long long embedded = 0;
  while (!reuse) {
    std::vector<std::pair<long long, std::string>> pending;
    {
      auto s = db->session();
      pending = MemoryStore::pending_embeddings(*s, embedder->model_id(), 500);
    }
    if (pending.empty()) break;
    std::vector<std::string> batch;
    for (auto& p : pending) batch.push_back(p.second);
    auto vecs = embedder->embed(batch, jarvis::CancelToken());
    auto tx = db->transaction();
    for (std::size_t i = 0; i < pending.size(); ++i) {
      MemoryStore::put_vector(tx->session(), pending[i].first, embedder->model_id(),
                              static_cast<int>(vecs[i].size()), encode_vector(vecs[i]));
    }
    tx->commit();
    embedded += static_cast<long long>(pending.size());
  }
  auto t3 = Clock::now();
  if (!reuse)
    std::printf(
        "embed (local, %lld dims): %.1f s, %.0f items/s; ingest with embeddings %.0f items/s\n",
        settings.embed_dims, secs(t2, t3), static_cast<double>(embedded) / secs(t2, t3),
        static_cast<double>(texts.size()) / secs(t0, t3));

  // 3. Index: build from the table (what a reindex or a fresh host does), save, reload.
  VectorIndex index(work + "/index", embedder->model_id());
  index.load_or_create(static_cast<int>(settings.embed_dims));
  auto t4 = Clock::now();
  if (!reuse || index.size() != texts.size()) {
    auto s = db->session();
    index.rebuild(*s);
  }
  auto t5 = Clock::now();
  index.save();
  auto t6 = Clock::now();
  VectorIndex reloaded(work + "/index", embedder->model_id());
  reloaded.load_or_create(static_cast<int>(settings.embed_dims));
  auto t7 = Clock::now();
  if (!reuse)
    std::printf("index build: %.1f s for %zu vectors; save %.2f s; load %.2f s (%zu vectors)\n",
                secs(t4, t5), index.size(), secs(t5, t6), secs(t6, t7), reloaded.size());

  // 4. The labelled queries.
  std::vector<Query> queries;
  const std::size_t stride =
      std::max<std::size_t>(1, texts.size() / static_cast<std::size_t>(n_queries));
  for (std::size_t i = 0; i < texts.size() && static_cast<int>(queries.size()) < n_queries;
       i += stride) {
    std::vector<std::string> words;
    std::set<std::string> seen;
    for (auto& w : word_tokens(texts[i])) {
      if (w.size() >= 4 && !is_stop_word(w) && seen.insert(w).second) words.push_back(w);
    }
    if (words.size() < 4) continue;
    std::vector<std::string> pick = {words[0], words[words.size() / 3], words[2 * words.size() / 3],
                                     words.back()};
    const int typos = static_cast<int>(queries.size() % 3);  // 0, 1 or 2 misspelt words
    for (int k = 0; k < typos; ++k)
      pick[static_cast<std::size_t>(k) * 2] = misspell(pick[static_cast<std::size_t>(k) * 2]);
    std::string q;
    for (auto& w : pick) q += (q.empty() ? "" : " ") + w;
    queries.push_back({q, seqs[i]});
  }
  HybridSearch search(*db, settings, *embedder, index);
  // Before the comparison indexes below (each another copy in memory): the memory's own figure.
  std::printf("peak RSS with one index: %.1f MiB\n", static_cast<double>(peak_rss_kb()) / 1024.0);
  // The same saved index with hnswlib's own SSE kernel (the reference of decision 0099).
  VectorIndex index_sse(work + "/index", embedder->model_id(), "sse");
  index_sse.load_or_create(static_cast<int>(settings.embed_dims));
  HybridSearch search_sse(*db, settings, *embedder, index_sse);
  {
    // The index search alone (k = 120, as the search asks for a pool of 30), with each kernel
    // this CPU runs, interleaved query by query; "same" = the fastest kernel's neighbours.
    std::vector<std::unique_ptr<VectorIndex>> by_kernel;
    for (const auto& k : available_inner_product_kernels()) {
      by_kernel.push_back(
          std::make_unique<VectorIndex>(work + "/index", embedder->model_id(), k.name));
      by_kernel.back()->load_or_create(static_cast<int>(settings.embed_dims));
    }
    std::vector<std::vector<double>> lat(by_kernel.size());
    std::vector<int> same(by_kernel.size(), 0);
    for (const auto& q : queries) {
      const std::vector<float> v = embedder->embed({q.text}, jarvis::CancelToken()).front();
      std::vector<Neighbour> first;
      for (std::size_t k = 0; k < by_kernel.size(); ++k) {
        auto a = Clock::now();
        auto nb = by_kernel[k]->search(v, 120);
        lat[k].push_back(secs(a, Clock::now()) * 1000.0);
        if (k == 0) first = nb;
        bool eq = nb.size() == first.size();
        for (std::size_t i = 0; eq && i < nb.size(); ++i) eq = nb[i].seq == first[i].seq;
        if (eq) ++same[k];
      }
    }
    for (std::size_t k = 0; k < by_kernel.size(); ++k) {
      std::printf(
          "vector index alone, kernel %-8s p50 %.2f ms p95 %.2f ms; same neighbours in the same "
          "order as %s for %.1f %% of queries\n",
          by_kernel[k]->kernel().c_str(), pct(lat[k], 0.50), pct(lat[k], 0.95),
          by_kernel[0]->kernel().c_str(), 100.0 * same[k] / static_cast<double>(queries.size()));
    }
  }
  {
    // The full-text leg alone, new plan vs the reference query, interleaved query by query (same
    // load for both): candidates (pool 30, as the search asks) + the rows of the first 10.
    std::vector<double> lat_new, lat_ref, lat_walk;
    int same_top10 = 0, same_top1 = 0, same_scores = 0, hit_new = 0, hit_ref = 0;
    int walk_same_scores = 0;
    WordCounts word_counts;  // the search's cache of common words' row counts (decision 0098)
    ItemFilter f{.owner_id = "usr_bench"};
    auto s = db->session();
    for (const auto& q : queries) {
      const auto tokens = fts_tokens(q.text);
      auto top_seqs = [](const std::vector<Candidate>& c) {
        std::vector<long long> v;
        for (std::size_t i = 0; i < std::min<std::size_t>(10, c.size()); ++i) v.push_back(c[i].seq);
        return v;
      };
      auto a = Clock::now();
      auto ref = reference_fts(*s, tokens, f, 30);
      auto ref_rows = MemoryStore::rows_by_seq(*s, top_seqs(ref), f);
      auto b = Clock::now();
      auto now =
          MemoryStore::fts_candidates(*s, jarvis::Dialect::Sqlite, tokens, f, 30, &word_counts);
      auto now_rows = MemoryStore::rows_by_seq(*s, top_seqs(now), f);
      auto c = Clock::now();
      // The same plan with every phrase's row count walked per query, as bm25() does (0090).
      auto walked = MemoryStore::fts_candidates(*s, jarvis::Dialect::Sqlite, tokens, f, 30);
      auto walked_rows = MemoryStore::rows_by_seq(*s, top_seqs(walked), f);
      auto d = Clock::now();
      lat_ref.push_back(secs(a, b) * 1000.0);
      lat_new.push_back(secs(b, c) * 1000.0);
      lat_walk.push_back(secs(c, d) * 1000.0);
      bool walk_eq = walked.size() == now.size();
      for (std::size_t i = 0; walk_eq && i < now.size(); ++i)
        walk_eq =
            walked[i].seq == now[i].seq && std::abs(walked[i].score - now[i].score) <=
                                               1e-9 * std::max(1.0, std::abs(walked[i].score));
      if (walk_eq) ++walk_same_scores;
      const auto tr = top_seqs(ref), tn = top_seqs(now);
      if (std::set<long long>(tr.begin(), tr.end()) == std::set<long long>(tn.begin(), tn.end()))
        ++same_top10;
      if (!tr.empty() && !tn.empty() && tr[0] == tn[0]) ++same_top1;
      // The same ranking up to the order of equal scores: the first 10 scores agree.
      bool eq = std::min<std::size_t>(10, ref.size()) == std::min<std::size_t>(10, now.size());
      for (std::size_t i = 0; eq && i < std::min<std::size_t>(10, ref.size()); ++i)
        eq = std::abs(ref[i].score - now[i].score) <= 1e-9 * std::max(1.0, std::abs(ref[i].score));
      if (eq) ++same_scores;
      if (std::find(tr.begin(), tr.end(), q.relevant_seq) != tr.end()) ++hit_ref;
      if (std::find(tn.begin(), tn.end(), q.relevant_seq) != tn.end()) ++hit_new;
    }
    const double nq = static_cast<double>(queries.size());
    std::printf(
        "full-text leg, reference query (0026): p50 %.2f ms p95 %.2f ms, recall@10 %.3f\n"
        "full-text leg, bounded plan (0073):    p50 %.2f ms p95 %.2f ms, recall@10 %.3f; same "
        "top-10 set %.1f %%, same first hit %.1f %%, same top-10 scores (equal up to ties) %.1f "
        "%%\n",
        pct(lat_ref, 0.50), pct(lat_ref, 0.95), hit_ref / nq, pct(lat_new, 0.50),
        pct(lat_new, 0.95), hit_new / nq, 100.0 * same_top10 / nq, 100.0 * same_top1 / nq,
        100.0 * same_scores / nq);
    std::printf(
        "full-text leg, plan with walked counts (0090): p50 %.2f ms p95 %.2f ms; the cached "
        "counts (0098) give the same candidates and scores for %.1f %% of queries (%lld counts "
        "computed)\n",
        pct(lat_walk, 0.50), pct(lat_walk, 0.95), 100.0 * walk_same_scores / nq,
        word_counts.recounts());
  }
  struct Mode {
    const char* name;
    bool fts, vec, rec;
  };
  for (const Mode m :
       {Mode{"fts (bm25) alone", true, false, false}, Mode{"vectors alone", false, true, false},
        Mode{"fused (fts+vector+recency)", true, true, true}}) {
    // The fused mode also runs each query with its legs one after the other (the reference of
    // decision 0098), interleaved with the parallel run, the order alternating query by query.
    const bool both = m.fts && m.vec;
    int hit = 0, hit_seq = 0, hit_sse = 0;
    std::vector<double> lat, lat_seq, lat_sse;
    std::size_t n = 0;
    for (const auto& q : queries) {
      SearchRequest r;
      r.query = q.text;
      r.filter.owner_id = "usr_bench";
      r.limit = 10;
      r.use_fts = m.fts;
      r.use_vector = m.vec;
      r.use_recency = m.rec;
      auto one = [&](bool parallel, std::vector<double>& into, int& hits, HybridSearch& with) {
        r.parallel_legs = parallel;
        auto a = Clock::now();
        jarvis::Json res = with.run(r);
        into.push_back(secs(a, Clock::now()) * 1000.0);
        for (const auto& it : res["items"]) {
          if (it["seq"].get<long long>() == q.relevant_seq) {
            ++hits;
            break;
          }
        }
      };
      const bool seq_first = both && (n++ % 2 == 1);
      if (seq_first) one(false, lat_seq, hit_seq, search);
      one(true, lat, hit, search);
      if (both && !seq_first) one(false, lat_seq, hit_seq, search);
      if (both) one(true, lat_sse, hit_sse, search_sse);
    }
    std::printf("%-28s recall@10 %.3f (%d/%zu)  latency p50 %.2f ms p95 %.2f ms\n", m.name,
                static_cast<double>(hit) / static_cast<double>(queries.size()), hit, queries.size(),
                pct(lat, 0.50), pct(lat, 0.95));
    if (both) {
      std::printf("%-28s recall@10 %.3f (%d/%zu)  latency p50 %.2f ms p95 %.2f ms\n",
                  "  the same, legs in sequence",
                  static_cast<double>(hit_seq) / static_cast<double>(queries.size()), hit_seq,
                  queries.size(), pct(lat_seq, 0.50), pct(lat_seq, 0.95));
      std::printf("%-28s recall@10 %.3f (%d/%zu)  latency p50 %.2f ms p95 %.2f ms\n",
                  "  the same, SSE kernel",
                  static_cast<double>(hit_sse) / static_cast<double>(queries.size()), hit_sse,
                  queries.size(), pct(lat_sse, 0.50), pct(lat_sse, 0.95));
    }
  }
  std::printf("peak RSS with the comparison indexes (one per kernel): %.1f MiB\n",
              static_cast<double>(peak_rss_kb()) / 1024.0);
  return 0;
}

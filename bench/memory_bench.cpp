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
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "db/migrations.h"
#include "db/sql_database.h"
#include "embedder.h"
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

  // 1. Rows: redaction + insert (+ FTS5 trigger), 500 per transaction, as the writer does.
  auto t0 = Clock::now();
  std::vector<long long> seqs;
  seqs.reserve(texts.size());
  long long redactions = 0;
  for (std::size_t i = 0; i < texts.size(); i += 500) {
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
  std::printf("ingest rows: %.1f s, %.0f items/s (redaction + row + FTS5; %lld redactions)\n",
              secs(t0, t1), static_cast<double>(texts.size()) / secs(t0, t1), redactions);

  // 2. Embeddings, as memory.embed does: read pending, embed outside the transaction, write.
  auto t2 = Clock::now();
  long long embedded = 0;
  while (true) {
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
  std::printf(
      "embed (local, %lld dims): %.1f s, %.0f items/s; ingest with embeddings %.0f items/s\n",
      settings.embed_dims, secs(t2, t3), static_cast<double>(embedded) / secs(t2, t3),
      static_cast<double>(texts.size()) / secs(t0, t3));

  // 3. Index: build from the table (what a reindex or a fresh host does), save, reload.
  VectorIndex index(work + "/index", embedder->model_id());
  index.load_or_create(static_cast<int>(settings.embed_dims));
  auto t4 = Clock::now();
  {
    auto s = db->session();
    index.rebuild(*s);
  }
  auto t5 = Clock::now();
  index.save();
  auto t6 = Clock::now();
  VectorIndex reloaded(work + "/index", embedder->model_id());
  reloaded.load_or_create(static_cast<int>(settings.embed_dims));
  auto t7 = Clock::now();
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
  struct Mode {
    const char* name;
    bool fts, vec, rec;
  };
  for (const Mode m :
       {Mode{"fts (bm25) alone", true, false, false}, Mode{"vectors alone", false, true, false},
        Mode{"fused (fts+vector+recency)", true, true, true}}) {
    int hit = 0;
    std::vector<double> lat;
    for (const auto& q : queries) {
      SearchRequest r;
      r.query = q.text;
      r.filter.owner_id = "usr_bench";
      r.limit = 10;
      r.use_fts = m.fts;
      r.use_vector = m.vec;
      r.use_recency = m.rec;
      auto a = Clock::now();
      jarvis::Json res = search.run(r);
      lat.push_back(secs(a, Clock::now()) * 1000.0);
      for (const auto& it : res["items"]) {
        if (it["seq"].get<long long>() == q.relevant_seq) {
          ++hit;
          break;
        }
      }
    }
    std::printf("%-28s recall@10 %.3f (%d/%zu)  latency p50 %.2f ms p95 %.2f ms\n", m.name,
                static_cast<double>(hit) / static_cast<double>(queries.size()), hit, queries.size(),
                pct(lat, 0.50), pct(lat, 0.95));
  }
  std::printf("peak RSS: %.1f MiB\n", static_cast<double>(peak_rss_kb()) / 1024.0);
  return 0;
}

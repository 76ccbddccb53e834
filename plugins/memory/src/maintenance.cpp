// memory/src/maintenance.cpp — embedding, reindex, tier/importance/purge jobs, KPI gauges.
#include "maintenance.h"

#include <chrono>
#include <cmath>
#include <ctime>

#include "jarvis/sql.h"

namespace jarvis::memory {
namespace {

/// Days between ISO time `iso` and now (0 for an unparsable time).
double days_since(const std::string& iso) {
  if (iso.size() < 19) return 0;
  std::tm tm{};
  tm.tm_year = std::atoi(iso.substr(0, 4).c_str()) - 1900;
  tm.tm_mon = std::atoi(iso.substr(5, 2).c_str()) - 1;
  tm.tm_mday = std::atoi(iso.substr(8, 2).c_str());
  tm.tm_hour = std::atoi(iso.substr(11, 2).c_str());
  tm.tm_min = std::atoi(iso.substr(14, 2).c_str());
  tm.tm_sec = std::atoi(iso.substr(17, 2).c_str());
  const double then = static_cast<double>(timegm(&tm));
  const double now = static_cast<double>(std::time(nullptr));
  return (now - then) / 86400.0;
}

/// Instructions and how-tos become procedural rather than semantic.
bool looks_procedural(const std::string& text) {
  std::string t;
  for (char ch : text.substr(0, 200))
    t.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
  for (const char* cue : {"how to ", "always ", "never ", "step 1", "first,", "to deploy", "run `",
                          "make sure to", "remember to"}) {
    if (t.find(cue) != std::string::npos) return true;
  }
  return false;
}

std::string real(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

Json tier_job(MemoryCore& c) {
  if (!c.settings.tiers_enabled) return {{"skipped", "MEMORY_TIERS_ENABLED=0"}};
  const std::string now = now_iso();
  const std::string working_cut = iso_from_now(-c.settings.working_hours * 3600LL * 1000LL);
  const std::string archive_cut = iso_from_now(-c.settings.archive_after_days * 86400LL * 1000LL);
  long long to_episodic = 0, to_semantic = 0, to_procedural = 0, archived = 0;
  auto tx = c.host.db().transaction();
  auto& s = tx->session();
  to_episodic = sql::exec(s,
                          "UPDATE memory_items SET tier = 'episodic', updated_at = :u WHERE tier = "
                          "'working' AND created_at < :c AND deleted_at IS NULL",
                          {now, working_cut});
  Json promote = sql::all_rows(
      s,
      "SELECT id, text FROM memory_items WHERE tier = 'episodic' AND deleted_at IS NULL AND "
      "archived_at IS NULL AND (access_count >= :n OR feedback >= 2)",
      {sql::Bind(c.settings.promote_access_count)});
  for (const auto& row : promote) {
    const bool proc = looks_procedural(row.value("text", ""));
    sql::exec(s, "UPDATE memory_items SET tier = :t, updated_at = :u WHERE id = :i",
              {proc ? "procedural" : "semantic", now, row.value("id", "")});
    (proc ? to_procedural : to_semantic)++;
  }
  std::string arch =
      "UPDATE memory_items SET archived_at = :a, updated_at = :u WHERE archived_at IS NULL AND "
      "deleted_at IS NULL AND created_at < :c AND (last_accessed_at IS NULL OR last_accessed_at < "
      ":l)";
  if (c.settings.importance_enabled) arch += " AND importance < 0.35";
  archived = sql::exec(s, arch, {now, now, archive_cut, archive_cut});
  tx->commit();
  return {{"to_episodic", to_episodic},
          {"to_semantic", to_semantic},
          {"to_procedural", to_procedural},
          {"archived", archived}};
}

Json importance_job(MemoryCore& c) {
  if (!c.settings.importance_enabled) return {{"skipped", "MEMORY_IMPORTANCE_ENABLED=0"}};
  long long updated = 0;
  long long after = 0;
  while (true) {
    Json rows;
    {
      auto sql = c.host.db().session();
      rows = Json::array();
      sql::Binds b{sql::Bind(after)};
      sql::for_each_row(*sql,
                        "SELECT seq, kind, created_at, last_accessed_at, access_count, feedback "
                        "FROM memory_items WHERE seq > :a AND deleted_at IS NULL ORDER BY seq "
                        "LIMIT 500",
                        b, [&](const soci::row& r) {
                          Json last = sql::column(r, 3);
                          rows.push_back({{"seq", sql::column_int(r, 0)},
                                          {"kind", sql::column(r, 1)},
                                          {"created_at", sql::column(r, 2)},
                                          {"last_accessed_at", last},
                                          {"access_count", sql::column_int(r, 4)},
                                          {"feedback", sql::column_int(r, 5)}});
                        });
    }
    if (rows.empty()) break;
    auto tx = c.host.db().transaction();
    for (const auto& r : rows) {
      const std::string last = r["last_accessed_at"].is_string()
                                   ? r["last_accessed_at"].get<std::string>()
                                   : r.value("created_at", "");
      const double imp = importance_of(days_since(last), r.value("access_count", 0LL),
                                       r.value("kind", ""), r.value("feedback", 0LL));
      sql::exec(tx->session(), "UPDATE memory_items SET importance = :i WHERE seq = :s",
                {real(imp), sql::Bind(r["seq"].get<long long>())});
      ++updated;
      after = r["seq"].get<long long>();
    }
    tx->commit();
  }
  return {{"updated", updated}};
}

Json purge_job(MemoryCore& c) {
  const std::string before = iso_from_now(-c.settings.purge_after_hours * 3600LL * 1000LL);
  long long purged = 0;
  while (true) {
    std::vector<long long> seqs;
    {
      auto tx = c.host.db().transaction();
      seqs = MemoryStore::purge(tx->session(), before, 500);
      tx->commit();
    }
    for (long long s : seqs) c.index->remove(s);
    purged += static_cast<long long>(seqs.size());
    if (seqs.size() < 500) break;
  }
  return {{"purged", purged}};
}

}  // namespace

EmbedReport embed_pending(MemoryCore& c, const CancelToken& cancel, long long max_items,
                          const std::function<void(long long)>& progress) {
  EmbedReport rep;
  if (!c.settings.writes_enabled) return rep;
  const std::string model = c.embedder->model_id();
  const int batch = static_cast<int>(c.settings.embed_batch);
  while (rep.embedded < max_items && !cancel.cancelled()) {
    std::vector<std::pair<long long, std::string>> pending;
    {
      auto sql = c.host.db().session();
      pending = MemoryStore::pending_embeddings(*sql, model, batch);
    }
    if (pending.empty()) return rep;
    std::vector<std::string> texts;
    for (auto& p : pending) texts.push_back(p.second);
    // The provider call: no session, no transaction held.
    std::vector<std::vector<float>> vectors = c.embedder->embed(texts, cancel);
    {
      auto tx = c.host.db().transaction();
      for (std::size_t i = 0; i < pending.size(); ++i) {
        MemoryStore::put_vector(tx->session(), pending[i].first, model,
                                static_cast<int>(vectors[i].size()), encode_vector(vectors[i]));
      }
      tx->commit();
    }
    c.ensure_index_loaded();
    for (std::size_t i = 0; i < pending.size(); ++i) c.index->add(pending[i].first, vectors[i]);
    rep.embedded += static_cast<long long>(pending.size());
    if (progress) progress(rep.embedded);
  }
  auto sql = c.host.db().session();
  rep.more = !MemoryStore::pending_embeddings(*sql, model, 1).empty();
  return rep;
}

Json reindex(MemoryCore& c, const CancelToken& cancel,
             const std::function<void(long long, long long)>& progress) {
  if (!c.settings.writes_enabled) {
    return {{"skipped", "MEMORY_WRITES_ENABLED=0"}};
  }
  long long total = 0;
  {
    auto tx = c.host.db().transaction();
    // Every vector is recomputed: the provider, model or the local embedder's version may have
    // changed. Items stay; only their vectors go.
    sql::exec(tx->session(), "DELETE FROM memory_vectors");
    tx->commit();
  }
  {
    auto sql = c.host.db().session();
    total = sql::scalar_int(*sql, "SELECT COUNT(*) FROM memory_items WHERE deleted_at IS NULL");
  }
  const auto started = std::chrono::steady_clock::now();
  EmbedReport rep = embed_pending(c, cancel, total + 1000, [&](long long done) {
    if (progress) progress(done, total);
  });
  const double embed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  c.ensure_index_loaded();
  const auto rebuild_start = std::chrono::steady_clock::now();
  std::size_t indexed = 0;
  if (c.index->dims() > 0) {
    auto sql = c.host.db().session();
    indexed = c.index->rebuild(*sql);
    c.index->save();
  }
  const double build_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - rebuild_start).count();
  return {{"items", total},
          {"embedded", rep.embedded},
          {"indexed", indexed},
          {"model", c.embedder->model_id()},
          {"embed_seconds", embed_s},
          {"index_build_seconds", build_s},
          {"index_file", c.index->path()}};
}

Json run_jobs(MemoryCore& c, const std::string& which) {
  if (!c.settings.writes_enabled) return {{"skipped", "MEMORY_WRITES_ENABLED=0"}};
  Json out = Json::object();
  // Importance first: the archive rule of the tier job reads it.
  if (which == "importance" || which == "all") out["importance"] = importance_job(c);
  if (which == "tiers" || which == "all") out["tiers"] = tier_job(c);
  if (which == "purge" || which == "all") out["purge"] = purge_job(c);
  return out;
}

void update_kpis(MemoryCore& c) {
  auto sql = c.host.db().session();
  const long long items = sql::scalar_int(
      *sql, "SELECT COUNT(*) FROM memory_items WHERE deleted_at IS NULL AND archived_at IS NULL");
  c.host.metrics().set_gauge("items_count", static_cast<double>(items));
  // Each figure on its own: scalar_int reads COUNT and SUM whatever type the driver reports.
  const long long n = sql::scalar_int(*sql, "SELECT COUNT(*) FROM memory_prompt_stats");
  if (n > 0) {
    const long long saved =
        sql::scalar_int(*sql, "SELECT COALESCE(SUM(saved_tokens), 0) FROM memory_prompt_stats");
    c.host.metrics().set_gauge("avg_tokens_saved",
                               static_cast<double>(saved) / static_cast<double>(n));
  }
}

}  // namespace jarvis::memory

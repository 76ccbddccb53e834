// memory/src/cli.cpp — `jarvis memory search|stats|reindex|export` (the operator's view: every
// owner unless --owner; run where the database is, like `jarvis migrate`).
//
//   jarvis memory search "where is the car" [--limit 10] [--owner usr_…] [--json]
//   jarvis memory stats [--json]
//   jarvis memory reindex [--json]      # re-embeds every item, rebuilds the index, progress bar
//   jarvis memory export [--owner U] [--thread T] [--tier T] > memory.jsonl
#include <iomanip>

#include "core.h"
#include "jarvis/commands.h"
#include "jarvis/sql.h"
#include "jarvis/error.h"
#include "maintenance.h"

namespace jarvis::memory {
namespace {

void progress_bar(std::ostream& err, long long done, long long total) {
  const int width = 30;
  const double frac =
      total > 0 ? std::min(1.0, static_cast<double>(done) / static_cast<double>(total)) : 1.0;
  const int fill = static_cast<int>(frac * width);
  err << "\r[" << std::string(fill, '#') << std::string(width - fill, ' ') << "] " << std::setw(3)
      << static_cast<int>(frac * 100) << "% " << done << "/" << total << std::flush;
}

int cmd_search(MemoryCore& c, CommandContext& ctx) {
  Args a = Args::parse(ctx.args, {"--json"}, {"--limit", "--owner", "--thread"});
  SearchRequest s;
  std::string q;
  for (const auto& p : a.positionals()) q += (q.empty() ? "" : " ") + p;
  if (q.empty()) throw UsageError("QUERY is required");
  s.query = q;
  s.filter.owner_id = a.option("--owner");
  s.filter.thread_id = a.option("--thread");
  try {
    s.limit = a.has_option("--limit") ? std::stoi(a.option("--limit")) : 10;
  } catch (const std::exception&) {
    throw UsageError("--limit must be a number");
  }
  c.ensure_index_loaded();
  if (c.index->dims() > 0) {
    auto sql = c.host.db().session();
    c.index->sync(*sql);
  }
  Json r = c.search->run(s);
  if (a.flag("--json")) {
    ctx.out << r.dump(2) << "\n";
    return 0;
  }
  if (r["items"].empty()) ctx.out << "no matches\n";
  for (const auto& it : r["items"]) {
    const Json& sp = it["score_parts"];
    ctx.out << std::fixed << std::setprecision(4) << it["score"].get<double>() << "  "
            << it.value("id", "") << "  " << it.value("created_at", "") << "  [fts "
            << (sp["fts"].is_null() ? std::string("-")
                                    : std::to_string(sp["fts"]["rank"].get<int>()))
            << ", vector "
            << (sp["vector"].is_null() ? std::string("-")
                                       : std::to_string(sp["vector"]["rank"].get<int>()))
            << ", recency "
            << (sp["recency"].is_null() ? std::string("-")
                                        : std::to_string(sp["recency"]["rank"].get<int>()))
            << "]\n    " << it.value("text", "").substr(0, 200) << "\n";
  }
  if (r["vector"] != "ok") ctx.out << "(vectors: " << r["vector"].get<std::string>() << ")\n";
  return 0;
}

int cmd_stats(MemoryCore& c, CommandContext& ctx) {
  Args a = Args::parse(ctx.args, {"--json"}, {"--owner"});
  ItemFilter f;
  f.owner_id = a.option("--owner");
  auto sql = c.host.db().session();
  Json st = MemoryStore::stats(*sql, f, c.embedder->model_id());
  const long long measured = sql::scalar_int(*sql, "SELECT COUNT(*) FROM memory_prompt_stats");
  const long long saved =
      sql::scalar_int(*sql, "SELECT COALESCE(SUM(saved_tokens), 0) FROM memory_prompt_stats");
  st["measured_prompts"] = measured;
  st["avg_tokens_saved"] =
      measured > 0 ? Json(static_cast<double>(saved) / static_cast<double>(measured)) : Json();
  st["redactions"] = sql::scalar_int(*sql, "SELECT COUNT(*) FROM memory_redactions");
  if (a.flag("--json")) {
    ctx.out << st.dump(2) << "\n";
    return 0;
  }
  ctx.out << "items            " << st["total_items"] << "\n"
          << "embedded         " << st["embedded_items"] << " ("
          << st["embedding_model"].get<std::string>() << ")\n"
          << "coverage         "
          << (st["embedding_coverage_pct"].is_null()
                  ? std::string("n/a")
                  : std::to_string(st["embedding_coverage_pct"].get<double>()) + " %")
          << "\n"
          << "archived         " << st["archived_items"] << "\n"
          << "deleted (purge)  " << st["deleted_pending_purge"] << "\n"
          << "tiers            " << st["tiers"].dump() << "\n"
          << "redactions       " << st["redactions"] << "\n"
          << "avg tokens saved "
          << (st["avg_tokens_saved"].is_null()
                  ? std::string("n/a (no measured prompt)")
                  : std::to_string(st["avg_tokens_saved"].get<double>()))
          << "\n";
  return 0;
}

int cmd_reindex(MemoryCore& c, CommandContext& ctx) {
  Args a = Args::parse(ctx.args, {"--json"}, {});
  Json r = reindex(c, CancelToken(),
                   [&](long long done, long long total) { progress_bar(ctx.err, done, total); });
  ctx.err << "\n";
  if (a.flag("--json")) {
    ctx.out << r.dump(2) << "\n";
  } else if (r.contains("skipped")) {
    ctx.out << "reindex skipped: " << r["skipped"].get<std::string>() << "\n";
    return 1;
  } else {
    ctx.out << "re-embedded " << r["embedded"] << " items with " << r["model"].get<std::string>()
            << " in " << r["embed_seconds"] << " s; index of " << r["indexed"]
            << " vectors built in " << r["index_build_seconds"] << " s ("
            << r["index_file"].get<std::string>() << ")\n";
  }
  return r.contains("skipped") ? 1 : 0;
}

int cmd_export(MemoryCore& c, CommandContext& ctx) {
  Args a = Args::parse(ctx.args, {}, {"--owner", "--thread", "--tier"});
  ItemFilter f;
  f.owner_id = a.option("--owner");
  f.thread_id = a.option("--thread");
  f.tier = a.option("--tier");
  long long after = 0;
  auto sql = c.host.db().session();
  while (true) {
    Json items = MemoryStore::export_items(*sql, f, after, 1000);
    for (const auto& it : items) ctx.out << it.dump() << "\n";
    if (items.size() < 1000) break;
    after = items.back()["seq"].get<long long>();
  }
  return 0;
}

}  // namespace

void register_cli(Host& host, MemoryCore& core) {
  MemoryCore* c = &core;
  host.commands().add({.group = "memory",
                       .name = "search",
                       .summary = "Hybrid search of memory items (every owner unless --owner)",
                       .usage = "jarvis memory search QUERY [--limit N] [--owner USER_ID] "
                                "[--thread THREAD_ID] [--json]",
                       .handler = [c](CommandContext& ctx) { return cmd_search(*c, ctx); }});
  host.commands().add({.group = "memory",
                       .name = "stats",
                       .summary = "Memory item counts, embedding coverage, tiers, tokens saved",
                       .usage = "jarvis memory stats [--owner USER_ID] [--json]",
                       .handler = [c](CommandContext& ctx) { return cmd_stats(*c, ctx); }});
  host.commands().add({.group = "memory",
                       .name = "reindex",
                       .summary = "Re-embed every memory item and rebuild the vector index",
                       .usage = "jarvis memory reindex [--json]",
                       .handler = [c](CommandContext& ctx) { return cmd_reindex(*c, ctx); }});
  host.commands().add({.group = "memory",
                       .name = "export",
                       .summary = "Export memory items as JSON lines (oldest first)",
                       .usage = "jarvis memory export [--owner USER_ID] [--thread THREAD_ID] "
                                "[--tier TIER]",
                       .handler = [c](CommandContext& ctx) { return cmd_export(*c, ctx); }});
}

}  // namespace jarvis::memory

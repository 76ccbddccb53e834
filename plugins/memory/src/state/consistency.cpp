// memory/state/consistency.cpp — consistency reports (decision 0033).
#include "state/consistency.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "jarvis/database.h"
#include "jarvis/list.h"
#include "jarvis/sql.h"
#include "state/state_store.h"

namespace jarvis::memory::state {

namespace {

using jarvis::sql::Bind;
using jarvis::sql::Binds;

// "owner_id = :o [AND thread_id = :t]" for the scope (prefix `table.` when given).
std::string report_where(const ReportScope& s, Binds& b, const std::string& table = "") {
  std::string w = "1 = 1";
  if (!s.all_owners) {
    w += " AND " + table + "owner_id = :o";
    b.emplace_back(s.owner_id);
  }
  if (!s.thread_id.empty()) {
    w += " AND " + table + "thread_id = :t";
    b.emplace_back(s.thread_id);
  }
  return w;
}

Json score_json(const std::string& text) {
  if (text.empty()) return nullptr;
  try {
    return std::stod(text);
  } catch (const std::exception&) {
    return nullptr;
  }
}

}  // namespace

Json compute_report(soci::session& sql, const ReportScope& s) {
  Binds b;
  const std::string w = report_where(s, b);
  auto count = [&](const std::string& extra, Binds more) {
    Binds all = b;
    for (auto& m : more) all.push_back(std::move(m));
    return jarvis::sql::scalar_int(
        sql,
        "SELECT COUNT(*) FROM memory_state_items WHERE " + w + " AND type_tag <> 'failure'" + extra,
        all);
  };
  const long long items_total =
      count(" AND created_at >= :f AND created_at <= :to", {s.from_ts, s.to_ts});
  // Valid at the end of the window.
  const std::string valid_at_end = " AND valid_from <= :e AND (valid_to IS NULL OR valid_to > :e2)";
  const long long valid_items = count(valid_at_end, {s.to_ts, s.to_ts});
  const long long conflicted = count(valid_at_end + " AND conflict = 1", {s.to_ts, s.to_ts});
  const long long supersessions =
      count(" AND superseded_by IS NOT NULL AND valid_to >= :f AND valid_to <= :to",
            {s.from_ts, s.to_ts});

  Binds qb;
  const std::string qw = report_where(s, qb);
  Binds qb_window = qb;
  qb_window.emplace_back(s.from_ts);
  qb_window.emplace_back(s.to_ts);
  const long long conflicts_found =
      jarvis::sql::scalar_int(sql,
                              "SELECT COUNT(*) FROM memory_review_queue WHERE " + qw +
                                  " AND created_at >= :f AND created_at <= :to",
                              qb_window);
  Binds qb_open = qb;
  qb_open.emplace_back(s.to_ts);
  qb_open.emplace_back(static_cast<long long>(kMaxReportList));
  Json open_rows = jarvis::sql::all_rows(
      sql,
      "SELECT uid, other_uid, created_at FROM memory_review_queue WHERE " + qw +
          " AND status = 'open' AND created_at <= :to ORDER BY created_at, id LIMIT :l",
      qb_open);
  Binds qb_open_count = qb;
  qb_open_count.emplace_back(s.to_ts);
  const long long open_count =
      jarvis::sql::scalar_int(sql,
                              "SELECT COUNT(*) FROM memory_review_queue WHERE " + qw +
                                  " AND status = 'open' AND created_at <= :to",
                              qb_open_count);

  // Supersession chains: old → new links that ended inside the window, followed both ways.
  Binds cb = b;
  cb.emplace_back(s.to_ts);
  Json links = jarvis::sql::all_rows(
      sql,
      "SELECT uid, superseded_by, valid_to FROM memory_state_items WHERE " + w +
          " AND superseded_by IS NOT NULL AND valid_to <= :to ORDER BY valid_to, uid LIMIT 5000",
      cb);
  std::map<std::string, std::string> next;  // old → new
  std::set<std::string> has_prev;
  std::set<std::string> in_window;
  for (const auto& l : links) {
    const std::string u = state_store::row_text(l, "uid");
    const std::string n = state_store::row_text(l, "superseded_by");
    next[u] = n;
    has_prev.insert(n);
    if (state_store::row_text(l, "valid_to") >= s.from_ts) in_window.insert(u);
  }
  Json chains = Json::array();
  long long chain_count = 0;
  long long longest = 0;
  for (const auto& [start, unused] : next) {
    (void)unused;
    if (has_prev.count(start)) continue;  // not the oldest of its chain
    Json chain = Json::array({start});
    bool touches_window = in_window.count(start) > 0;
    std::set<std::string> seen{start};
    std::string cur = start;
    while (next.count(cur) && chain.size() < 100) {
      cur = next[cur];
      if (!seen.insert(cur).second) break;  // a cycle (retract + supersede): stop
      if (in_window.count(cur)) touches_window = true;
      chain.push_back(cur);
    }
    if (!touches_window) continue;
    ++chain_count;
    longest = std::max<long long>(longest, static_cast<long long>(chain.size()));
    if (chains.size() < kMaxReportList) chains.push_back(std::move(chain));
  }

  Binds eb = b;
  eb.emplace_back(s.to_ts);
  eb.emplace_back(s.to_ts);
  const std::string no_evidence = " AND type_tag <> 'failure' AND refs = '[]'" + valid_at_end;
  const long long without_evidence = jarvis::sql::scalar_int(
      sql, "SELECT COUNT(*) FROM memory_state_items WHERE " + w + no_evidence, eb);
  eb.emplace_back(static_cast<long long>(kMaxReportList));
  Json no_ev_rows = jarvis::sql::all_rows(
      sql, "SELECT uid FROM memory_state_items WHERE " + w + no_evidence + " ORDER BY uid LIMIT :l",
      eb);
  Json no_ev = Json::array();
  for (const auto& r : no_ev_rows) no_ev.push_back(state_store::row_text(r, "uid"));
  Json pairs = Json::array();
  for (const auto& r : open_rows) {
    pairs.push_back({{"uid", state_store::row_text(r, "uid")},
                     {"other_uid", state_store::row_text(r, "other_uid")},
                     {"created_at", state_store::row_text(r, "created_at")}});
  }
  Json score = nullptr;
  if (valid_items > 0) {
    score = std::round((1.0 - static_cast<double>(conflicted) / valid_items) * 10000) / 10000;
  }
  return Json{{"thread_id", s.thread_id.empty() ? Json(nullptr) : Json(s.thread_id)},
              {"owner_id", s.all_owners ? Json(nullptr) : Json(s.owner_id)},
              {"from_ts", s.from_ts},
              {"to_ts", s.to_ts},
              {"items_total", items_total},
              {"valid_items", valid_items},
              {"conflicted_items", conflicted},
              {"contradictions_found",
               {{"supersessions", supersessions},
                {"conflicts", conflicts_found},
                {"total", supersessions + conflicts_found}}},
              {"unresolved_conflicts", {{"count", open_count}, {"pairs", std::move(pairs)}}},
              {"supersession_chains",
               {{"count", chain_count}, {"longest", longest}, {"chains", std::move(chains)}}},
              {"items_without_evidence", {{"count", without_evidence}, {"uids", std::move(no_ev)}}},
              {"score", score}};
}

std::string store_report(soci::session& sql, const ReportScope& s, const Json& report,
                         const std::string& created_by) {
  std::string id = jarvis::new_id("mcr");
  std::string score;
  if (report.contains("score") && report["score"].is_number()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f", report["score"].get<double>());
    score = buf;
  }
  jarvis::sql::exec(
      sql,
      "INSERT INTO memory_consistency_reports(id, owner_id, thread_id, from_ts, "
      "to_ts, score, report, created_by, created_at) VALUES(:i, :o, :t, :f, :to, "
      ":s, :r, :b, :c)",
      {id, s.all_owners ? std::string() : s.owner_id, s.thread_id, s.from_ts, s.to_ts,
       score.empty() ? Bind::null() : Bind(score), report.dump(), created_by, jarvis::now_iso()});
  return id;
}

namespace {

Json report_row_json(const Json& r) {
  Json out{{"id", state_store::row_text(r, "id")},
           {"owner_id", state_store::row_text(r, "owner_id")},
           {"thread_id", state_store::row_text(r, "thread_id")},
           {"from_ts", state_store::row_text(r, "from_ts")},
           {"to_ts", state_store::row_text(r, "to_ts")},
           {"score", score_json(state_store::row_text(r, "score"))},
           {"created_by", state_store::row_text(r, "created_by")},
           {"created_at", state_store::row_text(r, "created_at")},
           {"report", state_store::json_column(r, "report", Json::object())}};
  if (out["thread_id"] == "") out["thread_id"] = nullptr;
  if (out["owner_id"] == "") out["owner_id"] = nullptr;
  return out;
}

}  // namespace

Json list_reports(soci::session& sql, const Principal& who, const std::string& thread_id,
                  const std::string& from_ts, const std::string& to_ts, long long limit,
                  long long offset) {
  std::string w = "1 = 1";
  Binds b;
  if (!who.is_admin()) {
    w += " AND owner_id = :o";
    b.emplace_back(who.user_id);
  }
  if (!thread_id.empty()) {
    w += " AND thread_id = :t";
    b.emplace_back(thread_id);
  }
  if (!from_ts.empty()) {
    w += " AND to_ts >= :f";
    b.emplace_back(from_ts);
  }
  if (!to_ts.empty()) {
    w += " AND from_ts <= :to";
    b.emplace_back(to_ts);
  }
  const long long total =
      jarvis::sql::scalar_int(sql, "SELECT COUNT(*) FROM memory_consistency_reports WHERE " + w, b);
  Binds page_b = b;
  page_b.emplace_back(limit);
  page_b.emplace_back(offset);
  Json rows = jarvis::sql::all_rows(sql,
                                    "SELECT id, owner_id, thread_id, from_ts, to_ts, score, "
                                    "report, created_by, created_at FROM "
                                    "memory_consistency_reports WHERE " +
                                        w + " ORDER BY created_at DESC, id LIMIT :l OFFSET :of",
                                    page_b);
  Json items = Json::array();
  double sum = 0;
  long long scored = 0;
  for (const auto& r : rows) {
    Json j = report_row_json(r);
    if (j["score"].is_number()) {
      sum += j["score"].get<double>();
      ++scored;
    }
    items.push_back(std::move(j));
  }
  Json page = jarvis::list_page(std::move(items), total, PageRequest{limit, offset});
  page["avg_score"] = scored > 0 ? Json(std::round(sum / scored * 10000) / 10000) : Json(nullptr);
  return page;
}

std::optional<Json> get_report(soci::session& sql, const Principal& who, const std::string& id) {
  Json r = jarvis::sql::one_row(sql,
                                "SELECT id, owner_id, thread_id, from_ts, to_ts, score, report, "
                                "created_by, created_at FROM memory_consistency_reports WHERE id "
                                "= :i",
                                {id});
  if (r.is_null()) return std::nullopt;
  const std::string owner = state_store::row_text(r, "owner_id");
  if (!who.is_admin() && (owner.empty() || owner != who.user_id)) return std::nullopt;
  return report_row_json(r);
}

}  // namespace jarvis::memory::state

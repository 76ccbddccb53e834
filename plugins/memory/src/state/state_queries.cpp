// memory/state/state_queries.cpp — search, review queue, stats, failures, graph (0030, 0031).
#include "state/state_queries.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <deque>
#include <map>
#include <set>

#include "state/failure_bridge.h"
#include "jarvis/database.h"
#include "jarvis/error.h"
#include "jarvis/list.h"
#include "jarvis/sql.h"
#include "state/state_store.h"
#include "state/state_types.h"

namespace jarvis::memory::state {

namespace {

using jarvis::sql::Bind;
using jarvis::sql::Binds;

constexpr long long kRankPool = 500;

const char* kQueryItemColumns =
    "uid, type_tag, owner_id, thread_id, agent_id, text, norm_text, status, confidence, tier, "
    "topic_tags, refs, source, conflict, merge_count, superseded_by, valid_from, valid_to, "
    "signature, occurrences, trace_id, unsupported, created_at, updated_at, last_seen_at";

// Appends the owner scope of `who` to `where`.
void scope_clause(const Principal& who, std::string& where, Binds& b) {
  if (who.is_admin()) return;
  where += " AND owner_id = :who";
  b.emplace_back(who.user_id);
}

// `%token%` for LIKE, with the LIKE metacharacters escaped (ESCAPE '!').
std::string like_pattern(const std::string& token) {
  std::string out = "%";
  for (char c : token) {
    if (c == '%' || c == '_' || c == '!') out.push_back('!');
    out.push_back(c);
  }
  return out + "%";
}

// Adds "AND (norm_text LIKE … OR …)" for the content words of `q` (at most 8); returns them.
std::set<std::string> text_clause(const std::string& q, std::string& where, Binds& b) {
  std::set<std::string> tokens = content_tokens(q);
  if (tokens.empty()) return tokens;
  std::string ors;
  int n = 0;
  for (const auto& t : tokens) {
    if (++n > 8) break;
    if (!ors.empty()) ors += " OR ";
    ors += "norm_text LIKE :p" + std::to_string(n) + " ESCAPE '!'";  // SQLite: one name, one bind
    b.emplace_back(like_pattern(t));
  }
  where += " AND (" + ors + ")";
  return tokens;
}

// Ranks `rows` by word overlap with `tokens` and returns one page of them with their score.
Json ranked_page(const Json& rows, const std::set<std::string>& tokens, const PageRequest& page) {
  std::vector<std::pair<double, StateItem>> scored;
  for (const auto& r : rows) {
    StateItem it = StateItem::from_row(r);
    double s = similarity(tokens, content_tokens(it.text));
    scored.emplace_back(s, std::move(it));
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  Json items = Json::array();
  for (std::size_t i = static_cast<std::size_t>(page.offset);
       i < scored.size() && items.size() < static_cast<std::size_t>(page.limit); ++i) {
    Json j = scored[i].second.to_json();
    j["score"] = std::round(scored[i].first * 10000) / 10000;
    items.push_back(std::move(j));
  }
  return jarvis::list_page(std::move(items), static_cast<long long>(scored.size()), page,
                           static_cast<long long>(rows.size()) >= kRankPool);
}

Json items_page(soci::session& sql, const std::string& where, Binds b, const std::string& order,
                const PageRequest& page) {
  long long total =
      jarvis::sql::scalar_int(sql, "SELECT COUNT(*) FROM memory_state_items WHERE " + where, b);
  b.emplace_back(page.limit);
  b.emplace_back(page.offset);
  Json rows = jarvis::sql::all_rows(sql,
                                    std::string("SELECT ") + kQueryItemColumns +
                                        " FROM memory_state_items WHERE " + where + " ORDER BY " +
                                        order + " LIMIT :l OFFSET :off",
                                    b);
  Json items = Json::array();
  for (const auto& r : rows) items.push_back(StateItem::from_row(r).to_json());
  return jarvis::list_page(std::move(items), total, page);
}

bool digits(const std::string& s, std::size_t from, std::size_t n) {
  if (s.size() < from + n) return false;
  for (std::size_t i = from; i < from + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> normalize_timestamp(const std::string& t) {
  // YYYY-MM-DD
  if (!digits(t, 0, 4) || t.size() < 10 || t[4] != '-' || !digits(t, 5, 2) || t[7] != '-' ||
      !digits(t, 8, 2)) {
    return std::nullopt;
  }
  std::string date = t.substr(0, 10);
  if (t.size() == 10) return date + "T00:00:00.000Z";
  if ((t[10] != 'T' && t[10] != ' ') || !digits(t, 11, 2) || t.size() < 19 || t[13] != ':' ||
      !digits(t, 14, 2) || t[16] != ':' || !digits(t, 17, 2)) {
    return std::nullopt;
  }
  std::string time = t.substr(11, 8);
  std::string millis = "000";
  std::size_t i = 19;
  if (i < t.size() && t[i] == '.') {
    std::size_t j = i + 1;
    while (j < t.size() && std::isdigit(static_cast<unsigned char>(t[j]))) ++j;
    if (j == i + 1) return std::nullopt;
    millis = (t.substr(i + 1, j - i - 1) + "000").substr(0, 3);
    i = j;
  }
  const std::string zone = t.substr(i);
  if (!zone.empty() && zone != "Z" && zone != "+00:00" && zone != "+0000") return std::nullopt;
  return date + "T" + time + "." + millis + "Z";
}

Json search_state(soci::session& sql, const Principal& who, const StateSearch& s) {
  std::string where = "1 = 1";
  Binds b;
  scope_clause(who, where, b);
  if (!s.thread_id.empty()) {
    where += " AND thread_id = :t";
    b.emplace_back(s.thread_id);
  }
  if (!s.type.empty()) {
    where += " AND type_tag = :y";
    b.emplace_back(s.type);
  }
  if (!s.status.empty()) {
    where += " AND status = :s";
    b.emplace_back(s.status);
  }
  if (!s.as_of.empty()) {
    where += " AND valid_from <= :a AND (valid_to IS NULL OR valid_to > :a2)";
    b.emplace_back(s.as_of);
    b.emplace_back(s.as_of);
  } else if (!s.include_superseded) {
    where += " AND valid_to IS NULL";
  }
  const PageRequest page{s.limit, s.offset};
  if (!s.q.empty()) {
    std::set<std::string> tokens = text_clause(s.q, where, b);
    if (tokens.empty()) return jarvis::list_page(Json::array(), 0, page);
    b.emplace_back(kRankPool);
    Json rows = jarvis::sql::all_rows(sql,
                                      std::string("SELECT ") + kQueryItemColumns +
                                          " FROM memory_state_items WHERE " + where +
                                          " ORDER BY last_seen_at DESC, uid LIMIT :l",
                                      b);
    return ranked_page(rows, tokens, page);
  }
  return items_page(sql, where, std::move(b), "valid_from DESC, uid", page);
}

std::optional<Json> visible_item(soci::session& sql, const Principal& who, const std::string& uid) {
  auto it = state_store::get_item(sql, uid);
  if (!it || !who.may_access(it->owner_id)) return std::nullopt;
  if (it->owner_id.empty() && !who.is_admin()) return std::nullopt;
  return it->to_json();
}

Json list_conflicts(soci::session& sql, long long limit, long long offset) {
  const PageRequest page{limit, offset};
  long long total = jarvis::sql::scalar_int(
      sql, "SELECT COUNT(*) FROM memory_review_queue WHERE status = 'open'");
  Json rows = jarvis::sql::all_rows(
      sql,
      "SELECT id, uid, other_uid, owner_id, thread_id, agent_id, reason, score, status, "
      "created_at FROM memory_review_queue WHERE status = 'open' ORDER BY created_at, id LIMIT :l "
      "OFFSET :o",
      {Bind(limit), Bind(offset)});
  Json items = Json::array();
  for (auto& r : rows) {
    Json row = r;
    for (const char* side : {"uid", "other_uid"}) {
      auto it = state_store::get_item(sql, state_store::row_text(r, side));
      row[std::string(side) == "uid" ? "item" : "other_item"] = it ? it->to_json() : Json(nullptr);
    }
    if (row["thread_id"] == "") row["thread_id"] = nullptr;
    if (row["agent_id"] == "") row["agent_id"] = nullptr;
    items.push_back(std::move(row));
  }
  return jarvis::list_page(std::move(items), total, page);
}

Resolved resolve_review(soci::session& sql, const StateSettings& settings, const Resolution& r) {
  if (r.decision != "keep_both" && r.decision != "supersede" && r.decision != "retract" &&
      r.decision != "unsupported") {
    throw jarvis::Error(400, "invalid_field",
                        "decision must be keep_both, supersede, retract or unsupported");
  }
  auto item = state_store::get_item(sql, r.uid);
  if (!item) throw jarvis::Error(404, "state_item_not_found", "no state item " + r.uid);
  Json rows = state_store::open_reviews_for(sql, r.uid);
  if (rows.empty()) {
    throw jarvis::Error(409, "no_open_conflict", "state item " + r.uid + " has no open conflict");
  }
  const std::string now = jarvis::now_iso();
  Resolved out;
  std::set<std::string> touched{r.uid};
  for (const auto& row : rows) {
    const std::string id = state_store::row_text(row, "id");
    const std::string a = state_store::row_text(row, "uid");
    const std::string b = state_store::row_text(row, "other_uid");
    const std::string other = a == r.uid ? b : a;
    touched.insert(other);
    jarvis::sql::exec(sql,
                      "UPDATE memory_review_queue SET status = 'resolved', reviewer = :r, note = "
                      ":n, decision = :d, resolved_at = :t WHERE id = :i AND status = 'open'",
                      {r.reviewer, r.note, r.decision, now, id});
    if (r.decision == "supersede") {
      auto o = state_store::get_item(sql, other);
      if (o && o->valid_to.empty()) {
        o->valid_to = now;
        o->superseded_by = r.uid;
        o->status = "superseded";
        state_store::update_item(sql, *o);
        if (settings.graph_writes()) {
          state_store::add_relation(
              sql, {.source_uid = r.uid,
                    .target_uid = other,
                    .relation_type = "supersedes",
                    .owner_id = item->owner_id,
                    .thread_id = item->thread_id,
                    .evidence = {{"trigger", "review"}, {"reviewer", r.reviewer}}});
        }
      }
    } else if ((r.decision == "retract" || r.decision == "unsupported") && item->valid_to.empty()) {
      item->valid_to = now;
      item->superseded_by = other;
      item->status = "superseded";
    }
  }
  if (r.decision == "unsupported") {
    FailureRecord f =
        unsupported_claim(item->type, item->text, "review", item->refs, item->thread_id);
    f.ref["reviewed_uid"] = item->uid;
    f.ref["reviewer"] = r.reviewer;
    FailureWrite w = record_failure(sql, f, item->owner_id);
    if (settings.graph_writes()) {
      state_store::add_relation(sql, {.source_uid = w.item.uid,
                                      .target_uid = item->uid,
                                      .relation_type = "flagged_unsupported",
                                      .owner_id = item->owner_id,
                                      .thread_id = item->thread_id,
                                      .evidence = {{"trigger", "review"}}});
    }
    out.body["failure_uid"] = w.item.uid;
  }
  // Write the named item (its decision and flag) first, then clear the others' flags.
  item->conflict = false;
  state_store::update_item(sql, *item);
  Json items = Json::array();
  for (const auto& uid : touched) {
    auto it = state_store::get_item(sql, uid);
    if (!it) continue;
    const bool still = state_store::open_review_count(sql, uid) > 0;
    if (it->conflict != still) {
      it->conflict = still;
      state_store::update_item(sql, *it);
    }
    items.push_back(it->to_json());
  }
  out.body["uid"] = r.uid;
  out.body["resolved"] = rows.size();
  out.body["decision"] = r.decision;
  out.body["reviewer"] = r.reviewer;
  out.body["note"] = r.note;
  out.body["resolved_at"] = now;
  out.body["items"] = std::move(items);
  out.events.push_back({.type = "memory.state.resolved",
                        .payload = {{"uid", r.uid},
                                    {"decision", r.decision},
                                    {"reviewer", r.reviewer},
                                    {"resolved", rows.size()}},
                        .thread_id = item->thread_id,
                        .actor_type = "user",
                        .actor_id = r.reviewer});
  return out;
}

Json state_stats(soci::session& sql, const Principal& who, const StateSettings& settings) {
  std::string where = "1 = 1";
  Binds b;
  scope_clause(who, where, b);
  auto grouped = [&](const std::string& column, const std::string& extra) {
    Json out = Json::object();
    Binds bb = b;
    Json rows =
        jarvis::sql::all_rows(sql,
                              "SELECT " + column +
                                  " AS k, COUNT(*) AS n FROM "
                                  "memory_state_items WHERE " +
                                  where + extra + " GROUP BY " + column + " ORDER BY " + column,
                              bb);
    for (const auto& r : rows) out[state_store::row_text(r, "k")] = state_store::row_int(r, "n");
    return out;
  };
  auto count = [&](const std::string& extra) {
    return jarvis::sql::scalar_int(
        sql, "SELECT COUNT(*) FROM memory_state_items WHERE " + where + extra, b);
  };
  std::string qwhere = "status = 'open'";
  Binds qb;
  if (!who.is_admin()) {
    qwhere += " AND owner_id = :who";
    qb.emplace_back(who.user_id);
  }
  std::string rwhere = "1 = 1";
  Binds rb;
  if (!who.is_admin()) {
    rwhere += " AND owner_id = :who";
    rb.emplace_back(who.user_id);
  }
  return Json{
      {"items_total", count("")},
      {"valid", count(" AND valid_to IS NULL")},
      {"superseded", count(" AND valid_to IS NOT NULL")},
      {"by_type", grouped("type_tag", " AND valid_to IS NULL")},
      {"by_status", grouped("status", "")},
      {"by_tier", grouped("tier", " AND valid_to IS NULL")},
      {"conflicted_items", count(" AND conflict = 1")},
      {"open_conflicts", jarvis::sql::scalar_int(
                             sql, "SELECT COUNT(*) FROM memory_review_queue WHERE " + qwhere, qb)},
      {"failures_open", count(" AND type_tag = 'failure' AND status = 'open'")},
      {"unsupported_claims", count(" AND type_tag = 'failure' AND unsupported = 1")},
      {"relations", jarvis::sql::scalar_int(
                        sql, "SELECT COUNT(*) FROM memory_state_relations WHERE " + rwhere, rb)},
      {"toggles",
       {{"extraction", settings.extraction_enabled},
        {"review_queue", settings.review_queue_enabled},
        {"failure_bridge", settings.failure_bridge_enabled},
        {"graph", settings.graph_enabled},
        {"writes", settings.writes_enabled}}}};
}

Json search_failures(soci::session& sql, const Principal& who, const FailureSearch& f) {
  std::string where = "type_tag = 'failure'";
  Binds b;
  scope_clause(who, where, b);
  if (!f.status.empty()) {
    where += " AND status = :s";
    b.emplace_back(f.status);
  }
  if (!f.phase.empty()) {
    where += " AND topic_tags LIKE :ph ESCAPE '!'";
    b.emplace_back(like_pattern("\"phase:" + f.phase + "\""));
  }
  if (!f.trace_id.empty()) {
    where += " AND refs LIKE :tr ESCAPE '!'";
    b.emplace_back(like_pattern("\"trace_id\":\"" + f.trace_id + "\""));
  }
  const PageRequest page{f.limit, f.offset};
  if (!f.similar_to.empty()) {
    std::set<std::string> tokens = text_clause(f.similar_to, where, b);
    if (tokens.empty()) return jarvis::list_page(Json::array(), 0, page);
    b.emplace_back(kRankPool);
    Json rows = jarvis::sql::all_rows(sql,
                                      std::string("SELECT ") + kQueryItemColumns +
                                          " FROM memory_state_items WHERE " + where +
                                          " ORDER BY last_seen_at DESC, uid LIMIT :l",
                                      b);
    return ranked_page(rows, tokens, page);
  }
  return items_page(sql, where, std::move(b), "last_seen_at DESC, uid", page);
}

Json state_graph(soci::session& sql, const Principal& who, const std::string& uid, int depth) {
  auto root = visible_item(sql, who, uid);
  if (!root) throw jarvis::Error(404, "state_item_not_found", "no state item " + uid);
  const std::string owner = (*root)["owner_id"].get<std::string>();
  depth = std::clamp(depth, 1, 5);
  std::map<std::string, Json> nodes;
  nodes[uid] = Json{{"uid", uid}, {"depth", 0}, {"item", *root}};
  Json edges = Json::array();
  std::set<std::string> seen_edges;
  std::vector<std::string> frontier{uid};
  bool truncated = false;
  for (int d = 1; d <= depth && !frontier.empty() && !truncated; ++d) {
    std::vector<std::string> next;
    for (const auto& u : frontier) {
      Json rows = jarvis::sql::all_rows(
          sql,
          "SELECT id, source_uid, target_uid, relation_type, evidence, created_at FROM "
          "memory_state_relations WHERE owner_id = :o AND (source_uid = :u OR target_uid = :u2) "
          "ORDER BY created_at, id LIMIT :l",
          {owner, u, u, Bind(static_cast<long long>(kMaxGraphEdges + 1))});
      for (const auto& r : rows) {
        const std::string id = state_store::row_text(r, "id");
        if (!seen_edges.insert(id).second) continue;
        if (edges.size() >= kMaxGraphEdges) {
          truncated = true;
          break;
        }
        const std::string s = state_store::row_text(r, "source_uid");
        const std::string t = state_store::row_text(r, "target_uid");
        edges.push_back({{"source_uid", s},
                         {"target_uid", t},
                         {"relation_type", state_store::row_text(r, "relation_type")},
                         {"depth", d},
                         {"evidence", state_store::json_column(r, "evidence", Json::object())},
                         {"created_at", state_store::row_text(r, "created_at")}});
        for (const std::string& n : {s, t}) {
          if (nodes.count(n)) continue;
          if (nodes.size() >= kMaxGraphNodes) {
            truncated = true;
            continue;
          }
          auto it = visible_item(sql, who, n);
          Json node{{"uid", n}, {"depth", d}};
          if (it) {
            node["item"] = *it;
          } else {
            node["alias"] = true;  // a merged candidate's uid: no item of its own
          }
          nodes[n] = std::move(node);
          next.push_back(n);
        }
      }
    }
    frontier = std::move(next);
  }
  Json list = Json::array();
  for (auto& [k, v] : nodes) list.push_back(std::move(v));
  std::stable_sort(list.begin(), list.end(),
                   [](const Json& a, const Json& b) { return a["depth"] < b["depth"]; });
  return Json{{"root_uid", uid},
              {"depth", depth},
              {"nodes", std::move(list)},
              {"edges", std::move(edges)},
              {"truncated", truncated}};
}

}  // namespace jarvis::memory::state

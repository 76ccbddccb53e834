// memory/state/state_store.cpp — SQL of the structured-state tables (migration 002).
#include "state/state_store.h"

#include <cstdio>

#include "jarvis/database.h"
#include "jarvis/sql.h"
#include "state/state_types.h"

namespace jarvis::memory::state {

namespace {

using jarvis::sql::Bind;
using jarvis::sql::Binds;
using state_store::json_column;
using state_store::row_int;
using state_store::row_text;

Bind text_or_null(const std::string& s) { return s.empty() ? Bind::null() : Bind(s); }

Json null_if_empty(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }

const char* kItemColumns =
    "uid, type_tag, owner_id, thread_id, agent_id, text, norm_text, status, confidence, tier, "
    "topic_tags, refs, source, conflict, merge_count, superseded_by, valid_from, valid_to, "
    "signature, occurrences, trace_id, unsupported, created_at, updated_at, last_seen_at";

std::vector<StateItem> items_of(const Json& rows) {
  std::vector<StateItem> out;
  for (const auto& r : rows) out.push_back(StateItem::from_row(r));
  return out;
}

}  // namespace

StateItem StateItem::from_row(const Json& row) {
  StateItem it;
  it.uid = row_text(row, "uid");
  it.type = row_text(row, "type_tag");
  it.owner_id = row_text(row, "owner_id");
  it.thread_id = row_text(row, "thread_id");
  it.agent_id = row_text(row, "agent_id");
  it.text = row_text(row, "text");
  it.status = row_text(row, "status");
  it.confidence = row_text(row, "confidence");
  it.tier = row_text(row, "tier");
  it.topic_tags = json_column(row, "topic_tags", Json::array());
  it.refs = json_column(row, "refs", Json::array());
  it.source = row_text(row, "source");
  it.conflict = row_int(row, "conflict") != 0;
  it.merge_count = row_int(row, "merge_count");
  it.superseded_by = row_text(row, "superseded_by");
  it.valid_from = row_text(row, "valid_from");
  it.valid_to = row_text(row, "valid_to");
  it.signature = row_text(row, "signature");
  it.occurrences = row_int(row, "occurrences");
  it.trace_id = row_text(row, "trace_id");
  it.unsupported = row_int(row, "unsupported") != 0;
  it.created_at = row_text(row, "created_at");
  it.updated_at = row_text(row, "updated_at");
  it.last_seen_at = row_text(row, "last_seen_at");
  return it;
}

Json StateItem::to_json() const {
  return Json{{"uid", uid},
              {"type", type},
              {"owner_id", owner_id},
              {"thread_id", null_if_empty(thread_id)},
              {"agent_id", null_if_empty(agent_id)},
              {"text", text},
              {"status", status},
              {"confidence", confidence},
              {"tier", tier},
              {"topic_tags", topic_tags},
              {"refs", refs},
              {"source", source},
              {"conflict", conflict},
              {"merge_count", merge_count},
              {"superseded_by", null_if_empty(superseded_by)},
              {"valid_from", valid_from},
              {"valid_to", null_if_empty(valid_to)},
              {"signature", null_if_empty(signature)},
              {"occurrences", occurrences},
              {"trace_id", null_if_empty(trace_id)},
              {"unsupported", unsupported},
              {"created_at", created_at},
              {"updated_at", updated_at},
              {"last_seen_at", last_seen_at}};
}

Json RunCounts::to_json() const {
  return Json{{"messages", messages}, {"candidates", candidates},  {"inserted", inserted},
              {"merged", merged},     {"superseded", superseded},  {"conflicted", conflicted},
              {"dropped", dropped},   {"unsupported", unsupported}};
}

namespace state_store {

std::string row_text(const Json& row, const char* key) {
  auto it = row.find(key);
  if (it == row.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

long long row_int(const Json& row, const char* key) {
  auto it = row.find(key);
  if (it == row.end() || it->is_null()) return 0;
  if (it->is_number_integer()) return it->get<long long>();
  if (it->is_number()) return static_cast<long long>(it->get<double>());
  if (it->is_string()) {
    try {
      return std::stoll(it->get<std::string>());
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

Json json_column(const Json& row, const char* key, Json fallback) {
  std::string text = row_text(row, key);
  if (text.empty()) return fallback;
  auto v = jarvis::try_parse_json(text);
  return v ? *v : fallback;
}

std::optional<StateItem> get_item(soci::session& sql, const std::string& uid) {
  Json row = jarvis::sql::one_row(
      sql, std::string("SELECT ") + kItemColumns + " FROM memory_state_items WHERE uid = :u",
      {uid});
  if (row.is_null()) return std::nullopt;
  return StateItem::from_row(row);
}

std::optional<StateItem> item_by_signature(soci::session& sql, const std::string& signature) {
  Json row = jarvis::sql::one_row(
      sql, std::string("SELECT ") + kItemColumns + " FROM memory_state_items WHERE signature = :s",
      {signature});
  if (row.is_null()) return std::nullopt;
  return StateItem::from_row(row);
}

std::vector<StateItem> active_items(soci::session& sql, const std::string& owner_id,
                                    const std::string& thread_id, const std::string& type,
                                    long long limit) {
  return items_of(jarvis::sql::all_rows(
      sql,
      std::string("SELECT ") + kItemColumns +
          " FROM memory_state_items WHERE owner_id = :o AND thread_id = :t AND type_tag = :y "
          "AND valid_to IS NULL ORDER BY created_at DESC, uid LIMIT :l",
      {owner_id, thread_id, type, Bind(limit)}));
}

std::vector<StateItem> active_items_any(soci::session& sql, const std::string& owner_id,
                                        const std::string& thread_id, long long limit) {
  return items_of(jarvis::sql::all_rows(
      sql,
      std::string("SELECT ") + kItemColumns +
          " FROM memory_state_items WHERE owner_id = :o AND thread_id = :t AND type_tag <> "
          "'failure' AND valid_to IS NULL ORDER BY created_at DESC, uid LIMIT :l",
      {owner_id, thread_id, Bind(limit)}));
}

void insert_item(soci::session& sql, StateItem it) {
  const std::string now = jarvis::now_iso();
  if (it.created_at.empty()) it.created_at = now;
  if (it.updated_at.empty()) it.updated_at = now;
  if (it.last_seen_at.empty()) it.last_seen_at = now;
  if (it.valid_from.empty()) it.valid_from = now;
  jarvis::sql::exec(
      sql,
      std::string("INSERT INTO memory_state_items(") + kItemColumns +
          ") VALUES(:uid, :ty, :o, :t, :a, :x, :n, :s, :c, :tier, :tags, :refs, :src, :cf, :mc, "
          ":sb, :vf, :vt, :sig, :occ, :tr, :un, :ca, :ua, :ls)",
      {it.uid,
       it.type,
       it.owner_id,
       it.thread_id,
       it.agent_id,
       it.text,
       normalize_text(it.text),
       it.status,
       it.confidence,
       it.tier,
       it.topic_tags.dump(),
       it.refs.dump(),
       it.source,
       Bind(it.conflict),
       Bind(it.merge_count),
       text_or_null(it.superseded_by),
       it.valid_from,
       text_or_null(it.valid_to),
       text_or_null(it.signature),
       Bind(it.occurrences),
       text_or_null(it.trace_id),
       Bind(it.unsupported),
       it.created_at,
       it.updated_at,
       it.last_seen_at});
}

void update_item(soci::session& sql, const StateItem& it) {
  jarvis::sql::exec(
      sql,
      "UPDATE memory_state_items SET text = :x, norm_text = :n, status = :s, confidence = :c, "
      "tier = :tier, topic_tags = :tags, refs = :refs, conflict = :cf, merge_count = :mc, "
      "superseded_by = :sb, valid_to = :vt, occurrences = :occ, trace_id = :tr, "
      "unsupported = :un, last_seen_at = :ls, updated_at = :ua WHERE uid = :uid",
      {it.text, normalize_text(it.text), it.status, it.confidence, it.tier, it.topic_tags.dump(),
       it.refs.dump(), Bind(it.conflict), Bind(it.merge_count), text_or_null(it.superseded_by),
       text_or_null(it.valid_to), Bind(it.occurrences), text_or_null(it.trace_id),
       Bind(it.unsupported), it.last_seen_at.empty() ? jarvis::now_iso() : it.last_seen_at,
       jarvis::now_iso(), it.uid});
}

bool add_relation(soci::session& sql, const StateRelation& rel) {
  return jarvis::sql::exec(
             sql,
             "INSERT INTO memory_state_relations(id, source_uid, target_uid, relation_type, "
             "owner_id, thread_id, evidence, created_at) VALUES(:i, :s, :t, :r, :o, :th, :e, :c) "
             "ON CONFLICT (source_uid, target_uid, relation_type) DO NOTHING",
             {jarvis::new_id("rel"), rel.source_uid, rel.target_uid, rel.relation_type,
              rel.owner_id, rel.thread_id, rel.evidence.dump(), jarvis::now_iso()}) > 0;
}

std::string merged_alias_target(soci::session& sql, const std::string& alias) {
  Json row = jarvis::sql::one_row(sql,
                                  "SELECT target_uid FROM memory_state_relations WHERE "
                                  "source_uid = :s AND relation_type = 'merged_into'",
                                  {alias});
  return row.is_null() ? "" : row_text(row, "target_uid");
}

bool review_pair_known(soci::session& sql, const std::string& a, const std::string& b) {
  return jarvis::sql::scalar_int(sql,
                                 "SELECT COUNT(*) FROM memory_review_queue WHERE (uid = :a AND "
                                 "other_uid = :b) OR (uid = :b2 AND other_uid = :a2)",
                                 {a, b, b, a}) > 0;
}

bool add_review(soci::session& sql, const ReviewRow& row) {
  if (review_pair_known(sql, row.uid, row.other_uid)) return false;
  char score[32];
  std::snprintf(score, sizeof score, "%.4f", row.score);
  return jarvis::sql::exec(
             sql,
             "INSERT INTO memory_review_queue(id, uid, other_uid, owner_id, thread_id, agent_id, "
             "reason, score, status, created_at) VALUES(:i, :u, :o, :ow, :t, :a, :r, :sc, 'open', "
             ":c) ON CONFLICT (uid, other_uid) DO NOTHING",
             {jarvis::new_id("mrq"), row.uid, row.other_uid, row.owner_id, row.thread_id,
              row.agent_id, row.reason, std::string(score), jarvis::now_iso()}) > 0;
}

Json open_reviews_for(soci::session& sql, const std::string& uid) {
  return jarvis::sql::all_rows(
      sql,
      "SELECT id, uid, other_uid, owner_id, thread_id, agent_id, reason, score, status, "
      "created_at FROM memory_review_queue WHERE status = 'open' AND (uid = :u OR other_uid = "
      ":u2) ORDER BY created_at, id",
      {uid, uid});
}

long long open_review_count(soci::session& sql, const std::string& uid) {
  return jarvis::sql::scalar_int(sql,
                                 "SELECT COUNT(*) FROM memory_review_queue WHERE status = 'open' "
                                 "AND (uid = :u OR other_uid = :u2)",
                                 {uid, uid});
}

std::string insert_run(soci::session& sql, const std::string& owner_id,
                       const std::string& thread_id, const std::string& method,
                       const std::string& note, const RunCounts& c) {
  std::string id = jarvis::new_id("msr");
  jarvis::sql::exec(
      sql,
      "INSERT INTO memory_state_runs(id, owner_id, thread_id, method, note, messages, "
      "candidates, inserted, merged, superseded, conflicted, dropped, unsupported, created_at) "
      "VALUES(:i, :o, :t, :m, :n, :ms, :ca, :in, :me, :su, :co, :dr, :un, :c)",
      {id, owner_id, thread_id, method, note, Bind(c.messages), Bind(c.candidates),
       Bind(c.inserted), Bind(c.merged), Bind(c.superseded), Bind(c.conflicted), Bind(c.dropped),
       Bind(c.unsupported), jarvis::now_iso()});
  return id;
}

void add_pending(soci::session& sql, const PendingMessage& m) {
  jarvis::sql::exec(sql,
                    "INSERT INTO memory_state_pending(message_id, owner_id, thread_id, agent_id, "
                    "role, text, message_at, created_at) VALUES(:i, :o, :t, :a, :r, :x, :m, :c) "
                    "ON CONFLICT (message_id) DO NOTHING",
                    {m.message_id, m.owner_id, m.thread_id, m.agent_id, m.role, m.text,
                     m.message_at.empty() ? jarvis::now_iso() : m.message_at, jarvis::now_iso()});
}

std::vector<PendingMessage> pending_for_thread(soci::session& sql, const std::string& thread_id,
                                               long long limit) {
  Json rows = jarvis::sql::all_rows(
      sql,
      "SELECT message_id, owner_id, thread_id, agent_id, role, text, message_at FROM "
      "memory_state_pending WHERE thread_id = :t ORDER BY message_at, message_id LIMIT :l",
      {thread_id, Bind(limit)});
  std::vector<PendingMessage> out;
  for (const auto& r : rows) {
    out.push_back({row_text(r, "message_id"), row_text(r, "owner_id"), row_text(r, "thread_id"),
                   row_text(r, "agent_id"), row_text(r, "role"), row_text(r, "text"),
                   row_text(r, "message_at")});
  }
  return out;
}

long long take_pending(soci::session& sql, const std::vector<PendingMessage>& messages) {
  long long n = 0;
  for (const auto& m : messages) {
    n += jarvis::sql::exec(sql, "DELETE FROM memory_state_pending WHERE message_id = :i",
                           {m.message_id});
  }
  return n;
}

}  // namespace state_store
}  // namespace jarvis::memory::state

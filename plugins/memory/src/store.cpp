// memory/src/store.cpp — SQL of the memory core (portable except the full-text query).
#include "store.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "jarvis/crypto.h"
#include "jarvis/error.h"
#include "text_features.h"

namespace jarvis::memory {
namespace {

using sql::Bind;
using sql::Binds;

/// Every column routes and exports show (alias m).
constexpr const char* kColumns =
    "m.seq AS seq, m.id AS id, m.owner_id AS owner_id, m.thread_id AS thread_id, "
    "m.agent_id AS agent_id, m.kind AS kind, m.text AS text, "
    "m.source_event_id AS source_event_id, m.source_message_id AS source_message_id, "
    "m.evidence_refs AS evidence_refs, m.created_at AS created_at, "
    "m.updated_at AS updated_at, m.valid_from AS valid_from, m.valid_to AS valid_to, "
    "m.tier AS tier, m.importance AS importance, m.access_count AS access_count, "
    "m.last_accessed_at AS last_accessed_at, m.feedback AS feedback, "
    "m.superseded_by AS superseded_by, m.token_estimate AS token_estimate, "
    "m.archived_at AS archived_at, m.deleted_at AS deleted_at";

Bind opt(const std::string& s) { return s.empty() ? Bind::null() : Bind(s); }

std::string real_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

/// An item row as JSON; integer and real columns read whatever type the driver reports.
Json item_row(const soci::row& r) {
  Json j = Json::object();
  for (std::size_t i = 0; i < r.size(); ++i) {
    std::string name = r.get_properties(i).get_name();
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (auto dot = name.rfind('.'); dot != std::string::npos) name = name.substr(dot + 1);
    if (name == "seq" || name == "access_count" || name == "feedback" || name == "token_estimate") {
      j[name] = sql::column_int(r, i);
    } else if (name == "importance") {
      Json v = sql::column(r, i);
      j[name] = v.is_number()   ? v.get<double>()
                : v.is_string() ? std::stod(v.get<std::string>())
                                : 0.0;
    } else {
      j[name] = sql::column(r, i);
    }
  }
  return j;
}

/// Row JSON with evidence_refs parsed back to an array.
/// Appends " IN (:s0, …)" for `seqs` to `q`, padded to the next power of two (at least 8) by
/// repeating the last seq: a handful of distinct SQL texts instead of one per length, so the
/// statement cache (decision 0087) keeps them compiled; duplicates in an IN list change nothing.
void append_seq_list(std::string& q, Binds& b, const std::vector<long long>& seqs) {
  std::size_t n = 8;
  while (n < seqs.size()) n *= 2;
  q += " IN (";
  for (std::size_t i = 0; i < n; ++i) {
    q += i ? ", :s" : ":s";
    q += std::to_string(i);
    b.push_back(Bind(seqs[std::min(i, seqs.size() - 1)]));
  }
  q += ")";
}

Json item_json(Json row) {
  if (row.is_null()) return row;
  auto refs = try_parse_json(row.value("evidence_refs", std::string("[]")));
  row["evidence_refs"] = refs && refs->is_array() ? *refs : Json::array();
  if (row["importance"].is_string())
    row["importance"] = std::stod(row["importance"].get<std::string>());
  return row;
}

}  // namespace

void MemoryStore::append_filter(std::string& q, Binds& b, const ItemFilter& f, bool by_seq) {
  auto col = [by_seq](const char* c) {
    return by_seq ? "(" + std::string(c) + " || '')" : std::string(c);
  };
  q += " AND m.deleted_at IS NULL";
  if (!f.include_archived) q += " AND m.archived_at IS NULL";
  if (!f.owner_id.empty()) {
    q += " AND " + col("m.owner_id") + " = :o";
    b.push_back(f.owner_id);
  }
  if (!f.thread_id.empty()) {
    q += " AND " + col("m.thread_id") + " = :th";
    b.push_back(f.thread_id);
  }
  if (!f.agent_id.empty()) {
    q += " AND " + col("m.agent_id") + " = :ag";
    b.push_back(f.agent_id);
  }
  if (!f.tier.empty()) {
    q += " AND " + col("m.tier") + " = :ti";
    b.push_back(f.tier);
  }
  if (!f.from_ts.empty()) {
    q += " AND " + col("m.created_at") + " >= :f";
    b.push_back(f.from_ts);
  }
  if (!f.to_ts.empty()) {
    q += " AND " + col("m.created_at") + " <= :to";
    b.push_back(f.to_ts);
  }
  if (f.all_versions) return;
  const std::string at = f.as_of.empty() ? now_iso() : f.as_of;
  q += " AND m.valid_from <= :vf AND (m.valid_to IS NULL OR m.valid_to > :vt)";
  b.push_back(at);
  b.push_back(at);
}

std::string MemoryStore::content_hash(const NewItem& item) {
  std::string norm;
  bool space = false;
  for (char c : item.text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = !norm.empty();
      continue;
    }
    if (space) norm.push_back(' ');
    space = false;
    norm.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return sha256_hex(item.owner_id + "\x1f" + item.thread_id + "\x1f" + norm);
}

ItemRef MemoryStore::insert(soci::session& s, const NewItem& item) {
  const std::string hash = content_hash(item);
  if (!item.source_event_id.empty()) {
    Json row = sql::one_row(s, "SELECT id, seq FROM memory_items WHERE source_event_id = :e",
                            {item.source_event_id});
    if (!row.is_null())
      return {row["id"],
              sql::scalar_int(s, "SELECT seq FROM memory_items WHERE id = :i",
                              {row["id"].get<std::string>()}),
              true};
  }
  Json dup = sql::one_row(s,
                          "SELECT id, seq FROM memory_items WHERE content_hash = :h AND "
                          "owner_id = :o AND deleted_at IS NULL",
                          {hash, item.owner_id});
  if (!dup.is_null()) {
    return {dup["id"],
            sql::scalar_int(s, "SELECT seq FROM memory_items WHERE id = :i",
                            {dup["id"].get<std::string>()}),
            true};
  }
  const std::string id = new_id("mem");
  const std::string at = now_iso();
  sql::exec(s,
            "INSERT INTO memory_items(id, owner_id, thread_id, agent_id, kind, text, "
            "source_event_id, source_message_id, evidence_refs, content_hash, created_at, "
            "updated_at, valid_from, tier, importance, token_estimate) VALUES(:id, :o, :t, :a, :k, "
            ":x, :e, :m, :r, :h, :c, :u, :vf, :ti, :im, :te)",
            {id, item.owner_id, opt(item.thread_id), opt(item.agent_id), item.kind, item.text,
             opt(item.source_event_id), opt(item.source_message_id), item.evidence_refs.dump(),
             hash, at, at, item.valid_from.empty() ? at : item.valid_from, item.tier,
             real_text(item.importance), Bind(static_cast<long long>(estimate_tokens(item.text)))});
  long long seq = sql::scalar_int(s, "SELECT seq FROM memory_items WHERE id = :i", {id});
  return {id, seq, false};
}

Json MemoryStore::get(soci::session& s, const std::string& id, bool include_deleted) {
  std::string q = std::string("SELECT ") + kColumns + " FROM memory_items m WHERE m.id = :i";
  if (!include_deleted) q += " AND m.deleted_at IS NULL";
  Binds b{id};
  Json out;
  sql::for_each_row(s, q, b, [&](const soci::row& r) { out = item_json(item_row(r)); });
  return out;
}

bool MemoryStore::tombstone(soci::session& s, const std::string& id) {
  const std::string at = now_iso();
  return sql::exec(s,
                   "UPDATE memory_items SET deleted_at = :d, updated_at = :u WHERE id = :i AND "
                   "deleted_at IS NULL",
                   {at, at, id}) > 0;
}

long long MemoryStore::count_at_most(soci::session& s, const ItemFilter& f, long long cap) {
  std::string q = "SELECT COUNT(*) FROM (SELECT 1 FROM memory_items m WHERE 1 = 1";
  Binds b;
  append_filter(q, b, f);
  q += " LIMIT :c) x";
  b.push_back(Bind(cap));
  long long n = 0;
  sql::for_each_row(s, q, b, [&](const soci::row& r) { n = sql::column_int(r, 0); });
  return n;
}

std::vector<Candidate> MemoryStore::recency_candidates(soci::session& s, const ItemFilter& f,
                                                       int limit) {
  std::string q = "SELECT m.seq, m.created_at FROM memory_items m WHERE 1 = 1";
  Binds b;
  append_filter(q, b, f);
  q += " ORDER BY m.created_at DESC, m.seq DESC LIMIT :n";
  b.push_back(Bind(limit));
  std::vector<Candidate> out;
  sql::for_each_row(s, q, b, [&](const soci::row& r) {
    Json at = sql::column(r, 1);
    out.push_back({sql::column_int(r, 0), 0, at.is_string() ? at.get<std::string>() : ""});
  });
  return out;
}

std::vector<Json> MemoryStore::rows_by_seq(soci::session& s, const std::vector<long long>& seqs,
                                           const ItemFilter& f) {
  std::vector<Json> out;
  if (seqs.empty()) return out;
  std::string q = std::string("SELECT ") + kColumns + " FROM memory_items m WHERE m.seq";
  Binds b;
  append_seq_list(q, b, seqs);
  append_filter(q, b, f, true);
  std::map<long long, Json> by_seq;
  sql::for_each_row(s, q, b, [&](const soci::row& r) {
    Json j = item_json(item_row(r));
    const long long seq = sql::column_int(r, 0);  // kColumns starts with the seq
    j["seq"] = seq;
    by_seq[seq] = std::move(j);
  });
  for (long long seq : seqs) {
    auto it = by_seq.find(seq);
    if (it != by_seq.end()) out.push_back(std::move(it->second));
  }
  return out;
}

std::vector<std::pair<long long, std::string>> MemoryStore::visible_times(
    soci::session& s, const std::vector<long long>& seqs, const ItemFilter& f) {
  std::vector<std::pair<long long, std::string>> out;
  if (seqs.empty()) return out;
  std::string q = "SELECT m.seq, m.created_at FROM memory_items m WHERE m.seq";
  Binds b;
  append_seq_list(q, b, seqs);
  append_filter(q, b, f, true);
  std::map<long long, std::string> by_seq;
  sql::for_each_row(s, q, b, [&](const soci::row& r) {
    Json at = sql::column(r, 1);
    by_seq[sql::column_int(r, 0)] = at.is_string() ? at.get<std::string>() : std::string();
  });
  for (long long seq : seqs) {
    auto it = by_seq.find(seq);
    if (it != by_seq.end()) out.emplace_back(seq, std::move(it->second));
  }
  return out;
}

long long MemoryStore::count(soci::session& s, const ItemFilter& f) {
  std::string q = "SELECT COUNT(*) FROM memory_items m WHERE 1 = 1";
  Binds b;
  append_filter(q, b, f);
  long long n = 0;
  sql::for_each_row(s, q, b, [&](const soci::row& r) { n = sql::column_int(r, 0); });
  return n;
}

std::vector<std::pair<long long, std::string>> MemoryStore::vectors_of(soci::session& s,
                                                                       const ItemFilter& f,
                                                                       const std::string& model,
                                                                       int limit) {
  std::string q =
      "SELECT m.seq, v.vector FROM memory_items m JOIN memory_vectors v ON v.item_seq = m.seq "
      "WHERE v.model = :mo";
  Binds b{model};
  append_filter(q, b, f);
  q += " LIMIT :n";
  b.push_back(Bind(limit));
  std::vector<std::pair<long long, std::string>> out;
  sql::for_each_row(s, q, b, [&](const soci::row& r) {
    out.emplace_back(sql::column_int(r, 0), r.get<std::string>(1));
  });
  return out;
}

std::vector<std::pair<long long, std::string>> MemoryStore::pending_embeddings(
    soci::session& s, const std::string& model, int limit) {
  Binds b{model, Bind(limit)};
  std::vector<std::pair<long long, std::string>> out;
  sql::for_each_row(s,
                    "SELECT m.seq, m.text FROM memory_items m LEFT JOIN memory_vectors v ON "
                    "v.item_seq = m.seq AND v.model = :mo WHERE v.item_seq IS NULL AND "
                    "m.deleted_at IS NULL ORDER BY m.seq LIMIT :n",
                    b, [&](const soci::row& r) {
                      out.emplace_back(sql::column_int(r, 0), r.get<std::string>(1));
                    });
  return out;
}

void MemoryStore::put_vector(soci::session& s, long long seq, const std::string& model, int dims,
                             const std::string& encoded) {
  const std::string at = now_iso();
  sql::exec(s,
            "INSERT INTO memory_vectors(item_seq, model, dims, vector, updated_at) VALUES(:s, :m, "
            ":d, :v, :u) ON CONFLICT(item_seq) DO UPDATE SET model = excluded.model, dims = "
            "excluded.dims, vector = excluded.vector, updated_at = excluded.updated_at",
            {Bind(seq), model, Bind(dims), encoded, at});
}

std::vector<MemoryStore::VectorRow> MemoryStore::vectors_since(soci::session& s,
                                                               const std::string& model,
                                                               const std::string& since,
                                                               long long after_seq, int limit) {
  Binds b{model, since, since, Bind(after_seq), Bind(limit)};
  std::vector<VectorRow> out;
  sql::for_each_row(
      s,
      "SELECT item_seq, updated_at, vector FROM memory_vectors WHERE model = :m AND "
      "(updated_at > :s1 OR (updated_at = :s2 AND item_seq > :a)) ORDER BY "
      "updated_at, item_seq LIMIT :n",
      b, [&](const soci::row& r) {
        out.push_back({sql::column_int(r, 0), r.get<std::string>(1), r.get<std::string>(2)});
      });
  return out;
}

void MemoryStore::record_access(soci::session& s, const std::vector<long long>& seqs) {
  if (seqs.empty()) return;
  const std::string at = now_iso();
  std::string q =
      "UPDATE memory_items SET access_count = access_count + 1, last_accessed_at = :a WHERE seq "
      "IN (";
  Binds b{at};
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    q += i ? ", :s" : ":s";
    q += std::to_string(i);
    b.push_back(Bind(seqs[i]));
  }
  sql::exec(s, q + ")", b);
}

std::vector<long long> MemoryStore::purge(soci::session& s, const std::string& before, int limit) {
  std::vector<long long> seqs;
  Binds b{before, Bind(limit)};
  sql::for_each_row(s,
                    "SELECT seq FROM memory_items WHERE deleted_at IS NOT NULL AND deleted_at <= "
                    ":b ORDER BY seq LIMIT :n",
                    b, [&](const soci::row& r) { seqs.push_back(sql::column_int(r, 0)); });
  for (long long seq : seqs) {
    sql::exec(s, "DELETE FROM memory_vectors WHERE item_seq = :s", {Bind(seq)});
    sql::exec(s, "DELETE FROM memory_items WHERE seq = :s", {Bind(seq)});
  }
  return seqs;
}

Json MemoryStore::stats(soci::session& s, const ItemFilter& f, const std::string& model) {
  ItemFilter all = f;
  all.include_archived = true;
  all.all_versions = true;
  std::string owner_q = f.owner_id.empty() ? "" : " AND m.owner_id = :o";
  Binds ob;
  if (!f.owner_id.empty()) ob.push_back(f.owner_id);
  const long long total = count(s, all);
  std::string eq =
      "SELECT COUNT(*) FROM memory_items m JOIN memory_vectors v ON v.item_seq = m.seq WHERE "
      "v.model = :mo";
  Binds eb{model};
  append_filter(eq, eb, all);
  const long long embedded = sql::scalar_int(s, eq, eb);
  Json tiers = Json::object();
  std::string tq = "SELECT m.tier, COUNT(*) AS n FROM memory_items m WHERE 1 = 1";
  Binds tb;
  append_filter(tq, tb, all);
  tq += " GROUP BY m.tier";
  sql::for_each_row(
      s, tq, tb, [&](const soci::row& r) { tiers[r.get<std::string>(0)] = sql::column_int(r, 1); });
  const long long archived = sql::scalar_int(s,
                                             "SELECT COUNT(*) FROM memory_items m WHERE "
                                             "m.archived_at IS NOT NULL AND m.deleted_at IS NULL" +
                                                 owner_q,
                                             ob);
  const long long deleted = sql::scalar_int(
      s, "SELECT COUNT(*) FROM memory_items m WHERE m.deleted_at IS NOT NULL" + owner_q, ob);
  Json out = {{"total_items", total},
              {"embedded_items", embedded},
              {"archived_items", archived},
              {"deleted_pending_purge", deleted},
              {"tiers", tiers},
              {"embedding_model", model}};
  // No items: the coverage is undefined, not 0 % or 100 %.
  out["embedding_coverage_pct"] =
      total > 0 ? Json(100.0 * static_cast<double>(embedded) / static_cast<double>(total)) : Json();
  return out;
}

Json MemoryStore::export_items(soci::session& s, const ItemFilter& f, long long after_seq,
                               int limit) {
  ItemFilter all = f;
  all.include_archived = true;
  all.all_versions = true;
  std::string q = std::string("SELECT ") + kColumns + " FROM memory_items m WHERE m.seq > :a";
  Binds b{Bind(after_seq)};
  append_filter(q, b, all);
  q += " ORDER BY m.seq LIMIT :n";
  b.push_back(Bind(limit));
  Json out = Json::array();
  sql::for_each_row(s, q, b, [&](const soci::row& r) { out.push_back(item_json(item_row(r))); });
  return out;
}

}  // namespace jarvis::memory

// selfupdate/src/store.cpp — PatchStore (see store.h).
#include "store.h"

#include <set>
#include <stdexcept>

#include "jarvis/sql.h"

namespace selfupdate {
namespace store_impl {

const char* kColumns =
    "trace_id, state, detail, reason_code, rationale, proposed_by, source, baseline, "
    "diff_sha256, diff_bytes, files, stage, step, runner, interrupted_stage, approved_by, "
    "approved_at, approval_expires_at, commit_sha, release_name, previous_release, lease_until, "
    "created_at, updated_at";

jarvis::Json shape(jarvis::Json row) {
  if (row.is_null()) return row;
  for (auto it = row.begin(); it != row.end(); ++it) {
    if (it.value().is_null()) it.value() = "";  // unset optional columns read as ""
  }
  if (row.contains("files") && row["files"].is_string()) {
    auto parsed = jarvis::try_parse_json(row["files"].get<std::string>());
    row["files"] = parsed && parsed->is_array() ? *parsed : jarvis::Json::array();
  }
  return row;
}

}  // namespace store_impl

using namespace store_impl;

void PatchStore::insert(soci::session& sql, const jarvis::Json& r, const std::string& actor,
                        const std::string& at) {
  const std::string id = r.at("trace_id");
  jarvis::sql::exec(
      sql,
      "INSERT INTO selfupdate_patches (trace_id, state, detail, rationale, "
      "proposed_by, source, baseline, diff_sha256, diff_bytes, next_seq, "
      "created_at, updated_at) VALUES (:i, :s, :d, :r, :p, :src, :b, :h, :n, 1, "
      ":c, :u)",
      {id, r.at("state").get<std::string>(), r.value("detail", ""),
       r.at("rationale").get<std::string>(), r.at("proposed_by").get<std::string>(),
       r.at("source").get<std::string>(), r.at("baseline").get<std::string>(),
       r.at("diff_sha256").get<std::string>(), r.at("diff_bytes").get<long long>(), at, at});
  jarvis::sql::exec(sql,
                    "INSERT INTO selfupdate_transitions (id, trace_id, seq, from_state, to_state, "
                    "detail, actor, at) VALUES (:i, :t, 0, '', :s, :d, :a, :at)",
                    {jarvis::new_id("sut"), id, r.at("state").get<std::string>(),
                     r.value("detail", ""), actor, at});
}

jarvis::Json PatchStore::get(const std::string& trace_id) {
  auto sql = db_.session();
  return get(*sql, trace_id);
}

jarvis::Json PatchStore::get(soci::session& sql, const std::string& trace_id) {
  return shape(jarvis::sql::one_row(
      sql, std::string("SELECT ") + kColumns + " FROM selfupdate_patches WHERE trace_id = :i",
      {trace_id}));
}

jarvis::Json PatchStore::list(const std::string& state, int limit, int offset) {
  auto sql = db_.session();
  jarvis::sql::Binds b;
  std::string where;
  if (!state.empty()) {
    where = " WHERE state = :s";
    b.push_back(state);
  }
  long long total =
      jarvis::sql::scalar_int(*sql, "SELECT COUNT(*) FROM selfupdate_patches" + where, b);
  b.push_back(limit);
  b.push_back(offset);
  jarvis::Json rows =
      jarvis::sql::all_rows(*sql,
                            std::string("SELECT ") + kColumns + " FROM selfupdate_patches" + where +
                                " ORDER BY created_at DESC, trace_id DESC LIMIT :l OFFSET :o",
                            b);
  jarvis::Json items = jarvis::Json::array();
  for (auto& r : rows) items.push_back(shape(r));
  return {{"items", items},
          {"total", total},
          {"limit", limit},
          {"offset", offset},
          {"has_more", offset + static_cast<long long>(items.size()) < total}};
}

jarvis::Json PatchStore::with_states(const std::vector<std::string>& states) {
  auto sql = db_.session();
  jarvis::Json out = jarvis::Json::array();
  for (const auto& s : states) {
    for (auto& r : jarvis::sql::all_rows(*sql,
                                         std::string("SELECT ") + kColumns +
                                             " FROM selfupdate_patches WHERE state = :s "
                                             "ORDER BY created_at",
                                         {s})) {
      out.push_back(shape(r));
    }
  }
  return out;
}

jarvis::Json PatchStore::transitions(const std::string& trace_id) {
  auto sql = db_.session();
  jarvis::Json out = jarvis::Json::array();
  for (auto& r : jarvis::sql::all_rows(*sql,
                                       "SELECT seq, from_state, to_state, detail, actor, at FROM "
                                       "selfupdate_transitions WHERE trace_id = :i ORDER BY seq",
                                       {trace_id})) {
    out.push_back({{"seq", r["seq"]},
                   {"from", r["from_state"]},
                   {"to", r["to_state"]},
                   {"detail", r["detail"]},
                   {"actor", r["actor"]},
                   {"at", r["at"]}});
  }
  return out;
}

bool PatchStore::transition(soci::session& sql, const std::string& trace_id,
                            const std::string& from, const std::string& to,
                            const std::string& detail, const std::string& actor,
                            const std::string& at) {
  long long changed =
      jarvis::sql::exec(sql,
                        "UPDATE selfupdate_patches SET state = :to, detail = :d, updated_at = :u, "
                        "next_seq = next_seq + 1 WHERE trace_id = :i AND state = :from",
                        {to, detail.substr(0, 4000), at, trace_id, from});
  if (changed != 1) return false;
  long long seq = jarvis::sql::scalar_int(
      sql, "SELECT next_seq FROM selfupdate_patches WHERE trace_id = :i", {trace_id});
  jarvis::sql::exec(
      sql,
      "INSERT INTO selfupdate_transitions (id, trace_id, seq, from_state, to_state, "
      "detail, actor, at) VALUES (:i, :t, :s, :f, :to, :d, :a, :at)",
      {jarvis::new_id("sut"), trace_id, seq - 1, from, to, detail.substr(0, 4000), actor, at});
  return true;
}

void PatchStore::set_fields(soci::session& sql, const std::string& trace_id,
                            const jarvis::Json& fields) {
  static const std::set<std::string> allowed = {"stage",
                                                "step",
                                                "runner",
                                                "interrupted_stage",
                                                "reason_code",
                                                "files",
                                                "approved_by",
                                                "approved_at",
                                                "approval_expires_at",
                                                "commit_sha",
                                                "release_name",
                                                "previous_release",
                                                "lease_until"};
  if (fields.empty()) return;
  std::string q = "UPDATE selfupdate_patches SET ";
  jarvis::sql::Binds b;
  bool first = true;
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    if (!allowed.count(it.key())) throw std::invalid_argument("not a settable column: " + it.key());
    q += (first ? "" : ", ") + it.key() + " = :v" + std::to_string(b.size());
    first = false;
    if (it.value().is_null()) {
      b.push_back(jarvis::sql::Bind::null());
    } else if (it.value().is_string()) {
      b.push_back(it.value().get<std::string>());
    } else {
      b.push_back(it.value().dump());
    }
  }
  q += " WHERE trace_id = :i";
  b.push_back(trace_id);
  jarvis::sql::exec(sql, q, b);
}

bool PatchStore::renew_lease(soci::session& sql, const std::string& trace_id,
                             const std::string& runner, const std::string& until) {
  return jarvis::sql::exec(sql,
                           "UPDATE selfupdate_patches SET lease_until = :l WHERE trace_id = :i "
                           "AND runner = :r AND state IN ('validating', 'testing', 'applying', "
                           "'verifying', 'rolling_back')",
                           {until, trace_id, runner}) == 1;
}

bool PatchStore::try_lock(soci::session& sql, const std::string& trace_id, const std::string& at) {
  long long n = jarvis::sql::exec(
      sql,
      "UPDATE selfupdate_lock SET trace_id = :t, acquired_at = :a WHERE id = 1 AND "
      "(trace_id IS NULL OR trace_id = :t2)",
      {trace_id, at, trace_id});
  return n == 1;
}

void PatchStore::unlock(soci::session& sql, const std::string& trace_id) {
  jarvis::sql::exec(sql,
                    "UPDATE selfupdate_lock SET trace_id = NULL, acquired_at = NULL WHERE id = 1 "
                    "AND trace_id = :t",
                    {trace_id});
}

std::string PatchStore::lock_holder(soci::session& sql) {
  jarvis::Json r = jarvis::sql::one_row(sql, "SELECT trace_id FROM selfupdate_lock WHERE id = 1");
  return r.is_object() && r["trace_id"].is_string() ? r["trace_id"].get<std::string>() : "";
}

}  // namespace selfupdate

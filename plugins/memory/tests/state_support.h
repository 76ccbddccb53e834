// memory/tests/state_support.h — a real database (SQLite file or a fresh database on the test
// PostgreSQL) migrated with the host's and the memory plugin's migrations, for the structured-
// state tests; principals and candidate builders.
//
//   StateDb d(Backend::Sqlite);
//   auto tx = d.db->transaction();
//   Reconciled r = reconcile(tx->session(), settings, alice_scope(), {cand("decision", "…")},
//   "rules"); tx->commit();
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "db/migrations.h"
#include "db/sql_database.h"
#include "jarvis/sql.h"
#include "state/reconcile.h"
#include "state/state_engine.h"
#include "support/support.h"

namespace state_test {

using jarvis::memory::state::Candidate;
using jarvis::memory::state::Scope;
using jarvis::test::Backend;
using nlohmann::json;

/// A migrated database of one backend.
struct StateDb {
  explicit StateDb(Backend backend) {
    const std::string url = jarvis::test::fresh_database_url(backend, dir);
    db = jarvis::host::SqlDatabase::open(backend == Backend::Sqlite ? "sqlite://" + url : url, 4);
    jarvis::host::MigrationRunner(*db).apply(
        {{"host", std::string(JARVIS_SOURCE_DIR) + "/migrations"},
         {"memory", std::string(JARVIS_SOURCE_DIR) + "/plugins/memory/migrations"}});
  }
  /// COUNT(*) of `table`.
  long long count(const std::string& table, const std::string& where = "1 = 1") {
    auto sql = db->session();
    return jarvis::sql::scalar_int(*sql, "SELECT COUNT(*) FROM " + table + " WHERE " + where);
  }
  /// Rows of every structured-state table together.
  long long state_rows() {
    long long n = 0;
    for (const char* t :
         {"memory_state_items", "memory_state_relations", "memory_review_queue",
          "memory_state_runs", "memory_state_pending", "memory_consistency_reports"}) {
      n += count(t);
    }
    return n;
  }

  jarvis::test::TempDir dir;
  std::unique_ptr<jarvis::host::SqlDatabase> db;
};

inline jarvis::Principal alice() { return {"usr_alice", "alice", jarvis::Role::User, true}; }
inline jarvis::Principal bob() { return {"usr_bob", "bob", jarvis::Role::User, true}; }
inline jarvis::Principal root() { return {"usr_root", "root", jarvis::Role::Admin, true}; }

inline Scope alice_scope(const std::string& thread = "thr_a") {
  return {.owner_id = "usr_alice", .thread_id = thread, .agent_id = "agent:main"};
}
inline Scope bob_scope(const std::string& thread = "thr_b") {
  return {.owner_id = "usr_bob", .thread_id = thread, .agent_id = "agent:main"};
}

/// A candidate of `type` stated in message `msg` (by `role`) at `at`.
inline Candidate cand(const std::string& type, const std::string& text,
                      const std::string& at = "2026-11-01T10:00:00.000Z",
                      const std::string& msg = "msg_1", const std::string& role = "user") {
  Candidate c;
  c.type = type;
  c.text = text;
  c.confidence = "medium";
  c.refs = json::array({{{"message_id", msg}, {"role", role}}});
  c.evidence_at = at;
  c.user_evidence = role == "user";
  return c;
}

/// Events an engine emitted.
struct Emitted {
  std::vector<jarvis::Event> events;
  jarvis::memory::state::EventSink sink() {
    return [this](jarvis::Event e, jarvis::Transaction&) { events.push_back(std::move(e)); };
  }
  std::size_t of(const std::string& type) const {
    std::size_t n = 0;
    for (const auto& e : events) n += e.type == type;
    return n;
  }
};

inline std::string param_name(const ::testing::TestParamInfo<Backend>& info) {
  return jarvis::test::backend_name(info);
}

}  // namespace state_test

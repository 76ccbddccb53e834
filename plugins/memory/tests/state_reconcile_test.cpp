// memory/tests/state_reconcile_test.cpp — the merge / supersede / conflict matrix, the review
// queue (resolve clears it, the next merge does not re-queue), time travel, the graph written by
// supersessions, owner scoping of the reads and the queue/graph toggles — on SQLite and
// PostgreSQL (decisions 0030, 0031).
#include <gtest/gtest.h>

#include "jarvis/error.h"
#include "state/state_queries.h"
#include "state/state_store.h"
#include "state/state_types.h"
#include "state_support.h"
namespace st = jarvis::memory::state;

namespace state_test {

constexpr const char* kPg = "Use PostgreSQL for the main database";
constexpr const char* kPgAgain = "We will use PostgreSQL for the main database.";
constexpr const char* kSqlite = "Use SQLite for the main database";
constexpr const char* kSwitch = "We switched to SQLite instead of PostgreSQL for the main database";
constexpr const char* kMysql = "We moved to MySQL instead of SQLite for the main database";

class StateReconcile : public ::testing::TestWithParam<Backend> {
 protected:
  StateReconcile() : d(GetParam()) {}

  st::Reconciled apply(std::vector<Candidate> c, const Scope& scope = alice_scope()) {
    auto tx = d.db->transaction();
    st::Reconciled r = st::reconcile(tx->session(), settings, scope, c, "rules");
    tx->commit();
    return r;
  }
  std::optional<st::StateItem> item(const std::string& uid) {
    auto sql = d.db->session();
    return st::state_store::get_item(*sql, uid);
  }
  json search(const jarvis::Principal& who, st::StateSearch s) {
    auto sql = d.db->session();
    return st::search_state(*sql, who, s);
  }
  json resolve(const std::string& uid, const std::string& decision = "keep_both") {
    Emitted em;
    st::StateEngine engine(*d.db, settings, nullptr, em.sink());
    return engine.resolve(
        {.uid = uid, .reviewer = "usr_root", .note = "checked", .decision = decision});
  }
  json conflicts() {
    auto sql = d.db->session();
    return st::list_conflicts(*sql, 50, 0);
  }
  std::string uid_of(const char* type, const char* text, const Scope& s = alice_scope()) {
    return st::state_uid(type, s.owner_id, s.thread_id, text);
  }

  StateDb d;
  st::StateSettings settings;
};

TEST_P(StateReconcile, NewRestatedAndNearDuplicateStatements) {
  auto r = apply({cand("decision", kPg)});
  EXPECT_EQ(r.counts.inserted, 1);
  const std::string pg = uid_of("decision", kPg);
  EXPECT_EQ(r.outcomes[0]["outcome"], "inserted");
  // The same sentence again: the same uid, merged (refs united, merge_count, higher status).
  r = apply({cand("decision", "use postgresql for the main database.", "2026-11-02T10:00:00.000Z",
                  "msg_2")});
  EXPECT_EQ(r.counts.merged, 1);
  EXPECT_EQ(r.outcomes[0]["target"], pg);
  // Other words, same content: merged into the item, and its uid remembered as an alias.
  r = apply({cand("decision", kPgAgain, "2026-11-03T10:00:00.000Z", "msg_3")});
  EXPECT_EQ(r.counts.merged, 1);
  EXPECT_EQ(r.outcomes[0]["target"], pg);
  auto it = item(pg);
  ASSERT_TRUE(it);
  EXPECT_EQ(it->merge_count, 2);
  EXPECT_EQ(it->refs.size(), 3u);
  EXPECT_EQ(it->last_seen_at, "2026-11-03T10:00:00.000Z");
  EXPECT_EQ(it->valid_from, "2026-11-01T10:00:00.000Z");
  EXPECT_FALSE(item(uid_of("decision", kPgAgain)));  // no second item
  EXPECT_EQ(d.count("memory_state_relations", "relation_type = 'merged_into'"), 1);
  // The alias resolves to the item the next time too.
  r = apply({cand("decision", kPgAgain, "2026-11-04T10:00:00.000Z", "msg_4")});
  EXPECT_EQ(r.outcomes[0]["target"], pg);
  // Another type with the same words is another item; unrelated text is a new item.
  r = apply({cand("constraint", kPg), cand("decision", "Deploy on Fridays only")});
  EXPECT_EQ(r.counts.inserted, 2);
  EXPECT_EQ(d.count("memory_state_items"), 3);
  // Action status precedence: open → done on merge, never back.
  apply({cand("action", "Deploy the API on Friday")});
  Candidate done = cand("action", "Deployed the API on Friday");
  done.status = "done";
  apply({done});
  EXPECT_EQ(item(uid_of("action", "Deploy the API on Friday"))->status, "done");
  Candidate reopened = cand("action", "Deploy the API on Friday");
  reopened.status = "open";
  apply({reopened});
  EXPECT_EQ(item(uid_of("action", "Deploy the API on Friday"))->status, "done");
}

TEST_P(StateReconcile, AReplacementSupersedesAndBothStayFindableByTime) {
  apply({cand("decision", kPg, "2026-11-01T10:00:00.000Z", "msg_1")});
  auto r = apply({cand("decision", kSwitch, "2026-11-05T10:00:00.000Z", "msg_2")});
  EXPECT_EQ(r.counts.superseded, 1);
  const std::string pg = uid_of("decision", kPg);
  const std::string sw = uid_of("decision", kSwitch);
  auto old = item(pg);
  ASSERT_TRUE(old);
  EXPECT_EQ(old->status, "superseded");
  EXPECT_EQ(old->superseded_by, sw);
  EXPECT_EQ(old->valid_to, "2026-11-05T10:00:00.000Z");  // nothing deleted
  EXPECT_EQ(d.count("memory_state_relations", "relation_type = 'supersedes'"), 1);
  EXPECT_EQ(d.count("memory_review_queue"), 0);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].type, "memory.state.superseded");

  auto uids = [](const json& page) {
    std::vector<std::string> out;
    for (const auto& i : page["items"]) out.push_back(i["uid"]);
    return out;
  };
  // What was true on 3 November, on 6 November, now, and everything.
  EXPECT_EQ(uids(search(alice(), {.as_of = "2026-11-03T00:00:00.000Z"})), std::vector{pg});
  EXPECT_EQ(uids(search(alice(), {.as_of = "2026-11-06T00:00:00.000Z"})), std::vector{sw});
  EXPECT_EQ(uids(search(alice(), {.as_of = "2026-10-01T00:00:00.000Z"})).size(), 0u);
  EXPECT_EQ(uids(search(alice(), {})), std::vector{sw});
  EXPECT_EQ(uids(search(alice(), {.include_superseded = true})).size(), 2u);
  auto hit = search(alice(), {.q = "postgresql database", .as_of = "2026-11-02T00:00:00.000Z"});
  ASSERT_EQ(hit["items"].size(), 1u);
  EXPECT_EQ(hit["items"][0]["uid"], pg);
  EXPECT_GT(hit["items"][0]["score"].get<double>(), 0.0);

  // A restatement of the superseded decision is dropped, not revived.
  r = apply({cand("decision", kPg, "2026-11-06T10:00:00.000Z", "msg_3")});
  EXPECT_EQ(r.counts.dropped, 1);
  EXPECT_EQ(item(pg)->status, "superseded");

  // The graph: a chain of two supersessions, bounded by depth.
  apply({cand("decision", kMysql, "2026-11-07T10:00:00.000Z", "msg_4")});
  const std::string my = uid_of("decision", kMysql);
  EXPECT_EQ(item(sw)->superseded_by, my);
  auto sql = d.db->session();
  json g1 = st::state_graph(*sql, alice(), pg, 1);
  ASSERT_EQ(g1["edges"].size(), 1u);
  EXPECT_EQ(g1["edges"][0]["source_uid"], sw);
  EXPECT_EQ(g1["edges"][0]["relation_type"], "supersedes");
  json g2 = st::state_graph(*sql, alice(), pg, 2);
  ASSERT_EQ(g2["edges"].size(), 2u);
  EXPECT_EQ(g2["edges"][1]["source_uid"], my);
  EXPECT_EQ(g2["edges"][1]["depth"], 2);
  EXPECT_EQ(g2["nodes"].size(), 3u);
  EXPECT_EQ(st::state_graph(*sql, alice(), pg, 99)["depth"], 5);     // bounded
  EXPECT_THROW(st::state_graph(*sql, bob(), pg, 2), jarvis::Error);  // not bob's
  EXPECT_EQ(st::state_graph(*sql, root(), pg, 2)["edges"].size(), 2u);
}

TEST_P(StateReconcile, WeakEvidenceGoesToTheReviewQueueAndResolvingClearsIt) {
  apply({cand("decision", kPg, "2026-11-01T10:00:00.000Z", "msg_1")});
  auto r = apply({cand("decision", kSqlite, "2026-11-02T10:00:00.000Z", "msg_2")});
  EXPECT_EQ(r.counts.conflicted, 1);
  const std::string pg = uid_of("decision", kPg);
  const std::string sq = uid_of("decision", kSqlite);
  EXPECT_TRUE(item(pg)->conflict);
  EXPECT_TRUE(item(sq)->conflict);
  EXPECT_TRUE(item(pg)->valid_to.empty());  // both stay
  json q = conflicts();
  ASSERT_EQ(q["total"], 1);
  EXPECT_EQ(q["items"][0]["uid"], sq);
  EXPECT_EQ(q["items"][0]["other_uid"], pg);
  EXPECT_EQ(q["items"][0]["reason"], "conflict");
  EXPECT_EQ(q["items"][0]["agent_id"], "agent:main");
  EXPECT_EQ(q["items"][0]["other_item"]["text"], kPg);
  // A replacement said by the assistant only is weak evidence too: queued, not superseded.
  apply({cand("constraint", kPg)});
  r = apply({cand("constraint", kSwitch, "2026-11-03T10:00:00.000Z", "msg_3", "assistant")});
  EXPECT_EQ(r.counts.conflicted, 1);
  EXPECT_EQ(conflicts()["total"], 2);

  json out = resolve(sq);
  EXPECT_EQ(out["resolved"], 1);
  EXPECT_EQ(out["decision"], "keep_both");
  EXPECT_FALSE(item(sq)->conflict);
  EXPECT_FALSE(item(pg)->conflict);
  EXPECT_EQ(conflicts()["total"], 1);  // the queue drained for that uid
  EXPECT_EQ(d.count("memory_review_queue",
                    "status = 'resolved' AND reviewer = 'usr_root' AND note = 'checked' AND "
                    "decision = 'keep_both' AND resolved_at IS NOT NULL"),
            1);
  // The next merges into either item do not re-queue the pair.
  r = apply({cand("decision", kSqlite, "2026-11-04T10:00:00.000Z", "msg_4"),
             cand("decision", "Use SQLite for the main database, please",
                  "2026-11-04T10:00:00.000Z", "msg_5"),
             cand("decision", kPg, "2026-11-04T10:00:00.000Z", "msg_6")});
  EXPECT_EQ(r.counts.merged, 3);
  EXPECT_EQ(conflicts()["total"], 1);
  EXPECT_FALSE(item(sq)->conflict);
  EXPECT_FALSE(item(pg)->conflict);
  // Resolving again: nothing open (409); unknown uid: 404.
  try {
    resolve(sq);
    ADD_FAILURE() << "no 409";
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.status(), 409);
    EXPECT_EQ(e.code(), "no_open_conflict");
  }
  try {
    resolve("d_000000000000");
    ADD_FAILURE() << "no 404";
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.status(), 404);
  }
  EXPECT_THROW(resolve(uid_of("constraint", kSwitch), "burn_it"), jarvis::Error);
}

TEST_P(StateReconcile, ResolutionDecisionsSupersedeRetractOrFlagUnsupported) {
  apply({cand("decision", kPg), cand("risk", "The import might fail on big files")});
  apply(
      {cand("decision", kSqlite, "2026-11-02T10:00:00.000Z", "msg_2"),
       cand("risk", "The import might fail on small files", "2026-11-02T10:00:00.000Z", "msg_3")});
  ASSERT_EQ(conflicts()["total"], 2);
  const std::string pg = uid_of("decision", kPg);
  const std::string sq = uid_of("decision", kSqlite);
  json out = resolve(sq, "supersede");
  EXPECT_EQ(item(pg)->superseded_by, sq);
  EXPECT_FALSE(item(pg)->valid_to.empty());
  EXPECT_TRUE(item(sq)->valid_to.empty());
  EXPECT_EQ(d.count("memory_state_relations",
                    "relation_type = 'supersedes' AND source_uid = '" + sq + "'"),
            1);

  const std::string small = uid_of("risk", "The import might fail on small files");
  out = resolve(small, "unsupported");
  ASSERT_TRUE(out.contains("failure_uid"));
  auto f = item(out["failure_uid"]);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, "failure");
  EXPECT_TRUE(f->unsupported);
  EXPECT_EQ(f->owner_id, "usr_alice");
  EXPECT_FALSE(item(small)->valid_to.empty());  // retracted, kept
  EXPECT_EQ(item(small)->superseded_by, uid_of("risk", "The import might fail on big files"));
  EXPECT_EQ(conflicts()["total"], 0);
}

TEST_P(StateReconcile, QueueOffKeepsTheStatementAndWritesNoQueueRow) {
  apply({cand("decision", kPg)});
  settings.review_queue_enabled = false;
  auto r = apply({cand("decision", kSqlite, "2026-11-02T10:00:00.000Z", "msg_2")});
  EXPECT_EQ(r.outcomes[0]["outcome"], "conflict_unqueued");
  EXPECT_EQ(d.count("memory_review_queue"), 0);
  EXPECT_FALSE(item(uid_of("decision", kSqlite))->conflict);
  EXPECT_FALSE(item(uid_of("decision", kPg))->conflict);
  EXPECT_TRUE(item(uid_of("decision", kSqlite)));
  // Rows queued while it was on stay listable and resolvable when it is off.
  settings.review_queue_enabled = true;
  apply({cand("decision", "Use MariaDB for the main database", "2026-11-03T10:00:00.000Z", "m3")});
  settings.review_queue_enabled = false;
  ASSERT_GE(conflicts()["total"].get<int>(), 1);
  EXPECT_EQ(resolve(uid_of("decision", "Use MariaDB for the main database"))["decision"],
            "keep_both");
}

TEST_P(StateReconcile, GraphOffWritesNoRelationsButStillSupersedes) {
  settings.graph_enabled = false;
  apply({cand("decision", kPg)});
  apply({cand("decision", kPgAgain, "2026-11-02T10:00:00.000Z", "msg_2")});
  apply({cand("decision", kSwitch, "2026-11-05T10:00:00.000Z", "msg_3")});
  EXPECT_EQ(d.count("memory_state_relations"), 0);
  EXPECT_EQ(item(uid_of("decision", kPg))->superseded_by, uid_of("decision", kSwitch));
}

TEST_P(StateReconcile, ReadsAreOwnerScoped) {
  apply({cand("decision", kPg)}, alice_scope());
  apply({cand("decision", kPg)}, bob_scope());
  apply({cand("decision", kSqlite, "2026-11-02T10:00:00.000Z", "msg_2")}, bob_scope());
  const std::string bobs = uid_of("decision", kPg, bob_scope());
  EXPECT_NE(bobs, uid_of("decision", kPg));  // one sentence, two owners, two items
  EXPECT_EQ(search(alice(), {})["total"], 1);
  EXPECT_EQ(search(bob(), {})["total"], 2);
  EXPECT_EQ(search(root(), {})["total"], 3);
  EXPECT_EQ(search(alice(), {.thread_id = "thr_b"})["total"], 0);
  auto sql = d.db->session();
  EXPECT_FALSE(st::visible_item(*sql, alice(), bobs));
  EXPECT_TRUE(st::visible_item(*sql, bob(), bobs));
  EXPECT_TRUE(st::visible_item(*sql, root(), bobs));
  st::StateSettings s;
  json as = st::state_stats(*sql, alice(), s);
  EXPECT_EQ(as["items_total"], 1);
  EXPECT_EQ(as["open_conflicts"], 0);
  json bs = st::state_stats(*sql, bob(), s);
  EXPECT_EQ(bs["open_conflicts"], 1);
  EXPECT_EQ(bs["by_type"]["decision"], 2);
  EXPECT_EQ(st::state_stats(*sql, root(), s)["items_total"], 3);
  // Hostile text is plain text: LIKE metacharacters and quotes match literally, never fail.
  for (const char* q : {"%", "_", "'; DROP TABLE memory_state_items; --", "\"", "!%_", "(*)",
                        "NEAR(a b)", "\\", "postgre%"}) {
    EXPECT_NO_THROW(search(root(), {.q = q})) << q;
  }
  EXPECT_EQ(search(root(), {.q = "%"})["total"], 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, StateReconcile,
                         ::testing::Values(Backend::Sqlite, Backend::Postgresql), param_name);

}  // namespace state_test

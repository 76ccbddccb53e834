// memory/tests/state_rules_test.cpp — the pure parts of structured state: uids, similarity,
// supersession cues, rule extraction, the model answer's validation and evidence check, failure
// signatures (decisions 0030, 0032). No database.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "state/extract.h"
#include "state/failure_bridge.h"
#include "state/state_queries.h"
#include "state/state_types.h"

namespace st = jarvis::memory::state;
using nlohmann::json;

TEST(StateTypes, UidsAreStableScopedAndTyped) {
  const std::string a = st::state_uid("decision", "usr_a", "thr_1", "Use PostgreSQL.");
  EXPECT_EQ(a, st::state_uid("decision", "usr_a", "thr_1", "  use   postgresql "));
  EXPECT_EQ(a.size(), 14u);
  EXPECT_EQ(a.substr(0, 2), "d_");
  // Another owner or thread saying the same sentence gets another item: no cross-user merge.
  EXPECT_NE(a, st::state_uid("decision", "usr_b", "thr_1", "Use PostgreSQL."));
  EXPECT_NE(a, st::state_uid("decision", "usr_a", "thr_2", "Use PostgreSQL."));
  EXPECT_EQ(st::state_uid("risk", "u", "t", "x").substr(0, 2), "r_");
  EXPECT_EQ(st::state_uid("failure", "u", "t", "x").substr(0, 2), "f_");
  EXPECT_EQ(st::state_types().size(), 6u);
  const st::StateType* action = st::state_type("action");
  ASSERT_NE(action, nullptr);
  EXPECT_LT(st::status_rank(*action, "open"), st::status_rank(*action, "done"));
  EXPECT_EQ(st::status_rank(*action, "answered"), -1);
  EXPECT_EQ(st::state_type("opinion"), nullptr);
}

TEST(StateTypes, SimilarityComparesContentWords) {
  auto t = [](const char* s) { return st::content_tokens(s); };
  const auto base = t("Use PostgreSQL for the main database");
  EXPECT_DOUBLE_EQ(st::similarity(base, t("We will use PostgreSQL for the main database.")), 1.0);
  EXPECT_NEAR(st::similarity(base, t("Use SQLite for the main database")), 2.0 / 3.0, 1e-9);
  EXPECT_NEAR(
      st::similarity(base, t("We switched to SQLite instead of PostgreSQL for the main database")),
      3.0 / std::sqrt(12.0), 1e-9);
  EXPECT_DOUBLE_EQ(st::similarity(base, t("Deploy on Friday")), 0.0);
  EXPECT_DOUBLE_EQ(st::similarity(t("Deployed on Friday, done"), t("deploy on friday")), 1.0);
  EXPECT_DOUBLE_EQ(st::similarity({}, base), 0.0);
}

TEST(StateTypes, SupersessionNeedsAReplacementWordAndVerb) {
  EXPECT_TRUE(st::has_supersession_cue("We switched to SQLite instead of PostgreSQL"));
  EXPECT_TRUE(st::has_supersession_cue("Let's go with Redis rather than Memcached"));
  EXPECT_TRUE(st::has_supersession_cue("From now on we use tabs"));
  EXPECT_TRUE(st::has_supersession_cue("We no longer use Jenkins; we moved to GitHub Actions"));
  EXPECT_FALSE(st::has_supersession_cue("Use SQLite for the main database"));
  EXPECT_FALSE(st::has_supersession_cue("Instead of worrying, relax"));  // no replacement verb
  EXPECT_FALSE(st::has_supersession_cue(""));
}

TEST(StateRules, ExtractsTheTypesFromUserMessagesOnly) {
  std::vector<st::PendingMessage> m = {
      {"m1", "u", "t", "", "user",
       "We decided to use PostgreSQL for the main database. Latency must stay under 200 ms!",
       "2026-11-01T10:00:00.000Z"},
      {"m2", "u", "t", "", "user",
       "Todo: write the migration guide\nThere is a risk the import might fail on big files. "
       "Who owns the budget?",
       "2026-11-01T10:01:00.000Z"},
      {"m3", "u", "t", "agent:main", "assistant", "We decided to use MySQL.",
       "2026-11-01T10:02:00.000Z"},
      {"m4", "u", "t", "", "user", "ok", "2026-11-01T10:03:00.000Z"},
  };
  auto c = st::extract_by_rules(m);
  ASSERT_EQ(c.size(), 5u);
  EXPECT_EQ(c[0].type, "decision");
  EXPECT_EQ(c[0].confidence, "medium");
  EXPECT_EQ(c[0].refs[0]["message_id"], "m1");
  EXPECT_EQ(c[0].evidence_at, "2026-11-01T10:00:00.000Z");
  EXPECT_TRUE(c[0].user_evidence);
  EXPECT_EQ(c[1].type, "constraint");
  EXPECT_EQ(c[2].type, "action");
  EXPECT_EQ(c[2].status, "open");
  EXPECT_EQ(c[3].type, "risk");
  EXPECT_EQ(c[4].type, "question");
  EXPECT_EQ(c[4].text, "Who owns the budget?");
  for (const auto& x : c) EXPECT_EQ(x.refs[0]["role"], "user");  // the assistant's is not kept

  auto done = st::extract_by_rules(
      {{"m5", "u", "t", "", "user", "Remember to rotate the keys, it is done", "2026-11-02"}});
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].status, "done");
}

TEST(StateModelAnswer, ValidatesEveryEntryAndChecksItsEvidence) {
  std::vector<st::PendingMessage> m = {
      {"m1", "u", "t", "", "user", "Let's use PostgreSQL for the main database.",
       "2026-11-01T10:00:00.000Z"},
      {"m2", "u", "t", "", "assistant", "Noted: PostgreSQL it is.", "2026-11-01T10:01:00.000Z"},
  };
  const std::string answer = R"(Here you go:
```json
[
 {"type": "decision", "text": "Use PostgreSQL for the main database", "status": "active",
  "confidence": "high", "refs": ["m1"], "topic_tags": ["DB", "storage", "infra", "extra"],
  "links": [{"to": "d_0123456789ab", "type": "relates_to"}, {"to": "x", "type": "owns"}]},
 {"type": "risk", "text": "The moon is made of cheese", "refs": ["m1"]},
 {"type": "action", "text": "Migrate PostgreSQL", "refs": ["m9"]},
 {"type": "question", "text": "Which PostgreSQL version?"},
 {"type": "opinion", "text": "nice"},
 {"type": "decision", "text": ""},
 {"type": "action", "text": "Tune PostgreSQL", "status": "superseded", "confidence": "high",
  "refs": [{"message_id": "m2"}]},
 42
]
```)";
  st::ModelParse p = st::parse_model_answer(answer, m);
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.invalid, 3);  // opinion, empty text, 42
  ASSERT_EQ(p.candidates.size(), 2u);
  EXPECT_EQ(p.candidates[0].confidence, "high");
  EXPECT_EQ(p.candidates[0].topic_tags, (json{"db", "storage", "infra"}));
  ASSERT_EQ(p.candidates[0].links.size(), 1u);
  EXPECT_TRUE(p.candidates[0].user_evidence);
  EXPECT_EQ(p.candidates[0].evidence_at, "2026-11-01T10:00:00.000Z");
  // An invalid status falls back to the default with low confidence.
  EXPECT_EQ(p.candidates[1].status, "open");
  EXPECT_EQ(p.candidates[1].confidence, "low");
  EXPECT_FALSE(p.candidates[1].user_evidence);  // only the assistant's message is cited
  ASSERT_EQ(p.unsupported.size(), 3u);
  EXPECT_EQ(p.unsupported[0].reason, "not_in_evidence");
  EXPECT_EQ(p.unsupported[1].reason, "unknown_ref");
  EXPECT_EQ(p.unsupported[2].reason, "no_refs");

  EXPECT_FALSE(st::parse_model_answer("I could not find anything.", m).ok);
  EXPECT_FALSE(st::parse_model_answer("[not json", m).ok);
  EXPECT_FALSE(st::parse_model_answer("{\"type\": \"decision\"}", m).ok);
  EXPECT_TRUE(st::parse_model_answer("[]", m).ok);
  // Nesting bombs are refused, not recursed into.
  EXPECT_FALSE(st::parse_model_answer(std::string(10000, '[') + std::string(10000, ']'), m).ok);
}

TEST(StateFailures, SignaturesIgnoreNumbersAndIds) {
  EXPECT_EQ(st::normalize_failure_text("Timeout after 30000 ms on tsk_9f8e7d6c5b"),
            st::normalize_failure_text("timeout after 15000 ms on tsk_0a1b2c3d4e"));
  EXPECT_NE(st::normalize_failure_text("connection refused"),
            st::normalize_failure_text("connection reset"));
  auto ev = [](const std::string& id, const std::string& error) {
    return json{
        {"id", id},
        {"type", "task.failed"},
        {"created_at", "2026-11-01T10:00:00.000Z"},
        {"trace_id", "trc_" + id},
        {"thread_id", ""},
        {"payload", {{"task_id", "tsk_" + id}, {"name", "bugs.report"}, {"last_error", error}}}};
  };
  auto a = st::failure_from_event(ev("e1", "HTTP 502 from 10.0.0.7 after 3 tries"));
  auto b = st::failure_from_event(ev("e2", "HTTP 503 from 10.0.0.9 after 4 tries"));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(st::failure_signature("", *a), st::failure_signature("", *b));
  EXPECT_NE(st::failure_signature("", *a), st::failure_signature("usr_x", *a));
  EXPECT_EQ(a->phase, "task");
  EXPECT_EQ(a->ref["trace_id"], "trc_e1");
  // The memory plugin's own task failures are not fed back into it.
  json own = ev("e3", "boom");
  own["payload"]["name"] = "memory.state.failure";
  EXPECT_FALSE(st::failure_from_event(own));
  // A tool result that is ok is no failure; one that failed is.
  json tool{{"id", "e4"},
            {"type", "agent.tool.result"},
            {"actor_id", "agent:main"},
            {"payload", {{"tool", "web.fetch"}, {"result", "ok"}}}};
  EXPECT_FALSE(st::failure_from_event(tool));
  tool["payload"]["result"] = "failed";
  auto t = st::failure_from_event(tool);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->phase, "tool");
  json model{{"id", "e5"},
             {"type", "model.run.error"},
             {"payload",
              {{"provider", "openai"},
               {"model", "gpt"},
               {"kind", "http_5xx"},
               {"status", 502},
               {"outage_class", "provider_down"},
               {"message", "bad gateway"}}}};
  auto mo = st::failure_from_event(model);
  ASSERT_TRUE(mo);
  EXPECT_EQ(mo->summary, "Model openai/gpt failed: http_5xx (provider_down), HTTP 502");
  model["payload"]["kind"] = "cancelled";
  EXPECT_FALSE(st::failure_from_event(model));
  EXPECT_FALSE(st::failure_from_event(json{{"type", "message.new"}}));
  EXPECT_FALSE(st::failure_from_event(json("not an object")));
}

TEST(StateQueries, TimestampsAreNormalisedOrRefused) {
  EXPECT_EQ(st::normalize_timestamp("2026-11-01"), "2026-11-01T00:00:00.000Z");
  EXPECT_EQ(st::normalize_timestamp("2026-11-01T10:20:30Z"), "2026-11-01T10:20:30.000Z");
  EXPECT_EQ(st::normalize_timestamp("2026-11-01T10:20:30.5+00:00"), "2026-11-01T10:20:30.500Z");
  for (const char* bad : {"", "yesterday", "2026-11-01T10:20", "2026-11-01T10:20:30+02:00",
                          "2026-11-01'; DROP TABLE x;--", "2026-1-01"}) {
    EXPECT_FALSE(st::normalize_timestamp(bad)) << bad;
  }
}

// memory/tests/state_engine_test.cpp — the work units end to end on a real database: a scripted
// conversation through rules with known KPI values, the model path with its evidence check and
// its fallback to rules, the failure bridge's dedupe, consistency reports, and every toggle off
// writing nothing — on SQLite and PostgreSQL (decisions 0030-0033).
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "redactor.h"
#include "state/consistency.h"
#include "state/kpis.h"
#include "jarvis/error.h"
#include "state/state_queries.h"
#include "state_support.h"
namespace st = jarvis::memory::state;

namespace state_test {

class StateEngineTest : public ::testing::TestWithParam<Backend> {
 protected:
  StateEngineTest() : d(GetParam()) {}

  st::StateEngine engine() { return st::StateEngine(*d.db, settings, &redactor, emitted.sink()); }

  // Queues the messages of thread `thread` for alice, as memory.state.on_message does.
  void say(const std::vector<std::pair<std::string, std::string>>& role_text,
           const std::string& thread = "thr_a", const std::string& owner = "usr_alice") {
    auto e = engine();
    auto tx = d.db->transaction();
    for (const auto& [role, text] : role_text) {
      ++seq;
      char at[40];
      std::snprintf(at, sizeof at, "2026-11-01T10:%02d:00.000Z", seq % 60);
      e.add_pending(*tx, {.message_id = "msg_" + std::to_string(seq),
                          .owner_id = owner,
                          .thread_id = thread,
                          .agent_id = role == "assistant" ? "agent:main" : "",
                          .role = role,
                          .text = text,
                          .message_at = at});
    }
    tx->commit();
  }
  st::StateKpis kpis() {
    auto sql = d.db->session();
    return st::compute_kpis(*sql);
  }
  json failure_event(const std::string& id, const std::string& name, const std::string& error,
                     const std::string& thread = "") {
    return {{"id", id},
            {"type", "task.dead_letter"},
            {"created_at", jarvis::now_iso()},
            {"thread_id", thread},
            {"trace_id", "trc_" + id},
            {"payload",
             {{"task_id", "tsk_" + id}, {"name", name}, {"attempts", 3}, {"last_error", error}}}};
  }

  StateDb d;
  st::StateSettings settings;
  jarvis::memory::Redactor redactor{{.secret_scan = true, .pii_mode = "mask"}};
  Emitted emitted;
  int seq = 0;
};

TEST_P(StateEngineTest, AScriptedConversationGivesKnownKpis) {
  EXPECT_FALSE(kpis().reconciliation_rate);  // no data: absent, not 0
  EXPECT_FALSE(kpis().hallucination_incidents);
  say({{"user", "We decided to use PostgreSQL for the main database."},
       {"assistant", "Great, PostgreSQL it is."},
       {"user", "We need to deploy the API on Friday."},
       {"user", "We will use PostgreSQL for the main database."},
       {"user", "We switched to SQLite instead of PostgreSQL for the main database."},
       {"user", "Is the budget approved?"}});
  json r = engine().run_extraction("thr_a", nullptr);
  ASSERT_TRUE(r.contains("run_id")) << r.dump();
  EXPECT_EQ(r["method"], "rules");
  EXPECT_EQ(r["counts"]["messages"], 6);
  EXPECT_EQ(r["counts"]["candidates"], 5);
  EXPECT_EQ(r["counts"]["inserted"], 3);
  EXPECT_EQ(r["counts"]["merged"], 1);
  EXPECT_EQ(r["counts"]["superseded"], 1);
  EXPECT_EQ(d.count("memory_state_pending"), 0);  // consumed with the result
  auto k = kpis();
  ASSERT_TRUE(k.reconciliation_rate);
  EXPECT_DOUBLE_EQ(*k.reconciliation_rate, 2.0 / 5.0);
  EXPECT_FALSE(k.hallucination_incidents);  // rules check no evidence: still no data
  EXPECT_EQ(emitted.of("memory.state.extracted"), 1u);
  EXPECT_EQ(emitted.of("memory.state.superseded"), 1u);
  // Nothing pending: the next run is a no-op.
  EXPECT_EQ(engine().run_extraction("thr_a", nullptr)["skipped"], "nothing_pending");
  // A batch with no user message is consumed without a run.
  say({{"assistant", "We decided to use MySQL."}});
  EXPECT_EQ(engine().run_extraction("thr_a", nullptr)["skipped"], "no_user_messages");
  EXPECT_EQ(d.count("memory_state_runs"), 1);
}

// Gauges as the host would hold them.
struct StateFakeMetrics : jarvis::Metrics {
  std::map<std::string, double> gauges;
  void increment(const std::string&, double, const jarvis::MetricLabels&) override {}
  void set_gauge(const std::string& name, double v, const jarvis::MetricLabels&) override {
    gauges[name] = v;
  }
  void declare_histogram(const std::string&, std::vector<double>) override {}
  void observe(const std::string&, double, const jarvis::MetricLabels&) override {}
};

TEST(StateKpiPublisher, AbsentUntilKnownThenNaNWhenTheDataIsGone) {
  StateFakeMetrics m;
  st::KpiPublisher pub;
  pub.publish(m, {});
  EXPECT_TRUE(m.gauges.empty());  // never a fake 0
  pub.publish(m, {.reconciliation_rate = 0.4, .hallucination_incidents = 0.0});
  EXPECT_DOUBLE_EQ(m.gauges["reconciliation_rate"], 0.4);
  EXPECT_DOUBLE_EQ(m.gauges["hallucination_incidents"], 0.0);  // evidence was checked: a real 0
  pub.publish(m, {});
  EXPECT_TRUE(std::isnan(m.gauges["reconciliation_rate"]));
  EXPECT_TRUE(std::isnan(m.gauges["hallucination_incidents"]));
}

TEST_P(StateEngineTest, TheModelPathChecksEvidenceAndFallsBackToRules) {
  say({{"user", "Let's use PostgreSQL for the main database."},
       {"user", "My key is sk-abcdefghijklmnopqrstuvwxyz0123456789 please keep it."}});
  std::string seen_prompt;
  st::ModelCall model = [&](const std::string& system, const std::string& prompt,
                            std::string&) -> std::optional<std::string> {
    EXPECT_NE(system.find("JSON array"), std::string::npos);
    seen_prompt = prompt;
    return R"([{"type":"decision","text":"Use PostgreSQL for the main database","refs":["msg_1"],
                "confidence":"high"},
               {"type":"risk","text":"The moon is made of cheese","refs":["msg_1"]},
               {"type":"action","text":"Ship it","refs":["msg_99"]}])";
  };
  json r = engine().run_extraction("thr_a", model);
  EXPECT_EQ(r["method"], "model");
  EXPECT_EQ(r["counts"]["candidates"], 1);
  EXPECT_EQ(r["counts"]["unsupported"], 2);
  EXPECT_EQ(seen_prompt.find("sk-abcdefghijklmnop"), std::string::npos);  // redacted first
  EXPECT_NE(seen_prompt.find("[msg_1] user: Let's use PostgreSQL"), std::string::npos);
  auto k = kpis();
  ASSERT_TRUE(k.hallucination_incidents);
  EXPECT_DOUBLE_EQ(*k.hallucination_incidents, 2.0);
  EXPECT_EQ(d.count("memory_state_items",
                    "type_tag = 'failure' AND unsupported = 1 AND "
                    "owner_id = 'usr_alice'"),
            2);
  EXPECT_GE(d.count("memory_redactions"), 1);

  // A model that fails, or answers prose: the rules take over, and the run says why.
  say({{"user", "We decided to use Redis for the cache."}});
  st::ModelCall down = [](const std::string&, const std::string&,
                          std::string& why) -> std::optional<std::string> {
    why = "denied: no_permission";
    return std::nullopt;
  };
  r = engine().run_extraction("thr_a", down);
  EXPECT_EQ(r["method"], "rules");
  EXPECT_NE(r["note"].get<std::string>().find("no_permission"), std::string::npos);
  EXPECT_EQ(r["counts"]["inserted"], 1);
  say({{"user", "We decided to use Kafka for the queue."}});
  st::ModelCall prose = [](const std::string&, const std::string&,
                           std::string&) -> std::optional<std::string> {
    return std::string("Sure! The user wants Kafka.");
  };
  r = engine().run_extraction("thr_a", prose);
  EXPECT_EQ(r["method"], "rules");
  EXPECT_EQ(r["counts"]["inserted"], 1);
}

TEST_P(StateEngineTest, FailuresAreDeduplicatedBySignatureAndScoped) {
  auto e = engine();
  json a =
      e.record_failure_event(failure_event("ev1", "bugs.report", "timeout after 30000 ms"), "");
  EXPECT_EQ(a["created"], true);
  json b =
      e.record_failure_event(failure_event("ev2", "bugs.report", "timeout after 15000 ms"), "");
  EXPECT_EQ(b["uid"], a["uid"]);
  EXPECT_EQ(b["occurrences"], 2);
  // The same event delivered again is not another occurrence.
  EXPECT_EQ(e.record_failure_event(failure_event("ev2", "bugs.report", "timeout after 15000 ms"),
                                   "")["skipped"],
            "already_recorded");
  json c = e.record_failure_event(failure_event("ev3", "bugs.report", "disk full"), "");
  EXPECT_NE(c["uid"], a["uid"]);
  json own = e.record_failure_event(failure_event("ev4", "memory.state.extract", "x"), "");
  EXPECT_EQ(own["skipped"], "not_a_failure");
  json alices = e.record_failure_event(
      failure_event("ev5", "chat.agent_step", "provider down sk-abcdefghijklmnopqrstuvwxyz01234567",
                    "thr_a"),
      "usr_alice");
  EXPECT_EQ(alices["created"], true);

  auto sql = d.db->session();
  auto item = st::state_store::get_item(*sql, a["uid"]);
  ASSERT_TRUE(item);
  EXPECT_EQ(item->trace_id, "trc_ev2");  // linked to the latest trace
  EXPECT_EQ(item->refs.size(), 2u);
  EXPECT_EQ(item->status, "open");
  auto secret = st::state_store::get_item(*sql, alices["uid"]);
  EXPECT_EQ(secret->text.find("sk-abcdefgh"), std::string::npos);  // redacted before storing

  json admin = st::search_failures(*sql, root(), {});
  EXPECT_EQ(admin["total"], 3);
  EXPECT_EQ(st::search_failures(*sql, alice(), {})["total"], 1);  // system failures: admins only
  EXPECT_EQ(st::search_failures(*sql, bob(), {})["total"], 0);
  json similar = st::search_failures(*sql, root(), {.similar_to = "bugs.report timeout"});
  ASSERT_GE(similar["items"].size(), 1u);
  EXPECT_EQ(similar["items"][0]["uid"], a["uid"]);
  EXPECT_EQ(st::search_failures(*sql, root(), {.trace_id = "trc_ev3"})["total"], 1);
  EXPECT_EQ(st::search_failures(*sql, root(), {.phase = "model"})["total"], 0);
  EXPECT_EQ(st::search_failures(*sql, root(), {.phase = "task"})["total"], 3);
}

TEST_P(StateEngineTest, ConsistencyReportsCountWhatHappenedInTheWindow) {
  say({{"user", "We decided to use PostgreSQL for the main database."},
       {"user", "Use SQLite for the main database"},
       {"user", "We need to write the runbook."}});
  engine().run_extraction("thr_a", nullptr);
  say({{"user", "We switched to MySQL instead of PostgreSQL for the main database."}});
  engine().run_extraction("thr_a", nullptr);
  st::ReportScope scope{.owner_id = "usr_alice",
                        .thread_id = "thr_a",
                        .from_ts = jarvis::iso_from_now(-3600 * 1000),
                        .to_ts = jarvis::iso_from_now(60 * 1000)};
  // Extraction stamps valid_from with the message time (1 November); the window is "now".
  json stored = engine().create_report(scope, "usr_alice");
  json rep = stored["report"];
  EXPECT_EQ(rep["items_total"], 4);
  EXPECT_EQ(rep["contradictions_found"]["conflicts"], 1);
  EXPECT_EQ(rep["unresolved_conflicts"]["count"], 1);
  EXPECT_EQ(rep["items_without_evidence"]["count"], 0);
  ASSERT_TRUE(rep["score"].is_number());
  EXPECT_LT(rep["score"].get<double>(), 1.0);
  auto sql = d.db->session();
  json list = st::list_reports(*sql, alice(), "thr_a", "", "", 50, 0);
  EXPECT_EQ(list["total"], 1);
  EXPECT_TRUE(list["avg_score"].is_number());
  EXPECT_EQ(st::list_reports(*sql, bob(), "", "", "", 50, 0)["total"], 0);
  EXPECT_FALSE(st::get_report(*sql, bob(), stored["id"]));
  EXPECT_TRUE(st::get_report(*sql, root(), stored["id"]));
  // No items at all: the score is unknown, not 1.0.
  st::ReportScope empty{.owner_id = "usr_bob",
                        .thread_id = "",
                        .from_ts = jarvis::iso_from_now(-3600 * 1000),
                        .to_ts = jarvis::now_iso()};
  EXPECT_TRUE(st::compute_report(*sql, empty)["score"].is_null());
}

TEST_P(StateEngineTest, EveryToggleOffWritesNothing) {
  settings.extraction_enabled = false;
  settings.review_queue_enabled = false;
  settings.failure_bridge_enabled = false;
  settings.graph_enabled = false;
  say({{"user", "We decided to use PostgreSQL for the main database."}});
  EXPECT_EQ(engine().run_extraction("thr_a", nullptr)["skipped"], "extraction_disabled");
  EXPECT_EQ(
      engine().record_failure_event(failure_event("ev1", "bugs.report", "boom"), "")["skipped"],
      "failure_bridge_disabled");
  EXPECT_EQ(d.state_rows(), 0);

  // The core's master switch alone stops every write too, resolving and reports included.
  settings = st::StateSettings{};
  settings.writes_enabled = false;
  say({{"user", "We decided to use PostgreSQL for the main database."}});
  engine().run_extraction("thr_a", nullptr);
  engine().record_failure_event(failure_event("ev2", "bugs.report", "boom"), "");
  EXPECT_THROW(engine().resolve({.uid = "d_000000000000", .reviewer = "r", .note = "n"}),
               jarvis::Error);
  EXPECT_THROW(engine().create_report({.owner_id = "usr_alice",
                                       .from_ts = "2026-01-01T00:00:00.000Z",
                                       .to_ts = "2026-12-01T00:00:00.000Z"},
                                      "x"),
               jarvis::Error);
  EXPECT_EQ(d.state_rows(), 0);
}

TEST_P(StateEngineTest, EachToggleOffLeavesTheDataIntact) {
  say({{"user", "We decided to use PostgreSQL for the main database."}});
  engine().run_extraction("thr_a", nullptr);
  engine().record_failure_event(failure_event("ev1", "bugs.report", "boom"), "");
  const long long before = d.state_rows();
  settings.failure_bridge_enabled = false;
  EXPECT_EQ(
      engine().record_failure_event(failure_event("ev2", "bugs.report", "boom"), "")["skipped"],
      "failure_bridge_disabled");
  settings.extraction_enabled = false;
  say({{"user", "We decided to use MySQL for the main database."}});
  EXPECT_EQ(d.state_rows(), before);
  auto sql = d.db->session();
  EXPECT_EQ(st::search_failures(*sql, root(), {})["total"], 1);
  EXPECT_EQ(st::search_state(*sql, alice(), {})["total"], 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, StateEngineTest,
                         ::testing::Values(Backend::Sqlite, Backend::Postgresql), param_name);

}  // namespace state_test

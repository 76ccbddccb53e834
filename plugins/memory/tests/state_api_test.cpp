// memory/tests/state_api_test.cpp — the structured-state surfaces of a real `jarvis serve` over
// HTTP on SQLite and PostgreSQL: chat-like events (through the memory_fixture plugin) become
// state and failure items through the durable subscriptions; the routes answer exactly as the
// runbook ("Memory Governance Ops", "Memory Conflict Resolution Operator Flow") with admin-only
// review surfaces and owner scoping everywhere; hostile input is 4xx, never 500; `jarvis memory
// review`; the KPIs on /metrics; the toggles after a restart; and extraction through chat's
// chat.complete tool with a fake model (decisions 0030-0033).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>

#include "db/sql_database.h"
#include "jarvis/sql.h"
#include "support/fakes/fake_llm_server.h"
#include "support/support.h"
namespace state_api {

using jarvis::test::Backend;
using jarvis::test::fakes::FakeLlmServer;
using jarvis::test::fakes::ScriptedReply;
using nlohmann::json;

struct StateHostOptions {
  bool with_chat = false;                  ///< chat loaded, its openai provider = the fake
  std::map<std::string, std::string> env;  ///< extra config
};

// A server with the memory plugin and the memory_fixture plugin; users alice, bob, root.
class StateHost {
 public:
  StateHost(Backend backend, StateHostOptions o = {}) : fake(FakeLlmServer::Dialect::openai) {
    namespace fs = std::filesystem;
    fs::create_directories(dir.file("plugins"));
    fs::create_directory_symlink(std::string(JARVIS_TEST_PLUGIN_DIR) + "/memory_fixture",
                                 dir.file("plugins/memory_fixture"));
    env = {{"LOG_LEVEL", "warn"},
           {"JARVIS_PLUGIN_DIRS", dir.file("plugins")},
           {"JARVIS_PLUGINS_REQUIRED",
            o.with_chat ? "memory,memory_fixture,chat" : "memory,memory_fixture"},
           {"JARVIS_PLUGINS_DISABLED", o.with_chat ? "github,whatsapp" : "chat,github,whatsapp"},
           // No debounce: every wait_items() below would otherwise sit out the default 10 s
           // before its thread's extraction runs. The messages a test needs in one run are said
           // back to back in one thread; memory_learn_test checks the debounce itself.
           {"STATE_EXTRACTION_DEBOUNCE_SECONDS", "0"}};
    if (o.with_chat) {
      env["OPENAI_BASE_URL"] = fake.base_url();
      env["OPENAI_API_KEY"] = "sk-test";
      env["OPENAI_MODEL"] = "fake-model";
      env["MODEL_MAX_RETRIES"] = "0";
    }
    if (backend == Backend::Sqlite) {
      env["APP_DB"] = dir.file("jarvis.db");
    } else {
      env["DATABASE_URL"] = jarvis::test::pg_fresh_database();
    }
    for (auto& [k, v] : o.env) env[k] = v;
    auto m = jarvis::test::run_jarvis({"migrate"}, dir.path(), env);
    EXPECT_EQ(m.exit_code, 0) << m.out << m.err;
    root = jarvis::test::create_user_token(dir.path(), env, "root", true);
    alice = jarvis::test::create_user_token(dir.path(), env, "alice", false);
    bob = jarvis::test::create_user_token(dir.path(), env, "bob", false);
    start();
    alice_id = get("/api/v1/auth/me", alice).value("user_id", "");
    bob_id = get("/api/v1/auth/me", bob).value("user_id", "");
  }

  void start(std::map<std::string, std::string> extra = {}) {
    server.reset();
    auto e = env;
    for (auto& [k, v] : extra) e[k] = v;
    server = std::make_unique<jarvis::test::ServerProcess>(dir.path(), e);
    EXPECT_TRUE(server->ready()) << server->output();
  }

  jarvis::test::HttpResult call(const std::string& method, const std::string& path,
                                const std::string& token, const std::string& body = "") const {
    std::vector<std::string> h{"Content-Type: application/json"};
    if (!token.empty()) h.push_back(jarvis::test::bearer(token));
    return jarvis::test::http(method, server->url(path), body, h);
  }
  json get(const std::string& path, const std::string& token, int status = 200) const {
    auto r = call("GET", path, token);
    EXPECT_EQ(r.status, status) << path << " " << r.body;
    return json::parse(r.body, nullptr, false);
  }
  json post(const std::string& path, const std::string& token, const json& body,
            int status = 200) const {
    auto r = call("POST", path, token, body.dump());
    EXPECT_EQ(r.status, status) << path << " " << r.body;
    return json::parse(r.body, nullptr, false);
  }
  std::string thread_for(const std::string& user_id) const {
    return post("/api/v1/memory-fixture/threads", root, {{"user_id", user_id}}, 201)
        .value("id", "");
  }
  // A message as chat stores it, with its text in the event.
  void say(const std::string& thread, const std::string& user_id, const std::string& text,
           const std::string& role = "user") {
    post("/api/v1/memory-fixture/emit", root,
         {{"type", "message.new"},
          {"thread_id", thread},
          {"trace_id", "trc_" + std::to_string(++seq)},
          {"actor_type", role == "user" ? "user" : "agent"},
          {"actor_id", role == "user" ? user_id : "agent:main"},
          {"payload",
           {{"message_id", "msg_" + std::to_string(seq)}, {"role", role}, {"text", text}}}},
         201);
  }
  void emit(const json& event) { post("/api/v1/memory-fixture/emit", root, event, 201); }

  static bool eventually(const std::function<bool()>& check) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < until) {
      if (check()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return check();
  }
  // Waits until `who` sees `n` state items (all types, still valid) in `thread`.
  bool wait_items(const std::string& who, const std::string& thread, int n) const {
    return eventually([&] {
      return get("/api/v1/memory/state/search?thread_id=" + thread, who).value("total", -1) == n;
    });
  }
  std::string metrics() const { return call("GET", "/metrics", "").body; }
  // Tasks of the host's queue matching `where`, read from the database itself.
  long long task_count(const std::string& where) {
    if (!db) {
      db = jarvis::host::SqlDatabase::open(
          env.count("APP_DB") ? "sqlite://" + env["APP_DB"] : env["DATABASE_URL"], 1);
    }
    auto sql = db->session();
    return jarvis::sql::scalar_int(*sql, "SELECT COUNT(*) FROM tasks WHERE " + where);
  }
  // Messages the core's learner marked learned (memory_message_tokens rows).
  long long learned_markers() {
    task_count("1 = 1");  // opens `db`
    auto sql = db->session();
    return jarvis::sql::scalar_int(*sql, "SELECT COUNT(*) FROM memory_message_tokens");
  }

  jarvis::test::TempDir dir;
  FakeLlmServer fake;
  std::map<std::string, std::string> env;
  std::unique_ptr<jarvis::test::ServerProcess> server;
  std::unique_ptr<jarvis::host::SqlDatabase> db;
  std::string root, alice, bob, alice_id, bob_id;
  int seq = 0;
};

class StateApi : public ::testing::TestWithParam<Backend> {};

TEST_P(StateApi, ConversationEventsBecomeStateAndTheReviewFlowWorksAsTheRunbookSays) {
  StateHost h(GetParam());
  // No state yet: the KPIs are absent, not 0.
  EXPECT_EQ(h.metrics().find("memory_reconciliation_rate"), std::string::npos);
  const std::string ta = h.thread_for(h.alice_id);
  const std::string tb = h.thread_for(h.bob_id);
  h.say(ta, h.alice_id, "We decided to use PostgreSQL for the main database.");
  ASSERT_TRUE(h.wait_items(h.alice, ta, 1)) << h.server->output();
  h.say(ta, h.alice_id, "Use SQLite for the main database");
  ASSERT_TRUE(h.wait_items(h.alice, ta, 2));
  h.say(ta, h.alice_id, "We will use PostgreSQL for the main database.");
  h.say(tb, h.bob_id, "We decided to use Redis for the cache.");
  ASSERT_TRUE(h.wait_items(h.bob, tb, 1));
  ASSERT_TRUE(StateHost::eventually([&] {
    json page = h.get("/api/v1/memory/state/search?q=postgresql", h.alice);
    return page["items"].size() == 1 && page["items"][0].value("merge_count", 0) == 1;
  }));

  // Review surfaces are admin-only.
  EXPECT_EQ(h.call("GET", "/api/v1/memory/state/review/conflicts?limit=50", "").status, 401);
  EXPECT_EQ(h.call("GET", "/api/v1/memory/state/review/conflicts?limit=50", h.alice).status, 403);
  json q = h.get("/api/v1/memory/state/review/conflicts?limit=50", h.root);
  ASSERT_EQ(q["total"], 1) << q.dump();
  const json row = q["items"][0];
  for (const char* k : {"id", "uid", "thread_id", "agent_id", "reason"})
    EXPECT_TRUE(row.contains(k));
  EXPECT_EQ(row["thread_id"], ta);
  EXPECT_EQ(row["reason"], "conflict");
  const std::string uid = row["uid"];
  EXPECT_EQ(h.call("POST", "/api/v1/memory/state/review/" + uid + "/resolve", h.alice,
                   R"({"resolution":"mine"})")
                .status,
            403);
  // Hostile bodies: 4xx with a stable code.
  EXPECT_EQ(h.call("POST", "/api/v1/memory/state/review/" + uid + "/resolve", h.root, "{").status,
            400);
  EXPECT_EQ(h.call("POST", "/api/v1/memory/state/review/" + uid + "/resolve", h.root,
                   R"({"resolution":""})")
                .status,
            422);
  EXPECT_EQ(h.call("POST", "/api/v1/memory/state/review/" + uid + "/resolve", h.root,
                   R"({"resolution":"x","decision":"burn"})")
                .status,
            400);
  EXPECT_EQ(
      h.call("POST", "/api/v1/memory/state/review/zz/resolve", h.root, R"({"resolution":"x"})")
          .status,
      404);
  json done = h.post("/api/v1/memory/state/review/" + uid + "/resolve", h.root,
                     {{"resolution", "checked with alice: both hold for now"}});
  EXPECT_EQ(done["resolved"], 1);
  EXPECT_EQ(done["note"], "checked with alice: both hold for now");
  // The queue drained for that uid, and the next restatement does not re-queue it.
  EXPECT_EQ(h.get("/api/v1/memory/state/review/conflicts?limit=50", h.root)["total"], 0);
  h.say(ta, h.alice_id, "Use SQLite for the main database, please");
  ASSERT_TRUE(StateHost::eventually([&] {
    return h.get("/api/v1/memory/state/items/" + uid, h.alice).value("merge_count", 0) == 1;
  }));
  EXPECT_EQ(h.get("/api/v1/memory/state/review/conflicts?limit=50", h.root)["total"], 0);
  EXPECT_EQ(h.get("/api/v1/memory/state/items/" + uid, h.alice)["conflict"], false);
  EXPECT_EQ(h.call("POST", "/api/v1/memory/state/review/" + uid + "/resolve", h.root,
                   R"({"resolution":"again"})")
                .status,
            409);

  // The CLI of the runbook, on the same database.
  auto cli = jarvis::test::run_jarvis(
      {"memory", "review", "--conflicts", "--limit", "50", "--json"}, h.dir.path(), h.env);
  ASSERT_EQ(cli.exit_code, 0) << cli.out << cli.err;
  EXPECT_EQ(json::parse(cli.out, nullptr, false)["total"], 0);
  auto text = jarvis::test::run_jarvis({"memory", "review", "--conflicts"}, h.dir.path(), h.env);
  EXPECT_NE(text.out.find("no open conflicts"), std::string::npos) << text.out << text.err;
  auto bad = jarvis::test::run_jarvis({"memory", "review", "--resolve", uid}, h.dir.path(), h.env);
  EXPECT_EQ(bad.exit_code, 2) << bad.out << bad.err;  // --note is required
  auto none = jarvis::test::run_jarvis(
      {"memory", "review", "--resolve", uid, "--note", "x", "--json"}, h.dir.path(), h.env);
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(json::parse(none.out, nullptr, false)["error"]["code"], "no_open_conflict");

  // KPIs from what happened: 5 candidates, 2 of them merged (restatements) → 0.4; evidence was
  // reviewed and no claim was unsupported → 0 (a real 0: there was something to count).
  // (The gauges are refreshed right after the run commits: wait for it.)
  EXPECT_TRUE(StateHost::eventually([&] {
    return h.metrics().find("jarvis_plugin_memory_reconciliation_rate 0.4\n") != std::string::npos;
  })) << h.metrics();
  EXPECT_NE(h.metrics().find("jarvis_plugin_memory_hallucination_incidents 0\n"),
            std::string::npos);
}

TEST_P(StateApi, EveryRouteIsOwnerScopedAndHostileInputIsA4xx) {
  StateHost h(GetParam());
  const std::string ta = h.thread_for(h.alice_id);
  const std::string tb = h.thread_for(h.bob_id);
  h.say(ta, h.alice_id, "We decided to use PostgreSQL for the main database.");
  h.say(tb, h.bob_id, "We decided to use Redis for the cache.");
  ASSERT_TRUE(h.wait_items(h.alice, ta, 1));
  ASSERT_TRUE(h.wait_items(h.bob, tb, 1));
  h.say(ta, h.alice_id, "We switched to SQLite instead of PostgreSQL for the main database.");
  ASSERT_TRUE(StateHost::eventually([&] {
    return h.get("/api/v1/memory/state/search?include_superseded=true", h.alice)["total"] == 2;
  }));
  json mine = h.get("/api/v1/memory/state/search", h.alice);
  ASSERT_EQ(mine["total"], 1);
  const std::string alice_uid = mine["items"][0]["uid"];
  const std::string bob_uid = h.get("/api/v1/memory/state/search", h.bob)["items"][0]["uid"];
  EXPECT_EQ(h.get("/api/v1/memory/state/search", h.root)["total"], 2);

  // Failures from real events: a thread-less dead task (admins only) and one in alice's thread.
  for (const char* id : {"1", "2"}) {
    h.emit({{"type", "task.dead_letter"},
            {"trace_id", std::string("trc_dead_") + id},
            {"payload",
             {{"task_id", std::string("tsk_") + id},
              {"name", "bugs.report"},
              {"attempts", 3},
              {"last_error", std::string("timeout after 3") + id + "000 ms"}}}});
  }
  h.emit({{"type", "model.run.error"},
          {"thread_id", ta},
          {"trace_id", "trc_model"},
          {"payload",
           {{"provider", "openai"},
            {"model", "gpt"},
            {"kind", "http_5xx"},
            {"status", 502},
            {"outage_class", "provider_down"}}}});
  ASSERT_TRUE(StateHost::eventually([&] {
    json f = h.get("/api/v1/memory/state/failures", h.root);
    bool twice = false;
    for (const auto& i : f["items"]) twice = twice || i.value("occurrences", 0) == 2;
    return f["total"] == 2 && twice;
  })) << h.get("/api/v1/memory/state/failures", h.root).dump();
  json af = h.get("/api/v1/memory/state/failures", h.alice);
  ASSERT_EQ(af["total"], 1);
  EXPECT_EQ(af["items"][0]["trace_id"], "trc_model");
  EXPECT_EQ(h.get("/api/v1/memory/state/failures", h.bob)["total"], 0);
  EXPECT_EQ(
      h.get("/api/v1/memory/state/failures?similar_to=bugs.report%20timeout", h.root)["total"], 1);
  EXPECT_EQ(h.get("/api/v1/memory/state/failures?phase=model", h.root)["total"], 1);

  // Owner scoping on every route.
  h.get("/api/v1/memory/state/search?thread_id=" + tb, h.alice, 404);
  h.get("/api/v1/memory/state/items/" + bob_uid, h.alice, 404);
  h.get("/api/v1/memory/state/items/" + bob_uid, h.root, 200);
  h.get("/api/v1/memory/state/graph/" + bob_uid, h.alice, 404);
  json g = h.get("/api/v1/memory/state/graph/" + alice_uid + "?depth=2", h.alice);
  EXPECT_EQ(g["edges"].size(), 1u);  // the supersession
  EXPECT_EQ(g["edges"][0]["relation_type"], "supersedes");
  json as = h.get("/api/v1/memory/state/stats", h.alice);
  EXPECT_EQ(as["valid"], 2);  // the current decision and the provider failure in her thread
  EXPECT_EQ(as["superseded"], 1);
  EXPECT_EQ(as["failures_open"], 1);
  EXPECT_EQ(h.get("/api/v1/memory/state/stats", h.bob)["items_total"], 1);
  EXPECT_EQ(h.get("/api/v1/memory/state/stats", h.root)["items_total"], 5);
  json rep = h.post("/api/v1/memory/state/consistency/report", h.alice, {{"thread_id", ta}}, 201);
  EXPECT_EQ(rep["report"]["items_total"], 2);
  EXPECT_EQ(rep["report"]["supersession_chains"]["count"], 1);
  h.post("/api/v1/memory/state/consistency/report", h.alice, {{"thread_id", tb}}, 404);
  h.get("/api/v1/memory/state/consistency/report/" + rep["id"].get<std::string>(), h.bob, 404);
  h.get("/api/v1/memory/state/consistency/report/" + rep["id"].get<std::string>(), h.alice, 200);
  EXPECT_EQ(h.get("/api/v1/memory/state/consistency/report?thread_id=" + ta, h.alice)["total"], 1);
  EXPECT_EQ(h.get("/api/v1/memory/state/consistency/report", h.bob)["total"], 0);
  h.get("/api/v1/memory/state/consistency/report?thread_id=" + ta, h.bob, 404);
  EXPECT_EQ(h.call("GET", "/api/v1/memory/state/stats", "").status, 401);

  // Hostile input: every punctuation character and query operator is plain text.
  std::string punct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
  for (char c : punct) {
    char enc[8];
    std::snprintf(enc, sizeof enc, "%%%02X", static_cast<unsigned char>(c));
    auto r = h.call("GET", std::string("/api/v1/memory/state/search?q=a") + enc + "b", h.alice);
    EXPECT_EQ(r.status, 200) << c << " " << r.body;
    r = h.call("GET", std::string("/api/v1/memory/state/failures?similar_to=") + enc, h.root);
    EXPECT_EQ(r.status, 200) << c << " " << r.body;
  }
  for (const char* q : {"NEAR(postgres%20sqlite)", "%22unbalanced", "postgres*", "(((",
                        "a%20OR%201=1", "%27%3B%20DROP%20TABLE%20memory_state_items%3B--"}) {
    EXPECT_EQ(h.call("GET", std::string("/api/v1/memory/state/search?q=") + q, h.alice).status, 200)
        << q;
  }
  for (const char* path :
       {"/api/v1/memory/state/search?as_of=yesterday", "/api/v1/memory/state/search?type=opinion",
        "/api/v1/memory/state/search?limit=0", "/api/v1/memory/state/search?limit=abc",
        "/api/v1/memory/state/search?include_superseded=maybe",
        "/api/v1/memory/state/failures?phase=nope",
        "/api/v1/memory/state/consistency/report?from_ts=tomorrow"}) {
    EXPECT_EQ(h.call("GET", path, h.alice).status, 400) << path;
  }
  EXPECT_EQ(h.call("GET", "/api/v1/memory/state/graph/" + alice_uid + "?depth=9", h.alice).status,
            400);
  EXPECT_EQ(h.call("GET", "/api/v1/memory/state/graph/d_%27%20OR%201", h.alice).status, 404);
  EXPECT_EQ(h.call("POST", "/api/v1/memory/state/consistency/report", h.alice,
                   R"({"from_ts":"2026-12-01","to_ts":"2026-11-01"})")
                .status,
            422);
  EXPECT_EQ(h.call("POST", "/api/v1/memory/state/consistency/report", h.alice, "[1,2]").status,
            400);
  // Time travel over HTTP: before the switch only the PostgreSQL decision was true.
  json past = h.get("/api/v1/memory/state/search?include_superseded=1&type=decision", h.alice);
  ASSERT_EQ(past["total"], 2);
  const std::string old_from = past["items"][1]["valid_from"];
  json then = h.get("/api/v1/memory/state/search?as_of=" + old_from, h.alice);
  ASSERT_EQ(then["total"], 1);
  EXPECT_EQ(then["items"][0]["superseded_by"], alice_uid);
}

TEST_P(StateApi, TogglesAreHonouredAfterARestartAndLeaveTheDataIntact) {
  StateHost h(GetParam());
  const std::string ta = h.thread_for(h.alice_id);
  h.say(ta, h.alice_id, "We decided to use PostgreSQL for the main database.");
  ASSERT_TRUE(h.wait_items(h.alice, ta, 1));
  const std::string uid = h.get("/api/v1/memory/state/search", h.alice)["items"][0]["uid"];

  h.start({{"MEMORY_GRAPH_ENABLED", "0"}});
  auto r = h.call("GET", "/api/v1/memory/state/graph/" + uid, h.alice);
  EXPECT_EQ(r.status, 409);
  EXPECT_NE(r.body.find("graph_disabled"), std::string::npos);
  EXPECT_EQ(h.get("/api/v1/memory/state/search", h.alice)["total"], 1);

  // Every toggle off: events keep coming, nothing is written to the state tables.
  h.start({{"STATE_EXTRACTION_ENABLED", "0"},
           {"MEMORY_REVIEW_QUEUE_ENABLED", "0"},
           {"MEMORY_FAILURE_BRIDGE_ENABLED", "0"},
           {"MEMORY_GRAPH_ENABLED", "0"}});
  json before = h.get("/api/v1/memory/state/stats", h.root);
  const long long ours = h.task_count(
      "name IN ('memory.state.on_message', "
      "'memory.state.failure', 'memory.state.extract')");
  const long long core = h.task_count("name = 'memory.learn_message'");
  const long long markers = h.learned_markers();
  h.say(ta, h.alice_id, "Use SQLite for the main database");
  h.emit({{"type", "task.dead_letter"},
          {"payload", {{"task_id", "tsk_x"}, {"name", "bugs.report"}, {"last_error", "boom"}}}});
  // The learner batches in process (decision 0047): no task per message any more, for the core
  // or for the state half; the message is learned by the core (its marker row), nothing of ours
  // was even queued.
  ASSERT_TRUE(StateHost::eventually([&] { return h.learned_markers() == markers + 1; }));
  EXPECT_EQ(h.task_count("name = 'memory.learn_message'"), core);
  EXPECT_EQ(h.task_count("name IN ('memory.state.on_message', 'memory.state.failure', "
                         "'memory.state.extract')"),
            ours);
  json after = h.get("/api/v1/memory/state/stats", h.root);
  EXPECT_EQ(after["items_total"], before["items_total"]);
  EXPECT_EQ(after["relations"], before["relations"]);
  EXPECT_EQ(after["toggles"]["extraction"], false);
  EXPECT_EQ(h.get("/api/v1/memory/state/search", h.alice)["total"], 1);  // intact

  // Back on: the same kind of message is extracted again.
  h.start();
  h.say(ta, h.alice_id, "We need to write the runbook.");
  EXPECT_TRUE(h.wait_items(h.alice, ta, 2));
}

TEST_P(StateApi, WithChatTheModelExtractsThroughChatComplete) {
  StateHost h(GetParam(), {.with_chat = true});
  const std::string ta = h.thread_for(h.alice_id);
  h.fake.push(ScriptedReply::text_reply(
      R"([{"type":"constraint","text":"Replies must stay under 200 words","refs":["msg_1"],)"
      R"("confidence":"high","topic_tags":["style"]},)"
      R"({"type":"risk","text":"The datacenter floods every spring","refs":["msg_1"]}])"));
  h.say(ta, h.alice_id, "Please keep replies under 200 words, always.");
  ASSERT_TRUE(StateHost::eventually([&] {
    return h.get("/api/v1/memory/state/search?type=constraint&thread_id=" + ta, h.alice)["total"] ==
           1;
  })) << h.server->output();
  json items = h.get("/api/v1/memory/state/search?type=constraint&thread_id=" + ta, h.alice);
  EXPECT_EQ(items["items"][0]["type"], "constraint");
  EXPECT_EQ(items["items"][0]["source"], "model");
  EXPECT_EQ(items["items"][0]["confidence"], "high");
  // The unsupported claim became a failure item, and the KPI counts it.
  ASSERT_TRUE(StateHost::eventually(
      [&] { return h.get("/api/v1/memory/state/failures?phase=claim", h.alice)["total"] == 1; }));
  ASSERT_TRUE(StateHost::eventually([&] {
    return h.metrics().find("jarvis_plugin_memory_hallucination_incidents 1") != std::string::npos;
  })) << h.metrics();
  auto sent = h.fake.model_requests();
  ASSERT_GE(sent.size(), 1u);
  EXPECT_NE(sent.back().body.find("[msg_1] user: Please keep replies"), std::string::npos);
}

TEST_P(StateApi, AModelSlowerThanTheExtractionTimeoutFallsBackToRules) {
  StateHost h(GetParam(), {.with_chat = true,
                           .env = {{"STATE_EXTRACTION_TIMEOUT_SECONDS", "1"},
                                   {"STATE_EXTRACTION_DEBOUNCE_SECONDS", "0"}}});
  const std::string ta = h.thread_for(h.alice_id);
  // The model answers (a valid array) only after 4 s: too late for a 1 s timeout.
  ScriptedReply slow = ScriptedReply::text_reply(
      R"([{"type":"risk","text":"The model's late answer","refs":["msg_1"]}])");
  slow.first_byte_delay = std::chrono::milliseconds(4000);
  h.fake.push(slow);
  h.say(ta, h.alice_id, "We decided to use PostgreSQL for the main database.");
  ASSERT_TRUE(StateHost::eventually([&] {
    return h.get("/api/v1/memory/state/search?thread_id=" + ta, h.alice).value("total", 0) >= 1;
  })) << h.server->output();
  json items = h.get("/api/v1/memory/state/search?thread_id=" + ta, h.alice);
  for (const auto& it : items["items"]) {
    EXPECT_EQ(it["source"], "rules") << it.dump();  // nothing of the late answer is kept
    EXPECT_EQ(it["text"].get<std::string>().find("late answer"), std::string::npos);
  }
  h.task_count("1 = 1");  // opens `db`
  auto sql = h.db->session();
  json run = jarvis::sql::one_row(*sql, "SELECT method, note FROM memory_state_runs");
  EXPECT_EQ(run.value("method", ""), "rules");
  EXPECT_NE(run.value("note", "").find("timed out after 1 s"), std::string::npos) << run.dump();
  EXPECT_NE(h.metrics().find("state_extraction_timeouts_total"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, StateApi,
                         ::testing::Values(Backend::Sqlite, Backend::Postgresql),
                         jarvis::test::backend_name);

}  // namespace state_api

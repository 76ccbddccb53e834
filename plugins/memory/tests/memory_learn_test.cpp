// memory/tests/memory_learn_test.cpp — batched learning (decision 0047) through a real host on
// SQLite and PostgreSQL: a step's messages and prompt are learned exactly once, an event read
// again (the catch-up after a restart, a task queued by an older version) writes nothing, a kill
// -9 before the batch was written loses nothing and a burst of one thread queues one
// extraction, events of one millisecond are learned in the order they were stored; and (SQLite)
// memory survives a file backup restored into a new host, whose vector index is rebuilt from the
// restored rows.
#include <filesystem>
#include <string>

#include "memory_host_support.h"

namespace memory_test {
namespace {

class MemoryLearn : public ::testing::TestWithParam<Backend> {};

long long count(const MemoryHost& h, const std::string& sql_text, jarvis::sql::Binds binds = {}) {
  auto db = h.open_db();
  auto sql = db->session();
  return jarvis::sql::scalar_int(*sql, sql_text, std::move(binds));
}

json rows(const MemoryHost& h, const std::string& sql_text, jarvis::sql::Binds binds = {}) {
  auto db = h.open_db();
  auto sql = db->session();
  return jarvis::sql::all_rows(*sql, sql_text, std::move(binds));
}

/// Waits until `n` messages are marked learned.
bool learned(const MemoryHost& h, long long n) {
  return eventually([&] { return count(h, "SELECT COUNT(*) FROM memory_message_tokens") == n; });
}

json message(const std::string& thread, const std::string& trace, const std::string& id,
             const std::string& role, const std::string& actor, const std::string& text) {
  return {
      {"type", "message.new"}, {"thread_id", thread},
      {"trace_id", trace},     {"actor_type", role == "user" ? "user" : "agent"},
      {"actor_id", actor},     {"payload", {{"message_id", id}, {"role", role}, {"text", text}}}};
}

TEST_P(MemoryLearn, AStepIsLearnedExactlyOnceWhateverOrderItsTasksRun) {
  MemoryHost h(GetParam());
  const std::string t = h.thread_for(h.alice_id);
  // One step as chat writes it: the user's message, the prompt (with retrieved memory), the reply.
  h.emit(message(t, "tr_step", "m_u", "user", h.alice_id,
                 "We decided to keep the staging database on the small VM"));
  h.emit({{"type", "prompt.build"},
          {"thread_id", t},
          {"trace_id", "tr_step"},
          {"payload", {{"tail_tokens", 7}, {"summary_tokens", 0}, {"context_tokens", 3}}}});
  h.emit(message(t, "tr_step", "m_a", "assistant", "agent:main",
                 "Understood: staging stays on the small VM."));
  ASSERT_TRUE(eventually([&] {
    return count(h, "SELECT COUNT(*) FROM memory_prompt_stats WHERE thread_id = :t", {t}) == 1;
  }));
  ASSERT_TRUE(learned(h, 2));
  // Two items, two token rows, one measurement, whichever task (or the prompt flush) took the
  // batch: the prompt's raw count is the user's message only (the reply came after it).
  EXPECT_EQ(count(h, "SELECT COUNT(*) FROM memory_items WHERE thread_id = :t", {t}), 2);
  EXPECT_EQ(count(h, "SELECT COUNT(*) FROM memory_message_tokens WHERE thread_id = :t", {t}), 2);
  const std::string user_text = "We decided to keep the staging database on the small VM";
  EXPECT_EQ(count(h, "SELECT raw_tokens FROM memory_prompt_stats"),
            4 + static_cast<long long>((user_text.size() + 3) / 4));
  EXPECT_EQ(count(h, "SELECT used_tokens FROM memory_prompt_stats"), 10);
  // Every learn task ran once and none failed.
  EXPECT_EQ(count(h,
                  "SELECT COUNT(*) FROM tasks WHERE name LIKE 'memory.%' AND status IN "
                  "('failed', 'dead')"),
            0);
}

TEST_P(MemoryLearn, AnEventReadAgainWritesNothing) {
  MemoryHost h(GetParam());
  const std::string t = h.thread_for(h.alice_id);
  const std::string ev = h.emit(message(t, "tr_dup", "m_dup", "user", h.alice_id,
                                        "We decided the release train leaves every Tuesday"));
  ASSERT_TRUE(learned(h, 1));
  ASSERT_TRUE(eventually([&] {
    return count(h, "SELECT COUNT(*) FROM memory_state_pending WHERE thread_id = :t", {t}) == 0 &&
           count(h, "SELECT COUNT(*) FROM memory_state_runs WHERE thread_id = :t", {t}) == 1;
  }));
  const long long items = count(h, "SELECT COUNT(*) FROM memory_items");
  const long long state_items = count(h, "SELECT COUNT(*) FROM memory_state_items");
  ASSERT_EQ(items, 1);
  auto unchanged = [&] {
    EXPECT_EQ(count(h, "SELECT COUNT(*) FROM memory_items"), items);
    EXPECT_EQ(count(h, "SELECT COUNT(*) FROM memory_message_tokens"), 1);
    EXPECT_EQ(count(h, "SELECT COUNT(*) FROM memory_state_pending"), 0);  // not queued again
    EXPECT_EQ(count(h, "SELECT COUNT(*) FROM memory_state_runs"), 1);
    EXPECT_EQ(count(h, "SELECT COUNT(*) FROM memory_state_items"), state_items);
  };

  // 1. A restart: the catch-up reads the event back from the event store (it is after the
  //    cursor minus the overlap) and finds it learned.
  h.server.reset();  // SIGTERM, waits
  const std::string restarted_at = jarvis::now_iso();
  h.server = std::make_unique<jarvis::test::ServerProcess>(h.dir.path(), h.env);
  ASSERT_TRUE(h.server->ready()) << h.server->output();
  ASSERT_TRUE(eventually([&] {
    return count(h, "SELECT COUNT(*) FROM memory_learn_cursor WHERE updated_at > :r",
                 {restarted_at}) == 1;
  })) << h.server->output();
  unchanged();

  // 2. A memory.learn_message task of a version before decision 0047 delivers it once more.
  json e = rows(h,
                "SELECT id, type, created_at, thread_id, trace_id, actor_type, actor_id, payload "
                "FROM events WHERE id = :i",
                {ev})[0];
  e["payload"] = json::parse(e["payload"].get<std::string>());
  {
    auto db = h.open_db();
    auto sql = db->session();
    const std::string now = jarvis::now_iso();
    jarvis::sql::exec(
        *sql,
        "INSERT INTO tasks(id, name, payload, status, priority, attempts, "
        "max_attempts, run_after, idempotency_key, created_at, updated_at) VALUES("
        "'tsk_redelivered', 'memory.learn_message', :p, 'queued', 0, 0, 5, :r, :k, "
        ":c, :u)",
        {e.dump(), jarvis::iso_from_now(-1000), ev + ":memory.learn_message", now, now});
  }
  ASSERT_TRUE(eventually([&] {
    return count(h,
                 "SELECT COUNT(*) FROM tasks WHERE id = 'tsk_redelivered' AND status = "
                 "'succeeded'") == 1;
  }));
  json res = json::parse(
      rows(h, "SELECT result FROM tasks WHERE id = 'tsk_redelivered'")[0].value("result", "{}"));
  EXPECT_EQ(res.value("skipped", ""), "learned_already") << res.dump();
  unchanged();
}

TEST_P(MemoryLearn, EventsOfOneMillisecondAreLearnedInTheOrderTheyWereStored) {
  // The tie forced: a step's user message, prompt and reply stored with one created_at (the
  // event bus stamps milliseconds; a burst can share one) while the host is down, with ids whose
  // order is the reverse. The catch-up reads messages and prompts in separate pages and the
  // prompt's trace after it; only the store's insertion order says the reply came after the
  // prompt and the user's message before it (ordered by created_at alone — or by id — the prompt
  // came first and counted no raw tokens).
  MemoryHost h(GetParam());
  const std::string t = h.thread_for(h.alice_id);
  h.server.reset();  // SIGTERM, waits
  const std::string user_text = "We decided to keep the staging database on the small VM";
  {
    auto db = h.open_db();
    auto sql = db->session();
    const std::string at = jarvis::now_iso();
    auto store = [&](const std::string& id, const std::string& type, const std::string& actor_type,
                     const std::string& actor, const json& p) {
      jarvis::sql::exec(*sql,
                        "INSERT INTO events(id, created_at, trace_id, type, component, actor_type, "
                        "actor_id, thread_id, payload) VALUES(:i, :c, 'tr_tie', :ty, 'chat', :at, "
                        ":a, :t, :p)",
                        {id, at, type, actor_type, actor, t, p.dump()});
    };
    store("evt_zz_user", "message.new", "user", h.alice_id,
          {{"message_id", "m_tie_u"}, {"role", "user"}, {"text", user_text}});
    store("evt_aa_prompt", "prompt.build", "agent", "agent:main",
          {{"tail_tokens", 7}, {"summary_tokens", 0}, {"context_tokens", 3}});
    store("evt_mm_reply", "message.new", "agent", "agent:main",
          {{"message_id", "m_tie_a"},
           {"role", "assistant"},
           {"text", "Understood: staging stays on the small VM."}});
  }
  h.server = std::make_unique<jarvis::test::ServerProcess>(h.dir.path(), h.env);
  ASSERT_TRUE(h.server->ready()) << h.server->output();
  ASSERT_TRUE(eventually([&] {
    return count(h, "SELECT COUNT(*) FROM memory_prompt_stats WHERE thread_id = :t", {t}) == 1;
  })) << h.server->output();
  ASSERT_TRUE(learned(h, 2));
  // The prompt's raw count is the user's message only: stored before it, the reply after it.
  EXPECT_EQ(count(h, "SELECT raw_tokens FROM memory_prompt_stats WHERE thread_id = :t", {t}),
            4 + static_cast<long long>((user_text.size() + 3) / 4));
}

TEST_P(MemoryLearn, AKillNineBeforeTheBatchLosesNothingAndABurstIsOneExtraction) {
  // A long debounce keeps the burst's extraction queued (a batch in flight) until we release it.
  MemoryHost h(GetParam(), {.env = {{"STATE_EXTRACTION_DEBOUNCE_SECONDS", "3600"}}});
  const std::string t = h.thread_for(h.alice_id);
  const std::vector<std::string> said = {
      "We decided to ship the mobile app in March", "The login page must support passkeys",
      "We need to rotate the signing keys before launch", "Use Redis for the session cache",
      "The vendor contract risks a price increase next year"};
  for (std::size_t i = 0; i < said.size(); ++i) {
    h.emit(message(t, "tr_burst_" + std::to_string(i), "m_b" + std::to_string(i), "user",
                   h.alice_id, said[i]));
  }
  // kill -9 at once: the in-process batch (flushed every second) may not have been written.
  h.server->kill9();
  const long long before = count(h, "SELECT COUNT(*) FROM memory_message_tokens");
  EXPECT_LE(before, static_cast<long long>(said.size()));
  h.server = std::make_unique<jarvis::test::ServerProcess>(h.dir.path(), h.env);
  ASSERT_TRUE(h.server->ready()) << h.server->output();
  // The new host's catch-up learns what the dead one had not written — each message once.
  ASSERT_TRUE(learned(h, static_cast<long long>(said.size()))) << h.server->output();
  EXPECT_EQ(count(h, "SELECT COUNT(*) FROM memory_items"), static_cast<long long>(said.size()));
  EXPECT_EQ(count(h, "SELECT COUNT(*) FROM memory_state_pending WHERE thread_id = :t", {t}),
            static_cast<long long>(said.size()));
  // Five messages, one queued extraction (one task serves every thread with pending messages).
  EXPECT_EQ(count(h,
                  "SELECT COUNT(*) FROM tasks WHERE name = 'memory.state.extract' AND status = "
                  "'queued'"),
            1);
  EXPECT_EQ(count(h, "SELECT COUNT(*) FROM memory_state_runs"), 0);
  // The debounce "passes": one run takes every message, nothing twice.
  {
    auto db = h.open_db();
    auto sql = db->session();
    jarvis::sql::exec(*sql,
                      "UPDATE tasks SET run_after = :r WHERE name = 'memory.state.extract' AND "
                      "status = 'queued'",
                      {jarvis::iso_from_now(-1000)});
  }
  ASSERT_TRUE(eventually([&] {
    return count(h, "SELECT COUNT(*) FROM memory_state_pending WHERE thread_id = :t", {t}) == 0 &&
           count(h, "SELECT COUNT(*) FROM memory_state_runs WHERE thread_id = :t", {t}) >= 1;
  })) << h.server->output();
  EXPECT_EQ(
      count(h, "SELECT COALESCE(SUM(messages), 0) FROM memory_state_runs WHERE thread_id = :t",
            {t}),
      static_cast<long long>(said.size()));
  EXPECT_EQ(count(h, "SELECT COUNT(*) FROM memory_items"), static_cast<long long>(said.size()));
  EXPECT_GE(count(h, "SELECT COUNT(*) FROM memory_state_items WHERE thread_id = :t", {t}), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, MemoryLearn,
                         ::testing::Values(Backend::Sqlite, Backend::Postgresql),
                         jarvis::test::backend_name);

/// A misspelt query (no full-text match) finds `id` only through the vector index.
bool found_only_by_vector(const MemoryHost& h, const std::string& token, const std::string& q,
                          const std::string& id) {
  return eventually([&] {
    json r = h.get_json("/api/v1/memory?q=" + q, token);
    if (!r.contains("items") || r["items"].empty()) return false;
    return r["items"][0].value("id", "") == id && r["items"][0]["score_parts"]["fts"].is_null();
  });
}

TEST(MemoryBackup, MemorySurvivesAFileBackupRestoredIntoANewHostAndItsIndexIsRebuilt) {
  namespace fs = std::filesystem;
  MemoryHost a(Backend::Sqlite);
  auto made = a.call("POST", "/api/v1/memory", a.alice,
                     {{"text", "The lighthouse keeper logs every passing ship at dawn"}});
  ASSERT_EQ(made.status, 201) << made.body;
  const std::string id = json::parse(made.body)["item"]["id"];
  const std::string t = a.thread_for(a.alice_id);
  a.emit(message(t, "tr_bk", "m_bk", "user", a.alice_id,
                 "We decided the observatory opens its dome only below force five winds"));
  ASSERT_TRUE(found_only_by_vector(a, a.alice, "lihgthouse%20keepre%20psasing", id));
  ASSERT_TRUE(eventually([&] {
    return count(a, "SELECT COUNT(*) FROM memory_vectors") == 2 &&
           count(a, "SELECT COUNT(*) FROM memory_state_items WHERE thread_id = :t", {t}) >= 1;
  }));
  const long long items = count(a, "SELECT COUNT(*) FROM memory_items");
  const long long state_items = count(a, "SELECT COUNT(*) FROM memory_state_items");
  // Backup: the database file copied while the host is stopped (runbook, Memory Rollback and
  // Recovery); nothing of the old index directory comes along.
  EXPECT_EQ(a.server->terminate(), 0) << a.server->output();
  jarvis::test::TempDir restore;
  const std::string copy = restore.file("restored.db");
  fs::copy_file(a.url, copy);
  for (const char* side : {"-wal", "-shm"}) {
    if (fs::exists(a.url + side)) fs::copy_file(a.url + side, copy + side);
  }
  const std::string index_dir = restore.file("fresh-index");
  MemoryHost b(Backend::Sqlite,
               {.env = {{"APP_DB", copy}, {"MEMORY_INDEX_DIR", index_dir}}, .database_url = copy});
  // The rows came back, owner-scoped as before.
  EXPECT_EQ(b.get_json("/api/v1/memory/stats", a.alice)["total_items"], items);
  EXPECT_EQ(b.get_json("/api/v1/memory?q=observatory%20dome", a.bob)["items"].size(), 0u);
  EXPECT_EQ(b.get_json("/api/v1/memory/state/search?thread_id=" + t, a.alice).value("total", -1),
            state_items);
  // The new host's index is rebuilt from the restored vector rows: the misspelt query finds it.
  EXPECT_TRUE(found_only_by_vector(b, a.alice, "lihgthouse%20keepre%20psasing", id))
      << b.server->output();
  // And an operator's reindex on the restored database re-embeds every row.
  auto re = b.cli({"memory", "reindex", "--json"});
  ASSERT_EQ(re.exit_code, 0) << re.out << re.err;
  json r = json::parse(re.out, nullptr, false);
  EXPECT_EQ(r.value("embedded", -1), items) << re.out;
  EXPECT_EQ(r.value("indexed", -1), items) << re.out;
  EXPECT_TRUE(fs::exists(index_dir));
}

}  // namespace
}  // namespace memory_test

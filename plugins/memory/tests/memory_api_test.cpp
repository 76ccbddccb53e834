// memory/tests/memory_api_test.cpp — the memory routes, tools, learning and KPIs through a real
// host on SQLite and PostgreSQL: owner scoping on every route, redaction with its audit, hostile
// query text over HTTP, tombstone then purge, learning from chat-like events, the KPIs of a
// scripted conversation, every toggle off, and two hosts on one PostgreSQL.
#include <gtest/gtest.h>

#include "ip_kernels.h"
#include "memory_host_support.h"

namespace memory_test {
namespace {

class MemoryApi : public ::testing::TestWithParam<Backend> {};

/// Waits until `id` has a vector in the server's index (search finds it by vector).
bool found_by_vector(const MemoryHost& h, const std::string& token, const std::string& q,
                     const std::string& id) {
  return eventually([&] {
    json r = h.get_json("/api/v1/memory?q=" + q, token);
    if (!r.contains("items")) return false;
    for (const auto& it : r["items"]) {
      if (it["id"] == id && !it["score_parts"]["vector"].is_null()) return true;
    }
    return false;
  });
}

TEST_P(MemoryApi, EveryRouteIsOwnerScoped) {
  MemoryHost h(GetParam());
  const std::string t_alice = h.thread_for(h.alice_id);
  auto made = h.call(
      "POST", "/api/v1/memory", h.alice,
      {{"text", "Alice keeps her passport in the left desk drawer"}, {"thread_id", t_alice}});
  ASSERT_EQ(made.status, 201) << made.body;
  const std::string id = json::parse(made.body)["item"]["id"];
  ASSERT_TRUE(found_by_vector(h, h.alice, "passport%20drawer", id));

  // Search, stats, export: bob sees none of it; admins see it.
  EXPECT_TRUE(h.get_json("/api/v1/memory?q=passport", h.bob)["items"].empty());
  EXPECT_TRUE(h.get_json("/api/v1/memory", h.bob)["items"].empty());
  EXPECT_EQ(h.get_json("/api/v1/memory/stats", h.bob)["total_items"], 0);
  EXPECT_EQ(h.get_json("/api/v1/memory/stats", h.alice)["total_items"], 1);
  // The index's kernel is the fastest this CPU runs (decision 0099).
  EXPECT_EQ(h.get_json("/api/v1/memory/stats", h.alice)["vector_kernel"],
            jarvis::memory::inner_product_kernel().name);
  EXPECT_TRUE(h.get_json("/api/v1/memory/export", h.bob)["items"].empty());
  EXPECT_EQ(h.get_json("/api/v1/memory/export", h.alice)["items"].size(), 1u);
  EXPECT_EQ(h.get_json("/api/v1/memory?q=passport", h.admin)["items"].size(), 1u);
  // A user cannot widen the scope with owner_id; bob naming alice's thread is a 404.
  EXPECT_TRUE(
      h.get_json("/api/v1/memory?q=passport&owner_id=" + h.alice_id, h.bob)["items"].empty());
  EXPECT_EQ(h.call("GET", "/api/v1/memory?q=passport&thread_id=" + t_alice, h.bob).status, 404);
  EXPECT_EQ(h.call("GET", "/api/v1/memory/export?thread_id=" + t_alice, h.bob).status, 404);
  // Writing into someone else's thread, deleting or rating someone else's item: 404.
  auto into =
      h.call("POST", "/api/v1/memory", h.bob, {{"text", "bob's note"}, {"thread_id", t_alice}});
  EXPECT_EQ(into.status, 404);
  EXPECT_EQ(error_code(into), "thread_not_found");
  EXPECT_EQ(h.call("DELETE", "/api/v1/memory/" + id, h.bob).status, 404);
  EXPECT_EQ(h.call("POST", "/api/v1/memory/" + id + "/feedback", h.bob, {{"useful", true}}).status,
            404);
  EXPECT_EQ(h.get_json("/api/v1/memory/stats", h.alice)["total_items"], 1);
  // Anonymous callers get 401 everywhere.
  for (const auto& [m, p] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/api/v1/memory"},
                                                        {"POST", "/api/v1/memory"},
                                                        {"GET", "/api/v1/memory/stats"},
                                                        {"GET", "/api/v1/memory/export"},
                                                        {"DELETE", "/api/v1/memory/" + id}}) {
    EXPECT_EQ(h.call(m, p, "").status, 401) << m << " " << p;
  }
  // The owner deletes: gone at once, purged later (MEMORY_PURGE_AFTER_HOURS, 24 h here).
  EXPECT_EQ(
      h.call("POST", "/api/v1/memory/" + id + "/feedback", h.alice, {{"useful", true}}).status,
      200);
  EXPECT_EQ(h.call("DELETE", "/api/v1/memory/" + id, h.alice).status, 200);
  EXPECT_EQ(h.call("DELETE", "/api/v1/memory/" + id, h.alice).status, 404);
  EXPECT_TRUE(h.get_json("/api/v1/memory?q=passport", h.alice)["items"].empty());
  EXPECT_EQ(h.get_json("/api/v1/memory/stats", h.alice)["deleted_pending_purge"], 1);
}

TEST_P(MemoryApi, HostileQueriesAnswer200AndRedactionIsAudited) {
  MemoryHost h(GetParam(), {.env = {{"MEMORY_PURGE_AFTER_HOURS", "0"}}});
  auto r =
      h.call("POST", "/api/v1/memory", h.alice,
             {{"text", "deploy key sk-proj-AbCdEfGhIjKlMnOpQrStUvWx123 and mail ops@example.com"}});
  ASSERT_EQ(r.status, 201) << r.body;
  json item = json::parse(r.body)["item"];
  EXPECT_EQ(json::parse(r.body)["redactions"], 2);
  EXPECT_EQ(item["text"], "deploy key [REDACTED:openai_key] and mail [REDACTED:email]");
  for (const char* q : {"%22", "(", ")", "*", "NEAR", "%22deploy", "key%20AND%20(", "^", "a:b", "-",
                        "%2B", "OR%20OR", "%5C", "%27", "NOT", "%7B"}) {
    auto s = h.call("GET", std::string("/api/v1/memory?q=") + q, h.alice);
    EXPECT_EQ(s.status, 200) << q << ": " << s.body;
  }
  EXPECT_EQ(h.call("GET", "/api/v1/memory?limit=0", h.alice).status, 400);
  EXPECT_EQ(h.call("GET", "/api/v1/memory?from_ts=yesterday", h.alice).status, 400);
  EXPECT_EQ(h.call("POST", "/api/v1/memory", h.alice, {{"text", ""}}).status, 400);
  EXPECT_EQ(h.call("POST", "/api/v1/memory", h.alice, {{"text", 5}}).status, 400);
  EXPECT_EQ(h.call("POST", "/api/v1/memory", h.alice,
                   {{"text",
                     [] {
                       std::string t;
                       while (t.size() < 9000) t += "word ";
                       return t;
                     }()}})
                .status,
            413);
  auto st = h.cli({"memory", "stats", "--json"});
  ASSERT_EQ(st.exit_code, 0) << st.err;
  EXPECT_EQ(json::parse(st.out)["redactions"], 2);
  // Purge: the job removes the tombstoned row for good.
  ASSERT_EQ(h.call("DELETE", "/api/v1/memory/" + item["id"].get<std::string>(), h.alice).status,
            200);
  auto job =
      h.cli({"tasks", "enqueue", "memory.jobs", "--payload", "{\"job\":\"purge\"}", "--wait"});
  EXPECT_EQ(job.exit_code, 0) << job.out << job.err;
  EXPECT_EQ(h.get_json("/api/v1/memory/stats", h.alice)["deleted_pending_purge"], 0);
}

TEST_P(MemoryApi, PiiDenyModeRefusesAndAudits) {
  MemoryHost h(GetParam(), {.env = {{"MEMORY_PII_REDACT_MODE", "deny"}}});
  auto r = h.call("POST", "/api/v1/memory", h.alice, {{"text", "call me on +1 415 555 0100"}});
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(error_code(r), "pii_denied");
  EXPECT_EQ(h.get_json("/api/v1/memory/stats", h.alice)["total_items"], 0);
  auto st = h.cli({"memory", "stats", "--json"});
  EXPECT_EQ(json::parse(st.out)["redactions"], 1);
}

TEST_P(MemoryApi, LearnsFromMessagesAndMeasuresTokensSaved) {
  MemoryHost h(GetParam());
  const std::string t = h.thread_for(h.alice_id);
  // KPI absent before any measured prompt; items_count is a real count.
  EXPECT_FALSE(h.metric("jarvis_plugin_memory_avg_tokens_saved").has_value());
  const std::string user_text = "I moved the car to the third floor of the north garage";
  const std::string answer = "Noted: the car is on the third floor of the north garage.";
  // chat's estimate of a message: 4 + ceil(bytes / 4)
  auto tokens = [](const std::string& s) { return 4 + static_cast<long long>((s.size() + 3) / 4); };
  long long raw = tokens(user_text) + tokens(answer);
  h.emit({{"type", "message.new"},
          {"thread_id", t},
          {"trace_id", "tr_1"},
          {"actor_type", "user"},
          {"actor_id", h.alice_id},
          {"payload", {{"message_id", "msg_1"}, {"role", "user"}, {"text", user_text}}}});
  h.emit({{"type", "message.new"},
          {"thread_id", t},
          {"trace_id", "tr_1"},
          {"actor_type", "agent"},
          {"actor_id", "agent:main"},
          {"payload", {{"message_id", "msg_2"}, {"role", "assistant"}, {"text", answer}}}});
  // Not kept: a slash command, a question, a short acknowledgement, JSON — only counted.
  for (const auto& [id, text] : std::vector<std::pair<std::string, std::string>>{
           {"msg_3", "/status"},
           {"msg_4", "where is my car?"},
           {"msg_5", "ok"},
           {"msg_6", "{\"tool\":\"x\",\"result\":1}"}}) {
    h.emit({{"type", "message.new"},
            {"thread_id", t},
            {"trace_id", "tr_2"},
            {"actor_type", "user"},
            {"actor_id", h.alice_id},
            {"payload", {{"message_id", id}, {"role", "user"}, {"text", text}}}});
    raw += tokens(text);
  }
  ASSERT_TRUE(
      eventually([&] { return h.get_json("/api/v1/memory/stats", h.alice)["total_items"] == 2; }));
  json r = h.get_json("/api/v1/memory?q=garage", h.alice);
  ASSERT_EQ(r["items"].size(), 2u);
  for (const auto& it : r["items"]) {
    EXPECT_EQ(it["thread_id"], t);
    EXPECT_FALSE(it["evidence_refs"].empty());
  }
  // A prompt of this thread with retrieved memory and a summary (chat's prompt.build report):
  // saved = raw tokens of the thread's messages so far - (tail 20 + summary 5 + context 10).
  const double expected = static_cast<double>(raw - 35);
  h.emit({{"type", "prompt.build"},
          {"thread_id", t},
          {"trace_id", "tr_2"},
          {"actor_type", "agent"},
          {"actor_id", "agent:main"},
          {"payload", {{"tail_tokens", 20}, {"summary_tokens", 5}, {"context_tokens", 10}}}});
  // A prompt without memory or summary is not a measurement.
  h.emit({{"type", "prompt.build"},
          {"thread_id", t},
          {"trace_id", "tr_3"},
          {"payload", {{"tail_tokens", 20}, {"summary_tokens", 0}, {"context_tokens", 0}}}});
  ASSERT_TRUE(eventually([&] {
    auto v = h.metric("jarvis_plugin_memory_avg_tokens_saved");
    return v.has_value() && *v == expected;
  })) << h.metric("jarvis_plugin_memory_avg_tokens_saved").value_or(-1);
  ASSERT_TRUE(eventually([&] { return h.metric("jarvis_plugin_memory_items_count") == 2.0; }));
  auto st = h.cli({"memory", "stats", "--json"});
  EXPECT_EQ(json::parse(st.out)["measured_prompts"], 1);
  EXPECT_EQ(json::parse(st.out)["avg_tokens_saved"], expected);
}

TEST_P(MemoryApi, ToolsActOnTheCallersOwnItems) {
  MemoryHost h(GetParam());
  for (const char* tool : {"memory.search", "memory.remember", "memory.forget"}) {
    auto g = h.cli({"permissions", "allow", "agent:test", tool});
    ASSERT_EQ(g.exit_code, 0) << g.err;
  }
  auto invoke = [&](const std::string& tool, const json& args, const std::string& user) {
    auto r = h.call("POST", "/api/v1/tools/" + tool + "/invoke", h.admin,
                    {{"args", args}, {"as", "agent:test"}, {"on_behalf_of", user}});
    return json::parse(r.body, nullptr, false);
  };
  json rem = invoke("memory.remember",
                    {{"text", "Bob's bike lock code is kept in the red notebook"}}, "bob");
  ASSERT_TRUE(rem.dump().find("mem_") != std::string::npos) << rem.dump();
  ASSERT_TRUE(eventually([&] {
    return invoke("memory.search", {{"query", "bike lock notebook"}}, "bob")
               .dump()
               .find("red notebook") != std::string::npos;
  }));
  EXPECT_EQ(
      invoke("memory.search", {{"query", "bike lock notebook"}}, "alice").dump().find("notebook"),
      std::string::npos);
  std::string id = rem.contains("result") ? rem["result"].value("id", "") : rem.value("id", "");
  ASSERT_FALSE(id.empty()) << rem.dump();
  EXPECT_NE(invoke("memory.forget", {{"id", id}}, "alice").dump().find("memory_not_found"),
            std::string::npos);
  EXPECT_NE(invoke("memory.forget", {{"id", id}}, "bob").dump().find("deleted_at"),
            std::string::npos);
}

TEST_P(MemoryApi, WithEveryToggleOffNothingWritesMemoryTables) {
  MemoryHost h(GetParam(), {.env = {{"MEMORY_WRITES_ENABLED", "0"},
                                    {"MEMORY_LEARN_ENABLED", "0"},
                                    {"MEMORY_TIERS_ENABLED", "0"},
                                    {"MEMORY_IMPORTANCE_ENABLED", "0"},
                                    {"MEMORY_REVIEW_QUEUE_ENABLED", "0"},
                                    {"MEMORY_FAILURE_BRIDGE_ENABLED", "0"},
                                    {"MEMORY_GRAPH_ENABLED", "0"}}});
  const long long before = h.memory_rows();
  const std::string t = h.thread_for(h.alice_id);
  auto r =
      h.call("POST", "/api/v1/memory", h.alice, {{"text", "this must not be stored anywhere"}});
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(error_code(r), "memory_read_only");
  const std::string ev =
      h.emit({{"type", "message.new"},
              {"thread_id", t},
              {"trace_id", "tr_9"},
              {"payload",
               {{"message_id", "m9"}, {"role", "user"}, {"text", "I always park on level two"}}}});
  h.emit({{"type", "prompt.build"},
          {"thread_id", t},
          {"trace_id", "tr_9"},
          {"payload", {{"tail_tokens", 3}, {"summary_tokens", 1}, {"context_tokens", 1}}}});
  auto job = h.cli({"tasks", "enqueue", "memory.jobs", "--payload", "{\"job\":\"all\"}", "--wait"});
  EXPECT_EQ(job.exit_code, 0) << job.out << job.err;
  // The learn tasks ran (and did nothing): wait for the queue to drain, then count rows.
  ASSERT_TRUE(eventually([&] {
    auto db = h.open_db();
    auto sql = db->session();
    return jarvis::sql::scalar_int(*sql,
                                   "SELECT COUNT(*) FROM tasks WHERE name LIKE 'memory.%' AND "
                                   "status IN ('queued', 'running')") == 0;
  }));
  EXPECT_TRUE(h.get_json("/api/v1/memory?q=park", h.alice)["items"].empty());
  EXPECT_EQ(h.memory_rows(), before);
}

INSTANTIATE_TEST_SUITE_P(Backends, MemoryApi,
                         ::testing::Values(Backend::Sqlite, Backend::Postgresql),
                         jarvis::test::backend_name);

TEST(MemoryTwoHosts, AnItemWrittenThroughOneHostIsFoundByVectorOnTheOther) {
  MemoryHost a(Backend::Postgresql);
  MemoryHost b(Backend::Postgresql, {.database_url = a.url});
  auto made = a.call("POST", "/api/v1/memory", a.alice,
                     {{"text", "The lighthouse keeper logs every passing ship at dawn"}});
  ASSERT_EQ(made.status, 201) << made.body;
  const std::string id = json::parse(made.body)["item"]["id"];
  // Misspelt: no full-text match, so only host b's vector index can find it.
  const std::string q = "/api/v1/memory?q=lihgthouse%20keepre%20psasing";
  ASSERT_TRUE(found_by_vector(b, a.alice, "lihgthouse%20keepre%20psasing", id))
      << b.get_json(q, a.alice).dump() << "\n"
      << b.get_json("/api/v1/memory/stats", a.admin).dump() << "\n"
      << b.server->output();
  json r = b.get_json(q, a.alice);
  EXPECT_TRUE(r["items"][0]["score_parts"]["fts"].is_null());
}

}  // namespace
}  // namespace memory_test

namespace memory_test {
namespace {

/// Ages every item of the host's database by `days` (created, valid_from and last access).
void age_items(const MemoryHost& h, int days) {
  auto db = h.open_db();
  auto tx = db->transaction();
  const std::string then = jarvis::iso_from_now(-static_cast<long long>(days) * 86400000LL);
  jarvis::sql::exec(
      tx->session(),
      "UPDATE memory_items SET created_at = :c, valid_from = :v, last_accessed_at = NULL",
      {then, then});
  tx->commit();
}

/// tier and importance of item `id`, read from the table.
json tier_of(const MemoryHost& h, const std::string& id) {
  auto db = h.open_db();
  auto sql = db->session();
  jarvis::sql::Binds b{id};
  json out;
  jarvis::sql::for_each_row(*sql,
                            "SELECT tier, archived_at, importance FROM memory_items WHERE id = :i",
                            b, [&](const soci::row& r) {
                              out = {{"tier", jarvis::sql::column(r, 0)},
                                     {"archived", !jarvis::sql::column(r, 1).is_null()},
                                     {"importance", jarvis::sql::column(r, 2)}};
                            });
  return out;
}

class MemoryTiers : public ::testing::TestWithParam<Backend> {};

TEST_P(MemoryTiers, TiersMoveAndArchiveOnlyWhenEnabled) {
  for (const bool enabled : {false, true}) {
    const std::string on = enabled ? "1" : "0";
    MemoryHost h(GetParam(),
                 {.env = {{"MEMORY_TIERS_ENABLED", on}, {"MEMORY_IMPORTANCE_ENABLED", on}}});
    auto r =
        h.call("POST", "/api/v1/memory", h.alice, {{"text", "the attic ladder needs a new hinge"}});
    ASSERT_EQ(r.status, 201) << r.body;
    const std::string id = json::parse(r.body)["item"]["id"];
    const json before = tier_of(h, id);
    EXPECT_EQ(before["tier"], "working");
    age_items(h, 200);  // older than working hours and MEMORY_ARCHIVE_AFTER_DAYS (90)
    auto job =
        h.cli({"tasks", "enqueue", "memory.jobs", "--payload", "{\"job\":\"all\"}", "--wait"});
    ASSERT_EQ(job.exit_code, 0) << job.out << job.err;
    const json after = tier_of(h, id);
    if (enabled) {
      EXPECT_EQ(after["tier"], "episodic");
      EXPECT_TRUE(after["archived"].get<bool>());  // importance fell below 0.35 with age
      EXPECT_LT(after["importance"].get<double>(), before["importance"].get<double>());
      // Archived items are not searched but are still exported.
      EXPECT_TRUE(h.get_json("/api/v1/memory?q=attic%20ladder", h.alice)["items"].empty());
      EXPECT_EQ(h.get_json("/api/v1/memory/export", h.alice)["items"].size(), 1u);
    } else {
      EXPECT_EQ(after, before);  // the off-switches leave the data as it was
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, MemoryTiers,
                         ::testing::Values(Backend::Sqlite, Backend::Postgresql),
                         jarvis::test::backend_name);

}  // namespace
}  // namespace memory_test

// memory/tests/memory_providers_test.cpp — the openai and ollama embedding providers through a
// real host against FakeEmbeddings: vectors are computed by the embed task (a provider failure is
// retried), the key is sent, and the items become findable by vector.
#include <gtest/gtest.h>

#include "memory_host_support.h"
#include "support/fakes/fake_embeddings.h"

namespace memory_test {
namespace {

using jarvis::test::fakes::FakeEmbeddings;

/// True once `id` is a hit of `q` with a vector part.
bool vector_hit(const MemoryHost& h, const std::string& q, const std::string& id) {
  return eventually([&] {
    json r = h.get_json("/api/v1/memory?q=" + q, h.alice);
    for (const auto& it : r.value("items", json::array())) {
      if (it["id"] == id && !it["score_parts"]["vector"].is_null()) return true;
    }
    return false;
  });
}

TEST(MemoryProviders, OpenAiCompatibleEmbeddingsInATaskWithRetries) {
  FakeEmbeddings fake;
  fake.set_api_key("sk-embed");
  fake.fail_next({503});  // the first call fails: an embed task retries, a search degrades
  MemoryHost h(Backend::Sqlite, {.env = {{"MEMORY_EMBED_PROVIDER", "openai"},
                                         {"MEMORY_EMBED_BASE_URL", fake.base_url() + "/v1"},
                                         {"MEMORY_EMBED_MODEL", "text-embedding-3-small"},
                                         {"MEMORY_EMBED_API_KEY", "sk-embed"}}});
  auto r =
      h.call("POST", "/api/v1/memory", h.alice, {{"text", "the boat is moored at pier seven"}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id = json::parse(r.body)["item"]["id"];
  // Written before any embedding: the row exists, its vector follows.
  ASSERT_TRUE(vector_hit(h, "boat%20moored%20pier", id)) << h.server->output();
  // The embed call (which the injected 503 may have hit first — or a search's query call did).
  auto reqs = fake.requests();
  ASSERT_GE(reqs.size(), 2u);
  bool embedded = false;
  for (const auto& q : reqs) {
    EXPECT_EQ(q.authorization, "Bearer sk-embed");
    EXPECT_EQ(q.body["model"], "text-embedding-3-small");
    if (q.body["input"] == json::array({"the boat is moored at pier seven"})) embedded = true;
  }
  EXPECT_TRUE(embedded);
  json st = h.get_json("/api/v1/memory/stats", h.alice);
  EXPECT_EQ(st["embedding_model"], "openai:text-embedding-3-small");
  EXPECT_EQ(st["embedded_items"], 1);
}

TEST(MemoryProviders, OllamaEmbeddings) {
  FakeEmbeddings fake;
  MemoryHost h(Backend::Sqlite, {.env = {{"MEMORY_EMBED_PROVIDER", "ollama"},
                                         {"OLLAMA_BASE_URL", fake.base_url()},
                                         {"OLLAMA_EMBED_MODEL", "nomic-embed-text"}}});
  auto r = h.call("POST", "/api/v1/memory", h.alice, {{"text", "the violin lesson is on friday"}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id = json::parse(r.body)["item"]["id"];
  ASSERT_TRUE(vector_hit(h, "violin%20lesson", id)) << h.server->output();
  ASSERT_FALSE(fake.requests().empty());
  EXPECT_EQ(fake.requests()[0].path, "/api/embed");
  EXPECT_EQ(fake.requests()[0].body["model"], "nomic-embed-text");
}

}  // namespace
}  // namespace memory_test

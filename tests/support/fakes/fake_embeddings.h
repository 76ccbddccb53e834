// tests/support/fakes/fake_embeddings.h — a fake embedding server on loopback speaking both
// dialects the memory plugin's remote embedders use:
//   POST /v1/embeddings   OpenAI: {model, input: string | [string], encoding_format?: float |
//                         base64} → {object: "list", data: [{object: "embedding", index,
//                         embedding}], model, usage: {prompt_tokens, total_tokens}}
//   POST /api/embed       Ollama: {model, input: string | [string]} → {model, embeddings}
//   POST /api/embeddings  Ollama (older): {model, prompt} → {embedding}
// Vectors are deterministic (hashed words, unit length, `dims` long), so similar texts are near.
// Control over HTTP for other processes: GET /_fake/requests, POST /_fake/fail ([statuses]).
//
//   jarvis::test::fakes::FakeEmbeddings fake;           // 64 dimensions
//   fake.set_api_key("sk-embed");                        // 401 without it (OpenAI dialect)
//   fake.fail_next({503});                               // the next answer fails
//   env["MEMORY_EMBED_BASE_URL"] = fake.base_url() + "/v1";
//   EXPECT_EQ(fake.requests().size(), 1u);
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "support/fakes/loopback_server.h"

namespace jarvis::test::fakes {

/// One request the fake received.
struct EmbeddingRequest {
  std::string path;           ///< /v1/embeddings, /api/embed or /api/embeddings
  std::string authorization;  ///< the Authorization header ("" when absent)
  nlohmann::json body;        ///< the parsed JSON body (null when not JSON)
};

/// See the file comment. Thread-safe.
class FakeEmbeddings {
 public:
  explicit FakeEmbeddings(int port = 0, int dims = 64);
  ~FakeEmbeddings();
  FakeEmbeddings(const FakeEmbeddings&) = delete;
  FakeEmbeddings& operator=(const FakeEmbeddings&) = delete;

  /// "http://127.0.0.1:PORT" (OpenAI clients use base_url() + "/v1").
  std::string base_url() const;
  int port() const;
  /// Requires "Authorization: Bearer KEY" on /v1/embeddings (401 invalid_api_key otherwise).
  void set_api_key(const std::string& key);
  /// The next answers fail with these statuses (OpenAI / Ollama error bodies).
  void fail_next(std::vector<int> statuses);
  std::vector<EmbeddingRequest> requests() const;
  /// {"requests": [{path, authorization, body}]} — what GET /_fake/requests answers.
  nlohmann::json requests_json() const;
  /// The vector the fake answers for `text` (tests compare against it).
  std::vector<float> vector_for(const std::string& text) const;

 private:
  void handle(const HttpRequest& req, Responder& out);

  int dims_;
  mutable std::mutex mu_;
  std::string api_key_;
  std::vector<int> failures_;
  std::vector<EmbeddingRequest> requests_;
  std::unique_ptr<LoopbackServer> server_;
};

}  // namespace jarvis::test::fakes

// memory/src/embedder.h — text embeddings for the vector index (decision 0027).
//
//   std::unique_ptr<jarvis::memory::Embedder> e = jarvis::memory::make_embedder(settings, &http,
//                                                                               api_key);
//   std::vector<std::vector<float>> v = e->embed({"first text", "second text"}, cancel);
//   // each vector L2-normalised, v[i].size() == e->dims() once known
//
// Providers: `local` (hashed word uni/bigrams + character 3-5-grams, sublinear TF, signed feature
// hashing, L2-normalised; deterministic, no network), `openai` (POST {base}/embeddings, any
// OpenAI-compatible server) and `ollama` (POST {base}/api/embed). Remote providers do network
// I/O: call embed() only from a task, never on a request path or inside a transaction.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "jarvis/cancel.h"
#include "jarvis/http_client.h"
#include "jarvis/secret.h"
#include "settings.h"

namespace jarvis::memory {

/// A provider failure (network, HTTP status, malformed answer): the embed task retries later.
class EmbedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Turns texts into unit-length vectors. Implementations are thread-safe.
class Embedder {
 public:
  virtual ~Embedder() = default;
  /// "local:v1:384", "openai:text-embedding-3-small", "ollama:nomic-embed-text": stored with each
  /// vector so a provider or model change is noticed (reindex re-embeds).
  virtual std::string model_id() const = 0;
  /// True when embed() never leaves the process (may run anywhere, e.g. for a query).
  virtual bool is_local() const = 0;
  /// One L2-normalised vector per text, in order. Throws EmbedError on provider failure.
  virtual std::vector<std::vector<float>> embed(const std::vector<std::string>& texts,
                                                const CancelToken& cancel) = 0;
};

/// The local embedder with `dims` dimensions (pure function of the text; no I/O).
std::unique_ptr<Embedder> make_local_embedder(int dims);

/// The embedder MEMORY_EMBED_PROVIDER names. `http` must outlive it (remote providers only).
std::unique_ptr<Embedder> make_embedder(const MemorySettings& settings, HttpClient* http,
                                        Secret api_key);

/// Scales `v` to unit length in place (a zero vector stays zero).
void l2_normalise(std::vector<float>& v);

/// Packs a vector as base64 of little-endian float32 (the memory_vectors.vector column) and back.
std::string encode_vector(const std::vector<float>& v);
/// Throws std::invalid_argument on text that is not such an encoding.
std::vector<float> decode_vector(const std::string& text);

}  // namespace jarvis::memory

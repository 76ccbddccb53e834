// memory/src/embedder.cpp — the local embedder, the OpenAI-compatible and Ollama clients, and the
// vector column encoding.
#include "embedder.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "jarvis/json.h"
#include "text_features.h"

namespace jarvis::memory {

void l2_normalise(std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * x;
  if (sum <= 0) return;
  const float inv = static_cast<float>(1.0 / std::sqrt(sum));
  for (float& x : v) x *= inv;
}

namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// FNV-1a 64 of `s`, seeded by `seed` (feature kind), then a final avalanche (splitmix64).
std::uint64_t feature_hash(std::string_view s, std::uint64_t seed) {
  std::uint64_t h = 1469598103934665603ULL ^ (seed * 0x9E3779B97F4A7C15ULL);
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  h += 0x9E3779B97F4A7C15ULL;
  h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ULL;
  h = (h ^ (h >> 27)) * 0x94D049BB133111EBULL;
  return h ^ (h >> 31);
}

/// Hashed word unigrams (1.0), word bigrams (0.7) and character 3–5-grams of each word padded
/// with '<' '>' (0.35 each), with sublinear TF 1 + ln(tf); stop words add no word features.
class LocalEmbedder : public Embedder {
 public:
  explicit LocalEmbedder(int dims) : dims_(dims) {}
  std::string model_id() const override { return "local:v1:" + std::to_string(dims_); }
  bool is_local() const override { return true; }

  std::vector<std::vector<float>> embed(const std::vector<std::string>& texts,
                                        const CancelToken&) override {
    std::vector<std::vector<float>> out;
    out.reserve(texts.size());
    for (const auto& t : texts) out.push_back(one(t));
    return out;
  }

 private:
  std::vector<float> one(const std::string& text) const {
    std::unordered_map<std::uint64_t, std::pair<float, int>> tf;  // hash -> (weight, count)
    auto add = [&](std::string_view f, std::uint64_t kind, float w) {
      auto& slot = tf[feature_hash(f, kind)];
      slot.first = w;
      ++slot.second;
    };
    std::vector<std::string> words = word_tokens(text);
    std::string prev;
    for (const auto& w : words) {
      if (is_stop_word(w)) {
        prev.clear();
        continue;
      }
      add(w, 1, 1.0F);
      if (!prev.empty()) add(prev + " " + w, 2, 0.7F);
      prev = w;
      const std::string padded = "<" + w + ">";
      for (std::size_t n = 3; n <= 5; ++n) {
        if (padded.size() < n) break;
        for (std::size_t i = 0; i + n <= padded.size(); ++i) {
          add(std::string_view(padded).substr(i, n), 10 + n, 0.35F);
        }
      }
    }
    std::vector<float> v(static_cast<std::size_t>(dims_), 0.0F);
    for (const auto& [h, wc] : tf) {
      const float weight = wc.first * (1.0F + std::log(static_cast<float>(wc.second)));
      const std::size_t bucket = static_cast<std::size_t>(h % static_cast<std::uint64_t>(dims_));
      v[bucket] += (h >> 63) ? -weight : weight;
    }
    l2_normalise(v);
    return v;
  }

  int dims_;
};

/// Reads `data[i].embedding` (OpenAI) or `embeddings[i]` (Ollama /api/embed) or `embedding`
/// (Ollama's older /api/embeddings, one text).
std::vector<std::vector<float>> parse_vectors(const Json& body, std::size_t expected) {
  std::vector<std::vector<float>> out;
  auto read = [&](const Json& arr) {
    if (!arr.is_array() || arr.empty()) throw EmbedError("an embedding is not a number array");
    std::vector<float> v;
    v.reserve(arr.size());
    for (const auto& x : arr) {
      if (!x.is_number()) throw EmbedError("an embedding holds a non-number");
      v.push_back(x.get<float>());
    }
    l2_normalise(v);
    out.push_back(std::move(v));
  };
  if (body.contains("data") && body["data"].is_array()) {
    std::vector<const Json*> by_index(body["data"].size(), nullptr);
    for (const auto& d : body["data"]) {
      std::size_t idx = d.value("index", static_cast<std::size_t>(out.size()));
      if (idx >= by_index.size()) throw EmbedError("embedding index out of range");
      by_index[idx] = &d;
    }
    for (const Json* d : by_index) {
      if (!d || !d->contains("embedding")) throw EmbedError("an embedding is missing");
      read((*d)["embedding"]);
    }
  } else if (body.contains("embeddings") && body["embeddings"].is_array()) {
    for (const auto& e : body["embeddings"]) read(e);
  } else if (body.contains("embedding")) {
    read(body["embedding"]);
  } else {
    throw EmbedError("the answer has no embeddings");
  }
  if (out.size() != expected) {
    throw EmbedError("asked for " + std::to_string(expected) + " embeddings, got " +
                     std::to_string(out.size()));
  }
  const std::size_t dims = out.empty() ? 0 : out.front().size();
  for (const auto& v : out) {
    if (v.size() != dims) throw EmbedError("embeddings of different lengths in one answer");
  }
  return out;
}

/// POSTs JSON to an operator-configured embedding server (not SSRF-guarded: the URL is config).
class RemoteEmbedder : public Embedder {
 public:
  RemoteEmbedder(std::string provider, std::string url, std::string model, HttpClient* http,
                 Secret key, long timeout_ms)
      : provider_(std::move(provider)),
        url_(std::move(url)),
        model_(std::move(model)),
        http_(http),
        key_(std::move(key)),
        timeout_ms_(timeout_ms) {}
  std::string model_id() const override { return provider_ + ":" + model_; }
  bool is_local() const override { return false; }

  std::vector<std::vector<float>> embed(const std::vector<std::string>& texts,
                                        const CancelToken& cancel) override {
    if (texts.empty()) return {};
    Json body = {{"model", model_}, {"input", texts}};
    OutboundRequest r{
        .method = "POST", .url = url_, .body = body.dump(), .timeout_ms = timeout_ms_};
    r.headers.set("Content-Type", "application/json");
    if (!key_.reveal().empty()) r.headers.set("Authorization", "Bearer " + key_.reveal());
    r.cancel = cancel;
    r.max_response_bytes = 64u << 20;
    OutboundResponse res = http_->send(r);
    if (!res.ok()) {
      throw EmbedError(provider_ + " embeddings failed: " +
                       (res.error_class.empty() ? "HTTP " + std::to_string(res.status)
                                                : res.error_class + " " + res.error_message));
    }
    auto parsed = try_parse_json(res.body);
    if (!parsed || !parsed->is_object()) throw EmbedError(provider_ + " answered no JSON object");
    return parse_vectors(*parsed, texts.size());
  }

 private:
  std::string provider_, url_, model_;
  HttpClient* http_;
  Secret key_;
  long timeout_ms_;
};

std::string strip_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

std::unique_ptr<Embedder> make_local_embedder(int dims) {
  return std::make_unique<LocalEmbedder>(dims);
}

std::unique_ptr<Embedder> make_embedder(const MemorySettings& s, HttpClient* http, Secret key) {
  const long timeout = static_cast<long>(s.embed_timeout_seconds) * 1000;
  if (s.embed_provider == "openai") {
    return std::make_unique<RemoteEmbedder>("openai", strip_slash(s.embed_base_url) + "/embeddings",
                                            s.embed_model, http, std::move(key), timeout);
  }
  if (s.embed_provider == "ollama") {
    return std::make_unique<RemoteEmbedder>("ollama", strip_slash(s.ollama_base_url) + "/api/embed",
                                            s.ollama_embed_model, http, Secret(), timeout);
  }
  return make_local_embedder(static_cast<int>(s.embed_dims));
}

std::string encode_vector(const std::vector<float>& v) {
  std::string bytes(v.size() * 4, '\0');
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::uint32_t u;
    std::memcpy(&u, &v[i], 4);
    for (int b = 0; b < 4; ++b) bytes[i * 4 + b] = static_cast<char>((u >> (8 * b)) & 0xFF);
  }
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(kB64[(n >> 18) & 63]);
    out.push_back(kB64[(n >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kB64[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < bytes.size() ? kB64[n & 63] : '=');
  }
  return out;
}

std::vector<float> decode_vector(const std::string& text) {
  static const std::array<int, 256> rev = [] {
    std::array<int, 256> r{};
    r.fill(-1);
    for (int i = 0; i < 64; ++i) r[static_cast<unsigned char>(kB64[i])] = i;
    return r;
  }();
  if (text.size() % 4 != 0) throw std::invalid_argument("vector: bad base64 length");
  std::string bytes;
  bytes.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char c = text[i + k];
      if (c == '=') {
        v[k] = 0;
        ++pad;
      } else {
        v[k] = rev[static_cast<unsigned char>(c)];
        if (v[k] < 0) throw std::invalid_argument("vector: bad base64 character");
      }
    }
    std::uint32_t n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    bytes.push_back(static_cast<char>((n >> 16) & 0xFF));
    if (pad < 2) bytes.push_back(static_cast<char>((n >> 8) & 0xFF));
    if (pad < 1) bytes.push_back(static_cast<char>(n & 0xFF));
  }
  if (bytes.size() % 4 != 0) throw std::invalid_argument("vector: not float32 data");
  std::vector<float> out(bytes.size() / 4);
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::uint32_t u = 0;
    for (int b = 0; b < 4; ++b)
      u |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i * 4 + b])) << (8 * b);
    std::memcpy(&out[i], &u, 4);
  }
  return out;
}

}  // namespace jarvis::memory

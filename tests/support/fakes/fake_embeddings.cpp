// tests/support/fakes/fake_embeddings.cpp — the OpenAI and Ollama embedding dialects.
#include "support/fakes/fake_embeddings.h"

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace jarvis::test::fakes {
namespace {

using nlohmann::json;

void send_json(Responder& out, int status, const json& body) {
  out.respond(status, body.dump(), {{"Content-Type", "application/json"}});
}

std::string base64(const std::string& bytes) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 2]);
    out += t[(n >> 18) & 63];
    out += t[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? t[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? t[n & 63] : '=';
  }
  return out;
}

/// Texts of an "input" that is a string or an array of strings; false for anything else.
bool inputs_of(const json& v, std::vector<std::string>& out) {
  if (v.is_string()) {
    out.push_back(v.get<std::string>());
    return true;
  }
  if (!v.is_array() || v.empty()) return false;
  for (const auto& x : v) {
    if (!x.is_string()) return false;
    out.push_back(x.get<std::string>());
  }
  return true;
}

}  // namespace

FakeEmbeddings::FakeEmbeddings(int port, int dims) : dims_(dims) {
  server_ = std::make_unique<LoopbackServer>(
      [this](const HttpRequest& req, Responder& out) { handle(req, out); }, "127.0.0.1", port);
}

FakeEmbeddings::~FakeEmbeddings() { server_.reset(); }

std::string FakeEmbeddings::base_url() const { return server_->url(); }
int FakeEmbeddings::port() const { return server_->port(); }

void FakeEmbeddings::set_api_key(const std::string& key) {
  std::lock_guard lock(mu_);
  api_key_ = key;
}

void FakeEmbeddings::fail_next(std::vector<int> statuses) {
  std::lock_guard lock(mu_);
  failures_ = std::move(statuses);
}

std::vector<EmbeddingRequest> FakeEmbeddings::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

json FakeEmbeddings::requests_json() const {
  json arr = json::array();
  for (const auto& r : requests()) {
    arr.push_back({{"path", r.path}, {"authorization", r.authorization}, {"body", r.body}});
  }
  return {{"requests", arr}};
}

std::vector<float> FakeEmbeddings::vector_for(const std::string& text) const {
  std::vector<float> v(static_cast<std::size_t>(dims_), 0.0F);
  std::string word;
  auto flush = [&] {
    if (word.empty()) return;
    std::uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : word) h = (h ^ c) * 1099511628211ULL;
    v[h % v.size()] += (h >> 63) ? -1.0F : 1.0F;
    word.clear();
  };
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      flush();
    }
  }
  flush();
  double sum = 0;
  for (float x : v) sum += x * x;
  if (sum == 0) v[0] = 1.0F;  // a text without words still gets a unit vector
  sum = sum == 0 ? 1 : sum;
  for (float& x : v) x = static_cast<float>(x / std::sqrt(sum));
  return v;
}

void FakeEmbeddings::handle(const HttpRequest& req, Responder& out) {
  if (req.method == "GET" && req.path == "/_fake/requests")
    return send_json(out, 200, requests_json());
  if (req.method == "POST" && req.path == "/_fake/fail") {
    json j = json::parse(req.body, nullptr, false);
    std::vector<int> statuses;
    if (j.is_array()) {
      for (const auto& s : j) {
        if (s.is_number_integer()) statuses.push_back(s.get<int>());
      }
    }
    fail_next(statuses);
    return send_json(out, 200, {{"ok", true}});
  }
  json body = json::parse(req.body, nullptr, false);
  int fail = 0;
  std::string key;
  {
    std::lock_guard lock(mu_);
    requests_.push_back(
        {req.path, req.header("authorization"), body.is_discarded() ? json() : body});
    if (!failures_.empty()) {
      fail = failures_.front();
      failures_.erase(failures_.begin());
    }
    key = api_key_;
  }
  const bool openai = req.path == "/v1/embeddings";
  const bool ollama = req.path == "/api/embed" || req.path == "/api/embeddings";
  if (!openai && !ollama) {
    return send_json(
        out, 404,
        {{"error", {{"message", "not found: " + req.path}, {"type", "invalid_request_error"}}}});
  }
  if (fail) {
    if (openai) {
      return send_json(
          out, fail,
          {{"error",
            {{"message", "injected failure"}, {"type", "server_error"}, {"code", nullptr}}}});
    }
    return send_json(out, fail, {{"error", "injected failure"}});
  }
  if (openai && !key.empty() && req.header("authorization") != "Bearer " + key) {
    return send_json(out, 401,
                     {{"error",
                       {{"message", "Incorrect API key provided"},
                        {"type", "invalid_request_error"},
                        {"code", "invalid_api_key"}}}});
  }
  if (!body.is_object() || !body.contains("model") || !body["model"].is_string()) {
    return send_json(
        out, 400,
        openai
            ? json{{"error", {{"message", "model is required"}, {"type", "invalid_request_error"}}}}
            : json{{"error", "model is required"}});
  }
  std::vector<std::string> texts;
  const bool ok = req.path == "/api/embeddings" ? inputs_of(body.value("prompt", json()), texts)
                                                : inputs_of(body.value("input", json()), texts);
  if (!ok) {
    return send_json(out, 400,
                     openai ? json{{"error",
                                    {{"message", "input must be a string or an array of strings"},
                                     {"type", "invalid_request_error"}}}}
                            : json{{"error", "invalid input type"}});
  }
  if (req.path == "/api/embeddings") {
    return send_json(out, 200, {{"embedding", vector_for(texts[0])}});
  }
  if (req.path == "/api/embed") {
    json embs = json::array();
    for (const auto& t : texts) embs.push_back(vector_for(t));
    return send_json(out, 200, {{"model", body["model"]}, {"embeddings", embs}});
  }
  const bool b64 = body.value("encoding_format", std::string("float")) == "base64";
  json data = json::array();
  long long tokens = 0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    std::vector<float> v = vector_for(texts[i]);
    tokens += static_cast<long long>((texts[i].size() + 3) / 4);
    json e = {{"object", "embedding"}, {"index", i}};
    if (b64) {
      std::string bytes(v.size() * 4, '\0');
      std::memcpy(bytes.data(), v.data(), bytes.size());  // little-endian float32, as OpenAI
      e["embedding"] = base64(bytes);
    } else {
      e["embedding"] = v;
    }
    data.push_back(std::move(e));
  }
  send_json(out, 200,
            {{"object", "list"},
             {"data", data},
             {"model", body["model"]},
             {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}});
}

}  // namespace jarvis::test::fakes

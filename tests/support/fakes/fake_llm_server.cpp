// tests/support/fakes/fake_llm_server.cpp — the fake LLM server (see the header): scripted
// replies, recorded requests, the dialects' endpoints and the control endpoints. The three
// vendors' wire formats (request checks, answer bodies and event streams, error bodies) are in
// fake_llm_wire.cpp.
#include "support/fakes/fake_llm_server.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <ctime>
#include <optional>
#include <regex>
#include <set>
#include <stdexcept>
#include <utility>

#include "support/fakes/fake_llm_wire.h"

namespace jarvis::test::fakes {

using nlohmann::json;
using Kind = ScriptedReply::Kind;
using Dialect = FakeLlmServer::Dialect;

using wire::anthropic_body;
using wire::anthropic_error;
using wire::anthropic_events;
using wire::Ask;
using wire::broken_event;
using wire::check_anthropic;
using wire::check_gemini;
using wire::check_openai;
using wire::dump;
using wire::gemini_body;
using wire::gemini_error;
using wire::gemini_events;
using wire::kind_name;
using wire::last_user_text;
using wire::malformed_body;
using wire::openai_body;
using wire::openai_error;
using wire::openai_events;
using wire::Refusal;

// ---------------------------------------------------------------------------------------------
// ScriptedReply

ScriptedReply ScriptedReply::text_reply(std::string text, int chunks, std::string reasoning) {
  ScriptedReply r;
  r.kind = Kind::text;
  r.text = std::move(text);
  r.chunks = chunks;
  r.reasoning = std::move(reasoning);
  return r;
}

ScriptedReply ScriptedReply::tool_call_reply(std::vector<FakeToolCall> calls, std::string text) {
  ScriptedReply r;
  r.kind = Kind::tool_calls;
  r.tool_calls = std::move(calls);
  r.text = std::move(text);
  return r;
}

ScriptedReply ScriptedReply::http_error_reply(int status, std::string retry_after) {
  ScriptedReply r;
  r.kind = Kind::http_error;
  r.status = status;
  r.retry_after = std::move(retry_after);
  return r;
}

ScriptedReply ScriptedReply::stall_reply(int after_chunks) {
  ScriptedReply r;
  r.kind = Kind::stall;
  r.stall_after_chunks = after_chunks;
  return r;
}

ScriptedReply ScriptedReply::malformed_reply() {
  ScriptedReply r;
  r.kind = Kind::malformed;
  return r;
}

ScriptedReply ScriptedReply::drop_reply(int after_chunks) {
  ScriptedReply r;
  r.kind = Kind::drop;
  r.stall_after_chunks = after_chunks;
  return r;
}

json ScriptedReply::to_json() const {
  json calls = json::array();
  for (const auto& c : tool_calls) {
    calls.push_back({{"id", c.id}, {"name", c.name}, {"arguments", c.arguments}});
  }
  return {{"kind", kind_name(kind)},
          {"text", text},
          {"reasoning", reasoning},
          {"tool_calls", calls},
          {"status", status},
          {"retry_after", retry_after},
          {"error_message", error_message},
          {"raw_body", raw_body},
          {"chunks", chunks},
          {"stall_after_chunks", stall_after_chunks},
          {"input_tokens", input_tokens},
          {"output_tokens", output_tokens},
          {"first_byte_delay_ms", first_byte_delay.count()},
          {"chunk_delay_ms", chunk_delay.count()}};
}

ScriptedReply ScriptedReply::from_json(const json& j) {
  if (!j.is_object()) throw std::invalid_argument("a scripted reply is a JSON object");
  ScriptedReply r;
  try {
    std::string kind = j.value("kind", "text");
    if (kind == "text") {
      r.kind = Kind::text;
    } else if (kind == "tool_calls") {
      r.kind = Kind::tool_calls;
    } else if (kind == "http_error") {
      r.kind = Kind::http_error;
    } else if (kind == "stall") {
      r.kind = Kind::stall;
    } else if (kind == "malformed") {
      r.kind = Kind::malformed;
    } else if (kind == "drop") {
      r.kind = Kind::drop;
    } else {
      throw std::invalid_argument("unknown reply kind \"" + kind + "\"");
    }
    r.text = j.value("text", r.text);
    r.reasoning = j.value("reasoning", r.reasoning);
    if (j.contains("tool_calls")) {
      for (const auto& c : j.at("tool_calls")) {
        r.tool_calls.push_back({c.value("id", ""), c.at("name").get<std::string>(),
                                c.value("arguments", json::object())});
      }
      if (!r.tool_calls.empty() && !j.contains("kind")) r.kind = Kind::tool_calls;
    }
    r.status = j.value("status", r.status);
    r.retry_after = j.value("retry_after", r.retry_after);
    r.error_message = j.value("error_message", r.error_message);
    r.raw_body = j.value("raw_body", r.raw_body);
    r.chunks = j.value("chunks", r.chunks);
    r.stall_after_chunks = j.value("stall_after_chunks", r.stall_after_chunks);
    r.input_tokens = j.value("input_tokens", r.input_tokens);
    r.output_tokens = j.value("output_tokens", r.output_tokens);
    r.first_byte_delay = std::chrono::milliseconds(j.value("first_byte_delay_ms", 0));
    r.chunk_delay = std::chrono::milliseconds(j.value("chunk_delay_ms", 0));
  } catch (const json::exception& e) {
    throw std::invalid_argument(std::string("bad scripted reply: ") + e.what());
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// RecordedRequest

std::string RecordedRequest::header(const std::string& name) const {
  std::string key = name;
  for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto it = headers.find(key);
  return it == headers.end() ? "" : it->second;
}

json RecordedRequest::to_json() const {
  return {{"method", method},   {"target", target}, {"path", path}, {"query", query},
          {"headers", headers}, {"body", body},     {"json", json}};
}

// ---------------------------------------------------------------------------------------------
// FakeLlmServer

struct FakeLlmServer::Impl {
  mutable std::mutex mu;
  std::deque<ScriptedReply> script;
  std::vector<RecordedRequest> requests;
  std::vector<bool> is_model;  ///< parallel to `requests`
  std::string api_key;
  std::vector<std::string> models{"fake-model"};
  std::atomic<int> seq{0};
};

FakeLlmServer::FakeLlmServer(Dialect dialect, int port)
    : dialect_(dialect), impl_(std::make_unique<Impl>()) {
  server_ = std::make_unique<LoopbackServer>(
      [this](const HttpRequest& req, Responder& out) { handle(req, out); }, "127.0.0.1", port);
}

FakeLlmServer::~FakeLlmServer() { server_.reset(); }

std::string FakeLlmServer::base_url() const {
  return server_->url(dialect_ == Dialect::openai ? "/v1" : "");
}

int FakeLlmServer::port() const { return server_->port(); }

void FakeLlmServer::push(ScriptedReply reply) {
  std::lock_guard lock(impl_->mu);
  impl_->script.push_back(std::move(reply));
}

std::size_t FakeLlmServer::pending() const {
  std::lock_guard lock(impl_->mu);
  return impl_->script.size();
}

void FakeLlmServer::clear_script() {
  std::lock_guard lock(impl_->mu);
  impl_->script.clear();
}

void FakeLlmServer::set_api_key(std::string key) {
  std::lock_guard lock(impl_->mu);
  impl_->api_key = std::move(key);
}

void FakeLlmServer::set_models(std::vector<std::string> models) {
  std::lock_guard lock(impl_->mu);
  impl_->models = std::move(models);
}

std::vector<RecordedRequest> FakeLlmServer::requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->requests;
}

std::vector<RecordedRequest> FakeLlmServer::model_requests() const {
  std::lock_guard lock(impl_->mu);
  std::vector<RecordedRequest> out;
  for (std::size_t i = 0; i < impl_->requests.size(); ++i) {
    if (impl_->is_model[i]) out.push_back(impl_->requests[i]);
  }
  return out;
}

int FakeLlmServer::client_closes() const { return server_->client_closes(); }

bool FakeLlmServer::wait_client_closed(std::chrono::milliseconds timeout) const {
  return server_->wait_client_closed(timeout);
}

bool FakeLlmServer::wait_client_closes(int count, std::chrono::milliseconds timeout) const {
  return server_->wait_client_closes(count, timeout);
}

std::string FakeLlmServer::dialect_name(Dialect d) {
  switch (d) {
    case Dialect::openai:
      return "openai";
    case Dialect::gemini:
      return "gemini";
    case Dialect::anthropic:
      return "anthropic";
  }
  return "openai";
}

FakeLlmServer::Dialect FakeLlmServer::parse_dialect(const std::string& name) {
  if (name == "openai") return Dialect::openai;
  if (name == "gemini") return Dialect::gemini;
  if (name == "anthropic") return Dialect::anthropic;
  throw std::invalid_argument("unknown dialect \"" + name + "\" (openai, gemini, anthropic)");
}

void FakeLlmServer::handle(const HttpRequest& req, Responder& out) {
  const Headers json_type = {{"Content-Type", "application/json"}};

  // Control endpoints.
  if (req.path.rfind("/_fake/", 0) == 0) {
    auto answer = [&](int status, const json& body) { out.respond(status, dump(body), json_type); };
    if (req.method == "POST" && req.path == "/_fake/script") {
      try {
        json j = json::parse(req.body);
        std::vector<ScriptedReply> replies;
        if (j.is_array()) {
          for (const auto& r : j) replies.push_back(ScriptedReply::from_json(r));
        } else {
          replies.push_back(ScriptedReply::from_json(j));
        }
        for (auto& r : replies) push(std::move(r));
        return answer(200, {{"pending", pending()}});
      } catch (const std::exception& e) {
        return answer(400, {{"error", e.what()}});
      }
    }
    if (req.method == "GET" && req.path == "/_fake/requests") {
      json all = json::array();
      for (const auto& r : requests()) all.push_back(r.to_json());
      return answer(200, all);
    }
    if (req.method == "GET" && req.path == "/_fake/state") {
      return answer(200, {{"pending", pending()},
                          {"requests", requests().size()},
                          {"client_closes", client_closes()},
                          {"dialect", dialect_name(dialect_)}});
    }
    if (req.method == "POST" && req.path == "/_fake/reset") {
      clear_script();
      return answer(200, {{"pending", 0}});
    }
    return answer(404, {{"error", "unknown control endpoint " + req.method + " " + req.path}});
  }

  // Record it.
  RecordedRequest rec{req.method, req.target, req.path, req.query, req.headers, req.body, nullptr};
  bool body_ok = true;
  if (!req.body.empty()) {
    rec.json = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (rec.json.is_discarded()) {
      rec.json = nullptr;
      body_ok = false;
    }
  }

  Ask ask;
  ask.seq = ++impl_->seq;
  ask.created = static_cast<long long>(std::time(nullptr));
  std::string request_id = "req_fake" + std::to_string(ask.seq);

  // Which endpoint.
  bool is_model = false;
  bool is_models_list = false;
  static const std::regex gemini_path(
      "^/v1(beta)?/models/([^/:]+):(generateContent|"
      "streamGenerateContent)$");
  std::smatch m;
  switch (dialect_) {
    case Dialect::openai:
      is_model = req.method == "POST" && req.path == "/v1/chat/completions";
      is_models_list = req.method == "GET" && req.path == "/v1/models";
      break;
    case Dialect::anthropic:
      is_model = req.method == "POST" && req.path == "/v1/messages";
      break;
    case Dialect::gemini:
      if (req.method == "POST" && std::regex_match(req.path, m, gemini_path)) {
        is_model = true;
        ask.model = m[2];
        ask.stream = m[3] == "streamGenerateContent";
      }
      break;
  }
  std::string api_key;
  {
    std::lock_guard lock(impl_->mu);
    impl_->requests.push_back(rec);
    impl_->is_model.push_back(is_model);
    api_key = impl_->api_key;
  }

  // Vendor-shaped refusals (no reply consumed).
  Headers vendor_headers = json_type;
  if (dialect_ == Dialect::openai) vendor_headers.push_back({"x-request-id", request_id});
  if (dialect_ == Dialect::anthropic) vendor_headers.push_back({"request-id", request_id});
  auto refuse = [&](const Refusal& r, const std::string& retry_after = "") {
    json body;
    switch (dialect_) {
      case Dialect::openai:
        body = openai_error(r.status, r.message, r.code);
        break;
      case Dialect::gemini:
        body = gemini_error(r.status, r.message, r.code, retry_after);
        break;
      case Dialect::anthropic:
        body = anthropic_error(r.status, r.message, request_id);
        break;
    }
    Headers h = vendor_headers;
    if (!retry_after.empty()) h.push_back({"Retry-After", retry_after});
    out.respond(r.status, dump(body), h);
  };

  if (!is_model && !is_models_list) {
    std::string what = dialect_ == Dialect::gemini
                           ? "Requested entity was not found."
                           : "Unknown request URL: " + req.method + " " + req.path + ".";
    return refuse({404, what, dialect_ == Dialect::openai ? "unknown_url" : ""});
  }

  // Authentication, as each vendor checks it.
  switch (dialect_) {
    case Dialect::openai: {
      std::string auth = req.header("authorization");
      if (auth.rfind("Bearer ", 0) != 0 || auth.size() <= 7) {
        return refuse({401,
                       "You didn't provide an API key. You need to provide your API key in an "
                       "Authorization header using Bearer auth (i.e. Authorization: Bearer "
                       "YOUR_KEY).",
                       ""});
      }
      if (!api_key.empty() && auth.substr(7) != api_key) {
        return refuse({401, "Incorrect API key provided.", "invalid_api_key"});
      }
      break;
    }
    case Dialect::gemini: {
      std::string key = req.header("x-goog-api-key");
      if (key.empty()) key = req.query_param("key");
      if (key.empty()) {
        return refuse({403,
                       "Method doesn't allow unregistered callers (callers without established "
                       "identity). Please use API Key or other form of API consumer identity to "
                       "call this API.",
                       "SERVICE_DISABLED"});
      }
      if (!api_key.empty() && key != api_key) {
        return refuse({400, "API key not valid. Please pass a valid API key.", "API_KEY_INVALID"});
      }
      break;
    }
    case Dialect::anthropic: {
      // "x-api-key: KEY" (API version 2023-06-01 clients) or "Authorization: Bearer KEY"
      // (the 2026-10-21 clients): the real API takes either.
      std::string key = req.header("x-api-key");
      if (std::string auth = req.header("authorization");
          key.empty() && auth.rfind("Bearer ", 0) == 0) {
        key = auth.substr(7);
      }
      if (key.empty() || (!api_key.empty() && key != api_key)) {
        return refuse({401, "invalid x-api-key", ""});
      }
      if (req.header("anthropic-version").empty()) {
        return refuse({400, "anthropic-version: header is required", ""});
      }
      break;
    }
  }

  if (is_models_list) {
    json data = json::array();
    std::vector<std::string> models;
    {
      std::lock_guard lock(impl_->mu);
      models = impl_->models;
    }
    for (const auto& id : models) {
      data.push_back(
          {{"id", id}, {"object", "model"}, {"created", 0}, {"owned_by", "jarvis-fake"}});
    }
    return (void)out.respond(200, dump({{"object", "list"}, {"data", data}}), vendor_headers);
  }

  if (!body_ok || !rec.json.is_object()) {
    switch (dialect_) {
      case Dialect::openai:
        return refuse({400,
                       "We could not parse the JSON body of your request. (HINT: This likely "
                       "means you aren't using your HTTP library correctly. The OpenAI API "
                       "expects a JSON payload, but what was sent was not valid JSON.)",
                       ""});
      case Dialect::gemini:
        return refuse({400, "Invalid JSON payload received. Unexpected token.", ""});
      case Dialect::anthropic:
        return refuse({400, "There was an issue with the format or content of your request.", ""});
    }
  }
  const json& body = rec.json;
  std::optional<Refusal> bad;
  switch (dialect_) {
    case Dialect::openai:
      bad = check_openai(body);
      break;
    case Dialect::gemini:
      bad = check_gemini(body);
      break;
    case Dialect::anthropic:
      bad = check_anthropic(body);
      break;
  }
  if (bad) return refuse(*bad);

  if (dialect_ != Dialect::gemini) {
    ask.model = body["model"].get<std::string>();
    ask.stream = body.value("stream", false) == true;
  }
  if (dialect_ == Dialect::openai && body.contains("stream_options") &&
      body["stream_options"].is_object()) {
    ask.include_usage = body["stream_options"].value("include_usage", false);
  }
  ask.last_user_text = last_user_text(dialect_, body);
  switch (dialect_) {
    case Dialect::openai:
      ask.id = "chatcmpl-fake" + std::to_string(ask.seq);
      break;
    case Dialect::anthropic:
      ask.id = "msg_fake" + std::to_string(ask.seq);
      break;
    case Dialect::gemini:
      ask.id = "fake-response-" + std::to_string(ask.seq);
      break;
  }

  // The scripted reply (or the default echo).
  ScriptedReply reply;
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->script.empty()) {
      reply = std::move(impl_->script.front());
      impl_->script.pop_front();
    } else {
      reply = ScriptedReply::text_reply("echo: " + ask.last_user_text);
    }
  }
  if ((reply.kind == Kind::text || reply.kind == Kind::stall || reply.kind == Kind::drop ||
       reply.kind == Kind::malformed) &&
      reply.text.empty() && reply.tool_calls.empty()) {
    reply.text = "echo: " + ask.last_user_text;
  }

  if (reply.first_byte_delay.count() > 0 && !out.pause(reply.first_byte_delay)) return;

  if (reply.kind == Kind::http_error) {
    if (!reply.raw_body.empty()) {
      Headers h = vendor_headers;
      if (!reply.retry_after.empty()) h.push_back({"Retry-After", reply.retry_after});
      return (void)out.respond(reply.status, reply.raw_body, h);
    }
    return refuse({reply.status, reply.error_message, ""}, reply.retry_after);
  }

  if (!ask.stream) {
    json answer;
    switch (dialect_) {
      case Dialect::openai:
        answer = openai_body(reply, ask);
        break;
      case Dialect::gemini:
        answer = gemini_body(reply, ask);
        break;
      case Dialect::anthropic:
        answer = anthropic_body(reply, ask);
        break;
    }
    std::string text = dump(answer);
    switch (reply.kind) {
      case Kind::malformed:
        return (void)out.respond(200,
                                 reply.raw_body.empty() ? malformed_body(dialect_) : reply.raw_body,
                                 vendor_headers);
      case Kind::stall: {
        std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string(text.size()) + "\r\n\r\n";
        if (out.write_raw(head)) out.wait_until_client_closes();
        return;
      }
      case Kind::drop: {
        std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string(text.size()) + "\r\n\r\n";
        out.write_raw(head + text.substr(0, text.size() / 2));
        return out.close_connection();
      }
      default:
        return (void)out.respond(200, text, vendor_headers);
    }
  }

  // Streams.
  std::vector<std::string> events;
  switch (dialect_) {
    case Dialect::openai:
      events = openai_events(reply, ask);
      break;
    case Dialect::gemini:
      events = gemini_events(reply, ask);
      break;
    case Dialect::anthropic:
      events = anthropic_events(reply, ask);
      break;
  }
  if (reply.kind == Kind::malformed) {
    events.resize(1);
    events.push_back(reply.raw_body.empty() ? broken_event(dialect_) : reply.raw_body);
  }
  Headers sse_headers = {{"Content-Type", "text/event-stream; charset=utf-8"},
                         {"Cache-Control", "no-cache"}};
  if (dialect_ == Dialect::openai) sse_headers.push_back({"x-request-id", request_id});
  if (dialect_ == Dialect::anthropic) sse_headers.push_back({"request-id", request_id});
  if (!out.start_stream(200, sse_headers)) return;
  std::size_t limit = events.size();
  if (reply.kind == Kind::stall || reply.kind == Kind::drop) {
    limit = std::min(limit, static_cast<std::size_t>(std::max(0, reply.stall_after_chunks)));
  }
  for (std::size_t i = 0; i < limit; ++i) {
    if (i > 0 && reply.chunk_delay.count() > 0 && !out.pause(reply.chunk_delay)) return;
    if (!out.send_chunk(events[i])) return;
  }
  if (reply.kind == Kind::stall) {
    out.wait_until_client_closes();
    return;
  }
  if (reply.kind == Kind::drop) return out.close_connection();
  out.end_stream();
}

}  // namespace jarvis::test::fakes

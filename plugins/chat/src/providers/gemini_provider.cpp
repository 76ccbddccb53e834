// The Gemini API provider (API key, not OAuth): POST
// {base}/v1beta/models/{model}:streamGenerateContent?alt=sse with the key in the x-goog-api-key
// header (never in the URL: URLs get logged); systemInstruction, contents with roles user/model,
// functionDeclarations with a schema cut to what Gemini accepts, functionCall / functionResponse
// parts, thought parts as reasoning, usageMetadata.
#include <map>
#include <set>
#include <string>
#include <utility>

#include "jarvis/strings.h"
#include "providers/dialects.h"
#include "providers/wire.h"

namespace chat::dialects {

namespace {

using jarvis::Json;

/// The subset of JSON Schema that Gemini's Schema object accepts; other keywords ($schema,
/// additionalProperties, const, oneOf, …) make it answer 400.
Json gemini_schema(const Json& s, int depth = 0) {
  static const std::set<std::string> kKeep = {
      "format",   "title",         "description",   "nullable",        "minItems",
      "maxItems", "minimum",       "maximum",       "minLength",       "maxLength",
      "pattern",  "minProperties", "maxProperties", "propertyOrdering"};
  if (!s.is_object() || depth > 32) return Json{{"type", "string"}};
  Json out = Json::object();
  for (auto it = s.begin(); it != s.end(); ++it) {
    const std::string& k = it.key();
    const Json& v = it.value();
    if (k == "type") {
      if (v.is_string()) {
        out["type"] = v;
      } else if (v.is_array()) {  // ["string", "null"] → type string, nullable
        for (const auto& t : v) {
          if (t.is_string() && t.get<std::string>() == "null") {
            out["nullable"] = true;
          } else if (t.is_string() && !out.contains("type")) {
            out["type"] = t;
          }
        }
      }
    } else if (k == "enum" && v.is_array()) {
      bool strings = !v.empty();
      for (const auto& e : v) strings = strings && e.is_string();
      if (strings) out["enum"] = v;
    } else if (k == "items") {
      out["items"] = gemini_schema(v, depth + 1);
    } else if (k == "properties" && v.is_object()) {
      if (v.empty()) continue;  // Gemini refuses an empty properties map
      Json props = Json::object();
      for (auto p = v.begin(); p != v.end(); ++p)
        props[p.key()] = gemini_schema(p.value(), depth + 1);
      out["properties"] = std::move(props);
    } else if (k == "required" && v.is_array()) {
      out["required"] = v;
    } else if (k == "anyOf" && v.is_array()) {
      Json any = Json::array();
      for (const auto& a : v) any.push_back(gemini_schema(a, depth + 1));
      out["anyOf"] = std::move(any);
    } else if (kKeep.count(k)) {
      out[k] = v;
    }
  }
  if (out.contains("required") && !out.contains("properties")) out.erase("required");
  if (out.contains("required") && out.contains("properties")) {
    Json kept = Json::array();
    for (const auto& r : out["required"]) {
      if (r.is_string() && out["properties"].contains(r.get<std::string>())) kept.push_back(r);
    }
    if (kept.empty()) {
      out.erase("required");
    } else {
      out["required"] = std::move(kept);
    }
  }
  return out;
}

/// A tool's result as the object functionResponse.response must be.
Json response_object(const std::string& content) {
  auto j = jarvis::try_parse_json(content);
  if (j && j->is_object()) return *j;
  if (j) return Json{{"result", *j}};
  return Json{{"result", content}};
}

/// Path-segment escaping for the model name.
std::string escape_segment(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Json request_body(const ModelRequest& r, const wire::ToolNames& names, int max_tokens) {
  wire::SplitPrompt prompt = wire::split_system(r.messages);
  std::map<std::string, std::string> call_names;  // tool_call_id → tool name
  Json contents = Json::array();
  auto append = [&](const std::string& role, Json part) {
    if (!contents.empty() && contents.back()["role"] == role) {
      contents.back()["parts"].push_back(std::move(part));
    } else {
      contents.push_back({{"role", role}, {"parts", Json::array({std::move(part)})}});
    }
  };
  for (const Message* m : prompt.rest) {
    if (m->role == "assistant") {
      if (!m->content.empty()) append("model", {{"text", m->content}});
      for (const auto& c : m->tool_calls) {
        call_names[c.id] = c.name;
        append("model",
               {{"functionCall", {{"name", names.to_wire(c.name)}, {"args", c.arguments}}}});
      }
      if (m->content.empty() && m->tool_calls.empty()) append("model", {{"text", ""}});
    } else if (m->role == "tool") {
      std::string name = m->tool_name;
      if (name.empty()) {
        auto it = call_names.find(m->tool_call_id);
        if (it != call_names.end()) name = it->second;
      }
      append("user",
             {{"functionResponse",
               {{"name", names.to_wire(name)}, {"response", response_object(m->content)}}}});
    } else {
      append("user", {{"text", m->content}});
    }
  }
  Json body{{"contents", std::move(contents)}};
  if (!prompt.system.empty()) body["systemInstruction"] = {{"parts", {{{"text", prompt.system}}}}};
  Json gen{{"maxOutputTokens", max_tokens}};
  if (r.temperature) gen["temperature"] = *r.temperature;
  body["generationConfig"] = std::move(gen);
  if (!r.tools.empty()) {
    Json decls = Json::array();
    for (const auto& t : r.tools) {
      Json d{{"name", names.to_wire(t.name)}, {"description", t.description}};
      Json params = gemini_schema(t.parameters);
      if (params.contains("properties")) d["parameters"] = std::move(params);
      decls.push_back(std::move(d));
    }
    body["tools"] = Json::array({{{"functionDeclarations", std::move(decls)}}});
  }
  return body;
}

/// Reads GenerateContentResponse events.
class GeminiDecoder : public wire::StreamDecoder {
 public:
  GeminiDecoder(std::string provider, const wire::ToolNames& names, std::string secret)
      : provider_(std::move(provider)), names_(names), secret_(std::move(secret)) {}

  void on_event(const jarvis::SseEvent& ev, wire::StreamState& state) override {
    auto j = jarvis::try_parse_json(ev.data);
    if (!j || !j->is_object()) throw wire::malformed(provider_, "an event is not a JSON object");
    if (const auto* err = wire::obj(*j, "error")) {
      std::string m = wire::sanitize_provider_text(wire::str(*err, "message"), secret_);
      throw ProviderError(provider_ + ": error in the stream" + (m.empty() ? "" : ": " + m),
                          "provider_unavailable", "server_error", 0, true);
    }
    if (const auto* fb = wire::obj(*j, "promptFeedback")) {
      std::string reason = wire::str(*fb, "blockReason");
      if (!reason.empty()) {
        throw ProviderError(provider_ + ": the prompt was blocked (" +
                                wire::sanitize_provider_text(reason, secret_, 40) + ")",
                            "provider_unavailable", "request_error", 0, false);
      }
    }
    if (const auto* cands = wire::arr(*j, "candidates"); cands && !cands->empty()) {
      const Json& cand = (*cands)[0];
      const Json* content = wire::obj(cand, "content");
      if (const auto* parts = content ? wire::arr(*content, "parts") : nullptr) {
        for (const auto& part : *parts) {
          if (const auto* fc = wire::obj(part, "functionCall")) {
            const Json* args = wire::obj(*fc, "args");
            state.tool_call(ToolCall{.id = wire::str(*fc, "id"),
                                     .name = names_.from_wire(wire::str(*fc, "name")),
                                     .arguments = args ? *args : Json::object()});
            continue;
          }
          bool thought = part.is_object() && part.contains("thought") &&
                         part["thought"].is_boolean() && part["thought"].get<bool>();
          if (thought) {
            state.reasoning(wire::str(part, "text"));
          } else {
            state.text(wire::str(part, "text"));
          }
        }
      }
      std::string finish = wire::str(cand, "finishReason");
      if (!finish.empty() && finish != "FINISH_REASON_UNSPECIFIED") {
        finished_ = true;
        finish_ = finish;
      }
    }
    if (const auto* usage = wire::obj(*j, "usageMetadata")) {
      state.result.input_tokens = static_cast<long>(wire::num(*usage, "promptTokenCount"));
      state.result.output_tokens = static_cast<long>(wire::num(*usage, "candidatesTokenCount") +
                                                     wire::num(*usage, "thoughtsTokenCount"));
    }
  }

  bool complete() const override { return finished_; }

  void end(wire::StreamState& state) override {
    if (!state.result.tool_calls.empty() && (finish_ == "STOP" || finish_.empty())) {
      state.result.finish_reason = "tool_calls";
    } else if (finish_ == "STOP") {
      state.result.finish_reason = "stop";
    } else if (finish_ == "MAX_TOKENS") {
      state.result.finish_reason = "length";
    } else {
      state.result.finish_reason = jarvis::ascii_lower(finish_);
    }
  }

 private:
  std::string provider_;
  const wire::ToolNames& names_;
  std::string secret_;
  bool finished_ = false;
  std::string finish_;
};

class GeminiProvider : public HttpProvider {
 public:
  using HttpProvider::HttpProvider;

  ModelResult generate(const ModelRequest& request, const StreamSink& sink) override {
    require_configured();
    std::string model = model_for(request);
    if (model.rfind("models/", 0) == 0) model.erase(0, 7);
    wire::ToolNames names(request.tools, request.messages);
    jarvis::OutboundRequest out;
    out.url = settings_.base_url + "/v1beta/models/" + escape_segment(model) +
              ":streamGenerateContent?alt=sse";
    out.body = request_body(request, names, max_tokens_for(request)).dump();
    out.headers.set("x-goog-api-key", settings_.api_key.reveal());
    wire::StreamState state(sink);
    GeminiDecoder decoder(settings_.name, names, settings_.api_key.reveal());
    return wire::stream_sse(http_, settings_, std::move(out), request, model, state, decoder);
  }
};

}  // namespace

std::shared_ptr<Provider> make_gemini(ProviderSettings settings, jarvis::HttpClient& http) {
  return std::make_shared<GeminiProvider>(std::move(settings), http);
}

}  // namespace chat::dialects

// The OpenAI-compatible chat-completions provider (OpenAI, vLLM, SGLang, llama.cpp server, Ollama,
// LM Studio): POST {base}/chat/completions with stream:true and stream_options.include_usage;
// tools as type=function with JSON-schema parameters; streamed tool_calls deltas assembled by
// index; reasoning_content / reasoning kept apart from the answer.
#include <map>
#include <string>
#include <utility>

#include "jarvis/strings.h"
#include "providers/dialects.h"
#include "providers/wire.h"

namespace chat::dialects {

namespace {

using jarvis::Json;

Json tool_schema(const Json& parameters) {
  if (parameters.is_object() && !parameters.empty()) return parameters;
  return Json{{"type", "object"}, {"properties", Json::object()}};
}

Json request_body(const ProviderSettings& s, const ModelRequest& r, const wire::ToolNames& names,
                  const std::string& model, int max_tokens) {
  Json messages = Json::array();
  for (const auto& m : r.messages) {
    if (m.role == "system") {
      messages.push_back({{"role", "system"}, {"content", m.content}});
    } else if (m.role == "assistant") {
      Json a{{"role", "assistant"}};
      a["content"] = m.content.empty() && !m.tool_calls.empty() ? Json(nullptr) : Json(m.content);
      if (!m.tool_calls.empty()) {
        Json calls = Json::array();
        for (const auto& c : m.tool_calls) {
          calls.push_back(
              {{"id", c.id},
               {"type", "function"},
               {"function", {{"name", names.to_wire(c.name)}, {"arguments", c.arguments.dump()}}}});
        }
        a["tool_calls"] = std::move(calls);
      }
      messages.push_back(std::move(a));
    } else if (m.role == "tool") {
      messages.push_back(
          {{"role", "tool"}, {"tool_call_id", m.tool_call_id}, {"content", m.content}});
    } else {
      messages.push_back({{"role", "user"}, {"content", m.content}});
    }
  }
  Json body{{"model", model},
            {"messages", std::move(messages)},
            {"stream", true},
            {"stream_options", {{"include_usage", true}}}};
  body[s.max_tokens_field.empty() ? "max_tokens" : s.max_tokens_field] = max_tokens;
  if (r.temperature) body["temperature"] = *r.temperature;
  if (!r.tools.empty()) {
    Json tools = Json::array();
    for (const auto& t : r.tools) {
      tools.push_back({{"type", "function"},
                       {"function",
                        {{"name", names.to_wire(t.name)},
                         {"description", t.description},
                         {"parameters", tool_schema(t.parameters)}}}});
    }
    body["tools"] = std::move(tools);
  }
  return body;
}

/// Reads chat.completion.chunk events.
class OpenAiDecoder : public wire::StreamDecoder {
 public:
  OpenAiDecoder(std::string provider, const wire::ToolNames& names, std::string secret)
      : provider_(std::move(provider)), names_(names), secret_(std::move(secret)) {}

  void on_event(const jarvis::SseEvent& ev, wire::StreamState& state) override {
    if (jarvis::trim(ev.data) == "[DONE]") {
      done_ = true;
      return;
    }
    auto j = jarvis::try_parse_json(ev.data);
    if (!j || !j->is_object()) throw wire::malformed(provider_, "an event is not a JSON object");
    if (const auto* err = wire::obj(*j, "error")) {
      // Some servers (vLLM, proxies) report a failure inside the stream.
      std::string m = wire::sanitize_provider_text(wire::str(*err, "message"), secret_);
      ProviderError e(provider_ + ": error in the stream" + (m.empty() ? "" : ": " + m),
                      "provider_unavailable", "server_error", 0, true);
      throw e;
    }
    if (const auto* choices = wire::arr(*j, "choices"); choices && !choices->empty()) {
      const Json& choice = (*choices)[0];
      if (const auto* delta = wire::obj(choice, "delta")) {
        // vLLM, SGLang and DeepSeek say reasoning_content, newer servers reasoning; some send
        // both with the same text during the transition: take one.
        std::string reasoning = wire::str(*delta, "reasoning_content");
        state.reasoning(reasoning.empty() ? wire::str(*delta, "reasoning") : reasoning);
        state.text(wire::str(*delta, "content"));
        if (const auto* calls = wire::arr(*delta, "tool_calls")) {
          long long position = 0;
          for (const auto& tc : *calls) {
            Partial& p = calls_[wire::num(tc, "index", position++)];
            std::string id = wire::str(tc, "id");
            if (p.id.empty()) p.id = id;
            if (const auto* fn = wire::obj(tc, "function")) {
              merge_name(p.name, wire::str(*fn, "name"));
              p.arguments += wire::str(*fn, "arguments");
            }
          }
        }
      }
      std::string finish = wire::str(choice, "finish_reason");
      if (!finish.empty()) {
        finished_ = true;
        state.result.finish_reason = finish;
      }
    }
    if (const auto* usage = wire::obj(*j, "usage")) {
      state.result.input_tokens = static_cast<long>(wire::num(*usage, "prompt_tokens"));
      state.result.output_tokens = static_cast<long>(wire::num(*usage, "completion_tokens"));
    }
  }

  bool complete() const override { return done_ || finished_; }

  void end(wire::StreamState& state) override {
    for (auto& [index, p] : calls_) {
      if (p.name.empty()) continue;  // a fragment without a function: nothing to call
      state.tool_call(ToolCall{.id = p.id,
                               .name = names_.from_wire(p.name),
                               .arguments = wire::parse_arguments(p.arguments)});
    }
    if (state.result.finish_reason.empty()) {
      state.result.finish_reason = state.result.tool_calls.empty() ? "stop" : "tool_calls";
    }
  }

 private:
  struct Partial {
    std::string id;
    std::string name;
    std::string arguments;
  };

  /// Names normally arrive whole in the first delta; some servers repeat them in every delta
  /// or send them cumulatively, a few in fragments.
  static void merge_name(std::string& have, const std::string& delta) {
    if (delta.empty() || delta == have) return;
    if (have.empty() || delta.rfind(have, 0) == 0) {
      have = delta;
    } else {
      have += delta;
    }
  }

  std::string provider_;
  const wire::ToolNames& names_;
  std::string secret_;
  std::map<long long, Partial> calls_;
  bool done_ = false;
  bool finished_ = false;
};

class OpenAiProvider : public HttpProvider {
 public:
  using HttpProvider::HttpProvider;

  ModelResult generate(const ModelRequest& request, const StreamSink& sink) override {
    require_configured();
    const std::string model = model_for(request);
    wire::ToolNames names(request.tools, request.messages);
    jarvis::OutboundRequest out;
    out.url = settings_.base_url + "/chat/completions";
    out.body = request_body(settings_, request, names, model, max_tokens_for(request)).dump();
    if (!settings_.api_key.empty()) {
      out.headers.set("Authorization", "Bearer " + settings_.api_key.reveal());
    }
    wire::StreamState state(sink);
    OpenAiDecoder decoder(settings_.name, names, settings_.api_key.reveal());
    return wire::stream_sse(http_, settings_, std::move(out), request, model, state, decoder);
  }
};

}  // namespace

void HttpProvider::require_configured() const {
  if (settings_.configured) return;
  ProviderError e(settings_.name + " is not configured" +
                      (settings_.setup_hint.empty() ? "" : " (set " + settings_.setup_hint + ")"),
                  "provider_unavailable", "not_configured");
  e.provider = settings_.name;
  throw e;
}

std::shared_ptr<Provider> make_openai(ProviderSettings settings, jarvis::HttpClient& http) {
  return std::make_shared<OpenAiProvider>(std::move(settings), http);
}

}  // namespace chat::dialects

// The Anthropic Messages API provider: POST {base}/v1/messages with x-api-key,
// anthropic-version 2023-06-01 and stream:true; the system prompt top-level; tool_use /
// tool_result content blocks; tool input assembled from input_json_delta fragments; thinking
// deltas as reasoning; usage from message_start and message_delta.
#include <map>
#include <string>
#include <utility>

#include "jarvis/strings.h"
#include "providers/dialects.h"
#include "providers/wire.h"

namespace chat::dialects {

namespace {

using jarvis::Json;

Json input_schema(const Json& parameters) {
  Json s = parameters.is_object() ? parameters : Json::object();
  if (!s.contains("type")) s["type"] = "object";
  return s;
}

/// A tool result whose JSON text is {"error": …} is marked is_error (the model then knows).
bool looks_like_error(const std::string& content) {
  auto j = jarvis::try_parse_json(content);
  return j && j->is_object() && j->contains("error");
}

Json request_body(const ModelRequest& r, const wire::ToolNames& names, const std::string& model,
                  int max_tokens) {
  wire::SplitPrompt prompt = wire::split_system(r.messages);
  Json messages = Json::array();
  auto append = [&](const std::string& role, Json block) {
    if (!messages.empty() && messages.back()["role"] == role) {
      messages.back()["content"].push_back(std::move(block));
    } else {
      messages.push_back({{"role", role}, {"content", Json::array({std::move(block)})}});
    }
  };
  auto text_block = [](const std::string& text) {
    // The API refuses empty text blocks.
    return Json{{"type", "text"}, {"text", text.empty() ? "(empty message)" : text}};
  };
  for (const Message* m : prompt.rest) {
    if (m->role == "assistant") {
      if (messages.empty()) append("user", text_block("(conversation continues)"));
      if (!m->content.empty() || m->tool_calls.empty()) append("assistant", text_block(m->content));
      for (const auto& c : m->tool_calls) {
        append("assistant", {{"type", "tool_use"},
                             {"id", c.id},
                             {"name", names.to_wire(c.name)},
                             {"input", c.arguments.is_object() ? c.arguments : Json::object()}});
      }
    } else if (m->role == "tool") {
      Json block{
          {"type", "tool_result"}, {"tool_use_id", m->tool_call_id}, {"content", m->content}};
      if (looks_like_error(m->content)) block["is_error"] = true;
      append("user", std::move(block));
    } else {
      append("user", text_block(m->content));
    }
  }
  Json body{{"model", model},
            {"max_tokens", max_tokens},
            {"messages", std::move(messages)},
            {"stream", true}};
  if (!prompt.system.empty()) body["system"] = prompt.system;
  if (r.temperature) body["temperature"] = *r.temperature;
  if (!r.tools.empty()) {
    Json tools = Json::array();
    for (const auto& t : r.tools) {
      tools.push_back({{"name", names.to_wire(t.name)},
                       {"description", t.description},
                       {"input_schema", input_schema(t.parameters)}});
    }
    body["tools"] = std::move(tools);
  }
  return body;
}

/// Reads the Messages API's stream events.
class AnthropicDecoder : public wire::StreamDecoder {
 public:
  AnthropicDecoder(std::string provider, const wire::ToolNames& names, std::string secret)
      : provider_(std::move(provider)), names_(names), secret_(std::move(secret)) {}

  void on_event(const jarvis::SseEvent& ev, wire::StreamState& state) override {
    auto j = jarvis::try_parse_json(ev.data);
    if (!j || !j->is_object()) throw wire::malformed(provider_, "an event is not a JSON object");
    std::string type = wire::str(*j, "type");
    if (type.empty()) type = ev.type;
    if (type == "message_start") {
      const Json* msg = wire::obj(*j, "message");
      if (const auto* usage = msg ? wire::obj(*msg, "usage") : nullptr) read_usage(*usage, state);
    } else if (type == "content_block_start") {
      const Json* cb = wire::obj(*j, "content_block");
      if (!cb) return;
      Block& b = blocks_[wire::num(*j, "index")];
      b.type = wire::str(*cb, "type");
      if (b.type == "tool_use") {
        b.id = wire::str(*cb, "id");
        b.name = wire::str(*cb, "name");
        if (const auto* input = wire::obj(*cb, "input"); input && !input->empty()) {
          b.initial = *input;
        }
      } else if (b.type == "text") {
        state.text(wire::str(*cb, "text"));
      } else if (b.type == "thinking") {
        state.reasoning(wire::str(*cb, "thinking"));
      }
    } else if (type == "content_block_delta") {
      const Json* d = wire::obj(*j, "delta");
      if (!d) return;
      std::string dt = wire::str(*d, "type");
      if (dt == "text_delta") {
        state.text(wire::str(*d, "text"));
      } else if (dt == "thinking_delta") {
        state.reasoning(wire::str(*d, "thinking"));
      } else if (dt == "input_json_delta") {
        blocks_[wire::num(*j, "index")].json += wire::str(*d, "partial_json");
      }
    } else if (type == "content_block_stop") {
      auto it = blocks_.find(wire::num(*j, "index"));
      if (it != blocks_.end() && it->second.type == "tool_use") {
        Block& b = it->second;
        Json args =
            b.json.empty() && b.initial.is_object() ? b.initial : wire::parse_arguments(b.json);
        state.tool_call(
            ToolCall{.id = b.id, .name = names_.from_wire(b.name), .arguments = std::move(args)});
        blocks_.erase(it);
      }
    } else if (type == "message_delta") {
      if (const auto* d = wire::obj(*j, "delta")) {
        std::string stop = wire::str(*d, "stop_reason");
        if (!stop.empty()) stop_reason_ = stop;
      }
      if (const auto* usage = wire::obj(*j, "usage")) read_usage(*usage, state);
    } else if (type == "message_stop") {
      done_ = true;
    } else if (type == "error") {
      const Json* err = wire::obj(*j, "error");
      std::string et = err ? wire::str(*err, "type") : "";
      std::string m = err ? wire::sanitize_provider_text(wire::str(*err, "message"), secret_) : "";
      std::string what = provider_ + ": error in the stream (" +
                         wire::sanitize_provider_text(et, secret_, 40) + ")" +
                         (m.empty() ? "" : ": " + m);
      if (et == "rate_limit_error") {
        throw ProviderError(what, "provider_unavailable", "rate_limited", 429, true);
      }
      if (et == "overloaded_error" || et == "api_error" || et.empty()) {
        throw ProviderError(what, "provider_unavailable", "server_error", 0, true);
      }
      throw ProviderError(what, "provider_unavailable", "request_error", 0, false);
    }
  }

  bool complete() const override { return done_; }

  void end(wire::StreamState& state) override {
    if (stop_reason_ == "end_turn" || stop_reason_ == "stop_sequence") {
      state.result.finish_reason = "stop";
    } else if (stop_reason_ == "tool_use") {
      state.result.finish_reason = "tool_calls";
    } else if (stop_reason_ == "max_tokens") {
      state.result.finish_reason = "length";
    } else if (stop_reason_.empty()) {
      state.result.finish_reason = state.result.tool_calls.empty() ? "stop" : "tool_calls";
    } else {
      state.result.finish_reason = stop_reason_;
    }
  }

 private:
  struct Block {
    std::string type;
    std::string id;
    std::string name;
    std::string json;  ///< input_json_delta fragments
    Json initial;      ///< a tool_use block's non-empty initial input
  };

  static void read_usage(const Json& usage, wire::StreamState& state) {
    if (usage.contains("input_tokens")) {
      state.result.input_tokens = static_cast<long>(
          wire::num(usage, "input_tokens") + wire::num(usage, "cache_creation_input_tokens") +
          wire::num(usage, "cache_read_input_tokens"));
    }
    if (usage.contains("output_tokens")) {
      state.result.output_tokens = static_cast<long>(wire::num(usage, "output_tokens"));
    }
  }

  std::string provider_;
  const wire::ToolNames& names_;
  std::string secret_;
  std::map<long long, Block> blocks_;
  std::string stop_reason_;
  bool done_ = false;
};

class AnthropicProvider : public HttpProvider {
 public:
  using HttpProvider::HttpProvider;

  ModelResult generate(const ModelRequest& request, const StreamSink& sink) override {
    require_configured();
    const std::string model = model_for(request);
    wire::ToolNames names(request.tools, request.messages);
    jarvis::OutboundRequest out;
    out.url = settings_.base_url + "/v1/messages";
    out.body = request_body(request, names, model, max_tokens_for(request)).dump();
    out.headers.set("x-api-key", settings_.api_key.reveal());
    out.headers.set("anthropic-version", "2023-06-01");
    wire::StreamState state(sink);
    AnthropicDecoder decoder(settings_.name, names, settings_.api_key.reveal());
    return wire::stream_sse(http_, settings_, std::move(out), request, model, state, decoder);
  }
};

}  // namespace

std::shared_ptr<Provider> make_anthropic(ProviderSettings settings, jarvis::HttpClient& http) {
  return std::make_shared<AnthropicProvider>(std::move(settings), http);
}

}  // namespace chat::dialects

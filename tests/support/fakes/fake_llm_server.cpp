// tests/support/fakes/fake_llm_server.cpp — the three dialects of the fake LLM server (see the
// header): request checks the real APIs make, the answer bodies and event streams, the error
// bodies, and the control endpoints.
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

namespace jarvis::test::fakes {

using nlohmann::json;
using Kind = ScriptedReply::Kind;
using Dialect = FakeLlmServer::Dialect;

namespace {

/// JSON text; invalid UTF-8 from a test's strings is replaced instead of throwing.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

/// `s` cut in `n` pieces of about as many characters each (fewer when `s` has fewer than `n`
/// characters), never inside a UTF-8 sequence.
std::vector<std::string> split_utf8(const std::string& s, int n) {
  std::vector<std::size_t> starts;  // byte offset of each character
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
  }
  std::vector<std::string> out;
  std::size_t chars = starts.size();
  if (chars == 0) return out;
  std::size_t pieces = std::min(chars, static_cast<std::size_t>(n < 1 ? 1 : n));
  for (std::size_t k = 0; k < pieces; ++k) {
    std::size_t from = starts[k * chars / pieces];
    std::size_t to = k + 1 == pieces ? s.size() : starts[(k + 1) * chars / pieces];
    out.push_back(s.substr(from, to - from));
  }
  return out;
}

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::text:
      return "text";
    case Kind::tool_calls:
      return "tool_calls";
    case Kind::http_error:
      return "http_error";
    case Kind::stall:
      return "stall";
    case Kind::malformed:
      return "malformed";
    case Kind::drop:
      return "drop";
  }
  return "text";
}

/// What one model request asked for, as the dialect's handler read it.
struct Ask {
  std::string model;
  bool stream = false;
  bool include_usage = false;  ///< openai: stream_options.include_usage
  std::string last_user_text;
  std::string id;  ///< response id
  long long created = 0;
  int seq = 0;
};

/// A refusal before any reply is consumed: status and message in the dialect's error body.
struct Refusal {
  int status;
  std::string message;
  std::string code;  ///< openai "code" / gemini ErrorInfo reason / anthropic error type override
};

// ---------------------------------------------------------------------------------------------
// Error bodies, one shape per vendor.

std::string openai_error_type(int status) {
  if (status == 429) return "requests";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

json openai_error(int status, const std::string& message, const std::string& code) {
  std::string msg = message;
  json jcode = code.empty() ? json(nullptr) : json(code);
  if (msg.empty()) {
    if (status == 429) {
      msg =
          "Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1. Please "
          "try again in 20s.";
      if (code.empty()) jcode = "rate_limit_exceeded";
    } else if (status >= 500) {
      msg = "The server had an error while processing your request. Sorry about that!";
    } else if (status == 401) {
      msg = "Incorrect API key provided.";
      if (code.empty()) jcode = "invalid_api_key";
    } else if (status == 404) {
      msg = "The model does not exist or you do not have access to it.";
      if (code.empty()) jcode = "model_not_found";
    } else {
      msg = "Invalid request.";
    }
  }
  return {{"error",
           {{"message", msg},
            {"type", openai_error_type(status)},
            {"param", nullptr},
            {"code", jcode}}}};
}

std::string gemini_status(int status) {
  switch (status) {
    case 400:
      return "INVALID_ARGUMENT";
    case 401:
      return "UNAUTHENTICATED";
    case 403:
      return "PERMISSION_DENIED";
    case 404:
      return "NOT_FOUND";
    case 409:
      return "ABORTED";
    case 429:
      return "RESOURCE_EXHAUSTED";
    case 499:
      return "CANCELLED";
    case 500:
      return "INTERNAL";
    case 501:
      return "NOT_IMPLEMENTED";
    case 503:
      return "UNAVAILABLE";
    case 504:
      return "DEADLINE_EXCEEDED";
    default:
      return status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
  }
}

json gemini_error(int status, const std::string& message, const std::string& reason,
                  const std::string& retry_after) {
  std::string msg = message;
  if (msg.empty()) {
    if (status == 429) {
      msg = "Resource has been exhausted (e.g. check quota).";
    } else if (status == 503) {
      msg = "The model is overloaded. Please try again later.";
    } else if (status >= 500) {
      msg =
          "An internal error has occurred. Please retry or report in "
          "https://developers.generativeai.google/guide/troubleshooting";
    } else if (status == 404) {
      msg =
          "models/unknown is not found for API version v1beta, or is not supported for "
          "generateContent.";
    } else {
      msg = "Invalid request.";
    }
  }
  json err = {{"code", status}, {"message", msg}, {"status", gemini_status(status)}};
  json details = json::array();
  if (!reason.empty()) {
    details.push_back({{"@type", "type.googleapis.com/google.rpc.ErrorInfo"},
                       {"reason", reason},
                       {"domain", "googleapis.com"},
                       {"metadata", {{"service", "generativelanguage.googleapis.com"}}}});
  }
  if (status == 429 && !retry_after.empty()) {
    bool digits = retry_after.find_first_not_of("0123456789") == std::string::npos;
    if (digits) {
      details.push_back({{"@type", "type.googleapis.com/google.rpc.RetryInfo"},
                         {"retryDelay", retry_after + "s"}});
    }
  }
  if (!details.empty()) err["details"] = details;
  return {{"error", err}};
}

std::string anthropic_error_type(int status) {
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 402:
      return "billing_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 504:
      return "timeout_error";
    case 529:
      return "overloaded_error";
    default:
      return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

json anthropic_error(int status, const std::string& message, const std::string& request_id) {
  std::string msg = message;
  if (msg.empty()) {
    if (status == 429) {
      msg =
          "This request would exceed the rate limit for your organization of 50 requests per "
          "minute. For details, refer to: https://docs.claude.com/en/api/rate-limits.";
    } else if (status == 529) {
      msg = "Overloaded";
    } else if (status >= 500) {
      msg = "Internal server error";
    } else if (status == 401) {
      msg = "invalid x-api-key";
    } else if (status == 404) {
      msg = "The requested resource could not be found.";
    } else {
      msg = "Invalid request.";
    }
  }
  return {{"type", "error"},
          {"error", {{"type", anthropic_error_type(status)}, {"message", msg}}},
          {"request_id", request_id}};
}

// ---------------------------------------------------------------------------------------------
// Reading the requests.

/// Text of an OpenAI / Anthropic message content: a string or an array of {type:"text",text}.
std::string content_text(const json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string out;
  if (content.is_array()) {
    for (const auto& part : content) {
      if (part.is_object() && part.value("type", "") == "text" && part.contains("text") &&
          part["text"].is_string()) {
        out += part["text"].get<std::string>();
      }
    }
  }
  return out;
}

/// The text of the last user message that has text (tool results skipped).
std::string last_user_text(Dialect d, const json& body) {
  const char* list = d == Dialect::gemini ? "contents" : "messages";
  if (!body.contains(list) || !body[list].is_array()) return "";
  const json& msgs = body[list];
  for (auto it = msgs.rbegin(); it != msgs.rend(); ++it) {
    if (!it->is_object()) continue;
    std::string role = it->value("role", d == Dialect::gemini ? "user" : "");
    if (role != "user") continue;
    std::string text;
    if (d == Dialect::gemini) {
      if (it->contains("parts") && (*it)["parts"].is_array()) {
        for (const auto& p : (*it)["parts"]) {
          if (p.is_object() && p.contains("text") && p["text"].is_string()) {
            text += p["text"].get<std::string>();
          }
        }
      }
    } else if (it->contains("content")) {
      text = content_text((*it)["content"]);
    }
    if (!text.empty()) return text;
  }
  return "";
}

const std::regex kOpenAiToolName("^[a-zA-Z0-9_-]{1,64}$");
const std::regex kAnthropicToolName("^[a-zA-Z0-9_-]{1,64}$");
const std::regex kGeminiToolName("^[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}$");

/// OpenAI's checks: model, messages, tool names, tool messages answering assistant tool calls.
std::optional<Refusal> check_openai(const json& body) {
  if (!body.contains("model") || !body["model"].is_string()) {
    return Refusal{400, "you must provide a model parameter", ""};
  }
  if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty()) {
    return Refusal{400, "Missing required parameter: 'messages'.", "missing_required_parameter"};
  }
  if (body.contains("tools")) {
    if (!body["tools"].is_array()) return Refusal{400, "Invalid type for 'tools'.", ""};
    for (std::size_t i = 0; i < body["tools"].size(); ++i) {
      const json& t = body["tools"][i];
      std::string name = t.contains("function") && t["function"].is_object()
                             ? t["function"].value("name", "")
                             : "";
      if (!std::regex_match(name, kOpenAiToolName)) {
        return Refusal{400,
                       "Invalid 'tools[" + std::to_string(i) +
                           "].function.name': string does not match pattern. Expected a string "
                           "that matches the pattern '^[a-zA-Z0-9_-]+$'.",
                       "invalid_value"};
      }
    }
  }
  const json& msgs = body["messages"];
  std::set<std::string> open_calls;  // assistant tool calls not yet answered
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    const json& m = msgs[i];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
      return Refusal{400, "Invalid 'messages[" + std::to_string(i) + "]': missing 'role'.", ""};
    }
    std::string role = m["role"];
    if (role == "tool") {
      std::string id = m.value("tool_call_id", "");
      if (!open_calls.erase(id)) {
        return Refusal{400,
                       "Invalid parameter: messages with role 'tool' must be a response to a "
                       "preceeding message with 'tool_calls'.",
                       ""};
      }
      continue;
    }
    if (!open_calls.empty()) {
      return Refusal{400,
                     "An assistant message with 'tool_calls' must be followed by tool messages "
                     "responding to each 'tool_call_id'. The following tool_call_ids did not have "
                     "response messages: " +
                         *open_calls.begin(),
                     ""};
    }
    if (role == "assistant" && m.contains("tool_calls") && m["tool_calls"].is_array()) {
      for (const auto& c : m["tool_calls"]) {
        if (c.is_object() && c.contains("id") && c["id"].is_string()) open_calls.insert(c["id"]);
      }
    }
  }
  return std::nullopt;
}

/// Anthropic's checks: model, max_tokens, messages, tool names, tool_result after tool_use.
std::optional<Refusal> check_anthropic(const json& body) {
  if (!body.contains("model") || !body["model"].is_string()) {
    return Refusal{400, "model: Field required", ""};
  }
  if (!body.contains("max_tokens") || !body["max_tokens"].is_number_integer()) {
    return Refusal{400, "max_tokens: Field required", ""};
  }
  if (!body.contains("messages") || !body["messages"].is_array()) {
    return Refusal{400, "messages: Field required", ""};
  }
  if (body.contains("tools") && body["tools"].is_array()) {
    for (std::size_t i = 0; i < body["tools"].size(); ++i) {
      std::string name = body["tools"][i].is_object() ? body["tools"][i].value("name", "") : "";
      if (!std::regex_match(name, kAnthropicToolName)) {
        return Refusal{400,
                       "tools." + std::to_string(i) +
                           ".custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'",
                       ""};
      }
    }
  }
  const json& msgs = body["messages"];
  std::set<std::string> open_uses;
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    const json& m = msgs[i];
    if (!m.is_object()) return Refusal{400, "messages." + std::to_string(i) + ": invalid", ""};
    std::string role = m.value("role", "");
    if (role != "user" && role != "assistant") {
      return Refusal{
          400, "messages." + std::to_string(i) + ".role: Input should be 'user' or 'assistant'",
          ""};
    }
    std::set<std::string> answered;
    if (m.contains("content") && m["content"].is_array()) {
      for (const auto& b : m["content"]) {
        if (b.is_object() && b.value("type", "") == "tool_result") {
          std::string id = b.value("tool_use_id", "");
          if (!open_uses.count(id)) {
            return Refusal{
                400,
                "messages." + std::to_string(i) +
                    ".content: unexpected `tool_use_id` found in `tool_result` blocks: " + id +
                    ". Each `tool_result` block must have a corresponding `tool_use` "
                    "block in the previous message.",
                ""};
          }
          answered.insert(id);
        }
      }
    }
    for (const auto& id : open_uses) {
      if (!answered.count(id)) {
        return Refusal{400,
                       "messages." + std::to_string(i) +
                           ": `tool_use` ids were found without `tool_result` blocks immediately "
                           "after: " +
                           id +
                           ". Each `tool_use` block must have a corresponding `tool_result` block "
                           "in the next message.",
                       ""};
      }
    }
    open_uses.clear();
    if (role == "assistant" && m.contains("content") && m["content"].is_array()) {
      for (const auto& b : m["content"]) {
        if (b.is_object() && b.value("type", "") == "tool_use") open_uses.insert(b.value("id", ""));
      }
    }
  }
  return std::nullopt;
}

/// Gemini's checks: contents, function declaration names.
std::optional<Refusal> check_gemini(const json& body) {
  if (!body.contains("contents") || !body["contents"].is_array() || body["contents"].empty()) {
    return Refusal{400, "* GenerateContentRequest.contents: contents is not specified\n", ""};
  }
  if (body.contains("tools") && body["tools"].is_array()) {
    for (const auto& tool : body["tools"]) {
      if (!tool.is_object() || !tool.contains("functionDeclarations")) continue;
      for (const auto& f : tool["functionDeclarations"]) {
        std::string name = f.is_object() ? f.value("name", "") : "";
        if (!std::regex_match(name, kGeminiToolName)) {
          return Refusal{400,
                         "* GenerateContentRequest.tools[0].function_declarations[0].name: Invalid "
                         "function name. Must start with a letter or an underscore. Must be "
                         "alphameric (a-z, A-Z, 0-9), underscores (_), dots (.), colons (:) or "
                         "dashes (-), with a maximum length of 64.\n",
                         ""};
        }
      }
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Answers: one non-stream body and one event list per dialect.

std::string call_id(const FakeToolCall& c, const char* prefix, const Ask& ask, std::size_t i) {
  return c.id.empty()
             ? std::string(prefix) + "fake" + std::to_string(ask.seq) + "_" + std::to_string(i)
             : c.id;
}

std::string sse(const json& data) { return "data: " + dump(data) + "\n\n"; }
std::string sse(const std::string& event, const json& data) {
  return "event: " + event + "\n" + "data: " + dump(data) + "\n\n";
}

// OpenAI chat completions.

json openai_usage(const ScriptedReply& r) {
  return {{"prompt_tokens", r.input_tokens},
          {"completion_tokens", r.output_tokens},
          {"total_tokens", r.input_tokens + r.output_tokens},
          {"prompt_tokens_details", {{"cached_tokens", 0}}},
          {"completion_tokens_details", {{"reasoning_tokens", r.reasoning.empty() ? 0 : 1}}}};
}

json openai_body(const ScriptedReply& r, const Ask& ask) {
  json message = {{"role", "assistant"},
                  {"content", r.text.empty() ? json(nullptr) : json(r.text)},
                  {"refusal", nullptr}};
  if (!r.reasoning.empty()) message["reasoning_content"] = r.reasoning;
  if (!r.tool_calls.empty()) {
    json calls = json::array();
    for (std::size_t i = 0; i < r.tool_calls.size(); ++i) {
      const auto& c = r.tool_calls[i];
      calls.push_back({{"id", call_id(c, "call_", ask, i)},
                       {"type", "function"},
                       {"function", {{"name", c.name}, {"arguments", dump(c.arguments)}}}});
    }
    message["tool_calls"] = calls;
  }
  return {{"id", ask.id},
          {"object", "chat.completion"},
          {"created", ask.created},
          {"model", ask.model},
          {"system_fingerprint", "fp_fake"},
          {"choices",
           {{{"index", 0},
             {"message", message},
             {"logprobs", nullptr},
             {"finish_reason", r.tool_calls.empty() ? "stop" : "tool_calls"}}}},
          {"usage", openai_usage(r)}};
}

std::vector<std::string> openai_events(const ScriptedReply& r, const Ask& ask) {
  auto chunk = [&](json delta, json finish = nullptr) {
    json c = {{"id", ask.id},
              {"object", "chat.completion.chunk"},
              {"created", ask.created},
              {"model", ask.model},
              {"system_fingerprint", "fp_fake"},
              {"choices",
               {{{"index", 0},
                 {"delta", std::move(delta)},
                 {"logprobs", nullptr},
                 {"finish_reason", std::move(finish)}}}}};
    if (ask.include_usage) c["usage"] = nullptr;
    return sse(c);
  };
  std::vector<std::string> out;
  out.push_back(chunk({{"role", "assistant"}, {"content", ""}, {"refusal", nullptr}}));
  for (const auto& piece : split_utf8(r.reasoning, r.chunks)) {
    out.push_back(chunk({{"reasoning_content", piece}}));
  }
  for (const auto& piece : split_utf8(r.text, r.chunks)) out.push_back(chunk({{"content", piece}}));
  for (std::size_t i = 0; i < r.tool_calls.size(); ++i) {
    const auto& c = r.tool_calls[i];
    out.push_back(chunk({{"tool_calls",
                          {{{"index", i},
                            {"id", call_id(c, "call_", ask, i)},
                            {"type", "function"},
                            {"function", {{"name", c.name}, {"arguments", ""}}}}}}}));
    for (const auto& frag : split_utf8(dump(c.arguments), r.chunks)) {
      out.push_back(chunk({{"tool_calls", {{{"index", i}, {"function", {{"arguments", frag}}}}}}}));
    }
  }
  out.push_back(chunk(json::object(), r.tool_calls.empty() ? "stop" : "tool_calls"));
  if (ask.include_usage) {
    out.push_back(sse(json{{"id", ask.id},
                           {"object", "chat.completion.chunk"},
                           {"created", ask.created},
                           {"model", ask.model},
                           {"system_fingerprint", "fp_fake"},
                           {"choices", json::array()},
                           {"usage", openai_usage(r)}}));
  }
  out.push_back("data: [DONE]\n\n");
  return out;
}

// Anthropic messages.

json anthropic_usage(const ScriptedReply& r, int output_tokens) {
  return {{"input_tokens", r.input_tokens},
          {"cache_creation_input_tokens", 0},
          {"cache_read_input_tokens", 0},
          {"output_tokens", output_tokens}};
}

json anthropic_body(const ScriptedReply& r, const Ask& ask) {
  json content = json::array();
  if (!r.reasoning.empty()) {
    content.push_back(
        {{"type", "thinking"}, {"thinking", r.reasoning}, {"signature", "fake-signature"}});
  }
  if (!r.text.empty() || (r.tool_calls.empty() && r.reasoning.empty())) {
    content.push_back({{"type", "text"}, {"text", r.text}});
  }
  for (std::size_t i = 0; i < r.tool_calls.size(); ++i) {
    const auto& c = r.tool_calls[i];
    content.push_back({{"type", "tool_use"},
                       {"id", call_id(c, "toolu_", ask, i)},
                       {"name", c.name},
                       {"input", c.arguments}});
  }
  return {{"id", ask.id},
          {"type", "message"},
          {"role", "assistant"},
          {"model", ask.model},
          {"content", content},
          {"stop_reason", r.tool_calls.empty() ? "end_turn" : "tool_use"},
          {"stop_sequence", nullptr},
          {"usage", anthropic_usage(r, r.output_tokens)}};
}

std::vector<std::string> anthropic_events(const ScriptedReply& r, const Ask& ask) {
  std::vector<std::string> out;
  out.push_back(sse("message_start", {{"type", "message_start"},
                                      {"message",
                                       {{"id", ask.id},
                                        {"type", "message"},
                                        {"role", "assistant"},
                                        {"model", ask.model},
                                        {"content", json::array()},
                                        {"stop_reason", nullptr},
                                        {"stop_sequence", nullptr},
                                        {"usage", anthropic_usage(r, 1)}}}}));
  out.push_back(sse("ping", {{"type", "ping"}}));
  int index = 0;
  auto block = [&](json start, const std::vector<json>& deltas) {
    out.push_back(sse(
        "content_block_start",
        {{"type", "content_block_start"}, {"index", index}, {"content_block", std::move(start)}}));
    for (const auto& d : deltas) {
      out.push_back(sse("content_block_delta",
                        {{"type", "content_block_delta"}, {"index", index}, {"delta", d}}));
    }
    out.push_back(sse("content_block_stop", {{"type", "content_block_stop"}, {"index", index}}));
    ++index;
  };
  if (!r.reasoning.empty()) {
    std::vector<json> deltas;
    for (const auto& p : split_utf8(r.reasoning, r.chunks)) {
      deltas.push_back({{"type", "thinking_delta"}, {"thinking", p}});
    }
    deltas.push_back({{"type", "signature_delta"}, {"signature", "fake-signature"}});
    block({{"type", "thinking"}, {"thinking", ""}, {"signature", ""}}, deltas);
  }
  if (!r.text.empty() || (r.tool_calls.empty() && r.reasoning.empty())) {
    std::vector<json> deltas;
    for (const auto& p : split_utf8(r.text, r.chunks)) {
      deltas.push_back({{"type", "text_delta"}, {"text", p}});
    }
    block({{"type", "text"}, {"text", ""}}, deltas);
  }
  for (std::size_t i = 0; i < r.tool_calls.size(); ++i) {
    const auto& c = r.tool_calls[i];
    std::vector<json> deltas;
    for (const auto& p : split_utf8(dump(c.arguments), r.chunks)) {
      deltas.push_back({{"type", "input_json_delta"}, {"partial_json", p}});
    }
    block({{"type", "tool_use"},
           {"id", call_id(c, "toolu_", ask, i)},
           {"name", c.name},
           {"input", json::object()}},
          deltas);
  }
  out.push_back(
      sse("message_delta", {{"type", "message_delta"},
                            {"delta",
                             {{"stop_reason", r.tool_calls.empty() ? "end_turn" : "tool_use"},
                              {"stop_sequence", nullptr}}},
                            {"usage", {{"output_tokens", r.output_tokens}}}}));
  out.push_back(sse("message_stop", {{"type", "message_stop"}}));
  return out;
}

// Gemini generateContent.

json gemini_usage(const ScriptedReply& r, bool final_chunk) {
  json u = {{"promptTokenCount", r.input_tokens}};
  if (final_chunk) {
    u["candidatesTokenCount"] = r.output_tokens;
    u["totalTokenCount"] = r.input_tokens + r.output_tokens;
    if (!r.reasoning.empty()) u["thoughtsTokenCount"] = 1;
  } else {
    u["totalTokenCount"] = r.input_tokens;
  }
  return u;
}

json gemini_response(json parts, bool final_chunk, const ScriptedReply& r, const Ask& ask) {
  json candidate = {{"content", {{"parts", std::move(parts)}, {"role", "model"}}}, {"index", 0}};
  if (final_chunk) candidate["finishReason"] = "STOP";
  return {{"candidates", json::array({candidate})},
          {"usageMetadata", gemini_usage(r, final_chunk)},
          {"modelVersion", ask.model},
          {"responseId", ask.id}};
}

json gemini_call_parts(const ScriptedReply& r) {
  json parts = json::array();
  for (const auto& c : r.tool_calls) {
    parts.push_back({{"functionCall", {{"name", c.name}, {"args", c.arguments}}}});
  }
  return parts;
}

json gemini_body(const ScriptedReply& r, const Ask& ask) {
  json parts = json::array();
  if (!r.reasoning.empty()) parts.push_back({{"text", r.reasoning}, {"thought", true}});
  if (!r.text.empty() || r.tool_calls.empty()) parts.push_back({{"text", r.text}});
  for (auto& p : gemini_call_parts(r)) parts.push_back(p);
  return gemini_response(parts, true, r, ask);
}

std::string gemini_sse(const json& data) { return "data: " + dump(data) + "\r\n\r\n"; }

std::vector<std::string> gemini_events(const ScriptedReply& r, const Ask& ask) {
  std::vector<json> bodies;
  for (const auto& p : split_utf8(r.reasoning, r.chunks)) {
    bodies.push_back(json::array({{{"text", p}, {"thought", true}}}));
  }
  for (const auto& p : split_utf8(r.text, r.chunks)) {
    bodies.push_back(json::array({{{"text", p}}}));
  }
  if (!r.tool_calls.empty()) bodies.push_back(gemini_call_parts(r));  // whole, as Gemini sends
  if (bodies.empty()) bodies.push_back(json::array({{{"text", ""}}}));
  std::vector<std::string> out;
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    out.push_back(gemini_sse(gemini_response(bodies[i], i + 1 == bodies.size(), r, ask)));
  }
  return out;
}

/// The malformed stream's broken event per dialect.
std::string broken_event(Dialect d) {
  switch (d) {
    case Dialect::openai:
      return "data: {\"id\":\"chatcmpl-broken\",\"choices\":[{\"delta\":\n\n";
    case Dialect::anthropic:
      return "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
             "\"delta\":{\"type\":\"text_d\n\n";
    case Dialect::gemini:
      return "data: {\"candidates\":[{\"content\":{\"parts\":\r\n\r\n";
  }
  return "data: {\n\n";
}

std::string malformed_body(Dialect d) {
  switch (d) {
    case Dialect::openai:
      return "{\"id\":\"chatcmpl-broken\",\"object\":\"chat.completion\",";
    case Dialect::anthropic:
      return "{\"id\":\"msg_broken\",\"type\":\"message\",\"content\":[";
    case Dialect::gemini:
      return "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":";
  }
  return "{";
}

}  // namespace

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

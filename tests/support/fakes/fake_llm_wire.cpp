// tests/support/fakes/fake_llm_wire.cpp — the wire formats of the fake LLM server (see
// fake_llm_wire.h): request checks, answer bodies and event streams, error bodies.
#include "support/fakes/fake_llm_wire.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <optional>
#include <regex>
#include <set>
#include <stdexcept>
#include <utility>

namespace jarvis::test::fakes::wire {

using nlohmann::json;
using Kind = ScriptedReply::Kind;
using Dialect = FakeLlmServer::Dialect;

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

}  // namespace jarvis::test::fakes::wire

// tests/support/fakes/fake_llm_wire.h — private to fake_llm_server.cpp: the three vendors' wire
// formats the fake LLM server speaks — the request checks the real APIs make, the answer bodies
// and event streams (OpenAI chat completions, Anthropic Messages, Gemini generateContent), the
// error bodies, and the broken events and bodies of the malformed replies. Not for tests: they use
// FakeLlmServer (fake_llm_server.h).
//
//   wire::Ask ask{.model = "fake-model", .stream = true};
//   if (auto refused = wire::check_openai(body)) reply(refused->status, wire::openai_error(…));
//   for (const auto& event : wire::openai_events(reply, ask)) write(event);
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/fakes/fake_llm_server.h"

namespace jarvis::test::fakes::wire {

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

/// JSON text; invalid UTF-8 from a test's strings is replaced instead of throwing.
std::string dump(const nlohmann::json& j);
/// The control endpoint's name of a reply kind ("text", "tool_calls", …).
const char* kind_name(ScriptedReply::Kind k);

/// OpenAI's error body {"error":{message, type, param, code}} for `status`.
nlohmann::json openai_error(int status, const std::string& message, const std::string& code);
/// Gemini's error body {"error":{code, message, status, details}} (ErrorInfo `reason`, RetryInfo
/// from `retry_after`).
nlohmann::json gemini_error(int status, const std::string& message, const std::string& reason,
                            const std::string& retry_after);
/// Anthropic's error body {"type":"error","error":{type, message},"request_id"}.
nlohmann::json anthropic_error(int status, const std::string& message,
                               const std::string& request_id);

/// The text of the last user message that has text (tool results skipped).
std::string last_user_text(FakeLlmServer::Dialect d, const nlohmann::json& body);
/// The request checks of each real API; nullopt when the request is accepted.
std::optional<Refusal> check_openai(const nlohmann::json& body);
std::optional<Refusal> check_anthropic(const nlohmann::json& body);
std::optional<Refusal> check_gemini(const nlohmann::json& body);

/// The whole (non-streamed) answer body of each dialect.
nlohmann::json openai_body(const ScriptedReply& r, const Ask& ask);
nlohmann::json anthropic_body(const ScriptedReply& r, const Ask& ask);
nlohmann::json gemini_body(const ScriptedReply& r, const Ask& ask);
/// The streamed answer of each dialect: one string per server-sent event, framing included.
std::vector<std::string> openai_events(const ScriptedReply& r, const Ask& ask);
std::vector<std::string> anthropic_events(const ScriptedReply& r, const Ask& ask);
std::vector<std::string> gemini_events(const ScriptedReply& r, const Ask& ask);

/// A stream event whose data is not JSON (kind malformed, streamed).
std::string broken_event(FakeLlmServer::Dialect d);
/// An unparsable answer body (kind malformed, not streamed).
std::string malformed_body(FakeLlmServer::Dialect d);

}  // namespace jarvis::test::fakes::wire

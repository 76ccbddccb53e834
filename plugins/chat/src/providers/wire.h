// chat/src/providers/wire.h — what the three wire formats share: tool-name mapping to the
// providers' charset, Retry-After parsing, error classification (HTTP status and transport error
// class → ProviderError), sanitising provider error text, non-throwing JSON accessors, and
// stream_sse(), which runs one streamed request and feeds a dialect's decoder.
//
//   ToolNames names(request.tools, request.messages);          // "memory.search" → "memory_search"
//   body["tools"][0]["function"]["name"] = names.to_wire("memory.search");
//   std::string registry_name = names.from_wire(delta_name);   // back, for the ToolCall
//
//   StreamState state(sink);                                   // text/reasoning deltas, partial
//   stream_sse(http, settings, std::move(out), request, state, decoder);   // throws ProviderError
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jarvis/http_client.h"
#include "jarvis/json.h"
#include "jarvis/sse.h"
#include "provider.h"

namespace chat::wire {

// --- Tool names ---------------------------------------------------------------------------------

/// `name` in the charset every provider accepts for function names,
/// `^[a-zA-Z_][a-zA-Z0-9_-]{0,63}$` (OpenAI's `^[a-zA-Z0-9_-]{1,64}$`, plus Gemini's "starts with a
/// letter or an underscore"): other characters become '_', a leading digit or '-' gets a "t_"
/// prefix, the result is cut to 64 characters; "" becomes "tool".
std::string sanitize_tool_name(std::string_view name);

/// A two-way map between registry tool names and the names sent to one provider, for one request.
/// Collisions after sanitising ("a.b" and "a_b") get a numbered suffix, so the map stays
/// one-to-one.
class ToolNames {
 public:
  /// Maps every tool offered and every tool named in the conversation's tool calls and results.
  ToolNames(const std::vector<ToolDef>& tools, const std::vector<Message>& messages);
  /// The provider-side name of registry tool `name` (sanitised on the fly if not mapped).
  std::string to_wire(const std::string& name) const;
  /// The registry name of provider-side `name`; an unknown name is returned as it is (the agent
  /// loop then answers "unknown tool").
  std::string from_wire(const std::string& name) const;

 private:
  void add(const std::string& name);
  std::map<std::string, std::string> to_wire_;
  std::map<std::string, std::string> from_wire_;
};

// --- Errors -------------------------------------------------------------------------------------

/// The delay a Retry-After header value asks for: delta-seconds ("120") or an HTTP-date
/// ("Wed, 21 Oct 2015 07:28:00 GMT", also the RFC 850 and asctime forms), relative to `now`. A
/// date in the past is 0; nullopt when the value is neither. Capped at 24 hours.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

/// Text from a provider, made fit for a message users may see: control characters become spaces,
/// runs of blanks collapse, anything that looks like an API key (sk-…, AIza…, long opaque
/// tokens) and every occurrence of `secret` become "[REDACTED]", and the result is cut to
/// `max_chars` (with "…").
std::string sanitize_provider_text(std::string_view text, const std::string& secret = "",
                                   std::size_t max_chars = 160);

/// The provider's own error message from an error body — OpenAI/Anthropic/Gemini all use
/// {"error":{"message":…}} (Gemini also a top-level array of those) — sanitised; "" if none.
std::string error_body_message(std::string_view body, const std::string& secret);

/// A Gemini-style hint of when to retry inside an error body (google.rpc.RetryInfo
/// "retryDelay": "30s"), when the body has one.
std::optional<std::chrono::milliseconds> retry_delay_from_body(std::string_view body);

/// The ProviderError for an HTTP error status: 429 rate_limited (retryable, Retry-After),
/// 401/403 auth, 408 timeout, 5xx and 529 server_error (retryable), other 4xx request_error.
ProviderError http_status_error(const std::string& provider, int status,
                                const jarvis::Headers& headers, std::string_view body,
                                const std::string& secret);

/// The ProviderError for a transport failure (OutboundResponse::error_class); `idle` says the
/// request ended before its whole-request deadline, so a "timeout" is an idle stream (stalled).
ProviderError transport_error(const std::string& provider, const jarvis::OutboundResponse& res,
                              bool cancelled, bool idle);

/// A ProviderError of kind malformed (the provider's answer could not be read).
ProviderError malformed(const std::string& provider, const std::string& what);

// --- JSON without exceptions
// ----------------------------------------------------------------------

/// `j[key]` when `j` is an object holding a string there, else "".
std::string str(const jarvis::Json& j, const char* key);
/// `j[key]` when `j` is an object holding an object there, else nullptr.
const jarvis::Json* obj(const jarvis::Json& j, const char* key);
/// `j[key]` when `j` is an object holding an array there, else nullptr.
const jarvis::Json* arr(const jarvis::Json& j, const char* key);
/// `j[key]` as an integer when it is a number, else `fallback`.
long long num(const jarvis::Json& j, const char* key, long long fallback = 0);

/// Tool arguments from a model: a JSON object stays, "" is {}, anything else is {"_raw": text}.
jarvis::Json parse_arguments(std::string_view text);

// --- Streaming
// ------------------------------------------------------------------------------------

/// The answer being assembled, and the sink it streams to. Text deltas mark the answer partial
/// (after that a failure must not be retried); tool calls are kept until finish().
class StreamState {
 public:
  explicit StreamState(const StreamSink& sink) : sink_(sink) {}
  void text(std::string_view delta);
  void reasoning(std::string_view delta);
  /// Adds a complete tool call (delivered to the sink by finish()).
  void tool_call(ToolCall call);
  /// Delivers the tool calls to the sink (once the answer is complete).
  void finish();
  bool partial() const { return partial_; }
  ModelResult result;

 private:
  const StreamSink& sink_;
  bool partial_ = false;
};

/// A dialect's reader of the event stream.
class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  /// One server-sent event. Throws ProviderError (malformed data, an error event in the stream).
  virtual void on_event(const jarvis::SseEvent& event, StreamState& state) = 0;
  /// True once the stream said the answer is complete ([DONE], a finish reason, message_stop).
  virtual bool complete() const = 0;
  /// Called once after a complete stream, before StreamState::finish (e.g. to emit tool calls).
  virtual void end(StreamState& state) = 0;
};

/// Sends `out` (a POST with its JSON body and headers already set) with the settings' timeouts,
/// the request's cancel token and an on_chunk that feeds `decoder`; returns the assembled result
/// (provider, model, latency filled in) or throws ProviderError — partial set when text had been
/// streamed. Never logs or puts the API key into a message.
ModelResult stream_sse(jarvis::HttpClient& http, const ProviderSettings& settings,
                       jarvis::OutboundRequest out, const ModelRequest& request,
                       const std::string& model, StreamState& state, StreamDecoder& decoder);

/// The system prompt (the leading "system" messages joined with blank lines) and the rest.
struct SplitPrompt {
  std::string system;
  std::vector<const Message*> rest;
};
SplitPrompt split_system(const std::vector<Message>& messages);

/// A fresh tool-call id for providers that send none ("call_" + 16 hex digits).
std::string synthetic_call_id();

}  // namespace chat::wire

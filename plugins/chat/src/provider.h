// chat/src/provider.h — the contract between the agent loop and the LLM providers.
//
// One interface for every provider (OpenAI-compatible chat completions, Gemini, Anthropic), each
// streaming and calling tools. The agent loop talks only to a ModelRouter, which picks the
// primary provider, retries retryable failures, fails over along FALLBACK_PROVIDERS, keeps a
// per-model cooldown after a 429 and records each provider's health.
//
//   chat::ModelRequest req{.messages = prompt, .tools = tool_defs, .cancel = token};
//   chat::StreamSink sink{.on_text = [&](std::string_view t) { publish_delta(t); }};
//   chat::RouteReport report;
//   try {
//     chat::ModelResult r = router.generate(req, sink, &report);   // r.tool_calls, r.text, …
//   } catch (const chat::ProviderError& e) { /* every provider failed: e.outage_class */ }
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "jarvis/cancel.h"
#include "jarvis/json.h"

namespace jarvis {
class Host;
}

namespace chat {

/// A tool call the model asked for. `arguments` is a JSON object (providers that send arguments
/// as a JSON string have it parsed; unparsable arguments become {"_raw": "<text>"}).
struct ToolCall {
  std::string id;  ///< provider's id (OpenAI "call_…", Anthropic "toolu_…"); synthesised if none
  std::string name;
  jarvis::Json arguments = jarvis::Json::object();
};

/// One conversation message in provider-neutral form.
struct Message {
  std::string role;     ///< "system", "user", "assistant" or "tool"
  std::string content;  ///< text (for "tool": the tool's result or error as JSON text)
  std::vector<ToolCall> tool_calls;  ///< role "assistant": calls the model made
  std::string tool_call_id;          ///< role "tool": which call this answers
  std::string tool_name;             ///< role "tool": the tool's name (Gemini needs it)
};

/// A tool offered to the model (from ToolRegistry::list()).
struct ToolDef {
  std::string name;  ///< registry name, e.g. "memory.search" (providers map it to their charset)
  std::string description;
  jarvis::Json parameters = jarvis::Json::object();  ///< JSON Schema of the arguments
};

/// One model call.
struct ModelRequest {
  std::vector<Message> messages;  ///< a leading "system" message is the system prompt
  std::vector<ToolDef> tools;     ///< empty: the model may not call tools
  std::string provider;           ///< empty: the router's order; else only this provider
  std::string model;              ///< empty: the provider's configured model
  int max_output_tokens = 0;      ///< 0: MODEL_MAX_OUTPUT_TOKENS
  std::optional<double> temperature;
  jarvis::CancelToken cancel;  ///< stops the upstream request (the connection is closed)
  std::string trace_id;        ///< carried into model.run.* events
  std::string thread_id;       ///< carried into model.run.* events (scopes them to the owner)
};

/// Receives the answer as it streams, on the calling thread. Any member may be empty.
struct StreamSink {
  std::function<void(std::string_view text)> on_text;            ///< answer text delta
  std::function<void(std::string_view text)> on_reasoning;       ///< reasoning delta (kept apart)
  std::function<void(const ToolCall& call)> on_tool_call;        ///< a call, once complete
  std::function<void(const std::string& provider)> on_attempt;  ///< before each attempt
};

/// A complete model answer.
struct ModelResult {
  std::string provider;  ///< "openai", "sglang", "gemini" or "anthropic"
  std::string model;
  std::string text;       ///< the answer, without reasoning
  std::string reasoning;  ///< reasoning_content / thinking, never shown as the answer
  std::vector<ToolCall> tool_calls;
  std::string finish_reason;  ///< "stop", "tool_calls", "length", …
  long input_tokens = 0;
  long output_tokens = 0;
  long latency_ms = 0;  ///< request start to last byte
};

/// A failed model call. `outage_class` is one of dns_resolution, timeout, network_unreachable,
/// provider_unavailable (every failure has one); `kind` says more precisely what happened.
class ProviderError : public std::runtime_error {
 public:
  ProviderError(std::string message, std::string outage_class, std::string kind,
                int http_status = 0, bool retryable = false,
                std::optional<std::chrono::milliseconds> retry_after = std::nullopt)
      : std::runtime_error(std::move(message)),
        outage_class(std::move(outage_class)),
        kind(std::move(kind)),
        http_status(http_status),
        retryable(retryable),
        retry_after(retry_after) {}

  std::string outage_class;
  /// rate_limited (429 / quota), server_error (5xx), timeout, stalled (idle stream), network,
  /// request_error (other 4xx: never retried), auth (401/403), malformed (unparsable answer),
  /// cancelled, not_configured.
  std::string kind;
  int http_status = 0;
  bool retryable = false;
  std::optional<std::chrono::milliseconds> retry_after;  ///< from Retry-After, when sent
  std::string provider;
  std::string model;
  /// True when part of the answer had already been streamed to the sink: the router then does
  /// not retry or fail over (the caller would see the text twice) and rethrows.
  bool partial = false;
};

/// One provider. Implementations are thread-safe (one object serves concurrent steps).
class Provider {
 public:
  virtual ~Provider() = default;
  virtual const std::string& name() const = 0;
  /// The configured model ("" when the provider is not configured).
  virtual const std::string& default_model() const = 0;
  /// False when its required settings are missing; the router then skips it.
  virtual bool configured() const = 0;
  /// Calls the model (streaming), feeding `sink`; throws ProviderError.
  virtual ModelResult generate(const ModelRequest& request, const StreamSink& sink) = 0;
};

/// What happened on the way to an answer (for events, metrics and the reply).
struct RouteReport {
  std::string lane;  ///< "primary" or "fallback"
  std::vector<ProviderError> failures;  ///< every failed attempt, in order
};

/// Picks providers in order (PRIMARY_PROVIDER, then FALLBACK_PROVIDERS), retries retryable
/// failures with bounded backoff honouring Retry-After, puts a model that answered 429 on a
/// cooldown (that model only, not the whole provider) and fails over at once, never retries a
/// 4xx request error, emits model.run.start|end|error and model.fallback, and records health.
/// Thread-safe.
class ModelRouter {
 public:
  virtual ~ModelRouter() = default;
  /// True when at least one provider in the order is configured.
  virtual bool configured() const = 0;
  /// The reply to give when no provider is configured: which variables to set.
  virtual std::string not_configured_message() const = 0;
  /// Throws the last ProviderError when every provider failed (kind not_configured when none
  /// is configured, cancelled when `request.cancel` fired).
  virtual ModelResult generate(const ModelRequest& request, const StreamSink& sink,
                               RouteReport* report) = 0;
  /// Read-only health: {"primary", "order":[…], "providers":[{name, model, configured,
  /// last_success, last_failure, last_error:{kind, outage_class, message}, cooldowns:[{model,
  /// until}]}]} — never has a side effect.
  virtual jarvis::Json health() const = 0;
  /// Provider names in the order they are tried.
  virtual std::vector<std::string> order() const = 0;
};

/// The router over the providers configured in the plugin's config (plugin.yaml).
std::unique_ptr<ModelRouter> make_router(jarvis::Host& host);

/// A router over the given providers (tests): order = as given.
std::unique_ptr<ModelRouter> make_router(jarvis::Host& host,
                                         std::vector<std::shared_ptr<Provider>> providers);

}  // namespace chat

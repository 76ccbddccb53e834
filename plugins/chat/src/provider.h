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
#include "jarvis/events.h"
#include "jarvis/json.h"
#include "jarvis/secret.h"

namespace spdlog {
class logger;
}

namespace jarvis {
class Host;
class HttpClient;
class Metrics;
class PluginConfig;
}  // namespace jarvis

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
  std::string role;                  ///< "system", "user", "assistant" or "tool"
  std::string content;               ///< text (for "tool": the tool's result or error as JSON text)
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
  /// Empty: each provider's configured model. Else the model asked of the first provider tried
  /// (`provider` when set, else the primary); fallbacks keep their own configured models (another
  /// vendor does not know this model name).
  std::string model;
  int max_output_tokens = 0;  ///< 0: MODEL_MAX_OUTPUT_TOKENS
  std::optional<double> temperature;
  jarvis::CancelToken cancel;  ///< stops the upstream request (the connection is closed)
  std::string trace_id;        ///< carried into model.run.* events
  std::string thread_id;       ///< carried into model.run.* events (scopes them to the owner)
  /// What the call is for — "chat.step", "chat.compact", or the purpose a chat.complete caller
  /// names ("memory.extract", …): carried into model.run.* events and the metric
  /// model_purpose_tokens_total{purpose,direction}. Empty: not recorded by purpose.
  std::string purpose;
};

/// Receives the answer as it streams, on the calling thread. Any member may be empty.
struct StreamSink {
  std::function<void(std::string_view text)> on_text;           ///< answer text delta
  std::function<void(std::string_view text)> on_reasoning;      ///< reasoning delta (kept apart)
  std::function<void(const ToolCall& call)> on_tool_call;       ///< a call, once complete
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
///
/// `what()` is safe to show users and to log: it names the provider and what happened and carries
/// at most a short, sanitised excerpt of the provider's own error message — never an API key,
/// never a raw error body.
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

  /// dns_resolution, timeout, network_unreachable or provider_unavailable. A cancellation (kind
  /// cancelled) is no outage: its outage_class is "".
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
  /// Calls the model (streaming), feeding `sink`; throws ProviderError. `request.model` (when
  /// set) replaces default_model(); `request.provider` is ignored. Tool calls reach
  /// `sink.on_tool_call` only once the answer is complete, so a failed answer never delivered any.
  virtual ModelResult generate(const ModelRequest& request, const StreamSink& sink) = 0;
  /// For not_configured_message(): what to set to configure it, e.g. "OPENAI_MODEL (and
  /// OPENAI_BASE_URL / OPENAI_API_KEY as needed)". Empty by default.
  virtual std::string setup_hint() const { return ""; }
};

/// What happened on the way to an answer (for events, metrics and the reply).
struct RouteReport {
  std::string lane;                     ///< "primary" or "fallback"
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
  /// Read-only health: {"primary", "order":[…], "unknown":[names not known], "configured",
  /// "providers":[{name, model, configured, in_order, last_success:{at, model, latency_ms},
  /// last_failure:{at, model, error}, last_error:{kind, outage_class, status, message, retryable,
  /// retry_after_ms?}, models:[{model, last_success, last_failure}], cooldowns:[{model, until,
  /// remaining_ms}]}]} (absent outcomes are null) — never has a side effect.
  virtual jarvis::Json health() const = 0;
  /// Provider names in the order they are tried.
  virtual std::vector<std::string> order() const = 0;
};

/// The router over the providers configured in the plugin's config (plugin.yaml): openai,
/// sglang, gemini and anthropic over host.http(), events through host.events(), metrics through
/// host.metrics(). Call it in setup() (it declares the latency histogram).
std::unique_ptr<ModelRouter> make_router(jarvis::Host& host);

/// A router over the given providers: order = as given (retries, backoff and cooldown from the
/// host's config).
std::unique_ptr<ModelRouter> make_router(jarvis::Host& host,
                                         std::vector<std::shared_ptr<Provider>> providers);

// --- The parts make_router(host) is built from (tests build routers without a host) ------------

/// One provider's settings, read from plugin.yaml by provider_settings().
struct ProviderSettings {
  std::string name;        ///< "openai", "sglang", "gemini" or "anthropic"
  std::string dialect;     ///< wire format: "openai", "gemini" or "anthropic"
  std::string base_url;    ///< without a trailing slash
  jarvis::Secret api_key;  ///< empty: no key sent (local OpenAI-compatible servers)
  std::string model;
  std::chrono::milliseconds timeout{120000};      ///< whole request
  std::chrono::milliseconds idle_timeout{60000};  ///< a stream silent this long fails (stalled)
  int max_output_tokens = 4096;
  /// OpenAI dialect: the request field carrying max_output_tokens — "max_tokens" (what every
  /// OpenAI-compatible server reads) or "max_completion_tokens" (OpenAI's reasoning models).
  std::string max_tokens_field = "max_tokens";
  bool configured = false;  ///< see provider_settings() for the rule of each provider
  std::string setup_hint;   ///< which variables configure it
};

/// The four providers' settings from the plugin's config, in the order openai, sglang, gemini,
/// anthropic. Configured when: openai — OPENAI_MODEL is set (the base URL defaults to OpenAI's,
/// the key is optional for local servers); sglang — SGLANG_BASE_URL is set; gemini —
/// GEMINI_API_KEY is set; anthropic — ANTHROPIC_API_KEY is set.
std::vector<ProviderSettings> provider_settings(const jarvis::PluginConfig& config);

/// A provider speaking `settings.dialect` over `http` (which must outlive it).
std::shared_ptr<Provider> make_provider(ProviderSettings settings, jarvis::HttpClient& http);

/// Retry, backoff and failover settings of a router.
struct RouterSettings {
  std::string primary = "openai";                ///< PRIMARY_PROVIDER
  std::vector<std::string> fallbacks;            ///< FALLBACK_PROVIDERS, in order
  int max_retries = 2;                           ///< MODEL_MAX_RETRIES: retries per provider
  std::chrono::milliseconds max_backoff{10000};  ///< MODEL_RETRY_MAX_BACKOFF_SECONDS
  std::chrono::milliseconds base_backoff{500};   ///< first retry's backoff before jitter
  std::chrono::milliseconds cooldown{60000};     ///< MODEL_COOLDOWN_SECONDS (429 without a hint)
};

/// RouterSettings from the plugin's config (FALLBACK_PROVIDERS split on commas and blanks).
RouterSettings router_settings(const jarvis::PluginConfig& config);

/// What a router needs from its surroundings — a narrow seam, so tests need no host.
struct RouterEnv {
  /// Emits an event (host.events().emit); empty: events are dropped.
  std::function<void(jarvis::Event)> emit;
  /// Metrics (host.metrics()); null: none recorded. Must outlive the router.
  jarvis::Metrics* metrics = nullptr;
  /// Logger; null: nothing logged.
  std::shared_ptr<spdlog::logger> log;
  /// Waits `delay` unless `cancel` fires first; returns false when cancelled. Empty: a real wait
  /// that checks the token every 20 ms. Tests record the delays instead of waiting.
  std::function<bool(std::chrono::milliseconds delay, const jarvis::CancelToken& cancel)> sleep;
};

/// A router trying `settings.primary` then `settings.fallbacks` among `providers` (names not
/// among them are reported in health() as unknown and skipped; unconfigured ones are skipped).
std::unique_ptr<ModelRouter> make_router(RouterEnv env, RouterSettings settings,
                                         std::vector<std::shared_ptr<Provider>> providers);

}  // namespace chat

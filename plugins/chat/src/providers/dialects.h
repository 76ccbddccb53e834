// chat/src/providers/dialects.h — the three wire formats behind chat::Provider. Each provider
// builds its request body from a ModelRequest, streams the answer (wire::stream_sse) through its
// dialect's decoder and returns a ModelResult; make_provider() (settings.cpp) picks one by
// ProviderSettings::dialect.
//
//   auto p = chat::dialects::make_openai(settings, host.http());
//   chat::ModelResult r = p->generate(request, sink);       // throws chat::ProviderError
#pragma once

#include <memory>
#include <string>

#include "jarvis/http_client.h"
#include "provider.h"

namespace chat::dialects {

/// Shared part of the HTTP providers: settings, the client, the Provider accessors.
class HttpProvider : public Provider {
 public:
  HttpProvider(ProviderSettings settings, jarvis::HttpClient& http)
      : settings_(std::move(settings)), http_(http) {}
  const std::string& name() const override { return settings_.name; }
  const std::string& default_model() const override { return settings_.model; }
  bool configured() const override { return settings_.configured; }
  std::string setup_hint() const override { return settings_.setup_hint; }

 protected:
  /// The model of this call: request.model when set, else the configured one.
  const std::string& model_for(const ModelRequest& r) const {
    return r.model.empty() ? settings_.model : r.model;
  }
  /// max_output_tokens of this call.
  int max_tokens_for(const ModelRequest& r) const {
    return r.max_output_tokens > 0 ? r.max_output_tokens : settings_.max_output_tokens;
  }
  /// Throws ProviderError(not_configured) when the provider is not configured.
  void require_configured() const;

  ProviderSettings settings_;
  jarvis::HttpClient& http_;
};

/// OpenAI-compatible chat completions: POST {base}/chat/completions.
std::shared_ptr<Provider> make_openai(ProviderSettings settings, jarvis::HttpClient& http);
/// Gemini API: POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse.
std::shared_ptr<Provider> make_gemini(ProviderSettings settings, jarvis::HttpClient& http);
/// Anthropic Messages API: POST {base}/v1/messages.
std::shared_ptr<Provider> make_anthropic(ProviderSettings settings, jarvis::HttpClient& http);

}  // namespace chat::dialects

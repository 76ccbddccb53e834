// Provider and router settings from the plugin's config (plugin.yaml), and make_provider().
// Which settings make a provider "configured" is decided here (see provider.h).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jarvis/config.h"
#include "jarvis/strings.h"
#include "provider.h"
#include "providers/dialects.h"

namespace chat {

namespace {

std::string without_trailing_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// A `*_SECONDS` setting (an int in plugin.yaml, as the runbook names say) as a duration.
std::chrono::milliseconds seconds(const jarvis::PluginConfig& c, const std::string& key) {
  return std::chrono::seconds(c.get_int(key));
}

}  // namespace

std::vector<ProviderSettings> provider_settings(const jarvis::PluginConfig& c) {
  const auto idle = seconds(c, "model_stream_idle_timeout");
  const int max_out = static_cast<int>(c.get_int("max_output_tokens"));
  std::vector<ProviderSettings> out;

  ProviderSettings openai;
  openai.name = "openai";
  openai.dialect = "openai";
  openai.base_url = without_trailing_slash(c.get_string("openai_base_url"));
  openai.api_key = c.get_secret("openai_api_key");
  openai.model = jarvis::trimmed(c.get_string("openai_model"));
  openai.timeout = seconds(c, "openai_timeout");
  openai.max_tokens_field = c.get_string("openai_max_tokens_field");
  openai.configured = !openai.model.empty() && !openai.base_url.empty();
  openai.setup_hint = "OPENAI_MODEL (and OPENAI_BASE_URL / OPENAI_API_KEY as the server needs)";
  out.push_back(std::move(openai));

  ProviderSettings sglang;
  sglang.name = "sglang";
  sglang.dialect = "openai";
  sglang.base_url = without_trailing_slash(c.get_string("sglang_base_url"));
  sglang.api_key = c.get_secret("sglang_api_key");
  sglang.model = jarvis::trimmed(c.get_string("sglang_model"));
  sglang.timeout = seconds(c, "sglang_timeout");
  sglang.configured = !sglang.base_url.empty() && !sglang.model.empty();
  sglang.setup_hint = "SGLANG_BASE_URL (and SGLANG_MODEL)";
  out.push_back(std::move(sglang));

  ProviderSettings gemini;
  gemini.name = "gemini";
  gemini.dialect = "gemini";
  gemini.base_url = without_trailing_slash(c.get_string("gemini_base_url"));
  gemini.api_key = c.get_secret("gemini_api_key");
  gemini.model = jarvis::trimmed(c.get_string("gemini_model"));
  gemini.timeout = seconds(c, "model_timeout");
  gemini.configured = !gemini.api_key.empty() && !gemini.model.empty() && !gemini.base_url.empty();
  gemini.setup_hint = "GEMINI_API_KEY (and GEMINI_MODEL)";
  out.push_back(std::move(gemini));

  ProviderSettings anthropic;
  anthropic.name = "anthropic";
  anthropic.dialect = "anthropic";
  anthropic.base_url = without_trailing_slash(c.get_string("anthropic_base_url"));
  anthropic.api_key = c.get_secret("anthropic_api_key");
  anthropic.model = jarvis::trimmed(c.get_string("anthropic_model"));
  anthropic.timeout = seconds(c, "model_timeout");
  anthropic.configured =
      !anthropic.api_key.empty() && !anthropic.model.empty() && !anthropic.base_url.empty();
  anthropic.setup_hint = "ANTHROPIC_API_KEY (and ANTHROPIC_MODEL)";
  out.push_back(std::move(anthropic));

  for (auto& s : out) {
    s.idle_timeout = idle;
    s.max_output_tokens = max_out;
  }
  return out;
}

RouterSettings router_settings(const jarvis::PluginConfig& c) {
  RouterSettings s;
  s.primary = jarvis::ascii_lower(jarvis::trim(c.get_string("primary_provider")));
  std::string list = c.get_string("fallback_providers");
  std::string item;
  auto flush = [&] {
    std::string name = jarvis::ascii_lower(jarvis::trim(item));
    if (!name.empty()) s.fallbacks.push_back(name);
    item.clear();
  };
  for (char ch : list) {
    if (ch == ',' || jarvis::is_ascii_space(ch)) {
      flush();
    } else {
      item += ch;
    }
  }
  flush();
  s.max_retries = static_cast<int>(c.get_int("model_max_retries"));
  s.max_backoff = seconds(c, "model_retry_max_backoff");
  s.cooldown = seconds(c, "model_cooldown");
  return s;
}

std::shared_ptr<Provider> make_provider(ProviderSettings settings, jarvis::HttpClient& http) {
  if (settings.dialect == "gemini") return dialects::make_gemini(std::move(settings), http);
  if (settings.dialect == "anthropic") return dialects::make_anthropic(std::move(settings), http);
  return dialects::make_openai(std::move(settings), http);
}

}  // namespace chat

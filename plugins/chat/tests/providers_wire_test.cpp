// chat/tests/providers_wire_test.cpp — the pieces the providers share (tool-name mapping,
// Retry-After, error classification, sanitising) and the settings read from the plugin's real
// manifest through the host's config (which variables configure which provider).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "config/config.h"
#include "plugins/manifest.h"
#include "plugins/plugin_config.h"
#include "provider.h"
#include "providers/wire.h"

namespace {

using chat::wire::parse_retry_after;
using chat::wire::sanitize_provider_text;
using chat::wire::sanitize_tool_name;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(ProviderWire, ToolNamesFitEveryProvidersCharset) {
  EXPECT_EQ(sanitize_tool_name("memory.search"), "memory_search");
  EXPECT_EQ(sanitize_tool_name("ok_name-2"), "ok_name-2");
  EXPECT_EQ(sanitize_tool_name("1password.get"), "t_1password_get");
  EXPECT_EQ(sanitize_tool_name(""), "tool");
  EXPECT_EQ(sanitize_tool_name("a/b c:d"), "a_b_c_d");
  EXPECT_EQ(sanitize_tool_name(std::string(100, 'x')).size(), 64u);
}

TEST(ProviderWire, ToolNameMapIsOneToOne) {
  std::vector<chat::ToolDef> tools = {{.name = "a.b"}, {.name = "a_b"}, {.name = "c"}};
  std::vector<chat::Message> msgs = {
      {.role = "assistant", .tool_calls = {{.id = "1", .name = "old.tool"}}}};
  chat::wire::ToolNames names(tools, msgs);
  EXPECT_EQ(names.to_wire("a.b"), "a_b");
  EXPECT_EQ(names.to_wire("a_b"), "a_b_2");
  EXPECT_EQ(names.from_wire("a_b"), "a.b");
  EXPECT_EQ(names.from_wire("a_b_2"), "a_b");
  EXPECT_EQ(names.from_wire("old_tool"), "old.tool");  // named in the history only
  EXPECT_EQ(names.from_wire("made_up"), "made_up");    // unknown: left for the loop to refuse
}

TEST(ProviderWire, RetryAfterSecondsAndHttpDates) {
  // 784111777 = Sun, 06 Nov 1994 08:49:37 GMT (the RFC's example date).
  auto now = std::chrono::system_clock::from_time_t(784111777);
  EXPECT_EQ(parse_retry_after("120", now), seconds(120));
  EXPECT_EQ(parse_retry_after(" 0 ", now), seconds(0));
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now), seconds(60));
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:50:37 GMT", now), seconds(60));
  EXPECT_EQ(parse_retry_after("Sun Nov  6 08:50:37 1994", now), seconds(60));
  EXPECT_EQ(parse_retry_after("Sat, 05 Nov 1994 08:49:37 GMT", now), seconds(0));  // past
  EXPECT_EQ(parse_retry_after("99999999999999", now), std::chrono::hours(24));     // capped
  EXPECT_FALSE(parse_retry_after("-5", now).has_value());
  EXPECT_FALSE(parse_retry_after("soon", now).has_value());
  EXPECT_FALSE(parse_retry_after("", now).has_value());
}

TEST(ProviderWire, ProviderTextIsSanitised) {
  EXPECT_EQ(sanitize_provider_text("line1\nline2\t\x01 end"), "line1 line2 end");
  std::string keyed =
      sanitize_provider_text("bad key sk-abcdefghijklmnop and AIzaSyA1234567890abc", "", 200);
  EXPECT_EQ(keyed, "bad key [REDACTED] and [REDACTED]");
  EXPECT_EQ(sanitize_provider_text("token my-own-secret here", "my-own-secret"),
            "token [REDACTED] here");
  EXPECT_EQ(sanitize_provider_text("id 0123456789abcdef0123456789abcdef99"), "id [REDACTED]");
  std::string longer = sanitize_provider_text(std::string(500, 'a') + " tail", "", 40);
  EXPECT_LE(longer.size(), 40u + std::string("…").size());
  EXPECT_EQ(longer.substr(longer.size() - std::string("…").size()), "…");
}

TEST(ProviderWire, HttpStatusesAreClassified) {
  jarvis::Headers none;
  jarvis::Headers retry;
  retry.set("Retry-After", "7");
  struct Row {
    int status;
    std::string kind;
    std::string outage;
    bool retryable;
  };
  for (const Row& r : std::vector<Row>{{429, "rate_limited", "provider_unavailable", true},
                                       {401, "auth", "provider_unavailable", false},
                                       {403, "auth", "provider_unavailable", false},
                                       {408, "timeout", "timeout", true},
                                       {500, "server_error", "provider_unavailable", true},
                                       {503, "server_error", "provider_unavailable", true},
                                       {529, "server_error", "provider_unavailable", true},
                                       {400, "request_error", "provider_unavailable", false},
                                       {404, "request_error", "provider_unavailable", false},
                                       {422, "request_error", "provider_unavailable", false}}) {
    auto e = chat::wire::http_status_error("p", r.status, retry, "", "");
    EXPECT_EQ(e.kind, r.kind) << r.status;
    EXPECT_EQ(e.outage_class, r.outage) << r.status;
    EXPECT_EQ(e.retryable, r.retryable) << r.status;
    EXPECT_EQ(e.http_status, r.status);
    EXPECT_EQ(e.retry_after, std::optional<milliseconds>(seconds(7))) << r.status;
  }
  // Gemini: the retry hint in the body, the provider's message sanitised and short.
  std::string body =
      R"({"error":{"code":429,"message":"Quota exceeded for key AIzaSyA1234567890abcdef",)"
      R"("status":"RESOURCE_EXHAUSTED","details":[{"@type":)"
      R"("type.googleapis.com/google.rpc.RetryInfo","retryDelay":"12s"}]}})";
  auto g = chat::wire::http_status_error("gemini", 429, none, body, "");
  EXPECT_EQ(g.retry_after, std::optional<milliseconds>(seconds(12)));
  EXPECT_EQ(std::string(g.what()),
            "gemini: HTTP 429 rate limited or out of quota: Quota exceeded for key [REDACTED]");
  // Gemini says a wrong key with 400 API_KEY_INVALID.
  auto k = chat::wire::http_status_error(
      "gemini", 400, none,
      R"({"error":{"code":400,"message":"API key not valid.","status":)"
      R"("INVALID_ARGUMENT","details":[{"reason":"API_KEY_INVALID"}]}})",
      "");
  EXPECT_EQ(k.kind, "auth");
  // A body that is no JSON is never quoted.
  auto h =
      chat::wire::http_status_error("p", 502, none, "<html>proxy error at 10.0.0.7</html>", "");
  EXPECT_EQ(std::string(h.what()), "p: HTTP 502 server error");
}

TEST(ProviderWire, TransportErrorsCarryOutageClasses) {
  jarvis::OutboundResponse res;
  struct Row {
    std::string cls;
    std::string kind;
    std::string outage;
  };
  for (const Row& r : std::vector<Row>{{"dns_resolution", "network", "dns_resolution"},
                                       {"network_unreachable", "network", "network_unreachable"},
                                       {"provider_unavailable", "network", "provider_unavailable"},
                                       {"too_large", "malformed", "provider_unavailable"},
                                       {"blocked_url", "request_error", "provider_unavailable"}}) {
    res.error_class = r.cls;
    auto e = chat::wire::transport_error("p", res, false, false);
    EXPECT_EQ(e.kind, r.kind) << r.cls;
    EXPECT_EQ(e.outage_class, r.outage) << r.cls;
  }
  res.error_class = "timeout";
  EXPECT_EQ(chat::wire::transport_error("p", res, false, true).kind, "stalled");
  EXPECT_EQ(chat::wire::transport_error("p", res, false, false).kind, "timeout");
  EXPECT_EQ(chat::wire::transport_error("p", res, false, false).outage_class, "timeout");
  res.error_class = "cancelled";
  EXPECT_EQ(chat::wire::transport_error("p", res, true, false).kind, "cancelled");
}

TEST(ProviderWire, ToolArgumentsAreAlwaysAnObject) {
  EXPECT_EQ(chat::wire::parse_arguments(""), jarvis::Json::object());
  EXPECT_EQ(chat::wire::parse_arguments(R"({"a":1})"), (jarvis::Json{{"a", 1}}));
  EXPECT_EQ(chat::wire::parse_arguments("[1]"), (jarvis::Json{{"_raw", "[1]"}}));
  EXPECT_EQ(chat::wire::parse_arguments("{broken"), (jarvis::Json{{"_raw", "{broken"}}));
}

// ---------------------------------------------------------------------------------------------
// Settings from the plugin's own manifest.

class ProviderSettingsFromConfig : public ::testing::Test {
 protected:
  const jarvis::PluginConfig& config(const std::map<std::string, std::string>& env) {
    auto dir = std::filesystem::path(__FILE__).parent_path().parent_path();
    manifest_ = jarvis::host::load_manifest(dir.string());
    for (const auto& [k, v] : env) {
      store_.set(k, v, jarvis::host::ConfigSource::Environment, "environment");
    }
    cfg_ = std::make_unique<jarvis::host::PluginConfigImpl>("chat", manifest_.config, &store_);
    auto problems = cfg_->validate();
    EXPECT_TRUE(problems.empty()) << problems.front();
    return *cfg_;
  }

  jarvis::host::Manifest manifest_;
  jarvis::host::ConfigStore store_;
  std::unique_ptr<jarvis::host::PluginConfigImpl> cfg_;
};

TEST_F(ProviderSettingsFromConfig, NothingIsConfiguredByDefault) {
  auto all = chat::provider_settings(config({}));
  ASSERT_EQ(all.size(), 4u);
  for (const auto& s : all) EXPECT_FALSE(s.configured) << s.name;
  EXPECT_EQ(all[0].name, "openai");
  EXPECT_EQ(all[0].base_url, "https://api.openai.com/v1");
  EXPECT_EQ(all[2].model, "gemini-2.5-flash");
  auto r = chat::router_settings(config({}));
  EXPECT_EQ(r.primary, "openai");
  EXPECT_TRUE(r.fallbacks.empty());
}

TEST_F(ProviderSettingsFromConfig, EachProviderIsConfiguredByItsVariables) {
  auto all = chat::provider_settings(config({{"OPENAI_MODEL", "gpt-test"},
                                             {"OPENAI_BASE_URL", "http://127.0.0.1:8000/v1/"},
                                             {"SGLANG_BASE_URL", "http://127.0.0.1:30000/v1"},
                                             {"GEMINI_API_KEY", "g-key"},
                                             {"ANTHROPIC_API_KEY", "a-key"},
                                             {"MODEL_STREAM_IDLE_TIMEOUT_SECONDS", "15"},
                                             {"SGLANG_TIMEOUT_SECONDS", "900"},
                                             {"OPENAI_MAX_TOKENS_FIELD", "max_completion_tokens"},
                                             {"PRIMARY_PROVIDER", "sglang"},
                                             {"FALLBACK_PROVIDERS", "gemini, anthropic bogus"}}));
  for (const auto& s : all) EXPECT_TRUE(s.configured) << s.name;
  EXPECT_EQ(all[0].base_url, "http://127.0.0.1:8000/v1");  // trailing slash dropped
  EXPECT_TRUE(all[0].api_key.empty());                     // local servers need none
  EXPECT_EQ(all[0].max_tokens_field, "max_completion_tokens");
  EXPECT_EQ(all[1].name, "sglang");
  EXPECT_EQ(all[1].dialect, "openai");
  EXPECT_EQ(all[1].model, "default");
  EXPECT_EQ(all[1].timeout, seconds(900));
  EXPECT_EQ(all[2].api_key.reveal(), "g-key");
  EXPECT_EQ(all[3].dialect, "anthropic");
  for (const auto& s : all) EXPECT_EQ(s.idle_timeout, seconds(15)) << s.name;
  auto r = chat::router_settings(
      config({{"PRIMARY_PROVIDER", "sglang"}, {"FALLBACK_PROVIDERS", "gemini, anthropic bogus"}}));
  EXPECT_EQ(r.primary, "sglang");
  EXPECT_EQ(r.fallbacks, (std::vector<std::string>{"gemini", "anthropic", "bogus"}));
}

TEST_F(ProviderSettingsFromConfig, RouterFromConfigReportsWhatToSet) {
  std::vector<std::shared_ptr<chat::Provider>> providers;
  struct NoHttp : jarvis::HttpClient {
    jarvis::OutboundResponse send(const jarvis::OutboundRequest&) override {
      ADD_FAILURE() << "no request expected";
      return {};
    }
  } http;
  for (auto& s : chat::provider_settings(config({{"FALLBACK_PROVIDERS", "gemini,nope"}}))) {
    providers.push_back(chat::make_provider(std::move(s), http));
  }
  auto router = chat::make_router({}, chat::router_settings(*cfg_), providers);
  EXPECT_FALSE(router->configured());
  std::string msg = router->not_configured_message();
  for (const char* var : {"OPENAI_MODEL", "SGLANG_BASE_URL", "GEMINI_API_KEY", "ANTHROPIC_API_KEY",
                          "PRIMARY_PROVIDER", "FALLBACK_PROVIDERS", "nope"}) {
    EXPECT_NE(msg.find(var), std::string::npos) << var << " in: " << msg;
  }
  try {
    router->generate({.messages = {{.role = "user", .content = "hi"}}}, {}, nullptr);
    FAIL() << "expected a ProviderError";
  } catch (const chat::ProviderError& e) {
    EXPECT_EQ(e.kind, "not_configured");
  }
}

}  // namespace

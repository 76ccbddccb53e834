// chat/tests/providers_test.cpp — the three providers (OpenAI-compatible, Gemini, Anthropic) and
// the router against the fake vendor servers of tests/support/fakes on 127.0.0.1, over the host's
// real HTTP client: streamed text, two tool calls in one answer, reasoning kept apart, usage,
// request shapes (headers, tools, system prompt, tool results), 429 → model cooldown and
// immediate failover, 500 retried, 4xx not retried, a stalled stream, malformed JSON, a dropped
// connection, cancel mid-stream, a wrong key, and the fallback order with its events.
// No timing thresholds: waits are bounded only to turn a hang into a failure.
#include <gtest/gtest.h>

#include <chrono>
#include <ostream>
#include <string>
#include <vector>

#include "jarvis/cancel.h"
#include "providers_support.h"

namespace {

using chat::ModelRequest;
using chat::ModelResult;
using chat::ProviderError;
using chat::StreamSink;
using chat::test::FakeLlmServer;
using chat::test::http;
using chat::test::order_of;
using chat::test::Recorder;
using chat::test::ScriptedProvider;
using chat::test::settings_for;
using jarvis::Json;
using jarvis::test::fakes::FakeToolCall;
using jarvis::test::fakes::ScriptedReply;
using Dialect = FakeLlmServer::Dialect;

constexpr auto kPatience = std::chrono::seconds(10);

/// What a sink saw.
struct Seen {
  std::vector<std::string> text;
  std::vector<std::string> reasoning;
  std::vector<chat::ToolCall> calls;
  std::vector<std::string> attempts;
  StreamSink sink() {
    return StreamSink{
        .on_text = [this](std::string_view t) { text.emplace_back(t); },
        .on_reasoning = [this](std::string_view t) { reasoning.emplace_back(t); },
        .on_tool_call = [this](const chat::ToolCall& c) { calls.push_back(c); },
        .on_attempt = [this](const std::string& p) { attempts.push_back(p); },
    };
  }
  std::string joined_text() const {
    std::string s;
    for (const auto& t : text) s += t;
    return s;
  }
  std::string joined_reasoning() const {
    std::string s;
    for (const auto& t : reasoning) s += t;
    return s;
  }
};

ModelRequest ask(const std::string& text) {
  ModelRequest r;
  r.messages = {{.role = "system", .content = "You are Jarvis."},
                {.role = "user", .content = text}};
  r.trace_id = "trace-1";
  r.thread_id = "thread-1";
  return r;
}

std::vector<chat::ToolDef> two_tools() {
  return {{.name = "memory.search",
           .description = "Search memory",
           .parameters = {{"type", "object"},
                          {"properties", {{"q", {{"type", "string"}}}}},
                          {"required", {"q"}},
                          {"additionalProperties", false}}},
          {.name = "clock.now", .description = "The time", .parameters = Json::object()}};
}

/// One dialect under test: its provider name and how many stream events precede its first text
/// delta (OpenAI: a role chunk; Anthropic: message_start, ping, content_block_start).
struct Case {
  Dialect dialect;
  std::string provider;
  int events_before_text;
};

/// Names the case in test output (instead of its bytes).
void PrintTo(const Case& c, std::ostream* os) { *os << c.provider; }

class ProviderDialect : public ::testing::TestWithParam<Case> {
 protected:
  ProviderDialect() : fake(GetParam().dialect) {}

  std::shared_ptr<chat::Provider> provider(chat::ProviderSettings s) {
    return chat::make_provider(std::move(s), http());
  }
  std::shared_ptr<chat::Provider> provider() { return provider(settings_for(fake, name())); }
  const std::string& name() const { return GetParam().provider; }
  /// A router over this dialect's provider alone.
  std::unique_ptr<chat::ModelRouter> solo(int retries = 2) {
    return chat::make_router(rec.env(), order_of({name()}, retries), {provider()});
  }

  FakeLlmServer fake;
  Recorder rec;
};

TEST_P(ProviderDialect, StreamsTextInDeltasWithUsage) {
  ScriptedReply reply = ScriptedReply::text_reply("Hello there, this is Jarvis.", 3);
  reply.input_tokens = 17;
  reply.output_tokens = 9;
  fake.push(reply);
  Seen seen;
  ModelResult r = provider()->generate(ask("hi"), seen.sink());
  EXPECT_EQ(r.text, "Hello there, this is Jarvis.");
  EXPECT_GE(seen.text.size(), 3u);  // streamed, not one block at the end
  EXPECT_EQ(seen.joined_text(), r.text);
  EXPECT_EQ(r.provider, name());
  EXPECT_EQ(r.model, "fake-model");
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.input_tokens, 17);
  EXPECT_EQ(r.output_tokens, 9);
  EXPECT_TRUE(r.tool_calls.empty());
  EXPECT_TRUE(r.reasoning.empty());
}

TEST_P(ProviderDialect, TwoToolCallsInOneAnswerMapBackToRegistryNames) {
  fake.push(ScriptedReply::tool_call_reply(
      {{.id = "", .name = "memory_search", .arguments = {{"q", "cats"}, {"limit", 3}}},
       {.id = "", .name = "clock_now", .arguments = Json::object()}}));
  ModelRequest req = ask("what about cats, and what time is it?");
  req.tools = two_tools();
  Seen seen;
  ModelResult r = provider()->generate(req, seen.sink());
  ASSERT_EQ(r.tool_calls.size(), 2u);
  EXPECT_EQ(r.tool_calls[0].name, "memory.search");
  EXPECT_EQ(r.tool_calls[0].arguments, (Json{{"q", "cats"}, {"limit", 3}}));
  EXPECT_EQ(r.tool_calls[1].name, "clock.now");
  EXPECT_EQ(r.tool_calls[1].arguments, Json::object());
  EXPECT_FALSE(r.tool_calls[0].id.empty());
  EXPECT_NE(r.tool_calls[0].id, r.tool_calls[1].id);
  EXPECT_EQ(r.finish_reason, "tool_calls");
  ASSERT_EQ(seen.calls.size(), 2u);  // delivered once complete, in order
  EXPECT_EQ(seen.calls[0].name, "memory.search");
  EXPECT_EQ(seen.calls[1].id, r.tool_calls[1].id);
  EXPECT_TRUE(r.text.empty());
}

TEST_P(ProviderDialect, ReasoningIsKeptApartFromTheAnswer) {
  fake.push(ScriptedReply::text_reply("The answer is 4.", 2, "Two plus two makes four."));
  Seen seen;
  ModelResult r = provider()->generate(ask("2+2?"), seen.sink());
  EXPECT_EQ(r.text, "The answer is 4.");
  EXPECT_EQ(r.reasoning, "Two plus two makes four.");
  EXPECT_EQ(seen.joined_text(), "The answer is 4.");
  EXPECT_EQ(seen.joined_reasoning(), "Two plus two makes four.");
}

TEST_P(ProviderDialect, RateLimitCoolsDownThatModelAndFailsOverAtOnce) {
  fake.push(ScriptedReply::http_error_reply(429, "30"));
  auto backup = std::make_shared<ScriptedProvider>("backup", "backup-model");
  backup->push_text("from the backup");
  backup->push_text("backup again");
  auto router = chat::make_router(rec.env(), order_of({name(), "backup"}), {provider(), backup});
  Seen seen;
  chat::RouteReport report;
  ModelResult r = router->generate(ask("hi"), seen.sink(), &report);
  EXPECT_EQ(r.provider, "backup");
  EXPECT_EQ(report.lane, "fallback");
  ASSERT_EQ(report.failures.size(), 1u);
  EXPECT_EQ(report.failures[0].kind, "rate_limited");
  EXPECT_EQ(report.failures[0].http_status, 429);
  ASSERT_TRUE(report.failures[0].retry_after.has_value());
  EXPECT_EQ(*report.failures[0].retry_after, std::chrono::seconds(30));
  EXPECT_EQ(fake.model_requests().size(), 1u);  // not retried in place
  EXPECT_TRUE(rec.sleeps().empty());            // failed over at once
  auto fallbacks = rec.events("model.fallback");
  ASSERT_EQ(fallbacks.size(), 1u);
  EXPECT_EQ(fallbacks[0].payload["from"], name());
  EXPECT_EQ(fallbacks[0].payload["to"], "backup");
  EXPECT_EQ(fallbacks[0].payload["primary_error"]["kind"], "rate_limited");

  Json health = router->health();
  Json cooldowns;
  for (const auto& p : health["providers"]) {
    if (p["name"] == name()) cooldowns = p["cooldowns"];
  }
  ASSERT_EQ(cooldowns.size(), 1u) << health.dump();
  EXPECT_EQ(cooldowns[0]["model"], "fake-model");
  EXPECT_GT(cooldowns[0]["remaining_ms"].get<long long>(), 0);
  EXPECT_LE(cooldowns[0]["remaining_ms"].get<long long>(), 30000);

  // While cooling down, that model is skipped without a request…
  chat::RouteReport again;
  EXPECT_EQ(router->generate(ask("hi"), seen.sink(), &again).text, "backup again");
  EXPECT_EQ(fake.model_requests().size(), 1u);
  ASSERT_FALSE(again.failures.empty());
  EXPECT_EQ(again.failures[0].kind, "rate_limited");
  // …but another model of the same provider is not on cooldown.
  ModelRequest other = ask("hi");
  other.model = "other-model";
  EXPECT_EQ(router->generate(other, seen.sink(), nullptr).provider, name());
  EXPECT_EQ(fake.model_requests().size(), 2u);
}

TEST_P(ProviderDialect, ServerErrorIsRetriedThenSucceeds) {
  fake.push(ScriptedReply::http_error_reply(500));
  fake.push(ScriptedReply::text_reply("recovered"));
  auto router = solo(2);
  Seen seen;
  chat::RouteReport report;
  ModelResult r = router->generate(ask("hi"), seen.sink(), &report);
  EXPECT_EQ(r.text, "recovered");
  EXPECT_EQ(report.lane, "primary");
  EXPECT_EQ(fake.model_requests().size(), 2u);
  ASSERT_EQ(rec.sleeps().size(), 1u);  // one backoff between the two attempts
  EXPECT_LE(rec.sleeps()[0], std::chrono::seconds(10));
  ASSERT_EQ(report.failures.size(), 1u);
  EXPECT_EQ(report.failures[0].kind, "server_error");
  EXPECT_EQ(report.failures[0].outage_class, "provider_unavailable");
  auto errors = rec.events("model.run.error");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].payload["status"], 500);
  EXPECT_EQ(errors[0].payload["kind"], "server_error");
  EXPECT_EQ(seen.attempts, (std::vector<std::string>{name(), name()}));
}

TEST_P(ProviderDialect, RequestErrorIsNeverRetriedButFailsOver) {
  fake.push(ScriptedReply::http_error_reply(400));
  auto router = solo(3);
  Seen seen;
  try {
    router->generate(ask("hi"), seen.sink(), nullptr);
    FAIL() << "expected a ProviderError";
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.kind, "request_error");
    EXPECT_EQ(e.http_status, 400);
    EXPECT_FALSE(e.retryable);
  }
  EXPECT_EQ(fake.model_requests().size(), 1u);
  EXPECT_TRUE(rec.sleeps().empty());

  // With a fallback, the other provider gets the request (it may well accept it).
  fake.push(ScriptedReply::http_error_reply(400));
  auto backup = std::make_shared<ScriptedProvider>("backup", "m");
  auto router2 =
      chat::make_router(rec.env(), order_of({name(), "backup"}, 3), {provider(), backup});
  EXPECT_EQ(router2->generate(ask("hi"), seen.sink(), nullptr).provider, "backup");
  EXPECT_EQ(fake.model_requests().size(), 2u);
}

TEST_P(ProviderDialect, StalledStreamFailsAsTimeoutAndHangsUp) {
  fake.push(ScriptedReply::stall_reply(1));
  auto s = settings_for(fake, name());
  s.idle_timeout = std::chrono::milliseconds(300);
  Seen seen;
  try {
    provider(s)->generate(ask("hi"), seen.sink());
    FAIL() << "expected a ProviderError";
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.kind, "stalled");
    EXPECT_EQ(e.outage_class, "timeout");
    EXPECT_TRUE(e.retryable);
  }
  EXPECT_TRUE(fake.wait_client_closed(kPatience));
}

TEST_P(ProviderDialect, MalformedEventIsMalformed) {
  fake.push(ScriptedReply::malformed_reply());
  Seen seen;
  try {
    provider()->generate(ask("hi"), seen.sink());
    FAIL() << "expected a ProviderError";
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.kind, "malformed");
    EXPECT_EQ(e.outage_class, "provider_unavailable");
    EXPECT_EQ(e.provider, name());
  }
}

TEST_P(ProviderDialect, DroppedConnectionIsANetworkFailure) {
  fake.push(ScriptedReply::drop_reply(0));  // the response head, then the connection closes
  Seen seen;
  try {
    provider()->generate(ask("hi"), seen.sink());
    FAIL() << "expected a ProviderError";
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.kind, "network");
    EXPECT_EQ(e.outage_class, "provider_unavailable");
    EXPECT_TRUE(e.retryable);
    EXPECT_FALSE(e.partial);
  }
}

TEST_P(ProviderDialect, DropAfterTextIsPartialAndNeitherRetriedNorFailedOver) {
  fake.push(ScriptedReply::drop_reply(GetParam().events_before_text + 1));
  auto backup = std::make_shared<ScriptedProvider>("backup", "m");
  auto router = chat::make_router(rec.env(), order_of({name(), "backup"}, 2), {provider(), backup});
  Seen seen;
  try {
    router->generate(ask("hello"), seen.sink(), nullptr);
    FAIL() << "expected a ProviderError";
  } catch (const ProviderError& e) {
    EXPECT_TRUE(e.partial);
    EXPECT_EQ(e.kind, "network");
  }
  EXPECT_FALSE(seen.text.empty());
  EXPECT_EQ(fake.model_requests().size(), 1u);
  EXPECT_TRUE(backup->calls().empty());
  EXPECT_TRUE(rec.events("model.fallback").empty());
}

TEST_P(ProviderDialect, CancelMidStreamClosesTheUpstreamConnection) {
  fake.push(ScriptedReply::stall_reply(GetParam().events_before_text + 1));
  auto router = solo(2);
  jarvis::CancelSource source;
  ModelRequest req = ask("tell me a long story");
  req.cancel = source.token();
  Seen seen;
  StreamSink sink = seen.sink();
  sink.on_text = [&](std::string_view t) {
    seen.text.emplace_back(t);
    source.cancel();  // the user pressed stop after the first words
  };
  try {
    router->generate(req, sink, nullptr);
    FAIL() << "expected a ProviderError";
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.kind, "cancelled");
    EXPECT_EQ(e.outage_class, "");
  }
  EXPECT_EQ(seen.text.size(), 1u);
  EXPECT_TRUE(fake.wait_client_closed(kPatience));
  EXPECT_EQ(fake.model_requests().size(), 1u);  // not retried
  EXPECT_TRUE(rec.sleeps().empty());
}

TEST_P(ProviderDialect, WrongKeyIsAuthAndTheKeyNeverShows) {
  const std::string key = "sk-wrong0123456789abcdefSECRET";
  fake.set_api_key("the-right-key");
  Seen seen;
  try {
    provider(settings_for(fake, name(), "fake-model", key))->generate(ask("hi"), seen.sink());
    FAIL() << "expected a ProviderError";
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.kind, "auth") << e.what();
    EXPECT_FALSE(e.retryable);
    EXPECT_EQ(std::string(e.what()).find(key), std::string::npos) << e.what();
  }
  // A provider that echoes the key in its error body: the message carries it redacted.
  fake.set_api_key("");
  ScriptedReply echo = ScriptedReply::http_error_reply(401);
  echo.raw_body = Json{{"error", {{"message", "Incorrect API key provided: " + key + "."}}}}.dump();
  fake.push(echo);
  try {
    provider(settings_for(fake, name(), "fake-model", key))->generate(ask("hi"), seen.sink());
    FAIL() << "expected a ProviderError";
  } catch (const ProviderError& e) {
    std::string what = e.what();
    EXPECT_EQ(what.find(key), std::string::npos) << what;
    EXPECT_EQ(what.find("0123456789abcdef"), std::string::npos) << what;
    EXPECT_NE(what.find("[REDACTED]"), std::string::npos) << what;
  }
}

INSTANTIATE_TEST_SUITE_P(Dialects, ProviderDialect,
                         ::testing::Values(Case{Dialect::openai, "openai", 1},
                                           Case{Dialect::gemini, "gemini", 0},
                                           Case{Dialect::anthropic, "anthropic", 3}),
                         [](const auto& info) { return info.param.provider; });

// ---------------------------------------------------------------------------------------------
// Request shapes: what each provider puts on the wire.

/// A conversation with a finished tool round: the model called memory.search, the tool answered.
ModelRequest tool_round() {
  ModelRequest r;
  r.messages = {
      {.role = "system", .content = "You are Jarvis."},
      {.role = "user", .content = "What do I know about cats?"},
      {.role = "assistant",
       .content = "",
       .tool_calls = {{.id = "call_1", .name = "memory.search", .arguments = {{"q", "cats"}}}}},
      {.role = "tool",
       .content = R"({"hits":["cats sleep a lot"]})",
       .tool_call_id = "call_1",
       .tool_name = "memory.search"},
  };
  r.tools = two_tools();
  r.temperature = 0.25;
  return r;
}

TEST(ProviderRequests, OpenAiChatCompletionsShape) {
  FakeLlmServer fake(Dialect::openai);
  fake.set_api_key("test-key-123");
  Seen seen;
  chat::make_provider(settings_for(fake, "openai"), http())->generate(tool_round(), seen.sink());
  auto sent = fake.model_requests();
  ASSERT_EQ(sent.size(), 1u);
  const auto& q = sent[0];
  EXPECT_EQ(q.path, "/v1/chat/completions");
  EXPECT_EQ(q.header("authorization"), "Bearer test-key-123");
  const Json& b = q.json;
  EXPECT_EQ(b["model"], "fake-model");
  EXPECT_EQ(b["stream"], true);
  EXPECT_EQ(b["stream_options"]["include_usage"], true);
  EXPECT_EQ(b["max_tokens"], 256);
  EXPECT_EQ(b["temperature"], 0.25);
  ASSERT_EQ(b["tools"].size(), 2u);
  EXPECT_EQ(b["tools"][0]["type"], "function");
  EXPECT_EQ(b["tools"][0]["function"]["name"], "memory_search");
  EXPECT_EQ(b["tools"][0]["function"]["parameters"]["properties"]["q"]["type"], "string");
  EXPECT_EQ(b["tools"][1]["function"]["name"], "clock_now");
  EXPECT_EQ(b["tools"][1]["function"]["parameters"]["type"], "object");
  const Json& m = b["messages"];
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0], (Json{{"role", "system"}, {"content", "You are Jarvis."}}));
  EXPECT_EQ(m[1]["role"], "user");
  EXPECT_EQ(m[2]["role"], "assistant");
  EXPECT_TRUE(m[2]["content"].is_null());
  EXPECT_EQ(m[2]["tool_calls"][0]["id"], "call_1");
  EXPECT_EQ(m[2]["tool_calls"][0]["type"], "function");
  EXPECT_EQ(m[2]["tool_calls"][0]["function"]["name"], "memory_search");
  EXPECT_EQ(Json::parse(m[2]["tool_calls"][0]["function"]["arguments"].get<std::string>()),
            (Json{{"q", "cats"}}));
  EXPECT_EQ(m[3], (Json{{"role", "tool"},
                        {"tool_call_id", "call_1"},
                        {"content", R"({"hits":["cats sleep a lot"]})"}}));
}

TEST(ProviderRequests, OpenAiMaxCompletionTokensField) {
  FakeLlmServer fake(Dialect::openai);
  auto s = settings_for(fake, "openai");
  s.max_tokens_field = "max_completion_tokens";
  Seen seen;
  chat::make_provider(s, http())->generate(ask("hi"), seen.sink());
  const Json b = fake.model_requests().at(0).json;
  EXPECT_EQ(b.value("max_completion_tokens", 0), 256) << b.dump();
  EXPECT_FALSE(b.contains("max_tokens"));
}

TEST(ProviderRequests, GeminiGenerateContentShape) {
  FakeLlmServer fake(Dialect::gemini);
  fake.set_api_key("test-key-123");
  Seen seen;
  chat::make_provider(settings_for(fake, "gemini", "gemini-test"), http())
      ->generate(tool_round(), seen.sink());
  auto sent = fake.model_requests();
  ASSERT_EQ(sent.size(), 1u);
  const auto& q = sent[0];
  EXPECT_EQ(q.path, "/v1beta/models/gemini-test:streamGenerateContent");
  EXPECT_EQ(q.query, "alt=sse");  // never ?key=…: URLs get logged
  EXPECT_EQ(q.header("x-goog-api-key"), "test-key-123");
  const Json& b = q.json;
  EXPECT_EQ(b["systemInstruction"]["parts"][0]["text"], "You are Jarvis.");
  const Json& c = b["contents"];
  ASSERT_EQ(c.size(), 3u) << c.dump();
  EXPECT_EQ(c[0]["role"], "user");
  EXPECT_EQ(c[0]["parts"][0]["text"], "What do I know about cats?");
  EXPECT_EQ(c[1]["role"], "model");
  EXPECT_EQ(c[1]["parts"][0]["functionCall"]["name"], "memory_search");
  EXPECT_EQ(c[1]["parts"][0]["functionCall"]["args"], (Json{{"q", "cats"}}));
  EXPECT_EQ(c[2]["role"], "user");
  EXPECT_EQ(c[2]["parts"][0]["functionResponse"]["name"], "memory_search");
  EXPECT_EQ(c[2]["parts"][0]["functionResponse"]["response"],
            (Json{{"hits", {"cats sleep a lot"}}}));
  const Json& decls = b["tools"][0]["functionDeclarations"];
  ASSERT_EQ(decls.size(), 2u);
  EXPECT_EQ(decls[0]["name"], "memory_search");
  EXPECT_EQ(decls[0]["parameters"]["properties"]["q"]["type"], "string");
  EXPECT_FALSE(decls[0]["parameters"].contains("additionalProperties"));  // Gemini refuses it
  EXPECT_FALSE(decls[1].contains("parameters"));  // no properties: no parameters at all
  EXPECT_EQ(b["generationConfig"]["maxOutputTokens"], 256);
  EXPECT_EQ(b["generationConfig"]["temperature"], 0.25);
}

TEST(ProviderRequests, AnthropicMessagesShape) {
  FakeLlmServer fake(Dialect::anthropic);
  fake.set_api_key("test-key-123");
  Seen seen;
  chat::make_provider(settings_for(fake, "anthropic", "claude-test"), http())
      ->generate(tool_round(), seen.sink());
  auto sent = fake.model_requests();
  ASSERT_EQ(sent.size(), 1u);
  const auto& q = sent[0];
  EXPECT_EQ(q.path, "/v1/messages");
  EXPECT_EQ(q.header("x-api-key"), "test-key-123");
  EXPECT_EQ(q.header("anthropic-version"), "2023-06-01");
  EXPECT_EQ(q.header("authorization"), "");
  const Json& b = q.json;
  EXPECT_EQ(b["model"], "claude-test");
  EXPECT_EQ(b["stream"], true);
  EXPECT_EQ(b["max_tokens"], 256);
  EXPECT_EQ(b["system"], "You are Jarvis.");
  const Json& m = b["messages"];
  ASSERT_EQ(m.size(), 3u) << m.dump();
  EXPECT_EQ(m[0]["role"], "user");
  EXPECT_EQ(m[0]["content"][0], (Json{{"type", "text"}, {"text", "What do I know about cats?"}}));
  EXPECT_EQ(m[1]["role"], "assistant");
  EXPECT_EQ(m[1]["content"][0], (Json{{"type", "tool_use"},
                                      {"id", "call_1"},
                                      {"name", "memory_search"},
                                      {"input", {{"q", "cats"}}}}));
  EXPECT_EQ(m[2]["role"], "user");
  EXPECT_EQ(m[2]["content"][0]["type"], "tool_result");
  EXPECT_EQ(m[2]["content"][0]["tool_use_id"], "call_1");
  EXPECT_EQ(m[2]["content"][0]["content"], R"({"hits":["cats sleep a lot"]})");
  ASSERT_EQ(b["tools"].size(), 2u);
  EXPECT_EQ(b["tools"][0]["name"], "memory_search");
  EXPECT_EQ(b["tools"][0]["input_schema"]["properties"]["q"]["type"], "string");
  EXPECT_EQ(b["tools"][1]["input_schema"]["type"], "object");
}

// ---------------------------------------------------------------------------------------------
// The router over real providers.

TEST(ProviderRouting, FallbackOrderEventsAndMetrics) {
  FakeLlmServer openai(Dialect::openai);
  FakeLlmServer gemini(Dialect::gemini);
  FakeLlmServer anthropic(Dialect::anthropic);
  for (int i = 0; i < 3; ++i) openai.push(ScriptedReply::http_error_reply(503));
  gemini.push(ScriptedReply::text_reply("gemini answers"));
  Recorder rec;
  auto router = chat::make_router(
      rec.env(), order_of({"openai", "gemini", "anthropic"}, 2),
      {chat::make_provider(settings_for(anthropic, "anthropic"), http()),
       chat::make_provider(settings_for(openai, "openai"), http()),
       chat::make_provider(settings_for(gemini, "gemini", "gemini-test"), http())});
  EXPECT_EQ(router->order(), (std::vector<std::string>{"openai", "gemini", "anthropic"}));
  Seen seen;
  chat::RouteReport report;
  ModelResult r = router->generate(ask("hi"), seen.sink(), &report);
  EXPECT_EQ(r.provider, "gemini");
  EXPECT_EQ(r.text, "gemini answers");
  EXPECT_EQ(report.lane, "fallback");
  EXPECT_EQ(report.failures.size(), 3u);  // 1 try + 2 retries of openai
  EXPECT_EQ(openai.model_requests().size(), 3u);
  EXPECT_EQ(rec.sleeps().size(), 2u);
  EXPECT_TRUE(anthropic.model_requests().empty());
  EXPECT_EQ(seen.attempts, (std::vector<std::string>{"openai", "openai", "openai", "gemini"}));

  std::vector<std::string> types;
  for (const auto& e : rec.events()) {
    types.push_back(e.type);
    EXPECT_EQ(e.thread_id, "thread-1") << e.type;
    EXPECT_EQ(e.trace_id, "trace-1") << e.type;
  }
  EXPECT_EQ(types,
            (std::vector<std::string>{"model.run.start", "model.run.error", "model.run.start",
                                      "model.run.error", "model.run.start", "model.run.error",
                                      "model.fallback", "model.run.start", "model.run.end"}));
  auto fb = rec.events("model.fallback").at(0).payload;
  EXPECT_EQ(fb["from"], "openai");
  EXPECT_EQ(fb["to"], "gemini");
  EXPECT_EQ(fb["to_model"], "gemini-test");
  EXPECT_EQ(fb["primary_error"]["kind"], "server_error");
  EXPECT_EQ(fb["primary_error"]["status"], 503);
  EXPECT_EQ(fb["primary_error"]["outage_class"], "provider_unavailable");
  auto end = rec.events("model.run.end").at(0).payload;
  EXPECT_EQ(end["provider"], "gemini");
  EXPECT_EQ(end["lane"], "fallback");
  EXPECT_EQ(end["tokens"], 15);
  EXPECT_TRUE(end.contains("latency_ms"));

  EXPECT_EQ(rec.metrics.value("model_fallbacks_total", {{"from", "openai"}, {"to", "gemini"}}), 1);
  EXPECT_EQ(
      rec.metrics.value("model_errors_total", {{"provider", "openai"}, {"kind", "server_error"}}),
      3);
  EXPECT_EQ(
      rec.metrics.value("model_tokens_total",
                        {{"provider", "gemini"}, {"model", "gemini-test"}, {"direction", "input"}}),
      10);
  EXPECT_EQ(rec.metrics.value("model_latency_seconds_count",
                              {{"provider", "gemini"}, {"model", "gemini-test"}}),
            1);

  Json health = router->health();
  for (const auto& p : health["providers"]) {
    if (p["name"] == "openai") {
      EXPECT_EQ(p["last_error"]["kind"], "server_error");
      EXPECT_TRUE(p["last_success"].is_null());
    }
    if (p["name"] == "gemini") {
      EXPECT_EQ(p["last_success"]["model"], "gemini-test");
      EXPECT_TRUE(p["last_failure"].is_null());
    }
  }
}

TEST(ProviderRouting, ConnectionRefusedIsProviderUnavailableAndRetried) {
  int port = 0;
  {
    FakeLlmServer gone(Dialect::openai);  // a port nobody listens on once it is destroyed
    port = gone.port();
  }
  chat::ProviderSettings s;
  s.name = "openai";
  s.dialect = "openai";
  s.base_url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
  s.model = "m";
  s.configured = true;
  Recorder rec;
  auto router =
      chat::make_router(rec.env(), order_of({"openai"}, 1), {chat::make_provider(s, http())});
  Seen seen;
  try {
    router->generate(ask("hi"), seen.sink(), nullptr);
    FAIL() << "expected a ProviderError";
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.kind, "network");
    EXPECT_EQ(e.outage_class, "provider_unavailable");
  }
  EXPECT_EQ(seen.attempts.size(), 2u);
}

}  // namespace

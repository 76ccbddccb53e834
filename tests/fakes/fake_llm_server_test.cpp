// Tests of the fake LLM servers (tests/support/fakes) through the host's real outbound HTTP client
// (CurlHttpClient, streaming with on_chunk and cancellation, as the chat providers use it) and raw
// sockets: every reply kind for every dialect, the recorded requests, the vendor checks,
// wait_client_closed, the control endpoints, and LoopbackServer's request parsing. The vendors'
// own clients check the same fakes in tests/node.
// No timing thresholds: waits are bounded only to turn a hang into a failure.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "jarvis/cancel.h"
#include "jarvis/sse.h"
#include "net/http_client.h"
#include "support/fakes/fake_llm_server.h"
#include "support/raw_http_client.h"
#include "support/support.h"

namespace {

using jarvis::test::fakes::FakeLlmServer;
using jarvis::test::fakes::FakeToolCall;
using jarvis::test::fakes::HttpRequest;
using jarvis::test::fakes::LoopbackServer;
using jarvis::test::fakes::Responder;
using jarvis::test::fakes::ScriptedReply;
using nlohmann::json;
using Dialect = FakeLlmServer::Dialect;

constexpr auto kPatience = std::chrono::seconds(20);

/// A response as a provider would see it: the raw result plus the SSE events of a stream.
struct Call {
  jarvis::OutboundResponse res;
  std::vector<jarvis::SseEvent> events;
};

/// What a dialect's answer said, reassembled from the stream events or the JSON body.
struct Parsed {
  std::vector<std::string> text;       ///< text deltas (one element when not streamed)
  std::vector<std::string> reasoning;  ///< reasoning deltas
  std::vector<FakeToolCall> calls;     ///< arguments reassembled and parsed
  int arg_fragments = 0;               ///< tool-argument fragments seen
  int input_tokens = -1;
  int output_tokens = -1;
  std::string finish;  ///< finish/stop reason
  std::string joined() const {
    std::string s;
    for (const auto& t : text) s += t;
    return s;
  }
};

/// The request body and headers each dialect's client sends for one user message.
jarvis::OutboundRequest model_request(const FakeLlmServer& fake, bool stream,
                                      const std::string& user = "hello") {
  jarvis::OutboundRequest req{.method = "POST"};
  req.headers.set("Content-Type", "application/json");
  req.timeout_ms = 60000;
  switch (fake.dialect()) {
    case Dialect::openai:
      req.url = fake.base_url() + "/chat/completions";
      req.headers.set("Authorization", "Bearer sk-test");
      req.body = json{{"model", "gpt-fake"},
                      {"stream", stream},
                      {"stream_options", {{"include_usage", true}}},
                      {"messages", {{{"role", "user"}, {"content", user}}}}}
                     .dump();
      if (!stream)
        req.body =
            json{{"model", "gpt-fake"}, {"messages", {{{"role", "user"}, {"content", user}}}}}
                .dump();
      break;
    case Dialect::gemini:
      req.url = fake.base_url() + "/v1beta/models/gemini-fake:" +
                (stream ? "streamGenerateContent?alt=sse" : "generateContent");
      req.headers.set("x-goog-api-key", "sk-test");
      req.body = json{{"contents", {{{"role", "user"}, {"parts", {{{"text", user}}}}}}}}.dump();
      break;
    case Dialect::anthropic:
      req.url = fake.base_url() + "/v1/messages";
      req.headers.set("x-api-key", "sk-test");
      req.headers.set("anthropic-version", "2023-06-01");
      req.body = json{{"model", "claude-fake"},
                      {"max_tokens", 64},
                      {"stream", stream},
                      {"messages", {{{"role", "user"}, {"content", user}}}}}
                     .dump();
      break;
  }
  return req;
}

/// Sends `req`; with `stream`, a 2xx body is parsed into SSE events as it arrives. `on_event` may
/// stop the transfer by returning false.
Call send(jarvis::OutboundRequest req, bool stream = false,
          const std::function<bool(const jarvis::SseEvent&, int count)>& on_event = {}) {
  Call call;
  auto parser = std::make_shared<jarvis::SseParser>();
  if (stream)
    req.on_chunk = [&call, parser, on_event](std::string_view bytes) {
      for (auto& ev : parser->feed(bytes)) {
        call.events.push_back(ev);
        if (on_event && !on_event(call.events.back(), static_cast<int>(call.events.size()))) {
          return false;
        }
      }
      return true;
    };
  jarvis::host::CurlHttpClient client;
  call.res = client.send(req);
  return call;
}

Call send_model(const FakeLlmServer& fake, bool stream, const std::string& user = "hello") {
  return send(model_request(fake, stream, user), stream);
}

/// Parses a whole answer; fails the test on anything the dialect would not send.
Parsed parse(Dialect d, const Call& call, bool stream) {
  Parsed p;
  if (!stream) {
    json b = json::parse(call.res.body);
    switch (d) {
      case Dialect::openai: {
        const json& m = b["choices"][0]["message"];
        if (m["content"].is_string()) p.text.push_back(m["content"]);
        if (m.contains("reasoning_content")) p.reasoning.push_back(m["reasoning_content"]);
        for (const auto& c : m.value("tool_calls", json::array())) {
          p.calls.push_back({c["id"], c["function"]["name"],
                             json::parse(c["function"]["arguments"].get<std::string>())});
        }
        p.finish = b["choices"][0]["finish_reason"];
        p.input_tokens = b["usage"]["prompt_tokens"];
        p.output_tokens = b["usage"]["completion_tokens"];
        break;
      }
      case Dialect::anthropic:
        EXPECT_EQ(b["type"], "message");
        for (const auto& blk : b["content"]) {
          if (blk["type"] == "text") p.text.push_back(blk["text"]);
          if (blk["type"] == "thinking") p.reasoning.push_back(blk["thinking"]);
          if (blk["type"] == "tool_use") p.calls.push_back({blk["id"], blk["name"], blk["input"]});
        }
        p.finish = b["stop_reason"];
        p.input_tokens = b["usage"]["input_tokens"];
        p.output_tokens = b["usage"]["output_tokens"];
        break;
      case Dialect::gemini:
        for (const auto& part : b["candidates"][0]["content"]["parts"]) {
          if (part.contains("functionCall")) {
            p.calls.push_back({"", part["functionCall"]["name"], part["functionCall"]["args"]});
          } else if (part.value("thought", false)) {
            p.reasoning.push_back(part["text"]);
          } else {
            p.text.push_back(part["text"]);
          }
        }
        p.finish = b["candidates"][0]["finishReason"];
        p.input_tokens = b["usageMetadata"]["promptTokenCount"];
        p.output_tokens = b["usageMetadata"]["candidatesTokenCount"];
        break;
    }
    return p;
  }
  std::vector<std::string> args;
  for (const auto& ev : call.events) {
    if (d == Dialect::openai && ev.data == "[DONE]") continue;
    json e = json::parse(ev.data);
    switch (d) {
      case Dialect::openai: {
        EXPECT_EQ(e["object"], "chat.completion.chunk");
        if (e.contains("usage") && e["usage"].is_object()) {
          p.input_tokens = e["usage"]["prompt_tokens"];
          p.output_tokens = e["usage"]["completion_tokens"];
        }
        if (e["choices"].empty()) break;
        const json& delta = e["choices"][0]["delta"];
        if (delta.contains("content") && delta["content"].is_string() &&
            !delta["content"].get<std::string>().empty()) {
          p.text.push_back(delta["content"]);
        }
        if (delta.contains("reasoning_content")) p.reasoning.push_back(delta["reasoning_content"]);
        for (const auto& tc : delta.value("tool_calls", json::array())) {
          std::size_t i = tc["index"];
          if (i >= p.calls.size()) {
            p.calls.resize(i + 1);
            args.resize(i + 1);
          }
          if (tc.contains("id")) p.calls[i].id = tc["id"];
          if (tc["function"].contains("name")) p.calls[i].name = tc["function"]["name"];
          std::string frag = tc["function"].value("arguments", "");
          if (!frag.empty()) ++p.arg_fragments;
          args[i] += frag;
        }
        if (e["choices"][0]["finish_reason"].is_string())
          p.finish = e["choices"][0]["finish_reason"];
        break;
      }
      case Dialect::anthropic: {
        EXPECT_EQ(ev.type, e["type"]);  // the SSE event name repeats the JSON type
        if (e["type"] == "message_start") {
          p.input_tokens = e["message"]["usage"]["input_tokens"];
        } else if (e["type"] == "content_block_start" && e["content_block"]["type"] == "tool_use") {
          p.calls.push_back({e["content_block"]["id"], e["content_block"]["name"], nullptr});
          args.emplace_back();
        } else if (e["type"] == "content_block_delta") {
          const json& delta = e["delta"];
          if (delta["type"] == "text_delta") p.text.push_back(delta["text"]);
          if (delta["type"] == "thinking_delta") p.reasoning.push_back(delta["thinking"]);
          if (delta["type"] == "input_json_delta") {
            ++p.arg_fragments;
            args.back() += delta["partial_json"].get<std::string>();
          }
        } else if (e["type"] == "message_delta") {
          p.finish = e["delta"]["stop_reason"];
          p.output_tokens = e["usage"]["output_tokens"];
        }
        break;
      }
      case Dialect::gemini: {
        const json& cand = e["candidates"][0];
        for (const auto& part : cand["content"]["parts"]) {
          if (part.contains("functionCall")) {
            p.calls.push_back({"", part["functionCall"]["name"], part["functionCall"]["args"]});
          } else if (part.value("thought", false)) {
            p.reasoning.push_back(part["text"]);
          } else {
            p.text.push_back(part["text"]);
          }
        }
        if (cand.contains("finishReason")) p.finish = cand["finishReason"];
        p.input_tokens = e["usageMetadata"]["promptTokenCount"];
        p.output_tokens = e["usageMetadata"].value("candidatesTokenCount", -1);
        break;
      }
    }
  }
  for (std::size_t i = 0; i < args.size(); ++i) p.calls[i].arguments = json::parse(args[i]);
  return p;
}

/// The vendor's error type/status string from an error body.
std::string error_kind(Dialect d, const std::string& body) {
  json b = json::parse(body);
  switch (d) {
    case Dialect::openai:
      return b["error"]["type"];
    case Dialect::gemini:
      return b["error"]["status"];
    case Dialect::anthropic:
      EXPECT_EQ(b["type"], "error");
      EXPECT_TRUE(b["request_id"].is_string());
      return b["error"]["type"];
  }
  return "";
}

class FakeDialect : public ::testing::TestWithParam<Dialect> {
 protected:
  FakeLlmServer fake{GetParam()};
  Dialect d = GetParam();
};

INSTANTIATE_TEST_SUITE_P(All, FakeDialect,
                         ::testing::Values(Dialect::openai, Dialect::gemini, Dialect::anthropic),
                         [](const auto& info) { return FakeLlmServer::dialect_name(info.param); });

TEST_P(FakeDialect, WithoutAScriptTheReplyEchoesTheLastUserMessage) {
  for (bool stream : {false, true}) {
    Call call = send_model(fake, stream, "Grüße");
    ASSERT_TRUE(call.res.ok()) << call.res.status << call.res.error_message << call.res.body;
    Parsed p = parse(d, call, stream);
    EXPECT_EQ(p.joined(), "echo: Grüße") << (stream ? "stream" : "non-stream");
    EXPECT_EQ(p.input_tokens, 10);
    EXPECT_EQ(p.output_tokens, 5);
    EXPECT_EQ(call.res.headers.get("content-type")
                  .value_or("")
                  .find(stream ? "text/event-stream" : "application/json"),
              0u);
  }
}

TEST_P(FakeDialect, TextStreamsInTheScriptedNumberOfDeltasWithReasoningApart) {
  ScriptedReply r = ScriptedReply::text_reply("Zürich ☃ 日本語 text", 7, "thinking first");
  r.input_tokens = 21;
  r.output_tokens = 34;
  fake.push(r);
  fake.push(r);
  Call streamed = send_model(fake, true);
  ASSERT_TRUE(streamed.res.ok()) << streamed.res.error_message;
  Parsed p = parse(d, streamed, true);
  EXPECT_EQ(p.joined(), "Zürich ☃ 日本語 text");
  EXPECT_EQ(p.text.size(), 7u);  // no delta split a UTF-8 sequence (json::parse would have thrown)
  std::string reasoning;
  for (const auto& s : p.reasoning) reasoning += s;
  EXPECT_EQ(reasoning, "thinking first");
  EXPECT_EQ(p.input_tokens, 21);
  EXPECT_EQ(p.output_tokens, 34);
  EXPECT_EQ(p.finish, d == Dialect::openai ? "stop" : d == Dialect::gemini ? "STOP" : "end_turn");

  Parsed whole = parse(d, send_model(fake, false), false);
  EXPECT_EQ(whole.joined(), "Zürich ☃ 日本語 text");
  ASSERT_EQ(whole.reasoning.size(), 1u);
  EXPECT_EQ(whole.reasoning[0], "thinking first");
  EXPECT_EQ(fake.pending(), 0u);
}

TEST_P(FakeDialect, ToolCallsStreamAsFragmentsAndReassemble) {
  std::vector<FakeToolCall> calls = {{"call_1", "memory_search", {{"query", "cats"}, {"limit", 3}}},
                                     {"call_2", "get_weather", {{"city", "Zürich"}}}};
  fake.push(ScriptedReply::tool_call_reply(calls, "Looking."));
  fake.push(ScriptedReply::tool_call_reply(calls));
  Call streamed = send_model(fake, true);
  ASSERT_TRUE(streamed.res.ok()) << streamed.res.error_message;
  Parsed p = parse(d, streamed, true);
  EXPECT_EQ(p.joined(), "Looking.");
  ASSERT_EQ(p.calls.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(p.calls[i].name, calls[i].name);
    EXPECT_EQ(p.calls[i].arguments, calls[i].arguments);
    if (d != Dialect::gemini) {  // Gemini sends no ids
      EXPECT_EQ(p.calls[i].id, calls[i].id);
    }
  }
  if (d == Dialect::gemini) {
    EXPECT_EQ(p.arg_fragments, 0);  // Gemini sends each functionCall whole
  } else {
    EXPECT_GT(p.arg_fragments, 2);  // each call's arguments in several fragments
  }
  EXPECT_EQ(p.finish, d == Dialect::openai   ? "tool_calls"
                      : d == Dialect::gemini ? "STOP"
                                             : "tool_use");

  Parsed whole = parse(d, send_model(fake, false), false);
  ASSERT_EQ(whole.calls.size(), 2u);
  EXPECT_EQ(whole.calls[1].arguments, calls[1].arguments);
}

TEST_P(FakeDialect, HttpErrorsCarryTheVendorBodyAndRetryAfter) {
  fake.push(ScriptedReply::http_error_reply(429, "7"));
  fake.push(ScriptedReply::http_error_reply(500));
  ScriptedReply custom = ScriptedReply::http_error_reply(503);
  custom.error_message = "try later";
  fake.push(custom);
  Call limited = send_model(fake, true);
  EXPECT_EQ(limited.res.status, 429);
  EXPECT_EQ(limited.res.headers.get("retry-after").value_or(""), "7");
  EXPECT_EQ(error_kind(d, limited.res.body), d == Dialect::openai   ? "requests"
                                             : d == Dialect::gemini ? "RESOURCE_EXHAUSTED"
                                                                    : "rate_limit_error");
  Call failed = send_model(fake, false);
  EXPECT_EQ(failed.res.status, 500);
  EXPECT_FALSE(failed.res.headers.has("retry-after"));
  EXPECT_EQ(error_kind(d, failed.res.body), d == Dialect::openai   ? "server_error"
                                            : d == Dialect::gemini ? "INTERNAL"
                                                                   : "api_error");
  Call unavailable = send_model(fake, false);
  EXPECT_EQ(unavailable.res.status, 503);
  EXPECT_NE(unavailable.res.body.find("try later"), std::string::npos);
}

TEST_P(FakeDialect, AStalledStreamHangsUntilTheClientCancelsAndTheFakeSeesTheClose) {
  fake.push(ScriptedReply::stall_reply(2));
  jarvis::CancelSource cancel;
  jarvis::OutboundRequest req = model_request(fake, true);
  req.cancel = cancel.token();
  Call call = send(req, true, [&](const jarvis::SseEvent&, int count) {
    if (count == 2) cancel.cancel();  // e.g. the user pressed stop after two events
    return true;
  });
  EXPECT_EQ(call.res.error_class, "cancelled") << call.res.error_message;
  EXPECT_EQ(call.events.size(), 2u);
  EXPECT_TRUE(fake.wait_client_closed(kPatience));
  EXPECT_EQ(fake.client_closes(), 1);
}

TEST_P(FakeDialect, ANonStreamStallSendsTheHeadThenNothing) {
  fake.push(ScriptedReply::stall_reply());
  jarvis::OutboundRequest req = model_request(fake, false);
  req.idle_timeout_ms = 300;  // how a provider notices: no byte for a while
  Call call = send(req);
  EXPECT_EQ(call.res.error_class, "timeout") << call.res.error_message;
  EXPECT_TRUE(fake.wait_client_closed(kPatience));
}

TEST_P(FakeDialect, MalformedAnswersDoNotParse) {
  fake.push(ScriptedReply::malformed_reply());
  fake.push(ScriptedReply::malformed_reply());
  Call whole = send_model(fake, false);
  EXPECT_EQ(whole.res.status, 200);
  EXPECT_TRUE(json::parse(whole.res.body, nullptr, false).is_discarded()) << whole.res.body;
  Call streamed = send_model(fake, true);
  ASSERT_TRUE(streamed.res.ok()) << streamed.res.error_message;  // the stream itself ends well
  ASSERT_EQ(streamed.events.size(), 2u);
  EXPECT_FALSE(json::parse(streamed.events[0].data, nullptr, false).is_discarded());
  EXPECT_TRUE(json::parse(streamed.events[1].data, nullptr, false).is_discarded());
}

TEST_P(FakeDialect, ADroppedConnectionEndsTheStreamEarly) {
  ScriptedReply r = ScriptedReply::drop_reply(2);
  r.text = "a long answer that never ends";
  r.chunks = 6;
  fake.push(r);
  fake.push(r);
  Call streamed = send_model(fake, true);
  EXPECT_FALSE(streamed.res.ok());
  EXPECT_FALSE(streamed.res.error_class.empty());
  EXPECT_EQ(streamed.events.size(), 2u);
  Call whole = send_model(fake, false);
  EXPECT_FALSE(whole.res.ok());  // a Content-Length body cut in half
}

TEST_P(FakeDialect, FirstByteDelayAndChunkDelayHoldTheAnswerBack) {
  ScriptedReply r = ScriptedReply::text_reply("slow", 2);
  r.first_byte_delay = std::chrono::milliseconds(150);
  r.chunk_delay = std::chrono::milliseconds(50);
  fake.push(r);
  auto start = std::chrono::steady_clock::now();
  Call call = send_model(fake, true);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(call.res.ok());
  EXPECT_EQ(parse(d, call, true).joined(), "slow");
  EXPECT_GE(took, std::chrono::milliseconds(150));  // a lower bound only: never flaky
}

TEST_P(FakeDialect, RecordsEveryRequestWithHeadersAndParsedBody) {
  send_model(fake, false, "first");
  send_model(fake, true, "second");
  std::vector<jarvis::test::fakes::RecordedRequest> sent = fake.model_requests();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].method, "POST");
  switch (d) {
    case Dialect::openai:
      EXPECT_EQ(sent[0].path, "/v1/chat/completions");
      EXPECT_EQ(sent[0].header("Authorization"), "Bearer sk-test");
      EXPECT_EQ(sent[1].json["messages"][0]["content"], "second");
      EXPECT_EQ(sent[1].json["stream"], true);
      break;
    case Dialect::gemini:
      EXPECT_EQ(sent[0].path, "/v1beta/models/gemini-fake:generateContent");
      EXPECT_EQ(sent[1].target, "/v1beta/models/gemini-fake:streamGenerateContent?alt=sse");
      EXPECT_EQ(sent[0].header("x-goog-api-key"), "sk-test");
      EXPECT_EQ(sent[1].json["contents"][0]["parts"][0]["text"], "second");
      break;
    case Dialect::anthropic:
      EXPECT_EQ(sent[0].path, "/v1/messages");
      EXPECT_EQ(sent[0].header("x-api-key"), "sk-test");
      EXPECT_EQ(sent[0].header("anthropic-version"), "2023-06-01");
      EXPECT_EQ(sent[1].json["messages"][0]["content"], "second");
      break;
  }
  // Control requests are not recorded.
  jarvis::test::http("GET", "http://127.0.0.1:" + std::to_string(fake.port()) + "/_fake/state");
  EXPECT_EQ(fake.requests().size(), 2u);
}

TEST_P(FakeDialect, AWrongKeyIsRefusedTheVendorsWayWithoutConsumingAReply) {
  fake.set_api_key("the-right-key");
  fake.push(ScriptedReply::text_reply("kept"));
  Call call = send_model(fake, false);
  EXPECT_EQ(call.res.status, d == Dialect::gemini ? 400 : 401);
  if (d == Dialect::gemini) {
    EXPECT_NE(call.res.body.find("API_KEY_INVALID"), std::string::npos);
  }
  if (d == Dialect::anthropic) {
    EXPECT_EQ(error_kind(d, call.res.body), "authentication_error");
  }
  if (d == Dialect::openai) {
    EXPECT_EQ(json::parse(call.res.body)["error"]["code"], "invalid_api_key");
  }
  EXPECT_EQ(fake.pending(), 1u);
  EXPECT_EQ(fake.model_requests().size(), 1u);  // refused requests are recorded too
}

TEST_P(FakeDialect, UnknownPathsAnswer404InTheVendorsShape) {
  jarvis::OutboundRequest req = model_request(fake, false);
  req.url = "http://127.0.0.1:" + std::to_string(fake.port()) + "/v9/nothing";
  Call call = send(req);
  EXPECT_EQ(call.res.status, 404);
  EXPECT_EQ(error_kind(d, call.res.body), d == Dialect::openai   ? "invalid_request_error"
                                          : d == Dialect::gemini ? "NOT_FOUND"
                                                                 : "not_found_error");
}

TEST_P(FakeDialect, ControlEndpointsScriptAndReport) {
  std::string root = "http://127.0.0.1:" + std::to_string(fake.port());
  json script = json::array({ScriptedReply::text_reply("from control").to_json(),
                             {{"kind", "http_error"}, {"status", 429}, {"retry_after", "1"}}});
  auto pushed = jarvis::test::http("POST", root + "/_fake/script", script.dump());
  EXPECT_EQ(pushed.status, 200) << pushed.body;
  EXPECT_EQ(fake.pending(), 2u);
  EXPECT_EQ(parse(d, send_model(fake, false), false).joined(), "from control");
  EXPECT_EQ(send_model(fake, false).res.status, 429);
  auto listed = jarvis::test::http("GET", root + "/_fake/requests");
  json all = json::parse(listed.body);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]["method"], "POST");
  EXPECT_TRUE(all[0]["json"].is_object());
  auto bad = jarvis::test::http("POST", root + "/_fake/script", R"({"kind":"nonsense"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("unknown reply kind"), std::string::npos);
  jarvis::test::http("POST", root + "/_fake/script", R"({"text":"x"})");
  EXPECT_EQ(jarvis::test::http("POST", root + "/_fake/reset").status, 200);
  EXPECT_EQ(fake.pending(), 0u);
  EXPECT_EQ(json::parse(jarvis::test::http("GET", root + "/_fake/state").body)["requests"], 2);
}

// ---------------------------------------------------------------------------------------------
// Vendor checks of one dialect each.

TEST(FakeOpenAi, RefusesToolMessagesWithoutTheirCallAndBadToolNames) {
  FakeLlmServer fake(Dialect::openai);
  jarvis::OutboundRequest req = model_request(fake, false);
  req.body = json{{"model", "m"},
                  {"messages",
                   {{{"role", "user"}, {"content", "hi"}},
                    {{"role", "assistant"},
                     {"content", nullptr},
                     {"tool_calls",
                      {{{"id", "call_1"},
                        {"type", "function"},
                        {"function", {{"name", "f"}, {"arguments", "{}"}}}}}}},
                    {{"role", "user"}, {"content", "and?"}}}}}
                 .dump();
  Call unanswered = send(req);
  EXPECT_EQ(unanswered.res.status, 400);
  EXPECT_NE(unanswered.res.body.find("call_1"), std::string::npos);
  req.body = json{{"model", "m"},
                  {"messages", {{{"role", "user"}, {"content", "hi"}}}},
                  {"tools", {{{"type", "function"}, {"function", {{"name", "memory.search"}}}}}}}
                 .dump();
  EXPECT_EQ(send(req).res.status, 400);
  req.body = R"({"model": "m", "messages": [)";
  Call broken = send(req);
  EXPECT_EQ(broken.res.status, 400);
  EXPECT_NE(broken.res.body.find("could not parse the JSON body"), std::string::npos);
  EXPECT_EQ(fake.model_requests().size(), 3u);
}

TEST(FakeOpenAi, ListsModels) {
  FakeLlmServer fake(Dialect::openai);
  fake.set_models({"a", "b"});
  auto r = jarvis::test::http("GET", fake.base_url() + "/models", "", {"Authorization: Bearer k"});
  ASSERT_EQ(r.status, 200);
  json j = json::parse(r.body);
  EXPECT_EQ(j["object"], "list");
  EXPECT_EQ(j["data"][1]["id"], "b");
}

TEST(FakeAnthropic, RequiresTheVersionHeaderAndMaxTokensAndPairsToolResults) {
  FakeLlmServer fake(Dialect::anthropic);
  jarvis::OutboundRequest req = model_request(fake, false);
  jarvis::OutboundRequest no_version = req;
  no_version.headers = {};
  no_version.headers.set("x-api-key", "k");
  Call a = send(no_version);
  EXPECT_EQ(a.res.status, 400);
  EXPECT_NE(a.res.body.find("anthropic-version"), std::string::npos);
  req.body = json{{"model", "m"}, {"messages", json::array()}}.dump();
  EXPECT_NE(send(req).res.body.find("max_tokens"), std::string::npos);
  req.body = json{{"model", "m"},
                  {"max_tokens", 5},
                  {"messages",
                   {{{"role", "user"}, {"content", "hi"}},
                    {{"role", "assistant"},
                     {"content",
                      {{{"type", "tool_use"},
                        {"id", "toolu_1"},
                        {"name", "f"},
                        {"input", json::object()}}}}},
                    {{"role", "user"}, {"content", "no result"}}}}}
                 .dump();
  Call missing = send(req);
  EXPECT_EQ(missing.res.status, 400);
  EXPECT_NE(missing.res.body.find("toolu_1"), std::string::npos);
  // Bearer authentication (the 2026-10-21 clients) is accepted as well.
  jarvis::OutboundRequest bearer = model_request(fake, false);
  bearer.headers = {};
  bearer.headers.set("Authorization", "Bearer k");
  bearer.headers.set("anthropic-version", "2026-10-21");
  EXPECT_TRUE(send(bearer).res.ok());
}

TEST(FakeGemini, TakesTheKeyFromTheQueryAndTellsRetryDelay) {
  FakeLlmServer fake(Dialect::gemini);
  fake.set_api_key("qk");
  fake.push(ScriptedReply::http_error_reply(429, "12"));
  jarvis::OutboundRequest req = model_request(fake, false);
  req.headers = {};
  req.url += "?key=qk";
  Call call = send(req);
  EXPECT_EQ(call.res.status, 429);
  json b = json::parse(call.res.body);
  EXPECT_EQ(b["error"]["code"], 429);
  EXPECT_EQ(b["error"]["details"][0]["retryDelay"], "12s");
  req.url = fake.base_url() + "/v1beta/models/gemini-fake:generateContent";
  EXPECT_EQ(send(req).res.status, 403);  // no key at all
}

TEST(FakeLlmServerThreads, ParallelClientsEachGetTheirOwnReply) {
  FakeLlmServer fake(Dialect::openai);
  constexpr int kClients = 8;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      Call c = send_model(fake, true, "client " + std::to_string(i));
      if (c.res.ok() &&
          parse(Dialect::openai, c, true).joined() == "echo: client " + std::to_string(i)) {
        ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kClients);
  EXPECT_EQ(fake.model_requests().size(), static_cast<std::size_t>(kClients));
}

// ---------------------------------------------------------------------------------------------
// ScriptedReply's JSON form.

TEST(ScriptedReplyJson, RoundTripsEveryField) {
  ScriptedReply r = ScriptedReply::tool_call_reply({{"id1", "f", {{"a", 1}}}}, "pre");
  r.reasoning = "why";
  r.status = 201;
  r.retry_after = "3";
  r.error_message = "m";
  r.raw_body = "raw";
  r.chunks = 9;
  r.stall_after_chunks = 4;
  r.input_tokens = 1;
  r.output_tokens = 2;
  r.first_byte_delay = std::chrono::milliseconds(5);
  r.chunk_delay = std::chrono::milliseconds(6);
  ScriptedReply back = ScriptedReply::from_json(r.to_json());
  EXPECT_EQ(back.to_json(), r.to_json());
  EXPECT_EQ(back.kind, ScriptedReply::Kind::tool_calls);
  EXPECT_THROW(ScriptedReply::from_json({{"kind", "bogus"}}), std::invalid_argument);
  EXPECT_THROW(ScriptedReply::from_json({{"chunks", "many"}}), std::invalid_argument);
  EXPECT_THROW(ScriptedReply::from_json(json::array()), std::invalid_argument);
  // tool_calls without a kind mean kind tool_calls.
  EXPECT_EQ(ScriptedReply::from_json({{"tool_calls", {{{"name", "f"}}}}}).kind,
            ScriptedReply::Kind::tool_calls);
}

// ---------------------------------------------------------------------------------------------
// LoopbackServer itself.

TEST(LoopbackServer, ParsesChunkedBodiesAndQueriesAndKeepsConnectionsAlive) {
  LoopbackServer server([](const HttpRequest& req, Responder& out) {
    out.respond(200,
                req.method + " " + req.path + " q=" + req.query_param("q") + " body=" + req.body,
                {{"Content-Type", "text/plain"}});
  });
  jarvis::test::RawHttpClient raw(server.port());
  ASSERT_TRUE(raw.connected());
  raw.send(
      "POST /a?q=x%20y&z=1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n");
  auto first = raw.read_response();
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body, "POST /a q=x y body=abcde");
  raw.send("GET /b HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi");  // same connection
  auto second = raw.read_response();
  EXPECT_EQ(second.body, "GET /b q= body=hi");
  std::vector<HttpRequest> seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].header("TRANSFER-ENCODING"), "chunked");
  EXPECT_EQ(seen[0].target, "/a?q=x%20y&z=1");
  EXPECT_EQ(server.client_closes(), 0);
}

TEST(LoopbackServer, AHandlerThatThrowsAnswers500AndTheServerGoesOn) {
  LoopbackServer server([](const HttpRequest& req, Responder& out) {
    if (req.path == "/throw") throw std::runtime_error("boom");
    out.respond(204, "");
  });
  auto r = jarvis::test::http("GET", server.url("/throw"));
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("boom"), std::string::npos);
  EXPECT_EQ(jarvis::test::http("GET", server.url("/ok")).status, 204);
}

TEST(LoopbackServer, DestructionUnblocksAStalledHandler) {
  std::atomic<bool> waiting{false};
  std::atomic<bool> returned{false};
  auto server = std::make_unique<LoopbackServer>([&](const HttpRequest&, Responder& out) {
    out.start_stream(200, {{"Content-Type", "text/event-stream"}});
    out.send_chunk("data: 1\n\n");
    waiting = true;
    EXPECT_FALSE(out.wait_until_client_closes());  // the server stops first
    returned = true;
  });
  jarvis::test::RawHttpClient raw(server->port());
  raw.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  auto until = std::chrono::steady_clock::now() + kPatience;
  while (!waiting && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(waiting);
  server.reset();  // joins the handler's thread: hangs here if the stall were not unblocked
  EXPECT_TRUE(returned);
}

}  // namespace

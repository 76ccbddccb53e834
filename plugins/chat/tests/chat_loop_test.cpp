// chat/tests/chat_loop_test.cpp — the agent step end to end: a real host with the chat plugin,
// the FakeLlmServer as the openai provider and the chat_fixture plugin's tools: two tool rounds,
// loop exhaustion and terminal synthesis, a policy denial as a tool error, server-sent events
// (whole, a client that disconnects, cancel mid-stream), no provider configured, SQLite and
// PostgreSQL.
#include "chat_support.h"
#include "support/raw_http_client.h"

namespace chat_test {
namespace {

class ChatLoop : public ::testing::TestWithParam<Backend> {};

// The model calls fixture.add twice (two rounds), then answers; the stream carries every step.
TEST_P(ChatLoop, FullLoopWithTwoToolRoundsStreamsAndStoresEverything) {
  ChatHost h(GetParam());
  h.fake.push(ScriptedReply::tool_call_reply({{"call_1", "fixture.add", {{"a", 1}, {"b", 2}}}}));
  h.fake.push(ScriptedReply::tool_call_reply({{"call_2", "fixture.add", {{"a", 3}, {"b", 4}}}}));
  h.fake.push(ScriptedReply::text_reply("The sums are 3 and 7.", 4));
  const std::string t = h.new_thread(h.alice);

  auto r = h.call("POST", "/api/v1/threads/" + t + "/messages", h.alice,
                  {{"content", "add 1+2 and 3+4"}}, {"Accept: text/event-stream"});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.headers["content-type"].find("text/event-stream"), std::string::npos);
  auto events = parse_sse(r.body);
  auto names = event_names(events);
  ASSERT_FALSE(names.empty()) << r.body;
  EXPECT_EQ(names.back(), "done") << r.body;
  EXPECT_EQ(std::count(names.begin(), names.end(), "tool_call"), 2) << r.body;
  EXPECT_EQ(std::count(names.begin(), names.end(), "tool_result"), 2) << r.body;
  EXPECT_EQ(std::count(names.begin(), names.end(), "message"), 1) << r.body;
  std::string streamed;
  long long last_id = 0;
  for (const auto& e : events) {
    long long id = std::stoll(e.id);
    EXPECT_GT(id, last_id) << "ids grow";
    last_id = id;
    json d = json::parse(e.data);
    if (e.type == "delta") streamed += d["text"].get<std::string>();
    if (e.type == "tool_result") {
      EXPECT_TRUE(d["ok"].get<bool>()) << e.data;
      EXPECT_EQ(d["name"], "fixture.add");
      EXPECT_EQ(d["result"]["agent"], "agent:main");
    }
    if (e.type == "message") {
      EXPECT_EQ(d["content"], "The sums are 3 and 7.");
    }
    if (e.type == "done") {
      EXPECT_FALSE(d["degraded"].get<bool>());
      EXPECT_TRUE(d["message_id"].is_string());
      EXPECT_TRUE(d["trace_id"].is_string());
    }
  }
  EXPECT_EQ(streamed, "The sums are 3 and 7.");

  // Stored: user, assistant(calls), tool, assistant(calls), tool, assistant.
  json msgs = h.messages(h.alice, t);
  ASSERT_EQ(msgs.size(), 6u) << msgs.dump(2);
  EXPECT_EQ(msgs[0]["role"], "user");
  EXPECT_EQ(msgs[1]["tool_calls"][0]["name"], "fixture.add");
  EXPECT_EQ(msgs[2]["role"], "tool");
  EXPECT_EQ(msgs[2]["tool_call_id"], "call_1");
  EXPECT_NE(msgs[2]["content"].get<std::string>().find("\"sum\":3"), std::string::npos);
  const std::string alice_id = msgs[0]["sender"];
  EXPECT_NE(msgs[2]["content"].get<std::string>().find(alice_id), std::string::npos)
      << "the tool's caller is the thread owner";
  EXPECT_EQ(msgs[5]["role"], "assistant");
  EXPECT_EQ(msgs[5]["provider"], "openai");
  EXPECT_EQ(msgs[5]["model"], "fake-model");
  EXPECT_EQ(msgs[5]["agent_id"], "main");
  EXPECT_EQ(msgs[5]["output_tokens"], 5);
  EXPECT_EQ(msgs[5]["input_tokens"], 10);

  // The model saw the first result in its second request, the second in its third.
  auto sent = h.fake.model_requests();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_NE(sent[1].body.find("call_1"), std::string::npos);
  EXPECT_NE(sent[2].body.find("call_2"), std::string::npos);
  EXPECT_NE(sent[0].body.find("fixture"), std::string::npos) << "tools are offered";
}

// The bundle's allowed_tools are granted at start-up: no operator grant is needed.
TEST_P(ChatLoop, TheBundlesAllowedToolsAreGrantedAtStartUp) {
  ChatHost h(GetParam(), {.cli_grants = false});
  h.fake.push(ScriptedReply::tool_call_reply({{"c1", "fixture.add", {{"a", 20}, {"b", 22}}}}));
  h.fake.push(ScriptedReply::text_reply("42"));
  const std::string t = h.new_thread(h.alice);
  ASSERT_EQ(
      h.call("POST", "/api/v1/threads/" + t + "/messages", h.alice, {{"content", "sum"}}).status,
      202);
  EXPECT_EQ(h.wait_reply(h.alice, t)["content"], "42");
  json msgs = h.messages(h.alice, t);
  ASSERT_EQ(msgs.size(), 4u) << msgs.dump(2);
  EXPECT_NE(msgs[2]["content"].get<std::string>().find("\"sum\":42"), std::string::npos)
      << msgs[2]["content"];
  auto perms = jarvis::test::run_jarvis(
      {"permissions", "list", "--json", "--principal", "agent:main"}, h.dir.path(), h.env);
  EXPECT_NE(perms.out.find("plugin:chat"), std::string::npos) << perms.out;
}

// MAX_TOOL_ITERATIONS rounds of tool calls, then one call without tools answers.
TEST_P(ChatLoop, AnExhaustedLoopEndsWithATerminalSynthesisWithoutTools) {
  ChatHost h(GetParam(), {.env = {{"MAX_TOOL_ITERATIONS", "2"}}});
  h.fake.push(ScriptedReply::tool_call_reply({{"c1", "fixture.add", {{"a", 1}, {"b", 1}}}}));
  h.fake.push(ScriptedReply::tool_call_reply({{"c2", "fixture.add", {{"a", 2}, {"b", 2}}}}));
  h.fake.push(ScriptedReply::text_reply("Done: 2 and 4."));
  const std::string t = h.new_thread(h.alice);
  auto r = h.call("POST", "/api/v1/threads/" + t + "/messages", h.alice, {{"content", "go"}});
  ASSERT_EQ(r.status, 202) << r.body;
  json reply = h.wait_reply(h.alice, t);
  EXPECT_EQ(reply["content"], "Done: 2 and 4.");
  EXPECT_EQ(reply["meta"]["terminal_synthesis"], "iterations_exhausted");
  auto sent = h.fake.model_requests();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_TRUE(sent[0].json.contains("tools"));
  EXPECT_FALSE(sent[2].json.contains("tools") && !sent[2].json["tools"].empty())
      << "the synthesis offers no tools: " << sent[2].body;
}

// A call the policy engine denies comes back to the model as a tool error; the step answers.
TEST_P(ChatLoop, APolicyDenialReachesTheModelAsAToolError) {
  ChatHost h(GetParam());
  auto d = jarvis::test::run_jarvis({"permissions", "deny", "agent:main", "fixture.add"},
                                    h.dir.path(), h.env);
  ASSERT_EQ(d.exit_code, 0) << d.out << d.err;
  h.fake.push(ScriptedReply::tool_call_reply({{"c1", "fixture.add", {{"a", 1}, {"b", 2}}}}));
  h.fake.push(ScriptedReply::text_reply("I may not add numbers."));
  const std::string t = h.new_thread(h.alice);
  auto r = h.call("POST", "/api/v1/threads/" + t + "/messages", h.alice, {{"content", "1+2?"}},
                  {"Accept: text/event-stream"});
  ASSERT_EQ(r.status, 200);
  bool saw_denial = false;
  for (const auto& e : parse_sse(r.body)) {
    if (e.type != "tool_result") continue;
    json d2 = json::parse(e.data);
    EXPECT_FALSE(d2["ok"].get<bool>());
    EXPECT_EQ(d2["error"]["code"], "tool_denied") << e.data;
    saw_denial = true;
  }
  EXPECT_TRUE(saw_denial) << r.body;
  auto sent = h.fake.model_requests();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_NE(sent[1].body.find("tool_denied"), std::string::npos) << sent[1].body;
  EXPECT_EQ(h.wait_reply(h.alice, t)["content"], "I may not add numbers.");
}

// The same failing call twice: the loop breaker stops and synthesises.
TEST_P(ChatLoop, TheLoopBreakerStopsARepeatedFailingCall) {
  ChatHost h(GetParam());
  for (int i = 0; i < 2; ++i) {
    h.fake.push(ScriptedReply::tool_call_reply({{"f" + std::to_string(i), "fixture.fail", {}}}));
  }
  h.fake.push(ScriptedReply::text_reply("The tool keeps failing."));
  const std::string t = h.new_thread(h.alice);
  ASSERT_EQ(
      h.call("POST", "/api/v1/threads/" + t + "/messages", h.alice, {{"content", "x"}}).status,
      202);
  json reply = h.wait_reply(h.alice, t);
  EXPECT_EQ(reply["meta"]["terminal_synthesis"], "loop_breaker") << reply.dump();
  // Rounds 1 and 2 ran the tool (second is refused as a repeat), then the synthesis answered.
  EXPECT_EQ(h.fake.model_requests().size(), 3u);
  EXPECT_EQ(reply["content"], "The tool keeps failing.");
}

// A client that drops the stream does not stop the step.
TEST_P(ChatLoop, AClientThatDisconnectsDoesNotCancelTheStep) {
  ChatHost h(GetParam());
  ScriptedReply slow = ScriptedReply::text_reply("one two three four five six", 6);
  slow.chunk_delay = std::chrono::milliseconds(150);
  h.fake.push(slow);
  const std::string t = h.new_thread(h.alice);
  {
    jarvis::test::RawHttpClient c(h.server->port());
    ASSERT_TRUE(c.connected());
    std::string body = json{{"content", "count"}}.dump();
    c.send("POST /api/v1/threads/" + t +
           "/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           "Authorization: Bearer " +
           h.alice +
           "\r\nAccept: text/event-stream\r\n"
           "Content-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body);
    EXPECT_FALSE(c.read_until("event: delta").empty());
  }  // closed mid-stream
  json reply = h.wait_reply(h.alice, t);
  EXPECT_EQ(reply["content"], "one two three four five six");
  EXPECT_EQ(h.fake.client_closes(), 0) << "the upstream request was not cancelled";
}

// POST /cancel stops the step and closes the upstream model request.
TEST_P(ChatLoop, CancelMidStreamClosesTheUpstreamRequest) {
  ChatHost h(GetParam());
  h.fake.push(ScriptedReply::stall_reply(1));
  const std::string t = h.new_thread(h.alice);
  jarvis::test::RawHttpClient c(h.server->port());
  std::string body = json{{"content", "talk"}}.dump();
  c.send("POST /api/v1/threads/" + t +
         "/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
         "Authorization: Bearer " +
         h.alice +
         "\r\nAccept: text/event-stream\r\n"
         "Content-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body);
  // The model request is under way (the stall sends its first event, then nothing).
  ASSERT_TRUE(ChatHost::eventually([&] { return h.fake.model_requests().size() == 1; }));
  // Bob may not cancel alice's step (404), alice may.
  EXPECT_EQ(h.call("POST", "/api/v1/threads/" + t + "/cancel", h.bob).status, 404);
  auto r = h.call("POST", "/api/v1/threads/" + t + "/cancel", h.alice);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["cancelled"].size(), 1u);
  EXPECT_TRUE(h.fake.wait_client_closed(std::chrono::seconds(20)));
  std::string rest = c.read_until("event: done");
  EXPECT_NE(rest.find("\"cancelled\""), std::string::npos) << rest;
  // The step is over: a new message is accepted and answered.
  EXPECT_TRUE(ChatHost::eventually([&] {
    auto g = h.call("GET", "/api/v1/threads/" + t, h.alice);
    return json::parse(g.body, nullptr, false)["active_step"].is_null();
  }));
}

// Without a provider the reply says which variables to set (and slash commands still work).
TEST_P(ChatLoop, NoProviderConfiguredAnswersWithTheVariablesToSet) {
  ChatHost h(GetParam(), {.with_provider = false});
  const std::string t = h.new_thread(h.alice);
  ASSERT_EQ(
      h.call("POST", "/api/v1/threads/" + t + "/messages", h.alice, {{"content", "hi"}}).status,
      202);
  json reply = h.wait_reply(h.alice, t);
  const std::string text = reply["content"];
  EXPECT_NE(text.find("OPENAI_MODEL"), std::string::npos) << text;
  EXPECT_NE(text.find("PRIMARY_PROVIDER"), std::string::npos) << text;
  EXPECT_TRUE(h.fake.model_requests().empty());
  ASSERT_EQ(
      h.call("POST", "/api/v1/threads/" + t + "/messages", h.alice, {{"content", "/help"}}).status,
      202);
  EXPECT_NE(h.wait_reply(h.alice, t, 2)["content"].get<std::string>().find("/status"),
            std::string::npos);
}

// Every provider failing: a degraded reply, the step ends with degraded = true.
TEST_P(ChatLoop, AllProvidersFailingGiveADegradedReply) {
  ChatHost h(GetParam());
  h.fake.push(ScriptedReply::http_error_reply(500));
  const std::string t = h.new_thread(h.alice);
  auto r = h.call("POST", "/api/v1/threads/" + t + "/messages", h.alice, {{"content", "hi"}},
                  {"Accept: text/event-stream"});
  auto events = parse_sse(r.body);
  ASSERT_FALSE(events.empty()) << r.body;
  EXPECT_EQ(events.back().type, "done");
  EXPECT_TRUE(json::parse(events.back().data)["degraded"].get<bool>());
  auto names = event_names(events);
  EXPECT_NE(std::find(names.begin(), names.end(), "error"), names.end());
  json reply = h.wait_reply(h.alice, t);
  EXPECT_TRUE(reply["meta"]["degraded"].get<bool>());
}

// GET /stream with nothing running ends at once with `done`.
TEST_P(ChatLoop, StreamWithoutARunningStepEndsAtOnce) {
  ChatHost h(GetParam());
  const std::string t = h.new_thread(h.alice);
  auto r = h.call("GET", "/api/v1/threads/" + t + "/stream", h.alice);
  ASSERT_EQ(r.status, 200);
  auto events = parse_sse(r.body);
  ASSERT_EQ(events.size(), 1u) << r.body;
  EXPECT_EQ(events[0].type, "done");
}

INSTANTIATE_TEST_SUITE_P(Backends, ChatLoop,
                         ::testing::Values(Backend::Sqlite, Backend::Postgresql),
                         jarvis::test::backend_name);

}  // namespace
}  // namespace chat_test

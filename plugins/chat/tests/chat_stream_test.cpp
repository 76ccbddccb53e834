// chat/tests/chat_stream_test.cpp — how a running step reaches its watchers, end to end against
// real `jarvis serve` processes: SSE on one host while a second host on the same PostgreSQL
// database runs the step; Last-Event-ID resume of a step mid-stream on GET /stream; the /ws
// pushes of a step (agent.thinking, message.delta, message.new, agent.done) to a thread
// subscriber; and failover through the whole loop (the primary answers 500, the fallback
// provider answers, model.fallback is stored).
#include <regex>

#include "chat_support.h"
#include "support/raw_http_client.h"
#include "support/ws_client.h"

namespace chat_test {
namespace chat_stream_test {

json body_of(const jarvis::test::HttpResult& r) { return json::parse(r.body, nullptr, false); }

std::string sse_post(const std::string& token, const std::string& thread,
                     const std::string& content) {
  std::string body = json{{"content", content}}.dump();
  return "POST /api/v1/threads/" + thread + "/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
         "Authorization: Bearer " + token +
         "\r\nAccept: text/event-stream\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

TEST(ChatStream, ASecondPostgresHostRunsTheStepWhileTheFirstStreamsIt) {
  // Host A has one task worker; a stalled step of another thread keeps it busy, so only host B
  // (same database, four workers) can run the step whose reply A streams.
  ChatHost h(Backend::Postgresql, {.env = {{"TASK_RUNNER_MAX_CONCURRENT", "1"},
                                           {"MODEL_STREAM_IDLE_TIMEOUT_SECONDS", "600"}}});
  h.fake.push(ScriptedReply::stall_reply(1));
  const std::string busy = h.new_thread(h.alice);
  ASSERT_EQ(
      h.call("POST", "/api/v1/threads/" + busy + "/messages", h.alice, {{"content", "x"}}).status,
      202);
  ASSERT_TRUE(ChatHost::eventually([&] { return h.fake.model_requests().size() == 1; }));

  auto env_b = h.env;
  env_b["TASK_RUNNER_MAX_CONCURRENT"] = "4";
  jarvis::test::ServerProcess b(h.dir.path(), env_b);
  ASSERT_TRUE(b.ready()) << b.output();

  h.fake.push(ScriptedReply::text_reply("answered on host b", 4));
  const std::string t = h.new_thread(h.alice);
  auto r = h.call("POST", "/api/v1/threads/" + t + "/messages", h.alice, {{"content", "hi"}},
                  {"Accept: text/event-stream"});
  ASSERT_EQ(r.status, 200) << r.body;
  auto events = parse_sse(r.body);
  auto names = event_names(events);
  ASSERT_FALSE(events.empty()) << r.body;
  EXPECT_EQ(names.back(), "done") << r.body;
  std::string deltas;
  json message;
  for (const auto& e : events) {
    if (e.type == "delta") deltas += json::parse(e.data)["text"].get<std::string>();
    if (e.type == "message") message = json::parse(e.data);
  }
  EXPECT_EQ(deltas, "answered on host b") << r.body;
  EXPECT_EQ(message["content"], "answered on host b") << r.body;

  // The step's task ran on host B's worker ("<hostname>:<pid>").
  auto tasks = body_of(h.call("GET", "/api/v1/tasks?name=chat.agent_step&limit=200", h.admin));
  std::string ran_on;
  for (const auto& task : tasks["items"]) {
    if (task["payload"].value("thread_id", "") == t) ran_on = task.value("lease_owner", "");
  }
  EXPECT_NE(ran_on.find(":" + std::to_string(b.pid())), std::string::npos)
      << ran_on << " vs host b pid " << b.pid() << "\n"
      << tasks.dump();
  EXPECT_EQ(h.call("POST", "/api/v1/threads/" + busy + "/cancel", h.alice).status, 200);
}

class ChatResume : public ::testing::TestWithParam<Backend> {};

TEST_P(ChatResume, LastEventIdResumesARunningStepWithoutGapsOrRepeats) {
  ChatHost h(GetParam());
  const std::string full = "one two three four five six seven eight nine ten";
  ScriptedReply slow = ScriptedReply::text_reply(full, 10);
  slow.chunk_delay = std::chrono::milliseconds(300);
  h.fake.push(slow);
  const std::string t = h.new_thread(h.alice);
  std::string first_part;
  {
    jarvis::test::RawHttpClient c(h.server->port());
    ASSERT_TRUE(c.connected());
    c.send(sse_post(h.alice, t, "count"));
    first_part = c.read_until("event: delta");
    first_part += c.read_until("event: delta");
    first_part += c.read_until("\n\n");  // the rest of the second delta
  }                                      // dropped mid-step
  long long last_id = 0;
  std::string seen;
  const std::regex id_re("id: ([0-9]+)"), text_re("\"text\":\"([^\"]*)\"");
  for (std::sregex_iterator it(first_part.begin(), first_part.end(), id_re), end; it != end; ++it) {
    last_id = std::max(last_id, std::stoll((*it)[1]));
  }
  for (std::sregex_iterator it(first_part.begin(), first_part.end(), text_re), end; it != end;
       ++it) {
    seen += (*it)[1];
  }
  ASSERT_GT(last_id, 0) << first_part;
  ASSERT_FALSE(seen.empty());
  ASSERT_LT(seen.size(), full.size()) << "the step ended before the client dropped";

  auto r = h.call("GET", "/api/v1/threads/" + t + "/stream", h.alice, nullptr,
                  {"Last-Event-ID: " + std::to_string(last_id)});
  ASSERT_EQ(r.status, 200) << r.body;
  auto events = parse_sse(r.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().type, "done") << r.body;
  std::string rest;
  for (const auto& e : events) {
    EXPECT_GT(std::stoll(e.id), last_id) << "replayed an event the client had: " << r.body;
    if (e.type == "delta") rest += json::parse(e.data)["text"].get<std::string>();
    if (e.type == "message") {
      EXPECT_EQ(json::parse(e.data)["content"], full);
    }
  }
  EXPECT_EQ(seen + rest, full) << "first: " << seen << "\nresumed: " << rest;
  // Another user cannot resume it.
  EXPECT_EQ(h.call("GET", "/api/v1/threads/" + t + "/stream", h.bob).status, 404);
}

TEST_P(ChatResume, WsSubscribersOfTheThreadGetTheStepsPushes) {
  ChatHost h(GetParam());
  h.fake.push(ScriptedReply::text_reply("pushed to the socket", 3));
  const std::string t = h.new_thread(h.alice);
  jarvis::test::WsClient bob;
  ASSERT_TRUE(
      bob.connect(static_cast<uint16_t>(h.server->port()), {{"Authorization", "Bearer " + h.bob}}))
      << bob.error;
  ASSERT_TRUE(bob.read());  // auth.ok
  bob.send(json{{"action", "subscribe"}, {"thread_id", t}}.dump());
  auto refused = bob.read();
  ASSERT_TRUE(refused);
  EXPECT_NE((*refused)["type"], "subscribed") << refused->dump();

  jarvis::test::WsClient ws;
  ASSERT_TRUE(
      ws.connect(static_cast<uint16_t>(h.server->port()), {{"Authorization", "Bearer " + h.alice}}))
      << ws.error;
  ASSERT_TRUE(ws.read());  // auth.ok
  ws.send(json{{"action", "subscribe"}, {"thread_id", t}}.dump());
  auto sub = ws.read();
  ASSERT_TRUE(sub);
  ASSERT_EQ((*sub)["type"], "subscribed") << sub->dump();

  ASSERT_EQ(
      h.call("POST", "/api/v1/threads/" + t + "/messages", h.alice, {{"content", "hi"}}).status,
      202);
  std::vector<std::string> live;
  std::string deltas;
  json stored_message;
  for (int i = 0; i < 100; ++i) {
    auto m = ws.read();
    ASSERT_TRUE(m) << "socket ended: " << ws.ended;
    if ((*m)["type"] == "live") {
      EXPECT_EQ((*m)["thread_id"], t);
      EXPECT_EQ((*m)["component"], "chat");
      const json& p = (*m)["payload"];
      live.push_back(p["type"]);
      if (p["type"] == "message.delta") deltas += p["data"]["text"].get<std::string>();
      if (p["type"] == "message.new") stored_message = p["data"];
      if (p["type"] == "agent.done") break;
    }
  }
  ASSERT_FALSE(live.empty());
  EXPECT_EQ(live.front(), "agent.thinking");
  EXPECT_EQ(live.back(), "agent.done");
  EXPECT_NE(std::find(live.begin(), live.end(), "message.new"), live.end());
  EXPECT_EQ(deltas, "pushed to the socket");
  EXPECT_EQ(stored_message["content"], "pushed to the socket") << stored_message.dump();
}

TEST_P(ChatResume, APrimaryThatFailsIsReplacedByTheFallbackThroughTheWholeLoop) {
  FakeLlmServer second(FakeLlmServer::Dialect::openai);
  ChatHost h(GetParam(), {.env = {{"FALLBACK_PROVIDERS", "sglang"},
                                  {"SGLANG_BASE_URL", second.base_url()},
                                  {"SGLANG_API_KEY", "sk-test"},
                                  {"SGLANG_MODEL", "second-model"}}});
  h.fake.push(ScriptedReply::http_error_reply(500));  // round 1
  h.fake.push(ScriptedReply::http_error_reply(500));  // round 2: a 500 is no cooldown
  second.push(ScriptedReply::tool_call_reply({{"c1", "fixture.add", {{"a", 2}, {"b", 3}}}}));
  second.push(ScriptedReply::text_reply("5, said the fallback"));
  const std::string t = h.new_thread(h.alice);
  auto r = h.call("POST", "/api/v1/threads/" + t + "/messages", h.alice, {{"content", "2+3?"}},
                  {"Accept: text/event-stream"});
  ASSERT_EQ(r.status, 200) << r.body;
  auto events = parse_sse(r.body);
  ASSERT_FALSE(events.empty());
  EXPECT_FALSE(json::parse(events.back().data)["degraded"].get<bool>()) << r.body;
  json reply = h.wait_reply(h.alice, t);
  EXPECT_EQ(reply["content"], "5, said the fallback");
  EXPECT_EQ(reply["provider"], "sglang");
  EXPECT_EQ(reply["model"], "second-model");
  // Each round asked the primary once (no retries configured), then the fallback.
  EXPECT_EQ(h.fake.model_requests().size(), 2u);
  EXPECT_EQ(second.model_requests().size(), 2u);
  auto ev = body_of(h.call("GET", "/api/v1/events?type=model.fallback&thread_id=" + t, h.alice));
  ASSERT_FALSE(ev["items"].empty()) << ev.dump();
  EXPECT_EQ(ev["items"].back()["payload"]["from"], "openai");
  EXPECT_EQ(ev["items"].back()["payload"]["to"], "sglang");
  EXPECT_EQ(ev["items"].back()["payload"]["primary_error"]["status"], 500);
  auto err = body_of(h.call("GET", "/api/v1/events?type=model.run.error&thread_id=" + t, h.alice));
  ASSERT_FALSE(err["items"].empty());
  EXPECT_EQ(err["items"].back()["payload"]["outage_class"], "provider_unavailable");
}

INSTANTIATE_TEST_SUITE_P(Backends, ChatResume,
                         ::testing::Values(Backend::Sqlite, Backend::Postgresql),
                         jarvis::test::backend_name);

}  // namespace chat_stream_test
}  // namespace chat_test

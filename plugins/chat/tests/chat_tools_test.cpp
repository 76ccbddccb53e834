// chat/tests/chat_tools_test.cpp — against a real `jarvis serve`: the tool chat.complete as
// another plugin calls it (the chat_fixture plugin grants agent:fixture the tool in start(), as
// memory and github do; the calls go through the host's ToolRegistry::invoke via the admin
// invoke route with as=agent:fixture, on_behalf_of=alice): result, fallback and cooldown,
// events and accounting by purpose, no provider, an outage, bad arguments, the quota, no grant
// and an admin's deny. Then bundle governance at tool-call time in the agent loop
// (allowed_paths, can_request_privileged_change, risk_tier with CHAT_TOOL_RISK_LEVELS).
#include "chat_support.h"

namespace chat_test {
namespace chat_tools_test {

/// Calls chat.complete as agent `agent` on behalf of alice, through the host's invoke path.
jarvis::test::HttpResult complete(const ChatHost& h, const json& args,
                                  const std::string& agent = "agent:fixture") {
  return h.call("POST", "/api/v1/tools/chat.complete/invoke", h.admin,
                {{"as", agent}, {"on_behalf_of", "alice"}, {"args", args}});
}

json body_of(const jarvis::test::HttpResult& r) { return json::parse(r.body, nullptr, false); }

TEST(ChatComplete, AnotherPluginsAgentGetsOneCompletionWithTokensAndPurpose) {
  ChatHost h(Backend::Sqlite);
  h.fake.push(ScriptedReply::text_reply("Alice likes tea.", 2));
  auto r = complete(h, {{"prompt", "Extract the facts: I like tea."},
                        {"system", "You extract facts."},
                        {"max_tokens", 64},
                        {"purpose", "memory.extract"}});
  ASSERT_EQ(r.status, 200) << r.body;
  json b = body_of(r);
  ASSERT_TRUE(b["ok"].get<bool>()) << r.body;
  EXPECT_EQ(b["result"]["text"], "Alice likes tea.");
  EXPECT_EQ(b["result"]["provider"], "openai");
  EXPECT_EQ(b["result"]["model"], "fake-model");
  EXPECT_EQ(b["result"]["input_tokens"], 10);
  EXPECT_EQ(b["result"]["output_tokens"], 5);

  // One model request: the system and user messages, no tools, the caller's max_tokens.
  auto sent = h.fake.model_requests();
  ASSERT_EQ(sent.size(), 1u);
  const json& req = sent[0].json;
  ASSERT_EQ(req["messages"].size(), 2u) << sent[0].body;
  EXPECT_EQ(req["messages"][0]["role"], "system");
  EXPECT_EQ(req["messages"][1]["content"], "Extract the facts: I like tea.");
  EXPECT_EQ(req["max_tokens"], 64);
  EXPECT_TRUE(!req.contains("tools") || req["tools"].empty()) << sent[0].body;

  // model.run.end says what for; the tokens are counted by purpose.
  auto ev = body_of(h.call("GET", "/api/v1/events?type=model.run.end", h.admin));
  ASSERT_FALSE(ev["items"].empty()) << ev.dump();
  EXPECT_EQ(ev["items"][0]["payload"]["purpose"], "memory.extract") << ev.dump();
  auto metrics = jarvis::test::http("GET", h.server->url("/metrics"));
  EXPECT_NE(metrics.body.find("model_purpose_tokens_total{direction=\"input\",purpose=\"memory."
                              "extract\"} 10"),
            std::string::npos)
      << metrics.body.substr(0, 4000);
}

TEST(ChatComplete, FallsBackAndCoolsDownLikeTheAgentLoop) {
  FakeLlmServer second(FakeLlmServer::Dialect::openai);
  ChatHost h(Backend::Sqlite, {.env = {{"FALLBACK_PROVIDERS", "sglang"},
                                       {"SGLANG_BASE_URL", second.base_url()},
                                       {"SGLANG_API_KEY", "sk-test"},
                                       {"SGLANG_MODEL", "second-model"}}});
  h.fake.push(ScriptedReply::http_error_reply(429, "120"));
  second.push(ScriptedReply::text_reply("from the fallback"));
  second.push(ScriptedReply::text_reply("again from the fallback"));
  json args = {{"prompt", "Summarise PR 7"}, {"purpose", "github.pr_summary"}};
  json b = body_of(complete(h, args));
  ASSERT_TRUE(b["ok"].get<bool>()) << b.dump();
  EXPECT_EQ(b["result"]["text"], "from the fallback");
  EXPECT_EQ(b["result"]["provider"], "sglang");
  // The rate-limited model cools down: the next call goes to the fallback at once.
  b = body_of(complete(h, args));
  EXPECT_EQ(b["result"]["text"], "again from the fallback") << b.dump();
  EXPECT_EQ(h.fake.model_requests().size(), 1u);
  auto ev = body_of(h.call("GET", "/api/v1/events?type=model.fallback", h.admin));
  ASSERT_FALSE(ev["items"].empty());
  EXPECT_EQ(ev["items"][0]["payload"]["to"], "sglang");
  EXPECT_EQ(ev["items"][0]["payload"]["purpose"], "github.pr_summary");
}

TEST(ChatComplete, NoProviderAndOutagesAreToolErrorsWithStableCodes) {
  {
    ChatHost h(Backend::Sqlite, {.with_provider = false});
    json b = body_of(complete(h, {{"prompt", "x"}, {"purpose", "memory.extract"}}));
    EXPECT_TRUE(b["allowed"].get<bool>()) << b.dump();
    EXPECT_FALSE(b["ok"].get<bool>());
    EXPECT_EQ(b["result"]["error"]["code"], "no_provider");
    EXPECT_NE(b["result"]["error"]["message"].get<std::string>().find("OPENAI_MODEL"),
              std::string::npos);
  }
  ChatHost h(Backend::Sqlite);
  h.fake.push(ScriptedReply::http_error_reply(500));
  json b = body_of(complete(h, {{"prompt", "x"}, {"purpose", "memory.extract"}}));
  EXPECT_FALSE(b["ok"].get<bool>()) << b.dump();
  EXPECT_EQ(b["result"]["error"]["code"], "provider_unavailable");
  const std::string msg = b["result"]["error"]["message"];
  EXPECT_EQ(msg.rfind("provider_unavailable: ", 0), 0u) << msg;  // the outage class first
  EXPECT_EQ(msg.find("sk-test"), std::string::npos) << msg;
}

TEST(ChatComplete, ArgumentsAreBoundedAndThePurposeNamed) {
  ChatHost h(Backend::Sqlite);
  auto r = complete(h, {{"prompt", "x"}});  // no purpose
  EXPECT_EQ(r.status, 422) << r.body;
  r = complete(h, {{"prompt", std::string(100001, 'x')}, {"purpose", "memory.extract"}});
  EXPECT_EQ(r.status, 422);
  r = complete(h, {{"prompt", "x"}, {"purpose", "memory.extract"}, {"max_tokens", 1000000}});
  EXPECT_EQ(r.status, 422);
  r = complete(h, {{"prompt", "x"}, {"purpose", "memory.extract"}, {"tools", json::array()}});
  EXPECT_EQ(r.status, 422);
  json b = body_of(complete(h, {{"prompt", "x"}, {"purpose", "No Purpose"}}));
  EXPECT_EQ(b["result"]["error"]["code"], "invalid_purpose") << b.dump();
  EXPECT_TRUE(h.fake.model_requests().empty());
}

TEST(ChatComplete, OnlyGrantedAgentsCallItAndAnAdminDenyWins) {
  ChatHost h(Backend::Sqlite);
  auto r = complete(h, {{"prompt", "x"}, {"purpose", "memory.extract"}}, "agent:stranger");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(body_of(r)["reason"], "no_permission");
  auto d = jarvis::test::run_jarvis({"permissions", "deny", "agent:fixture", "chat.complete"},
                                    h.dir.path(), h.env);
  ASSERT_EQ(d.exit_code, 0) << d.out << d.err;
  r = complete(h, {{"prompt", "x"}, {"purpose", "memory.extract"}});
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_TRUE(h.fake.model_requests().empty());
  // The chat agents are not granted it either: the bundle does not list it.
  EXPECT_EQ(complete(h, {{"prompt", "x"}, {"purpose", "a.b"}}, "agent:main").status, 403);
}

TEST(ChatComplete, TheCallersQuotaIsSpentAndEnforced) {
  ChatHost h(Backend::Sqlite, {.env = {{"CHAT_USER_DAILY_TOKEN_LIMIT", "10"}}});
  h.fake.push(ScriptedReply::text_reply("first"));
  json b = body_of(complete(h, {{"prompt", "x"}, {"purpose", "memory.extract"}}));
  ASSERT_TRUE(b["ok"].get<bool>()) << b.dump();  // 15 tokens: over the limit now
  b = body_of(complete(h, {{"prompt", "x"}, {"purpose", "memory.extract"}}));
  EXPECT_EQ(b["result"]["error"]["code"], "quota_exceeded") << b.dump();
  // The same quota as alice's chat.
  const std::string t = h.new_thread(h.alice);
  auto r = h.call("POST", "/api/v1/threads/" + t + "/messages", h.alice, {{"content", "hi"}});
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(error_code(r), "quota_exceeded");
  // Bob's quota is untouched.
  const std::string bt = h.new_thread(h.bob);
  EXPECT_EQ(
      h.call("POST", "/api/v1/threads/" + bt + "/messages", h.bob, {{"content", "hi"}}).status,
      202);
}

// --- bundle governance in the agent loop -------------------------------------------------------

class ChatGovernance : public ::testing::TestWithParam<Backend> {};

TEST_P(ChatGovernance, PathsPrivilegeAndRiskTierAreEnforcedAtToolCallTime) {
  ChatHost h(GetParam(), {.env = {{"CHAT_TOOL_RISK_LEVELS", "fixture.add=high"}},
                          .tools = {"fixture.read", "fixture.reboot", "fixture.add"},
                          .identity_extra = "allowed_paths: [/srv/notes]\n"});
  h.fake.push(ScriptedReply::tool_call_reply(
      {{"c1", "fixture.read", {{"path", "/srv/notes/a.md"}}},
       {"c2", "fixture.read", {{"path", "/etc/passwd"}}},
       {"c3", "fixture.read", {{"path", "/srv/notes/../../etc/shadow"}}},
       {"c4", "fixture.reboot", json::object()},
       {"c5", "fixture.add", {{"a", 1}, {"b", 2}}}}));
  h.fake.push(ScriptedReply::text_reply("done"));
  const std::string t = h.new_thread(h.alice);
  ASSERT_EQ(
      h.call("POST", "/api/v1/threads/" + t + "/messages", h.alice, {{"content", "go"}}).status,
      202);
  EXPECT_EQ(h.wait_reply(h.alice, t)["content"], "done");
  std::map<std::string, json> results;  // call id → stored tool result
  for (const auto& m : h.messages(h.alice, t)) {
    if (m["role"] == "tool")
      results[m["tool_call_id"]] = json::parse(m["content"].get<std::string>());
  }
  ASSERT_EQ(results.size(), 5u);
  EXPECT_EQ(results["c1"]["result"]["path"], "/srv/notes/a.md") << results["c1"].dump();
  EXPECT_EQ(results["c2"]["error"]["reason"], "path_not_allowed") << results["c2"].dump();
  EXPECT_EQ(results["c3"]["error"]["reason"], "path_not_allowed") << results["c3"].dump();
  EXPECT_EQ(results["c4"]["error"]["reason"], "privileged_change_not_allowed")
      << results["c4"].dump();
  EXPECT_EQ(results["c5"]["error"]["reason"], "risk_tier_exceeded") << results["c5"].dump();
  // The model saw the refusals as tool errors.
  auto sent = h.fake.model_requests();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_NE(sent[1].body.find("path_not_allowed"), std::string::npos);
}

TEST_P(ChatGovernance, APrivilegedHighTierBundleMayCallProtectedTools) {
  ChatHost h(GetParam(), {.tools = {"fixture.reboot"},
                          .risk_tier = "high",
                          .identity_extra = "can_request_privileged_change: true\n"});
  h.fake.push(ScriptedReply::tool_call_reply({{"c1", "fixture.reboot", json::object()}}));
  h.fake.push(ScriptedReply::text_reply("rebooted"));
  const std::string t = h.new_thread(h.alice);
  ASSERT_EQ(
      h.call("POST", "/api/v1/threads/" + t + "/messages", h.alice, {{"content", "go"}}).status,
      202);
  EXPECT_EQ(h.wait_reply(h.alice, t)["content"], "rebooted");
  json msgs = h.messages(h.alice, t);
  ASSERT_GE(msgs.size(), 3u);
  EXPECT_EQ(msgs[2]["meta"]["result"], "ok") << msgs[2].dump();
}

INSTANTIATE_TEST_SUITE_P(Backends, ChatGovernance,
                         ::testing::Values(Backend::Sqlite, Backend::Postgresql),
                         jarvis::test::backend_name);

}  // namespace chat_tools_test
}  // namespace chat_test

// chat/tests/chat_api_test.cpp — the threads API against a real host: owner scoping on every
// route (alice, bob, admin), validation and error codes, the quota and the concurrent-step
// limit, export, and channel.inbound → reply → channel.outbound through the chat_fixture plugin.
#include <set>

#include "chat_support.h"

namespace chat_test {
namespace {

TEST(ChatApi, EveryThreadRouteIsOwnerScoped) {
  ChatHost h(Backend::Sqlite);
  const std::string t = h.new_thread(h.alice, {{"title", "private"}});
  const std::string base = "/api/v1/threads/" + t;
  struct Case {
    std::string method, path;
    json body;
  };
  std::vector<Case> cases = {{"GET", base, nullptr},
                             {"PATCH", base, {{"title", "x"}}},
                             {"GET", base + "/messages", nullptr},
                             {"POST", base + "/messages", {{"content", "hi"}}},
                             {"GET", base + "/stream", nullptr},
                             {"POST", base + "/cancel", nullptr},
                             {"GET", base + "/export", nullptr},
                             {"DELETE", base, nullptr}};
  for (const auto& c : cases) {
    auto r = h.call(c.method, c.path, h.bob, c.body);
    EXPECT_EQ(r.status, 404) << c.method << " " << c.path << " " << r.body;
    EXPECT_EQ(error_code(r), "thread_not_found") << c.method << " " << c.path;
    auto anon = h.call(c.method, c.path, "", c.body);
    EXPECT_EQ(anon.status, 401) << c.method << " " << c.path;
  }
  // An id that does not exist answers the same.
  EXPECT_EQ(error_code(h.call("GET", "/api/v1/threads/thr_nope", h.bob)), "thread_not_found");

  // Lists: bob sees none of alice's threads; ?all=true is admin-only.
  auto bl = h.call("GET", "/api/v1/threads", h.bob);
  EXPECT_EQ(json::parse(bl.body)["total"], 0) << bl.body;
  EXPECT_EQ(h.call("GET", "/api/v1/threads?all=true", h.bob).status, 403);
  auto al = json::parse(h.call("GET", "/api/v1/threads", h.alice).body);
  ASSERT_EQ(al["total"], 1);
  EXPECT_EQ(al["items"][0]["id"], t);
  for (const char* key : {"items", "total", "limit", "offset", "has_more"}) {
    EXPECT_TRUE(al.contains(key)) << key;
  }
  auto all = json::parse(h.call("GET", "/api/v1/threads?all=true", h.admin).body);
  EXPECT_EQ(all["total"], 1);
  EXPECT_EQ(json::parse(h.call("GET", "/api/v1/threads", h.admin).body)["total"], 0)
      << "without all=true an admin lists their own threads";

  // The admin may read and change it; alice may delete it.
  EXPECT_EQ(h.call("GET", base, h.admin).status, 200);
  auto p = h.call("PATCH", base, h.admin, {{"verbose", true}, {"status", "closed"}});
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(json::parse(p.body)["settings"]["verbose"], true);
  EXPECT_EQ(json::parse(p.body)["status"], "closed");
  EXPECT_EQ(h.call("DELETE", base, h.alice).status, 204);
  EXPECT_EQ(h.call("GET", base, h.alice).status, 404);
}

TEST(ChatApi, InputErrorsHaveStableCodes) {
  ChatHost h(Backend::Sqlite, {.env = {{"CHAT_MAX_MESSAGE_BYTES", "100"}}});
  const std::string t = h.new_thread(h.alice);
  const std::string msgs = "/api/v1/threads/" + t + "/messages";
  EXPECT_EQ(error_code(h.call("POST", msgs, h.alice, {{"content", ""}})), "invalid_field");
  EXPECT_EQ(error_code(h.call("POST", msgs, h.alice, {{"content", 5}})), "invalid_field");
  EXPECT_EQ(error_code(h.call("POST", msgs, h.alice, {{"content", "x"}, {"x", 1}})),
            "unknown_field");
  auto big = h.call("POST", msgs, h.alice, {{"content", std::string(101, 'a')}});
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(error_code(big), "message_too_large");
  auto agent = h.call("POST", msgs, h.alice, {{"content", "x"}, {"agent_id", "nobody"}});
  EXPECT_EQ(agent.status, 422);
  EXPECT_EQ(error_code(agent), "unknown_agent");
  EXPECT_EQ(h.call("POST", "/api/v1/threads", h.alice, {{"channel", "Bad Channel"}}).status, 400);
  EXPECT_EQ(h.call("PATCH", "/api/v1/threads/" + t, h.alice, {{"status", "gone"}}).status, 400);
  EXPECT_EQ(error_code(h.call("PATCH", "/api/v1/threads/" + t, h.alice,
                              {{"active_agent_ids", {"ghost"}}})),
            "unknown_agent");
  ASSERT_EQ(h.call("PATCH", "/api/v1/threads/" + t, h.alice, {{"status", "archived"}}).status, 200);
  auto closed = h.call("POST", msgs, h.alice, {{"content", "x"}});
  EXPECT_EQ(closed.status, 409);
  EXPECT_EQ(error_code(closed), "thread_not_open");
  auto bad_json =
      jarvis::test::http("POST", h.server->url(msgs), "{nope", {jarvis::test::bearer(h.alice)});
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(h.call("GET", msgs + "?order=sideways", h.alice).status, 400);
  EXPECT_EQ(h.call("GET", msgs + "?before=msg_unknown", h.alice).status, 400);
}

TEST(ChatApi, TheDailyTokenQuotaAnswers429) {
  ChatHost h(Backend::Sqlite, {.env = {{"CHAT_USER_DAILY_TOKEN_LIMIT", "10"}}});
  const std::string t = h.new_thread(h.alice);
  const std::string msgs = "/api/v1/threads/" + t + "/messages";
  ASSERT_EQ(h.call("POST", msgs, h.alice, {{"content", "one"}}).status, 202);
  h.wait_reply(h.alice, t);  // 10 in + 5 out: over the limit now
  auto r = h.call("POST", msgs, h.alice, {{"content", "two"}});
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(error_code(r), "quota_exceeded");
  // Slash commands never reach a model: still answered.
  EXPECT_EQ(h.call("POST", msgs, h.alice, {{"content", "/help"}}).status, 202);
  // Bob has his own quota.
  const std::string bt = h.new_thread(h.bob);
  EXPECT_EQ(
      h.call("POST", "/api/v1/threads/" + bt + "/messages", h.bob, {{"content", "hi"}}).status,
      202);
}

TEST(ChatApi, ConcurrentStepsPerUserAreLimited) {
  ChatHost h(Backend::Sqlite, {.env = {{"CHAT_USER_MAX_CONCURRENT_STEPS", "1"}}});
  h.fake.push(ScriptedReply::stall_reply(1));
  const std::string t = h.new_thread(h.alice);
  const std::string msgs = "/api/v1/threads/" + t + "/messages";
  ASSERT_EQ(h.call("POST", msgs, h.alice, {{"content", "one"}}).status, 202);
  auto r = h.call("POST", msgs, h.alice, {{"content", "two"}});
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(error_code(r), "too_many_steps");
  ASSERT_EQ(h.call("POST", "/api/v1/threads/" + t + "/cancel", h.alice).status, 200);
  EXPECT_TRUE(ChatHost::eventually([&] {
    return h.call("POST", msgs, h.alice, {{"content", "three"}}).status == 202;
  }));
}

TEST(ChatApi, ExportIsNdjsonWithTheThreadAndItsMessages) {
  ChatHost h(Backend::Sqlite);
  const std::string t = h.new_thread(h.alice, {{"title", "exported"}});
  ASSERT_EQ(
      h.call("POST", "/api/v1/threads/" + t + "/messages", h.alice, {{"content", "hi"}}).status,
      202);
  h.wait_reply(h.alice, t);
  auto r = h.call("GET", "/api/v1/threads/" + t + "/export", h.alice);
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.headers["content-type"].find("application/x-ndjson"), std::string::npos);
  std::vector<json> lines;
  std::stringstream ss(r.body);
  for (std::string line; std::getline(ss, line);) {
    if (!line.empty()) lines.push_back(json::parse(line));
  }
  ASSERT_EQ(lines.size(), 3u) << r.body;
  EXPECT_EQ(lines[0]["type"], "thread");
  EXPECT_EQ(lines[0]["title"], "exported");
  EXPECT_EQ(lines[1]["type"], "message");
  EXPECT_EQ(lines[1]["content"], "hi");
  EXPECT_EQ(lines[2]["content"], "echo: hi");
}

TEST(ChatApi, MessagesArePagedWithTheListEnvelope) {
  ChatHost h(Backend::Sqlite, {.with_provider = false});
  const std::string t = h.new_thread(h.alice);
  const std::string msgs = "/api/v1/threads/" + t + "/messages";
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(h.call("POST", msgs, h.alice, {{"content", "m" + std::to_string(i)}}).status, 202);
    h.wait_reply(h.alice, t, i + 1);
  }
  auto page = json::parse(h.call("GET", msgs + "?limit=2&order=desc", h.alice).body);
  EXPECT_EQ(page["total"], 4);
  EXPECT_EQ(page["has_more"], true);
  ASSERT_EQ(page["items"].size(), 2u);
  EXPECT_EQ(page["items"][0]["seq"], 4);
  auto before = json::parse(
      h.call("GET", msgs + "?before=" + page["items"][1]["id"].get<std::string>(), h.alice).body);
  EXPECT_EQ(before["total"], 2);
  EXPECT_EQ(before["items"][0]["content"], "m0");
}

TEST(ChatApi, ChannelInboundIsAnsweredWithChannelOutbound) {
  ChatHost h(Backend::Sqlite);
  // alice's user id, from a thread she owns.
  const std::string own = h.new_thread(h.alice);
  const std::string alice_id =
      json::parse(h.call("GET", "/api/v1/threads/" + own, h.alice).body)["owner_id"];
  json inbound = {{"channel", "fakechat"},
                  {"external_thread", "chat-42"},
                  {"sender", "+4915100000"},
                  {"text", "hello there"},
                  {"user_id", alice_id}};
  ASSERT_EQ(h.call("POST", "/api/v1/fixture/inbound", h.admin, inbound).status, 202);
  json out;
  ASSERT_TRUE(ChatHost::eventually([&] {
    auto r = h.call("GET", "/api/v1/fixture/outbox", h.admin);
    out = json::parse(r.body, nullptr, false);
    return out.is_object() && !out["items"].empty();
  })) << h.server->output();
  json o = out["items"][0];
  EXPECT_EQ(o["channel"], "fakechat");
  EXPECT_EQ(o["recipient"], "chat-42");
  EXPECT_EQ(o["text"], "echo: hello there");
  const std::string thread = o["thread_id"];
  // The thread belongs to alice (not to bob) and a second inbound lands in it.
  EXPECT_EQ(h.call("GET", "/api/v1/threads/" + thread, h.bob).status, 404);
  json th = json::parse(h.call("GET", "/api/v1/threads/" + thread, h.alice).body);
  EXPECT_EQ(th["channel"], "fakechat");
  EXPECT_EQ(th["external_ref"], "chat-42");
  inbound["text"] = "again";
  ASSERT_EQ(h.call("POST", "/api/v1/fixture/inbound", h.admin, inbound).status, 202);
  json reply = h.wait_reply(h.alice, thread, 2);
  EXPECT_EQ(reply["content"], "echo: again");
  // Replies on api threads emit nothing.
  ASSERT_EQ(
      h.call("POST", "/api/v1/threads/" + own + "/messages", h.alice, {{"content", "x"}}).status,
      202);
  h.wait_reply(h.alice, own);
  EXPECT_EQ(json::parse(h.call("GET", "/api/v1/fixture/outbox", h.admin).body)["items"].size(), 2u);
}

// The attack from the review: a user creates a thread of a channel plugin's channel with the
// victim's external id, to receive the victim's inbound messages and to choose who the
// operator's channel account writes to. API threads are web/api/cli only, and an inbound message
// only ever lands in a thread of the user the channel plugin names.
TEST(ChatApi, NobodyCanHijackAChannelConversation) {
  ChatHost h(Backend::Sqlite);
  auto made = h.call("POST", "/api/v1/threads", h.bob,
                     {{"channel", "fakechat"}, {"external_ref", "chat-victim"}});
  EXPECT_EQ(made.status, 422) << made.body;
  EXPECT_EQ(json::parse(made.body)["error"]["code"], "channel_reserved");
  for (const std::string c : {"web", "api", "cli"}) {
    EXPECT_EQ(h.call("POST", "/api/v1/threads", h.bob, {{"channel", c}}).status, 201) << c;
  }
  // Bob owns a fakechat conversation "chat-shared" (the channel plugin named him); then alice
  // writes from the same external thread: her message gets her own thread, not bob's.
  auto user_id = [&](const std::string& token) {
    const std::string t = h.new_thread(token);
    return json::parse(h.call("GET", "/api/v1/threads/" + t, token).body)["owner_id"]
        .get<std::string>();
  };
  const std::string bob_id = user_id(h.bob), alice_id = user_id(h.alice);
  json inbound = {{"channel", "fakechat"},
                  {"external_thread", "chat-shared"},
                  {"sender", "+4915100001"},
                  {"text", "from bob"},
                  {"user_id", bob_id}};
  ASSERT_EQ(h.call("POST", "/api/v1/fixture/inbound", h.admin, inbound).status, 202);
  inbound["text"] = "from alice";
  inbound["user_id"] = alice_id;
  ASSERT_EQ(h.call("POST", "/api/v1/fixture/inbound", h.admin, inbound).status, 202);
  json out;
  ASSERT_TRUE(ChatHost::eventually([&] {
    out = json::parse(h.call("GET", "/api/v1/fixture/outbox", h.admin).body, nullptr, false);
    return out.is_object() && out["items"].size() >= 2;
  })) << h.server->output();
  std::set<std::string> threads;
  for (const auto& o : out["items"]) threads.insert(o["thread_id"].get<std::string>());
  ASSERT_EQ(threads.size(), 2u) << out.dump();
  for (const auto& o : out["items"]) {
    const std::string t = o["thread_id"];
    const bool bobs = o["text"] == "echo: from bob";
    EXPECT_EQ(h.call("GET", "/api/v1/threads/" + t, bobs ? h.bob : h.alice).status, 200);
    EXPECT_EQ(h.call("GET", "/api/v1/threads/" + t, bobs ? h.alice : h.bob).status, 404);
  }
}

// /verbose on changes what the reply shows (a footer with provider, model and tokens); neither
// that footer nor slash commands and their replies (a /status lists the host's queues) are sent
// back to the model as conversation.
TEST(ChatApi, VerboseFooterAndCommandsNeverReachTheModel) {
  ChatHost h(Backend::Sqlite);
  const std::string t = h.new_thread(h.alice);
  const std::string msgs = "/api/v1/threads/" + t + "/messages";
  ASSERT_EQ(h.call("POST", msgs, h.alice, {{"content", "/verbose on"}}).status, 202);
  h.wait_reply(h.alice, t, 1);
  ASSERT_EQ(h.call("POST", msgs, h.alice, {{"content", "first"}}).status, 202);
  json first = h.wait_reply(h.alice, t, 2);
  const std::string shown = first["content"];
  EXPECT_EQ(shown.rfind("echo: first", 0), 0u) << shown;
  EXPECT_NE(shown.find("openai/fake-model"), std::string::npos) << shown;  // the footer
  ASSERT_EQ(h.call("POST", msgs, h.alice, {{"content", "/status"}}).status, 202);
  h.wait_reply(h.alice, t, 3);
  ASSERT_EQ(h.call("POST", msgs, h.alice, {{"content", "second"}}).status, 202);
  h.wait_reply(h.alice, t, 4);
  auto reqs = h.fake.model_requests();
  ASSERT_EQ(reqs.size(), 2u);  // the two questions; the commands never reached the model
  const json sent = reqs[1].json["messages"];
  const std::string text = sent.dump();
  EXPECT_EQ(text.find("fake-model"), std::string::npos) << text;
  EXPECT_EQ(text.find("/status"), std::string::npos) << text;
  EXPECT_EQ(text.find("/verbose"), std::string::npos) << text;
  EXPECT_EQ(text.find("queues"), std::string::npos) << text;
  EXPECT_NE(text.find("echo: first"), std::string::npos) << text;  // the answer itself stays
}

// Deleting a thread stops its running step: the model request is closed, not run to the end
// for a thread that no longer exists, and the host stays healthy.
TEST(ChatApi, DeletingAThreadCancelsItsRunningStep) {
  ChatHost h(Backend::Sqlite);
  const std::string t = h.new_thread(h.alice);
  ScriptedReply held = ScriptedReply::stall_reply(1);
  h.fake.push(held);
  ASSERT_EQ(
      h.call("POST", "/api/v1/threads/" + t + "/messages", h.alice, {{"content", "go"}}).status,
      202);
  ASSERT_TRUE(ChatHost::eventually([&] { return h.fake.model_requests().size() == 1u; }))
      << h.server->output();
  EXPECT_EQ(h.call("DELETE", "/api/v1/threads/" + t, h.alice).status, 204);
  EXPECT_TRUE(h.fake.wait_client_closed(std::chrono::seconds(20))) << h.server->output();
  EXPECT_EQ(h.call("GET", "/api/v1/threads/" + t, h.alice).status, 404);
  // The step ended: a new thread of alice's is answered (her concurrent-step slot is free).
  const std::string t2 = h.new_thread(h.alice);
  ASSERT_EQ(
      h.call("POST", "/api/v1/threads/" + t2 + "/messages", h.alice, {{"content", "next"}}).status,
      202);
  EXPECT_EQ(h.wait_reply(h.alice, t2)["content"], "echo: next");
}

// Only a thread's active agents answer in it; main always is one.
TEST(ChatApi, OnlyActiveAgentsAnswer) {
  ChatHost h(Backend::Sqlite, {.extra_agents = {"helper"}});
  const std::string t = h.new_thread(h.alice);
  const std::string msgs = "/api/v1/threads/" + t + "/messages";
  auto r = h.call("POST", msgs, h.alice, {{"content", "hi"}, {"agent_id", "helper"}});
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "agent_not_active");
  EXPECT_EQ(h.call("POST", msgs, h.alice, {{"content", "hi"}, {"agent_id", "main"}}).status, 202);
  h.wait_reply(h.alice, t, 1);
  ASSERT_EQ(
      h.call("PATCH", "/api/v1/threads/" + t, h.alice, {{"active_agent_ids", {"main", "helper"}}})
          .status,
      200);
  auto ok = h.call("POST", msgs, h.alice, {{"content", "hi"}, {"agent_id", "helper"}});
  EXPECT_EQ(ok.status, 202) << ok.body;
  EXPECT_EQ(h.wait_reply(h.alice, t, 2)["agent_id"], "helper");
}

// The operator's keys pay for the model: a user may not pick one per thread.
TEST(ChatApi, OnlyAdminsOverrideTheModel) {
  ChatHost h(Backend::Sqlite);
  const std::string t = h.new_thread(h.alice);
  auto r = h.call("PATCH", "/api/v1/threads/" + t, h.alice, {{"model_override", "gpt-huge"}});
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "admin_required");
  EXPECT_EQ(h.call("PATCH", "/api/v1/threads/" + t, h.alice, {{"model_override", nullptr}}).status,
            200);
  auto a = h.call("PATCH", "/api/v1/threads/" + t, h.admin, {{"model_override", "gpt-huge"}});
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(json::parse(a.body)["settings"]["model_override"], "gpt-huge");
}

}  // namespace
}  // namespace chat_test

namespace chat_test {
namespace {

// The slash commands' environment against the real host: /status, /logs trace (owner-scoped) and
// /lockdown (admin only) — answered without a model.
TEST(ChatApi, SlashCommandsUseTheHostAndStayOwnerScoped) {
  ChatHost h(Backend::Sqlite);
  auto say = [&](const std::string& token, const std::string& thread, const std::string& text,
                 int nth) {
    auto r = h.call("POST", "/api/v1/threads/" + thread + "/messages", token, {{"content", text}});
    EXPECT_EQ(r.status, 202) << r.body;
    return h.wait_reply(token, thread, nth);
  };
  const std::string at = h.new_thread(h.alice);
  auto first = h.call("POST", "/api/v1/threads/" + at + "/messages", h.alice, {{"content", "hi"}});
  const std::string trace = json::parse(first.body)["trace_id"];
  h.wait_reply(h.alice, at);
  json mine = say(h.alice, at, "/logs trace " + trace, 2);
  EXPECT_EQ(mine["meta"]["command"]["outcome"], "ok") << mine.dump();
  EXPECT_NE(mine["content"].get<std::string>().find("message.new"), std::string::npos);
  const std::string bt = h.new_thread(h.bob);
  json theirs = say(h.bob, bt, "/logs trace " + trace, 1);
  EXPECT_EQ(theirs["meta"]["command"]["outcome"], "not_found") << theirs.dump();

  json status = say(h.alice, at, "/status", 3);
  EXPECT_EQ(status["meta"]["command"]["outcome"], "ok") << status.dump();

  json refused = say(h.bob, bt, "/lockdown on testing", 2);
  EXPECT_EQ(refused["meta"]["command"]["outcome"], "forbidden");
  const std::string rt = h.new_thread(h.admin);
  json locked = say(h.admin, rt, "/lockdown on testing", 1);
  EXPECT_EQ(locked["meta"]["command"]["outcome"], "ok") << locked.dump();
  auto st = json::parse(h.call("GET", "/api/v1/system/status", h.admin).body);
  EXPECT_EQ(st["system"]["lockdown"], true) << st.dump();
  EXPECT_EQ(say(h.admin, rt, "/lockdown off", 2)["meta"]["command"]["outcome"], "ok");
  EXPECT_TRUE(h.fake.model_requests().size() == 1u) << "only the first message reached the model";
}

// An unlock code is never stored: not in the message row (even before the step runs), not in an
// event; the step still receives it (a wrong code is refused by the host).
TEST(ChatApi, AnUnlockCodeIsNeverStored) {
  ChatHost h(Backend::Sqlite);
  const std::string t = h.new_thread(h.admin);
  ASSERT_EQ(h.call("POST", "/api/v1/threads/" + t + "/messages", h.admin,
                   {{"content", "/lockdown on testing"}})
                .status,
            202);
  h.wait_reply(h.admin, t, 1);
  // A step of the thread is busy with a slow model answer, so the /unlock step has to wait
  // behind it (one step per thread at a time): its message row is read before it runs.
  ScriptedReply slow = ScriptedReply::text_reply("slow answer", 2);
  slow.first_byte_delay = std::chrono::milliseconds(3000);
  h.fake.push(slow);
  ASSERT_EQ(
      h.call("POST", "/api/v1/threads/" + t + "/messages", h.admin, {{"content", "hold"}}).status,
      202);
  ASSERT_EQ(
      h.call("POST", "/api/v1/threads/" + t + "/messages", h.admin, {{"content", "/unlock 424242"}})
          .status,
      202);
  json rows = h.messages(h.admin, t);
  ASSERT_EQ(rows.size(), 4u) << rows.dump();  // lockdown, its reply, hold, unlock — no replies
  EXPECT_EQ(rows[3]["content"], "/unlock ******") << rows.dump();
  json reply = h.wait_reply(h.admin, t, 3);
  EXPECT_EQ(reply["meta"]["command"]["name"], "unlock") << reply.dump();
  EXPECT_NE(reply["meta"]["command"]["outcome"], "ok") << reply.dump();  // a wrong code
  for (const auto& m : h.messages(h.admin, t)) {
    EXPECT_EQ(m.dump().find("424242"), std::string::npos) << m.dump();
  }
  auto ev = h.call("GET", "/api/v1/events?thread_id=" + t + "&limit=200", h.admin);
  ASSERT_EQ(ev.status, 200) << ev.body;
  EXPECT_EQ(ev.body.find("424242"), std::string::npos) << ev.body;
  EXPECT_EQ(json::parse(h.call("GET", "/api/v1/system/status", h.admin).body)["system"]["lockdown"],
            true);
}

}  // namespace
}  // namespace chat_test

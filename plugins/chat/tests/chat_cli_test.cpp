// chat/tests/chat_cli_test.cpp — the chat CLI as a user runs it: the built `jarvis` binary
// (`ask`, `chat`, `threads list|show|export`) against a real `jarvis serve` with the chat plugin
// and a fake OpenAI-compatible server: the reply streamed to stdout, the --json shape, which
// thread a message goes to, failures that say what to do, the interactive loop, the thread
// commands.
#include <gtest/gtest.h>

#include <set>

#include "chat_cli_support.h"

namespace {

using namespace chat_test;

class ChatCli : public ::testing::Test {
 protected:
  ChatHost h{Backend::Sqlite};
};

TEST_F(ChatCli, AskStreamsTheReplyToStdout) {
  h.fake.push(ScriptedReply::text_reply("The answer is 42.", 4));
  auto r = run_cli(h, {"ask", "what", "is", "it?"}, h.alice);
  EXPECT_EQ(r.exit_code, 0) << r.err << h.server->output();
  EXPECT_EQ(r.out, "The answer is 42.\n");
  auto sent = h.fake.model_requests();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(last_user_text(sent[0]), "what is it?");
  EXPECT_EQ(sent[0].json.value("stream", false), true);
}

TEST_F(ChatCli, AskPrintsDeltasAsTheyArriveAndATimeoutSaysTheStepGoesOn) {
  // The model sends its first words, then holds: what reached stdout came before any `done`.
  ScriptedReply held = ScriptedReply::stall_reply(/*after_chunks=*/2);
  held.text = "alpha beta gamma";
  held.chunks = 3;
  h.fake.push(held);
  auto r = run_cli(h, {"ask", "--timeout-s", "3", "go"}, h.alice);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("alpha", 0), 0u) << r.out;
  EXPECT_EQ(r.out.find("gamma"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("no reply within 3 s"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("keeps running on the host"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(timeout)"), std::string::npos) << r.err;

  // --json: one object, ok false, the thread the step still runs in.
  h.fake.push(held);
  auto j = run_cli(h, {"ask", "--json", "--new-thread", "--timeout-s", "2", "go again"}, h.bob);
  EXPECT_EQ(j.exit_code, 1) << j.err;
  json o = last_json_line(j.out);
  ASSERT_TRUE(o.is_object()) << j.out;
  EXPECT_EQ(o["ok"], false);
  EXPECT_EQ(o["error"]["code"], "timeout");
  EXPECT_EQ(o["error"]["outage_class"], "timeout");
  EXPECT_TRUE(o["thread_id"].is_string());
  EXPECT_TRUE(o["user_message_id"].is_string()) << o;
}

TEST_F(ChatCli, AskJsonReusesTheLatestOpenCliThreadUnlessToldOtherwise) {
  auto ask_json = [&](std::vector<std::string> args, const std::string& token) {
    args.insert(args.begin(), {"ask", "--json"});
    auto r = run_cli(h, args, token);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    json j = last_json_line(r.out);
    EXPECT_TRUE(j.is_object()) << r.out;
    return j.is_object() ? j : json::object();
  };
  json first = ask_json({"first"}, h.alice);
  EXPECT_EQ(first["ok"], true);
  EXPECT_EQ(first["assistant"], "echo: first");
  EXPECT_EQ(first["degraded"], false);
  EXPECT_EQ(first["provider"], "openai");
  EXPECT_EQ(first["model"], "fake-model");
  for (const char* k : {"thread_id", "user_message_id", "assistant_message_id", "trace_id"}) {
    EXPECT_TRUE(first[k].is_string()) << k << ": " << first;
  }
  const std::string t1 = first.value("thread_id", "");
  EXPECT_NE(first["user_message_id"], first["assistant_message_id"]);

  EXPECT_EQ(ask_json({"second"}, h.alice)["thread_id"], t1);  // reused
  json third = ask_json({"--new-thread", "third"}, h.alice);
  const std::string t2 = third.value("thread_id", "");
  EXPECT_NE(t2, t1);
  EXPECT_EQ(ask_json({"fourth"}, h.alice)["thread_id"], t2);  // the newest cli thread
  EXPECT_EQ(ask_json({"--thread-id", t1, "fifth"}, h.alice)["thread_id"], t1);

  // Not another user's thread, and not a thread of another channel, nor a closed one.
  json bobs = ask_json({"bob here"}, h.bob);
  EXPECT_NE(bobs["thread_id"], t1);
  EXPECT_NE(bobs["thread_id"], t2);
  std::string api_thread = h.new_thread(h.alice);  // channel "api", the newest of alice's
  EXPECT_EQ(ask_json({"sixth"}, h.alice)["thread_id"], t1);
  EXPECT_EQ(h.call("PATCH", "/api/v1/threads/" + t1, h.alice, {{"status", "closed"}}).status, 200);
  EXPECT_EQ(ask_json({"seventh"}, h.alice)["thread_id"], t2);

  std::vector<std::string> t1_texts;
  for (const auto& m : h.messages(h.alice, t1)) {
    if (m["role"] == "user") t1_texts.push_back(m["content"]);
  }
  EXPECT_EQ(t1_texts, (std::vector<std::string>{"first", "second", "fifth", "sixth"}));
  auto t = json::parse(h.call("GET", "/api/v1/threads/" + t2, h.alice).body);
  EXPECT_EQ(t["channel"], "cli");
  EXPECT_EQ(t["title"], "third");  // a new thread is titled after its first message
  EXPECT_TRUE(h.messages(h.alice, api_thread).empty());
}

TEST_F(ChatCli, AskFailuresExplainTheFixAndExitOne) {
  // An unknown thread.
  auto r = run_cli(h, {"ask", "--json", "--thread-id", "thr_00000000000000000000000000000000", "x"},
                   h.alice);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  json j = last_json_line(r.out);
  EXPECT_EQ(j["ok"], false) << r.out;
  EXPECT_EQ(j["thread_id"], "thr_00000000000000000000000000000000");
  EXPECT_EQ(j["error"]["code"], "thread_not_found") << j;
  r = run_cli(h, {"ask", "--thread-id", "thr_00000000000000000000000000000000", "x"}, h.alice);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("thread_not_found"), std::string::npos) << r.err;

  // Another user's thread is not found either.
  json mine = last_json_line(run_cli(h, {"ask", "--json", "mine"}, h.alice).out);
  r = run_cli(h, {"ask", "--json", "--thread-id", mine.value("thread_id", "?"), "x"}, h.bob);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(last_json_line(r.out)["error"]["code"], "thread_not_found") << r.out;

  // No token, a wrong token, no host.
  r = run_cli(h, {"ask", "hi"}, "");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("JARVIS_TOKEN"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("jarvis tokens create"), std::string::npos) << r.err;
  EXPECT_EQ(last_json_line(run_cli(h, {"ask", "--json", "hi"}, "").out)["error"]["code"],
            "no_token");
  r = run_cli(h, {"ask", "hi"}, "not-a-token");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not a valid API token"), std::string::npos) << r.err;
  r = run_cli(h, {"ask", "hi"}, h.alice, "",
              {{"JARVIS_URL", "http://127.0.0.1:" + std::to_string(jarvis::test::free_port())}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot reach the jarvis host"), std::string::npos) << r.err;

  // An unknown agent is the host's 422.
  r = run_cli(h, {"ask", "--json", "--agent", "nobody", "hi"}, h.alice);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(last_json_line(r.out)["error"]["code"], "unknown_agent") << r.out;

  // Usage errors: exit 2, nothing sent.
  const std::size_t before = h.fake.model_requests().size();
  EXPECT_EQ(run_cli(h, {"ask"}, h.alice).exit_code, 2);
  EXPECT_EQ(run_cli(h, {"ask", "--thread-id", "t", "--new-thread", "x"}, h.alice).exit_code, 2);
  EXPECT_EQ(run_cli(h, {"ask", "--timeout-s", "0", "x"}, h.alice).exit_code, 2);
  EXPECT_EQ(run_cli(h, {"ask", "--timeout-s", "soon", "x"}, h.alice).exit_code, 2);
  EXPECT_EQ(run_cli(h, {"ask", "--bogus", "x"}, h.alice).exit_code, 2);
  EXPECT_EQ(h.fake.model_requests().size(), before);
}

TEST_F(ChatCli, AskReadsStdinForDashAndFindsTheHostAtBindPort) {
  // No JARVIS_URL: the address `jarvis plugins list` asks, BIND_HOST:BIND_PORT.
  auto r = run_cli(h, {"ask", "-"}, h.alice, "a message\nfrom stdin\n",
                   {{"JARVIS_URL", ""}, {"BIND_PORT", std::to_string(h.server->port())}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "echo: a message\nfrom stdin\n");
}

TEST_F(ChatCli, ChatSendsALinePerMessageUntilQuit) {
  auto r = run_cli(h, {"chat"}, h.alice, "hello one\n\n   \nhello two\n/quit\nhello three\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "echo: hello one\necho: hello two\n");
  EXPECT_NE(r.err.find("thread thr_"), std::string::npos) << r.err;
  EXPECT_EQ(h.fake.model_requests().size(), 2u);
  // End of input leaves too.
  r = run_cli(h, {"chat"}, h.alice, "hello four");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "echo: hello four\n");
}

TEST_F(ChatCli, ChatHandsOtherSlashCommandsToTheHostAndFollowsNew) {
  auto r = run_cli(h, {"chat", "--new-thread"}, h.alice, "before\n/help\n/new\nafter\n/quit\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("echo: before\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/status"), std::string::npos) << r.out;  // the host's /help
  EXPECT_NE(r.out.find("new thread created"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("echo: after\n"), std::string::npos) << r.out;
  EXPECT_EQ(h.fake.model_requests().size(), 2u);  // slash commands never reach the model

  // Two threads: the first closed with before, /help and /new; "after" in the second.
  auto list = json::parse(h.call("GET", "/api/v1/threads", h.alice).body);
  ASSERT_EQ(list["items"].size(), 2u) << list;
  const json& newer = list["items"][0];
  const json& older = list["items"][1];
  EXPECT_EQ(newer["status"], "open");
  EXPECT_EQ(older["status"], "closed");
  auto newer_msgs = h.messages(h.alice, newer["id"]);
  ASSERT_FALSE(newer_msgs.empty());
  EXPECT_EQ(newer_msgs[0]["content"], "after");
  EXPECT_NE(r.err.find(newer["id"].get<std::string>()), std::string::npos) << r.err;
}

TEST_F(ChatCli, ThreadsListShowAndExport) {
  h.fake.push(ScriptedReply::text_reply("Listed reply.", 2));
  json a = last_json_line(run_cli(h, {"ask", "--json", "A title question"}, h.alice).out);
  const std::string t = a.value("thread_id", "");
  ASSERT_FALSE(t.empty());

  auto r = run_cli(h, {"threads", "list"}, h.alice);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(t), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("A title question"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 thread(s)"), std::string::npos) << r.out;
  r = run_cli(h, {"threads", "list", "--json"}, h.alice);
  json page = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(page.is_object()) << r.out;
  EXPECT_EQ(page["total"], 1);
  EXPECT_EQ(page["items"][0]["id"], t);
  // Owner-scoped: bob sees none; --all is for admins.
  EXPECT_EQ(json::parse(run_cli(h, {"threads", "list", "--json"}, h.bob).out)["total"], 0);
  r = run_cli(h, {"threads", "list", "--all"}, h.bob);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("admin"), std::string::npos) << r.err;
  r = run_cli(h, {"threads", "list", "--all", "--json"}, h.admin);
  EXPECT_EQ(json::parse(r.out, nullptr, false).value("total", -1), 1) << r.out << r.err;

  r = run_cli(h, {"threads", "show", t}, h.alice);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("A title question"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Listed reply."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("assistant (openai/fake-model)"), std::string::npos) << r.out;
  r = run_cli(h, {"threads", "show", t, "--json"}, h.alice);
  json shown = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(shown.is_object()) << r.out;
  EXPECT_EQ(shown["thread"]["id"], t);
  ASSERT_EQ(shown["messages"].size(), 2u);
  EXPECT_EQ(shown["messages"][0]["role"], "user");  // oldest first
  EXPECT_EQ(shown["messages"][1]["content"], "Listed reply.");

  r = run_cli(h, {"threads", "export", t}, h.alice);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto lines = ndjson_lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0]["type"], "thread");
  EXPECT_EQ(lines[0]["id"], t);
  EXPECT_EQ(lines[1]["type"], "message");
  EXPECT_EQ(lines[2]["content"], "Listed reply.");

  // Unknown or not yours: not found, exit 1; a missing ID is a usage error.
  for (const auto& cmd : {"show", "export"}) {
    r = run_cli(h, {"threads", cmd, t}, h.bob);
    EXPECT_EQ(r.exit_code, 1) << cmd;
    EXPECT_NE(r.err.find("thread_not_found"), std::string::npos) << cmd << ": " << r.err;
    EXPECT_TRUE(r.out.empty()) << cmd << ": " << r.out;
    EXPECT_EQ(run_cli(h, {"threads", cmd}, h.alice).exit_code, 2) << cmd;
  }
  EXPECT_EQ(run_cli(h, {"threads", "list", "--limit", "500"}, h.alice).exit_code, 2);
}

}  // namespace

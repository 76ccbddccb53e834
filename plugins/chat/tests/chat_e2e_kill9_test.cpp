// chat/tests/chat_e2e_kill9_test.cpp — a reply survives kill -9 of the host between the user's
// message and the step: the message and its chat.agent_step task are committed together before
// the 202, so after a restart on the same database the durable task runs and the assistant
// answers — for a step the dead host was running (its lease expires) and for one it had not
// claimed yet. A `jarvis ask` waiting through the crash resumes its stream and gets the reply.
#include <gtest/gtest.h>

#include <thread>

#include "chat_cli_support.h"

namespace {

using namespace chat_test;

// Options of a host whose dead leases expire quickly and that runs one step at a time.
ChatHostOptions crash_options() {
  ChatHostOptions o;
  o.env = {{"TASK_RUNNER_LEASE_SECONDS", "2"}, {"TASK_RUNNER_MAX_CONCURRENT", "1"}};
  return o;
}

// kill -9, then `jarvis serve` again on the same database and port.
void crash_and_restart(ChatHost& h) {
  const int port = h.server->port();
  h.server->kill9();
  std::map<std::string, std::string> env = h.env;
  env["BIND_PORT"] = std::to_string(port);
  h.server = std::make_unique<jarvis::test::ServerProcess>(h.dir.path(), env);
  ASSERT_TRUE(h.server->ready()) << h.server->output();
}

// The user messages' and assistant replies' contents of a thread, in order.
std::vector<std::string> contents(const ChatHost& h, const std::string& token,
                                  const std::string& thread) {
  std::vector<std::string> out;
  for (const auto& m : h.messages(token, thread)) out.push_back(m.value("content", ""));
  return out;
}

class ChatE2eKill9 : public ::testing::TestWithParam<Backend> {};

TEST_P(ChatE2eKill9, RepliesArriveAfterTheHostIsKilledMidStepAndBeforeAClaim) {
  ChatHost h(GetParam(), crash_options());
  // Alice's step reaches the model, which holds its answer: the step is running when the host
  // dies. Bob's step waits behind it (one worker): it is queued, not claimed, at the kill.
  h.fake.push(ScriptedReply::stall_reply(/*after_chunks=*/1));
  const std::string ta = h.new_thread(h.alice);
  const std::string tb = h.new_thread(h.bob);
  auto a =
      h.call("POST", "/api/v1/threads/" + ta + "/messages", h.alice, {{"content", "message A"}});
  ASSERT_EQ(a.status, 202) << a.body;
  ASSERT_TRUE(ChatHost::eventually([&] { return h.fake.model_requests().size() == 1; }))
      << h.server->output();
  auto b = h.call("POST", "/api/v1/threads/" + tb + "/messages", h.bob, {{"content", "message B"}});
  ASSERT_EQ(b.status, 202) << b.body;
  auto queued =
      json::parse(h.call("GET", "/api/v1/tasks?name=chat.agent_step&status=queued", h.admin).body,
                  nullptr, false);
  ASSERT_TRUE(queued.is_object()) << queued;
  EXPECT_EQ(queued["items"].size(), 1u) << queued;
  EXPECT_EQ(contents(h, h.alice, ta), (std::vector<std::string>{"message A"}));

  crash_and_restart(h);
  EXPECT_TRUE(h.fake.wait_client_closed(std::chrono::seconds(10)));  // the dead host's stream

  json ra = h.wait_reply(h.alice, ta);
  json rb = h.wait_reply(h.bob, tb);
  EXPECT_EQ(ra["content"], "echo: message A") << h.server->output();
  EXPECT_EQ(rb["content"], "echo: message B") << h.server->output();
  // Once each: the user message is not duplicated, one reply per step.
  EXPECT_EQ(contents(h, h.alice, ta), (std::vector<std::string>{"message A", "echo: message A"}));
  EXPECT_EQ(contents(h, h.bob, tb), (std::vector<std::string>{"message B", "echo: message B"}));
  EXPECT_EQ(h.fake.model_requests().size(), 3u);
}

// Killed after a tool round was stored, the step resumes after it: the retry's model request
// carries the stored call and its result, and the tool does not run a second time.
TEST_P(ChatE2eKill9, AStepKilledAfterAToolRoundResumesWithoutRunningItAgain) {
  ChatHost h(GetParam(), crash_options());
  h.fake.push(ScriptedReply::tool_call_reply({{"call_1", "fixture.add", {{"a", 1}, {"b", 2}}}}));
  h.fake.push(ScriptedReply::stall_reply(/*after_chunks=*/1));
  const std::string t = h.new_thread(h.alice);
  ASSERT_EQ(h.call("POST", "/api/v1/threads/" + t + "/messages", h.alice, {{"content", "add 1 2"}})
                .status,
            202);
  ASSERT_TRUE(ChatHost::eventually([&] { return h.fake.model_requests().size() == 2; }))
      << h.server->output();
  crash_and_restart(h);
  EXPECT_TRUE(h.fake.wait_client_closed(std::chrono::seconds(10)));
  h.fake.push(ScriptedReply::text_reply("The sum is 3.", 2));
  json reply = h.wait_reply(h.alice, t);
  EXPECT_EQ(reply["content"], "The sum is 3.") << h.server->output();
  EXPECT_EQ(reply["meta"]["resumed_rounds"], 1) << reply.dump();
  int tool_rows = 0;
  for (const auto& m : h.messages(h.alice, t)) tool_rows += m.value("role", "") == "tool";
  EXPECT_EQ(tool_rows, 1);  // the tool ran once
  auto reqs = h.fake.model_requests();
  ASSERT_EQ(reqs.size(), 3u);
  bool result_sent = false;
  for (const auto& m : reqs.back().json["messages"]) {
    if (m.value("role", "") == "tool" && m.value("content", "").find("3") != std::string::npos) {
      result_sent = true;
    }
  }
  EXPECT_TRUE(result_sent) << reqs.back().json["messages"].dump();
}

INSTANTIATE_TEST_SUITE_P(Backends, ChatE2eKill9,
                         ::testing::Values(Backend::Sqlite, Backend::Postgresql),
                         jarvis::test::backend_name);

TEST(ChatE2eKill9Cli, AskWaitingThroughTheCrashGetsTheReply) {
  ChatHost h(Backend::Sqlite, crash_options());
  h.fake.push(ScriptedReply::stall_reply(/*after_chunks=*/1));
  jarvis::test::RunResult r;
  std::thread cli([&] {
    r = run_cli(h, {"ask", "--json", "--new-thread", "--timeout-s", "120", "through the crash"},
                h.alice);
  });
  bool reached = ChatHost::eventually([&] { return h.fake.model_requests().size() == 1; });
  if (reached) crash_and_restart(h);
  cli.join();
  ASSERT_TRUE(reached) << h.server->output();
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << h.server->output();
  json j = last_json_line(r.out);
  EXPECT_EQ(j["ok"], true) << r.out;
  EXPECT_EQ(j["assistant"], "echo: through the crash") << r.out;
  EXPECT_TRUE(j["assistant_message_id"].is_string()) << r.out;
  EXPECT_EQ(contents(h, h.alice, j.value("thread_id", "")),
            (std::vector<std::string>{"through the crash", "echo: through the crash"}));
}

}  // namespace

// chat/tests/chat_gaps_test.cpp — the limits session 5 left, closed (decision 0044), against real
// `jarvis serve` processes and databases: a model call longer than the stale window keeps its
// step alive (the thread's next step waits for it); compaction inside a step (budget), through
// the chat.compact_thread task (COMPACTION_EVERY_N_EVENTS) and beyond the step's 200-message
// window; one thread for a new channel conversation even when two inbound messages race (the
// chat_channel_keys row, with two real PostgreSQL transactions); the ?channel= filter.
#include <thread>

#include "chat_support.h"
#include "db/sql_database.h"
#include "store.h"

namespace chat_test {
namespace chat_gaps_test {

json body_of(const jarvis::test::HttpResult& r) { return json::parse(r.body, nullptr, false); }

/// Posts `content` and waits for the step to end (SSE until `done`).
void ask(const ChatHost& h, const std::string& t, const std::string& content) {
  auto r = h.call("POST", "/api/v1/threads/" + t + "/messages", h.alice, {{"content", content}},
                  {"Accept: text/event-stream"});
  ASSERT_EQ(r.status, 200) << r.body;
  auto events = parse_sse(r.body);
  ASSERT_FALSE(events.empty());
  ASSERT_EQ(events.back().type, "done") << r.body;
}

class ChatGaps : public ::testing::TestWithParam<Backend> {};

TEST_P(ChatGaps, AModelCallLongerThanTheStaleWindowKeepsItsStepAlive) {
  ChatHost h(GetParam(),
             {.env = {{"CHAT_STEP_HEARTBEAT_SECONDS", "1"}, {"CHAT_STEP_STALE_SECONDS", "3"}}});
  ScriptedReply slow = ScriptedReply::text_reply("the first answer");
  slow.first_byte_delay = std::chrono::milliseconds(8000);  // well past the stale window
  h.fake.push(slow);
  h.fake.push(ScriptedReply::text_reply("the second answer"));
  const std::string t = h.new_thread(h.alice);
  ASSERT_EQ(
      h.call("POST", "/api/v1/threads/" + t + "/messages", h.alice, {{"content", "one"}}).status,
      202);
  ASSERT_TRUE(ChatHost::eventually([&] { return h.fake.model_requests().size() == 1; }));
  ASSERT_EQ(
      h.call("POST", "/api/v1/threads/" + t + "/messages", h.alice, {{"content", "two"}}).status,
      202);
  // The second step may start only once the first has stored its answer: when its model request
  // arrives, the first answer is there (without the heartbeat the first step looked dead after
  // 3 s and the second started beside it, 5 s before that answer).
  ASSERT_TRUE(ChatHost::eventually([&] { return h.fake.model_requests().size() == 2; }));
  bool first_answered = false;
  for (const auto& m : h.messages(h.alice, t)) {
    first_answered = first_answered || m["content"] == "the first answer";
  }
  EXPECT_TRUE(first_answered) << h.messages(h.alice, t).dump(2);
  json second = h.wait_reply(h.alice, t, 2);
  EXPECT_EQ(second["content"], "the second answer");
  json msgs = h.messages(h.alice, t);
  ASSERT_EQ(msgs.size(), 4u) << msgs.dump(2);
  EXPECT_EQ(msgs[2]["content"], "the first answer");
}

TEST_P(ChatGaps, ABudgetOverflowIsCompactedInsideTheStep) {
  ChatHost h(GetParam(),
             {.env = {{"PROMPT_BUDGET_TOKENS", "1000"}, {"COMPACTION_EVERY_N_EVENTS", "0"}}});
  const std::string t = h.new_thread(h.alice);
  const std::string big(900, 'a');
  for (int i = 0; i < 3; ++i) ask(h, t, big + std::to_string(i));  // echoed: twice the bytes
  json thread = body_of(h.call("GET", "/api/v1/threads/" + t, h.alice));
  ASSERT_TRUE(thread["summary"].is_object()) << thread.dump();
  EXPECT_EQ(thread["summary"]["method"], "model");
  EXPECT_GE(thread["summary"]["covers_seq"].get<long long>(), 1);
  // Three answers and one summary call, which came before the third answer's call; that call's
  // prompt carries the summary.
  auto sent = h.fake.model_requests();
  ASSERT_EQ(sent.size(), 4u);
  const std::string summary = thread["summary"]["text"];
  EXPECT_NE(sent[3].json.dump().find(json(summary.substr(0, 40)).dump().substr(1, 30)),
            std::string::npos)
      << sent[3].body.substr(0, 2000);
  auto ev = body_of(h.call("GET", "/api/v1/events?type=thread.compacted&thread_id=" + t, h.alice));
  EXPECT_FALSE(ev["items"].empty());
}

TEST_P(ChatGaps, EveryNEventsCompactsInTheChatCompactThreadTask) {
  ChatHost h(GetParam(), {.env = {{"COMPACTION_EVERY_N_EVENTS", "6"}}});
  const std::string t = h.new_thread(h.alice);
  for (int i = 0; i < 4; ++i) ask(h, t, "message " + std::to_string(i));
  ASSERT_TRUE(ChatHost::eventually([&] {
    return body_of(h.call("GET", "/api/v1/threads/" + t, h.alice))["summary"].is_object();
  }));
  auto tasks = body_of(h.call("GET", "/api/v1/tasks?name=chat.compact_thread", h.admin));
  ASSERT_FALSE(tasks["items"].empty()) << tasks.dump();
  EXPECT_EQ(tasks["items"][0]["payload"]["thread_id"], t);
  json summary = body_of(h.call("GET", "/api/v1/threads/" + t, h.alice))["summary"];
  // All but the last few messages are covered: the 7 messages before the fourth answer, minus 4.
  EXPECT_GE(summary["covers_seq"].get<long long>(), 3) << summary.dump();
}

TEST_P(ChatGaps, MessagesBeyondTheStepsWindowAreCompactedNotDropped) {
  ChatHost h(GetParam(), {.env = {{"COMPACTION_EVERY_N_EVENTS", "0"},
                                  {"PROMPT_BUDGET_TOKENS", "2000000"},
                                  {"CHAT_USER_MAX_CONCURRENT_STEPS", "100"}}});
  const std::string t = h.new_thread(h.alice);
  for (int i = 0; i < 100; ++i) ask(h, t, "m" + std::to_string(i));  // 200 messages
  EXPECT_TRUE(body_of(h.call("GET", "/api/v1/threads/" + t, h.alice))["summary"].is_null());
  ask(h, t, "the 101st");  // 201 unsummarised: more than the step reads
  json summary = body_of(h.call("GET", "/api/v1/threads/" + t, h.alice))["summary"];
  ASSERT_TRUE(summary.is_object()) << "the oldest messages would be in no prompt";
  EXPECT_GE(summary["covers_seq"].get<long long>(), 190) << summary.dump();
}

TEST_P(ChatGaps, ThreadsFilterByChannel) {
  ChatHost h(GetParam());
  const std::string web = h.new_thread(h.alice, {{"channel", "web"}});
  const std::string cli = h.new_thread(h.alice, {{"channel", "cli"}});
  h.new_thread(h.bob, {{"channel", "cli"}});
  auto r = body_of(h.call("GET", "/api/v1/threads?channel=cli", h.alice));
  ASSERT_EQ(r["items"].size(), 1u) << r.dump();
  EXPECT_EQ(r["items"][0]["id"], cli);
  EXPECT_EQ(r["total"], 1);
  r = body_of(h.call("GET", "/api/v1/threads?channel=web&status=open", h.alice));
  ASSERT_EQ(r["items"].size(), 1u);
  EXPECT_EQ(r["items"][0]["id"], web);
  EXPECT_EQ(body_of(h.call("GET", "/api/v1/threads?channel=cli&all=true", h.admin))["total"], 2);
  for (const char* bad : {"CLI", "c%20li", "x'--", "1abc"}) {
    auto e = h.call("GET", std::string("/api/v1/threads?channel=") + bad, h.alice);
    EXPECT_EQ(e.status, 400) << bad << " " << e.body;
    EXPECT_EQ(error_code(e), "invalid_query") << bad;
  }
  auto long_name = h.call("GET", "/api/v1/threads?channel=" + std::string(40, 'a'), h.alice);
  EXPECT_EQ(long_name.status, 400);
}

TEST_P(ChatGaps, ChannelConversationsKeepOneThreadAcrossInboundMessages) {
  ChatHost h(GetParam());
  const std::string own = h.new_thread(h.alice);  // alice's user id, from a thread she owns
  const std::string alice_id =
      body_of(h.call("GET", "/api/v1/threads/" + own, h.alice))["owner_id"];
  for (int i = 0; i < 3; ++i) {
    auto r = h.call("POST", "/api/v1/fixture/inbound", h.admin,
                    {{"channel", "whatsapp"},
                     {"external_thread", "chat-42"},
                     {"sender", "+100"},
                     {"text", "hello " + std::to_string(i)},
                     {"user_id", alice_id}});
    ASSERT_EQ(r.status, 202) << r.body;
  }
  json threads;
  ASSERT_TRUE(ChatHost::eventually([&] {
    threads = body_of(h.call("GET", "/api/v1/threads?channel=whatsapp", h.alice));
    return threads["total"] == 1 && h.messages(h.alice, threads["items"][0]["id"]).size() >= 6;
  })) << threads.dump();
  // /new moves the conversation on: the next inbound message lands in the new thread.
  const std::string first = threads["items"][0]["id"];
  ASSERT_EQ(h.call("PATCH", "/api/v1/threads/" + first, h.alice, {{"status", "closed"}}).status,
            200);
  ASSERT_EQ(h.call("POST", "/api/v1/fixture/inbound", h.admin,
                   {{"channel", "whatsapp"},
                    {"external_thread", "chat-42"},
                    {"text", "after close"},
                    {"user_id", alice_id}})
                .status,
            202);
  ASSERT_TRUE(ChatHost::eventually([&] {
    return body_of(h.call("GET", "/api/v1/threads?channel=whatsapp&status=open",
                          h.alice))["total"] == 1;
  }));
  json open = body_of(h.call("GET", "/api/v1/threads?channel=whatsapp&status=open", h.alice));
  EXPECT_NE(open["items"][0]["id"], first);
}

INSTANTIATE_TEST_SUITE_P(Backends, ChatGaps,
                         ::testing::Values(Backend::Sqlite, Backend::Postgresql),
                         jarvis::test::backend_name);

// Two inbound messages of a new conversation in two PostgreSQL transactions at once: the second
// waits on the first's key row and then joins its thread (before 0044 it created a second one).
TEST(ChatChannelKeys, TwoConcurrentTransactionsForANewConversationMakeOneThread) {
  ChatHost h(Backend::Postgresql);
  auto db = jarvis::host::SqlDatabase::open(h.env["DATABASE_URL"], 3, "chat-keys-test");
  auto a = db->session();
  auto b = db->session();
  auto probe = db->session();
  a->begin();
  auto [thread_a, created_a] =
      chat::ChatStore::channel_thread(*a, "whatsapp", "ext-race", "usr_race", "thr_race_a");
  EXPECT_EQ(thread_a, "thr_race_a");
  EXPECT_TRUE(created_a);
  std::pair<std::string, bool> got_b;
  std::thread second([&] {
    b->begin();
    got_b = chat::ChatStore::channel_thread(*b, "whatsapp", "ext-race", "usr_race", "thr_race_b");
    b->commit();
  });
  // Wait until the second transaction is blocked on the first one's key row.
  bool waiting = ChatHost::eventually([&] {
    long long n = 0;
    *probe << "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND "
              "wait_event_type = 'Lock'",
        soci::into(n);
    return n >= 1;
  });
  a->commit();
  second.join();
  EXPECT_TRUE(waiting) << "the second transaction never waited for the first";
  EXPECT_EQ(got_b.first, "thr_race_a");
  EXPECT_FALSE(got_b.second);
  long long threads = 0;
  *probe << "SELECT COUNT(*) FROM chat_threads WHERE external_ref = 'ext-race'",
      soci::into(threads);
  EXPECT_EQ(threads, 1);
}

// The key follows the conversation: a closed or deleted thread is replaced exactly once.
TEST(ChatChannelKeys, AStaleKeyIsReplacedByOneNewThread) {
  ChatHost h(Backend::Sqlite);
  auto db = jarvis::host::SqlDatabase::open(h.env["APP_DB"], 2, "chat-keys-test");
  auto s = db->session();
  auto [first, created] = chat::ChatStore::channel_thread(*s, "sms", "ext", "usr_1", "thr_1");
  EXPECT_TRUE(created);
  EXPECT_EQ(chat::ChatStore::channel_thread(*s, "sms", "ext", "usr_1", "thr_x").first, first);
  EXPECT_EQ(chat::ChatStore::channel_thread(*s, "sms", "ext", "usr_2", "thr_2").first, "thr_2")
      << "another user's conversation is another thread";
  chat::ChatStore::update_thread(*s, first, {{"status", "closed"}});
  auto [next, created_next] = chat::ChatStore::channel_thread(*s, "sms", "ext", "usr_1", "thr_3");
  EXPECT_EQ(next, "thr_3");
  EXPECT_TRUE(created_next);
  chat::ChatStore::delete_thread(*s, next);
  EXPECT_EQ(chat::ChatStore::channel_thread(*s, "sms", "ext", "usr_1", "thr_4").first, "thr_4");
}

// The steps of a thread start in the order of their messages, whichever task a worker claims
// first: a newer step waits while an older one is queued or running; an older step queued
// before the stale window (its task lost) holds nobody.
TEST(ChatSteps, StepsOfAThreadStartInTheOrderOfTheirMessages) {
  ChatHost h(Backend::Sqlite);
  auto db = jarvis::host::SqlDatabase::open(h.env["APP_DB"], 2, "chat-steps-test");
  auto s = db->session();
  const std::string fresh = jarvis::iso_from_now(-600000);
  chat::ChatStore::create_step(*s, "stp_a", "thr_order", "usr_1", "msg_a", "trc_a");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // a later created_at
  chat::ChatStore::create_step(*s, "stp_b", "thr_order", "usr_1", "msg_b", "trc_b");
  EXPECT_EQ(chat::ChatStore::start_step(*s, "stp_b", "thr_order", fresh), "busy")
      << "the newer step must not overtake a queued older one";
  EXPECT_EQ(chat::ChatStore::start_step(*s, "stp_a", "thr_order", fresh), "running");
  EXPECT_EQ(chat::ChatStore::start_step(*s, "stp_b", "thr_order", fresh), "busy");
  chat::ChatStore::finish_step(*s, "stp_a", "done", "", false, "");
  EXPECT_EQ(chat::ChatStore::start_step(*s, "stp_b", "thr_order", fresh), "running");
  // Another thread is not held by this one; a queued step older than the window holds nobody.
  chat::ChatStore::create_step(*s, "stp_c", "thr_other", "usr_1", "msg_c", "trc_c");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  chat::ChatStore::create_step(*s, "stp_d", "thr_other", "usr_1", "msg_d", "trc_d");
  EXPECT_EQ(chat::ChatStore::start_step(*s, "stp_d", "thr_other", jarvis::iso_from_now(1000)),
            "running");
}

// created_at has millisecond resolution: two messages of one burst can share it. The order of the
// thread's messages (seq) decides then, whichever step's task happens to start first.
TEST(ChatSteps, StepsWithTheSameCreationTimeStartInTheOrderOfTheirMessagesSeq) {
  ChatHost h(Backend::Sqlite);
  auto db = jarvis::host::SqlDatabase::open(h.env["APP_DB"], 2, "chat-steps-test");
  auto s = db->session();
  const std::string at = jarvis::now_iso();
  // seq 2 gets the id that sorts first, so neither id nor insertion order can stand in for seq.
  *s << "INSERT INTO chat_messages (id, thread_id, seq, role, content, created_at) VALUES "
        "('msg_z', 'thr_tie', 1, 'user', 'first', :a), ('msg_a', 'thr_tie', 2, 'user', 'second', "
        ":b)",
      soci::use(at), soci::use(at);
  chat::ChatStore::create_step(*s, "stp_second", "thr_tie", "usr_1", "msg_a", "trc_2");
  chat::ChatStore::create_step(*s, "stp_first", "thr_tie", "usr_1", "msg_z", "trc_1");
  *s << "UPDATE chat_steps SET created_at = :a WHERE thread_id = 'thr_tie'", soci::use(at);
  const std::string fresh = jarvis::iso_from_now(-600000);
  EXPECT_EQ(chat::ChatStore::start_step(*s, "stp_second", "thr_tie", fresh), "busy")
      << "the step of message seq 2 must wait for the queued step of seq 1";
  EXPECT_EQ(chat::ChatStore::start_step(*s, "stp_first", "thr_tie", fresh), "running");
  chat::ChatStore::finish_step(*s, "stp_first", "done", "", false, "");
  EXPECT_EQ(chat::ChatStore::start_step(*s, "stp_second", "thr_tie", fresh), "running");
}

}  // namespace chat_gaps_test
}  // namespace chat_test

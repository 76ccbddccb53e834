// hello/tests/outbox_test.cpp — the outbox end to end against the built `jarvis` binary: a note
// and its event commit together or not at all, the durable subscriber sees every event — from
// the CLI, and across kill -9 between emit and handling, de-duplicating the redelivery by event
// id — and live pushes reach the thread owner's /ws socket only, on one host and across two
// PostgreSQL hosts, without being stored.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "db/sql_database.h"
#include "support/support.h"
#include "support/ws_client.h"

using jarvis::test::run_jarvis;
using jarvis::test::ServerProcess;
using jarvis::test::WsClient;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = 60s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return done();
}

class Outbox : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string plugins = dir_.file("plugins");
    std::filesystem::create_directories(plugins);
    std::filesystem::create_directory_symlink(std::string(JARVIS_TEST_PLUGIN_DIR) + "/hello",
                                              plugins + "/hello");
    env_ = {{"APP_DB", dir_.file("jarvis.db")},
            {"JARVIS_PLUGIN_DIRS", plugins},
            {"JARVIS_PLUGINS_REQUIRED", "hello"},
            {"TASK_RUNNER_LEASE_SECONDS", "2"},
            {"LOG_LEVEL", "warn"}};
    auto m = run_jarvis({"migrate"}, dir_.path(), env_);
    ASSERT_EQ(m.exit_code, 0) << m.out << m.err;
  }

  json stats() {
    auto r = run_jarvis({"hello", "notes", "--json"}, dir_.path(), env_);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.exit_code == 0 ? r.out : "{}");
  }

  long long count(const std::string& query) {
    auto db = jarvis::host::SqlDatabase::open(dir_.file("jarvis.db"), 1);
    auto sql = db->session();
    long long n = -1;
    *sql << query, soci::into(n);
    return n;
  }

  jarvis::test::TempDir dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(Outbox, ACliNoteReachesTheDurableSubscriberWhenAHostRuns) {
  auto r = run_jarvis({"hello", "note", "written by the CLI"}, dir_.path(), env_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Stored with its event and the subscriber's task, in the CLI process, which runs no workers.
  EXPECT_EQ(stats()["notes"], 1);
  EXPECT_EQ(stats()["receipts"], 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM tasks WHERE name = 'hello.note_receipt' AND status = "
                  "'queued'"),
            1);
  ServerProcess server(dir_.path(), env_);
  ASSERT_TRUE(server.ready()) << server.output();
  ASSERT_TRUE(eventually([&] { return stats()["receipts"] == 1; })) << server.output();
  EXPECT_EQ(stats()["deliveries"], 1);
}

TEST_F(Outbox, ANoteRefusedAfterItsEmitLeavesNoRowEventOrTask) {
  auto r = run_jarvis({"hello", "note", "fail-after-emit"}, dir_.path(), env_);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("note_refused"), std::string::npos) << r.err;
  EXPECT_EQ(stats()["notes"], 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE type = 'hello.noted'"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM tasks WHERE name = 'hello.note_receipt'"), 0);
}

TEST_F(Outbox, TheSubscriberSeesEveryEventAcrossKill9AndDedupesTheRedelivery) {
  std::string hold = dir_.file("hold");
  jarvis::test::write_file(hold, "hold");
  auto env = env_;
  env["HELLO_RECEIPT_HOLD_FILE"] = hold;
  std::string token = jarvis::test::create_user_token(dir_.path(), env, "ada", false);
  ASSERT_FALSE(token.empty());
  {
    ServerProcess a(dir_.path(), env);
    ASSERT_TRUE(a.ready()) << a.output();
    for (int i = 0; i < 3; ++i) {
      auto r = jarvis::test::http("POST", a.url("/api/v1/hello/notes"),
                                  json{{"text", "note " + std::to_string(i)}}.dump(),
                                  {jarvis::test::bearer(token), "Content-Type: application/json"});
      ASSERT_EQ(r.status, 201) << r.body;
    }
    // Every delivery recorded its receipt and is now holding: kill the host mid-task.
    ASSERT_TRUE(eventually([&] { return stats()["deliveries"] == 3; })) << a.output();
    a.kill9();
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM tasks WHERE name = 'hello.note_receipt' AND status = "
                  "'running'"),
            3);
  std::filesystem::remove(hold);
  ServerProcess b(dir_.path(), env);
  ASSERT_TRUE(b.ready()) << b.output();
  // The dead host's leases expire and host b runs each task again: every event delivered twice,
  // recorded once.
  ASSERT_TRUE(eventually([&] {
    return count(
               "SELECT COUNT(*) FROM tasks WHERE name = 'hello.note_receipt' AND status = "
               "'succeeded'") == 3;
  })) << b.output();
  json s = stats();
  EXPECT_EQ(s["notes"], 3);
  EXPECT_EQ(s["receipts"], 3);
  EXPECT_EQ(s["deliveries"], 6);
}

TEST_F(Outbox, ALivePushReachesTheOwnersSocketNotAnotherUsersAndIsNotStored) {
  std::string ada = jarvis::test::create_user_token(dir_.path(), env_, "ada", false);
  std::string bob = jarvis::test::create_user_token(dir_.path(), env_, "bob", false);
  ASSERT_FALSE(ada.empty());
  ASSERT_FALSE(bob.empty());
  ServerProcess server(dir_.path(), env_);
  ASSERT_TRUE(server.ready()) << server.output();
  auto created = jarvis::test::http("POST", server.url("/api/v1/hello/threads"), "{}",
                                    {jarvis::test::bearer(ada), "Content-Type: application/json"});
  ASSERT_EQ(created.status, 201) << created.body;
  std::string thread = json::parse(created.body)["thread_id"];

  WsClient mine, theirs;
  ASSERT_TRUE(
      mine.connect(static_cast<uint16_t>(server.port()), {{"Authorization", "Bearer " + ada}}))
      << mine.error;
  ASSERT_TRUE(
      theirs.connect(static_cast<uint16_t>(server.port()), {{"Authorization", "Bearer " + bob}}))
      << theirs.error;
  ASSERT_EQ((*mine.read())["type"], "auth.ok");
  ASSERT_EQ((*theirs.read())["type"], "auth.ok");
  mine.send(json{{"action", "subscribe"}, {"thread_id", thread}}.dump());
  ASSERT_EQ((*mine.read())["type"], "subscribed");
  theirs.send(json{{"action", "subscribe"}, {"thread_id", thread}}.dump());
  auto refused = theirs.read();
  ASSERT_TRUE(refused);
  EXPECT_EQ((*refused)["type"], "error");
  EXPECT_EQ((*refused)["detail"], "forbidden");

  auto push = [&](const std::string& token, const std::string& text) {
    return jarvis::test::http("POST", server.url("/api/v1/hello/threads/" + thread + "/live"),
                              json{{"text", text}}.dump(),
                              {jarvis::test::bearer(token), "Content-Type: application/json"});
  };
  auto r = push(ada, "Hel");
  ASSERT_EQ(r.status, 202) << r.body;
  auto got = mine.read();
  ASSERT_TRUE(got) << mine.ended;
  EXPECT_EQ((*got)["type"], "live");
  EXPECT_EQ((*got)["thread_id"], thread);
  EXPECT_EQ((*got)["component"], "hello");
  EXPECT_EQ((*got)["payload"]["text"], "Hel");
  // Another user may not push into it (the same answer as for a missing thread) …
  auto foreign = push(bob, "x");
  EXPECT_EQ(foreign.status, 404) << foreign.body;
  EXPECT_NE(foreign.body.find("thread_not_found"), std::string::npos);
  // … an oversize push is refused with a clear error …
  auto big = push(ada, std::string(8000, 'x'));
  EXPECT_EQ(big.status, 413) << big.body;
  EXPECT_NE(big.body.find("push_too_large"), std::string::npos);
  // … and bob's socket received nothing of it, while nothing was stored for the thread.
  EXPECT_FALSE(theirs.read(500ms));
  EXPECT_EQ(count("SELECT COUNT(*) FROM events WHERE thread_id = '" + thread + "'"), 0);
}

// Two hosts on one PostgreSQL database: a push published on A reaches the owner's socket on B.
TEST(OutboxPg, ALivePushCrossesHostsToTheOwnersSocketOnly) {
  std::string url = jarvis::test::pg_fresh_database();
  ASSERT_FALSE(url.empty());
  jarvis::test::TempDir dir_a, dir_b;
  std::string plugins = dir_a.file("plugins");
  std::filesystem::create_directories(plugins);
  std::filesystem::create_directory_symlink(std::string(JARVIS_TEST_PLUGIN_DIR) + "/hello",
                                            plugins + "/hello");
  std::map<std::string, std::string> env = {{"DATABASE_URL", url},
                                            {"JARVIS_PLUGIN_DIRS", plugins},
                                            {"JARVIS_PLUGINS_REQUIRED", "hello"},
                                            {"LOG_LEVEL", "info"}};
  auto m = run_jarvis({"migrate"}, dir_a.path(), env);
  ASSERT_EQ(m.exit_code, 0) << m.out << m.err;
  ServerProcess a(dir_a.path(), env);
  ASSERT_TRUE(a.ready()) << a.output();
  ServerProcess b(dir_b.path(), env);
  ASSERT_TRUE(b.ready()) << b.output();
  ASSERT_TRUE(eventually([&] {
    return b.output().find("event relay: listening") != std::string::npos;
  })) << b.output();
  std::string ada = jarvis::test::create_user_token(dir_a.path(), env, "ada", false);
  std::string bob = jarvis::test::create_user_token(dir_a.path(), env, "bob", false);
  auto created = jarvis::test::http("POST", a.url("/api/v1/hello/threads"), "{}",
                                    {jarvis::test::bearer(ada), "Content-Type: application/json"});
  ASSERT_EQ(created.status, 201) << created.body;
  std::string thread = json::parse(created.body)["thread_id"];

  WsClient mine, theirs;
  ASSERT_TRUE(mine.connect(static_cast<uint16_t>(b.port()), {{"Authorization", "Bearer " + ada}}));
  ASSERT_TRUE(
      theirs.connect(static_cast<uint16_t>(b.port()), {{"Authorization", "Bearer " + bob}}));
  ASSERT_EQ((*mine.read())["type"], "auth.ok");
  ASSERT_EQ((*theirs.read())["type"], "auth.ok");
  mine.send(json{{"action", "subscribe"}, {"thread_id", thread}}.dump());
  ASSERT_EQ((*mine.read())["type"], "subscribed");
  theirs.send(json{{"action", "subscribe"}, {"thread_id", thread}}.dump());
  ASSERT_EQ((*theirs.read())["detail"], "forbidden");

  auto r = jarvis::test::http("POST", a.url("/api/v1/hello/threads/" + thread + "/live"),
                              R"({"text":"from host a"})",
                              {jarvis::test::bearer(ada), "Content-Type: application/json"});
  ASSERT_EQ(r.status, 202) << r.body;
  // Stored events the CLI wrote (user.created, …) are system events: not on this thread.
  auto got = mine.read(20s);
  ASSERT_TRUE(got) << mine.ended;
  EXPECT_EQ((*got)["type"], "live");
  EXPECT_EQ((*got)["payload"]["text"], "from host a");
  EXPECT_FALSE(theirs.read(500ms));
  auto more = mine.read(500ms);  // exactly once
  EXPECT_FALSE(more) << (more ? more->dump() : "");
}

}  // namespace

// tests/ws/ws_multi_host_test.cpp — two `jarvis serve` processes on one PostgreSQL: a /ws client
// connected to host B receives an event emitted on host A (LISTEN/NOTIFY relay), once.
#include <gtest/gtest.h>

#include "support/support.h"
#include "support/ws_client.h"

namespace {

using namespace std::chrono_literals;
using jarvis::test::WsClient;

TEST(WsMultiHost, AClientOnOneHostSeesEventsEmittedOnAnother) {
  std::string url = jarvis::test::pg_fresh_database();
  ASSERT_FALSE(url.empty());
  jarvis::test::TempDir dir_a, dir_b;
  std::map<std::string, std::string> env = {{"DATABASE_URL", url}};
  jarvis::test::ServerProcess a(dir_a.path(), env);
  ASSERT_TRUE(a.ready()) << a.output();
  jarvis::test::ServerProcess b(dir_b.path(), env);
  ASSERT_TRUE(b.ready()) << b.output();
  std::string token = jarvis::test::create_user_token(dir_a.path(), env, "root", true);
  ASSERT_FALSE(token.empty());

  WsClient client;
  ASSERT_TRUE(
      client.connect(static_cast<uint16_t>(b.port()), {{"Authorization", "Bearer " + token}}))
      << client.error;
  auto hello = client.read();
  ASSERT_TRUE(hello);
  EXPECT_EQ((*hello)["type"], "auth.ok");
  client.send(R"({"action":"subscribe_system"})");
  auto sub = client.read();
  ASSERT_TRUE(sub);
  ASSERT_EQ((*sub)["type"], "subscribed.system");
  // Host B's relay LISTENs from start-up; wait until its log says so.
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (b.output().find("event relay: listening") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_NE(b.output().find("event relay: listening"), std::string::npos) << b.output();

  auto r = jarvis::test::http("POST", a.url("/api/v1/system/lockdown"),
                              R"({"lockdown":true,"reason":"cross-host check"})",
                              {jarvis::test::bearer(token), "Content-Type: application/json"});
  ASSERT_EQ(r.status, 200) << r.body;
  // Events the CLI stored before (user.created, token.created) reach host B through the same relay
  // and may still be on their way: skip them, in order, until the lockdown arrives.
  auto ev = client.read(20s);
  for (int skipped = 0; ev && (*ev)["type"] != "lockdown.triggered" && skipped < 10; ++skipped) {
    std::string type = (*ev)["type"];
    EXPECT_TRUE(type == "user.created" || type == "token.created") << ev->dump();
    ev = client.read(20s);
  }
  ASSERT_TRUE(ev) << client.ended;
  EXPECT_EQ((*ev)["type"], "lockdown.triggered");
  EXPECT_EQ((*ev)["payload"]["reason"], "cross-host check");
  // Exactly once: the next message (if any) is not a second copy.
  auto more = client.read(1500ms);
  if (more) {
    EXPECT_NE((*more)["type"], "lockdown.triggered") << more->dump();
  }
}

}  // namespace

// tests/security/ws_connection_cap_test.cpp — issue 8, finding 6 (WebSocket part): one user may
// hold at most WS_MAX_CONNECTIONS_PER_USER sockets; over it the upgrade is refused with HTTP 429
// `too_many_connections` before any WebSocket opens, other users are unaffected, and a closed
// socket frees its slot. Black-box against a real `jarvis serve`.
#include <gtest/gtest.h>

#include <memory>
#include <thread>

#include "support/support.h"
#include "support/ws_client.h"

namespace {

using namespace std::chrono_literals;
using jarvis::test::WsClient;

std::vector<std::string> upgrade_headers(const std::string& token) {
  return {jarvis::test::bearer(token), "Connection: Upgrade", "Upgrade: websocket",
          "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="};
}

TEST(WsConnectionCap, OneUserCannotHoldMoreThanTheCap) {
  jarvis::test::TempDir tmp;
  std::map<std::string, std::string> env = {{"WS_MAX_CONNECTIONS_PER_USER", "3"}};
  ASSERT_EQ(jarvis::test::run_jarvis({"migrate"}, tmp.path(), env).exit_code, 0);
  std::string mallory = jarvis::test::create_user_token(tmp.path(), env, "mallory", false);
  std::string alice = jarvis::test::create_user_token(tmp.path(), env, "alice", false);
  ASSERT_FALSE(mallory.empty() || alice.empty());
  jarvis::test::ServerProcess server(tmp.path(), env);
  ASSERT_TRUE(server.ready()) << server.output();
  auto port = static_cast<uint16_t>(server.port());

  std::vector<std::unique_ptr<WsClient>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<WsClient>());
    ASSERT_TRUE(held.back()->connect(port, {{"Authorization", "Bearer " + mallory}}))
        << held.back()->error;
    ASSERT_TRUE(held.back()->read());  // auth.ok
  }
  auto refused = jarvis::test::http("GET", server.url("/ws"), "", upgrade_headers(mallory));
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_NE(refused.body.find("too_many_connections"), std::string::npos) << refused.body;
  WsClient over;
  EXPECT_FALSE(over.connect(port, {{"Authorization", "Bearer " + mallory}}));

  // Another user is not affected.
  WsClient other;
  ASSERT_TRUE(other.connect(port, {{"Authorization", "Bearer " + alice}})) << other.error;
  ASSERT_TRUE(other.read());

  // Closing one socket frees a slot.
  held.pop_back();
  bool reconnected = false;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!reconnected && std::chrono::steady_clock::now() < deadline) {
    auto c = std::make_unique<WsClient>();
    if (c->connect(port, {{"Authorization", "Bearer " + mallory}}) && c->read()) {
      reconnected = true;
      held.push_back(std::move(c));
    } else {
      std::this_thread::sleep_for(50ms);
    }
  }
  EXPECT_TRUE(reconnected);
}

}  // namespace

namespace {

// Issue 8, finding 6: WebSockets are connections too. Each keeps its place under the per-address
// cap for as long as it is open (the slot was freed at the upgrade before), so one address cannot
// get past JARVIS_HTTP_MAX_CONNECTIONS_PER_IP by upgrading.
TEST(WsConnectionCap, OpenWebSocketsCountUnderThePerAddressCap) {
  jarvis::test::TempDir tmp;
  std::map<std::string, std::string> env = {{"JARVIS_HTTP_MAX_CONNECTIONS_PER_IP", "3"},
                                            {"WS_MAX_CONNECTIONS_PER_USER", "10"}};
  ASSERT_EQ(jarvis::test::run_jarvis({"migrate"}, tmp.path(), env).exit_code, 0);
  std::string mallory = jarvis::test::create_user_token(tmp.path(), env, "mallory", false);
  jarvis::test::ServerProcess server(tmp.path(), env);
  ASSERT_TRUE(server.ready()) << server.output();
  auto port = static_cast<uint16_t>(server.port());

  std::vector<std::unique_ptr<WsClient>> held;
  for (int i = 0; i < 3; ++i) {
    // The readiness probe's connection may still hold its place for a moment after its
    // response (the server lingers until the client's close arrives): a refused handshake is
    // retried until that place is free, within the time limit.
    auto deadline = std::chrono::steady_clock::now() + 20s;
    bool connected = false;
    while (!connected) {
      held.push_back(std::make_unique<WsClient>());
      connected = held.back()->connect(port, {{"Authorization", "Bearer " + mallory}});
      if (connected || std::chrono::steady_clock::now() >= deadline) break;
      held.pop_back();
      std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(connected) << held.back()->error;
    ASSERT_TRUE(held.back()->read());  // auth.ok: upgraded and authenticated
  }
  // Three busy connections from 127.0.0.1: nothing idle to shed, so a fourth is refused.
  auto refused = jarvis::test::http("GET", server.url("/healthz"));
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_NE(refused.body.find("too_many_connections"), std::string::npos) << refused.body;

  held.pop_back();  // closing a socket gives its place back
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (status != 200 && std::chrono::steady_clock::now() < deadline) {
    status = jarvis::test::http("GET", server.url("/healthz")).status;
    if (status != 200) std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(status, 200);
}

}  // namespace

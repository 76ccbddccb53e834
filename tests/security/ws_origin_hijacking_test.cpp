// tests/security/ws_origin_hijacking_test.cpp — issue 8, finding 9 (/ws part): cross-site
// WebSocket hijacking. A cookie-authenticated /ws handshake needs an Origin that is one of the
// server's configured origins (derived from BIND_HOST/BIND_PORT here); a foreign Origin, an
// Origin equal to a forged Host header, several Origin headers or none at all are refused before
// the upgrade. Black-box against a real `jarvis serve`.
#include <gtest/gtest.h>

#include "support/support.h"
#include "support/ws_client.h"

namespace {

using jarvis::test::WsClient;

TEST(WsOriginHijacking, CookieSocketsNeedTheServersOwnOrigin) {
  jarvis::test::TempDir tmp;
  std::map<std::string, std::string> env;
  ASSERT_EQ(jarvis::test::run_jarvis({"migrate"}, tmp.path(), env).exit_code, 0);
  std::string token = jarvis::test::create_user_token(tmp.path(), env, "victim", false);
  ASSERT_FALSE(token.empty());
  jarvis::test::ServerProcess server(tmp.path(), env);
  ASSERT_TRUE(server.ready()) << server.output();
  auto port = static_cast<uint16_t>(server.port());
  std::pair<std::string, std::string> cookie{"Cookie", "jarvis_session=" + token};

  WsClient evil;
  EXPECT_FALSE(evil.connect(port, {cookie, {"Origin", "http://evil.com"}}));
  WsClient rebound;  // the Host header is the attacker's (DNS rebinding)
  EXPECT_FALSE(
      rebound.connect(port, {cookie, {"Origin", "http://evil.com"}, {"Host", "evil.com"}}));
  WsClient none;
  EXPECT_FALSE(none.connect(port, {cookie}));
  WsClient scheme;
  EXPECT_FALSE(
      scheme.connect(port, {cookie, {"Origin", "https://127.0.0.1:" + std::to_string(port)}}));
  auto twice = jarvis::test::http(
      "GET", server.url("/ws"), "",
      {"Cookie: jarvis_session=" + token, "Origin: http://127.0.0.1:" + std::to_string(port),
       "Origin: http://evil.com", "Connection: Upgrade", "Upgrade: websocket",
       "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="});
  EXPECT_EQ(twice.status, 403) << twice.body;

  WsClient own;
  ASSERT_TRUE(own.connect(port, {cookie, {"Origin", "http://127.0.0.1:" + std::to_string(port)}}))
      << own.error;
  auto hello = own.read();
  ASSERT_TRUE(hello);
  EXPECT_EQ((*hello)["type"], "auth.ok");
  WsClient loopback_name;
  ASSERT_TRUE(
      loopback_name.connect(port, {cookie, {"Origin", "http://localhost:" + std::to_string(port)}}))
      << loopback_name.error;
  // Bearer clients (not a browser) need no Origin.
  WsClient bearer;
  ASSERT_TRUE(bearer.connect(port, {{"Authorization", "Bearer " + token}})) << bearer.error;
}

}  // namespace

// tests/support/ws_client.h — a blocking WebSocket client for tests, with per-operation time
// limits (they bound a failing test; nothing asserts on speed). Beast lives in ws_client.cpp,
// compiled once into jarvis_test_support: test files that use the client do not parse it.
//
//   jarvis::test::WsClient c;
//   ASSERT_TRUE(c.connect(port, {{"Authorization", "Bearer tok"}})) << c.error;
//   c.send(R"({"action":"subscribe_system"})");
//   std::optional<jarvis::Json> m = c.read();  // nullopt: ended (see ended, close_code)
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "jarvis/json.h"

namespace jarvis::test {

/// A blocking WebSocket client with per-operation time limits.
class WsClient {
 public:
  WsClient();
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  /// Connects to 127.0.0.1:`port` and performs the handshake with `headers` on `target`;
  /// false (with `error`) if it fails. `receive_buffer` > 0 sets SO_RCVBUF before connecting.
  bool connect(uint16_t port, const std::vector<std::pair<std::string, std::string>>& headers,
               const std::string& target = "/ws", int receive_buffer = 0);

  /// Reads one message; nullopt when the connection ended (see `ended`, `close_code`,
  /// `close_reason`) or nothing arrived within `limit` (`ended` is "timeout").
  std::optional<jarvis::Json> read(std::chrono::milliseconds limit = std::chrono::seconds(20));

  /// Sends one text message (waits until it is written).
  void send(const std::string& text);

  /// Called for every ping frame the server sends (answered automatically while reading).
  void on_ping(std::function<void()> callback);

  std::string error;        ///< why connect() failed
  std::string ended;        ///< why the last read() returned nullopt
  unsigned close_code = 0;  ///< the server's close code, when it sent one
  std::string close_reason;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jarvis::test

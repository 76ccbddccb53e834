// tests/ws/ws_client.h — a blocking Boost.Beast WebSocket client for tests, with per-operation
// time limits (they bound a failing test; nothing asserts on speed).
#pragma once

#include <utility>  // before Asio/Beast

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "jarvis/json.h"

namespace jarvis::test::ws_detail {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;

/// A blocking WebSocket client with per-operation time limits.
class WsClient {
 public:
  /// Connects and performs the handshake; false (with `error`) if it fails.
  bool connect(uint16_t port, const std::vector<std::pair<std::string, std::string>>& headers,
               const std::string& target = "/ws", int receive_buffer = 0) {
    beast::error_code ec;
    auto& sock = beast::get_lowest_layer(ws_).socket();
    sock.open(net::ip::tcp::v4(), ec);
    if (receive_buffer > 0)
      sock.set_option(net::socket_base::receive_buffer_size(receive_buffer), ec);
    sock.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
    if (ec) {
      error = ec.message();
      return false;
    }
    ws_.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
      for (const auto& [k, v] : headers) req.set(k, v);
    }));
    bool done = false;
    ws_.async_handshake(response_, "127.0.0.1:" + std::to_string(port), target,
                        [&](beast::error_code e) {
                          ec = e;
                          done = true;
                        });
    run(done);
    if (!done || ec) {
      error = done ? ec.message() : "timeout";
      return false;
    }
    return true;
  }

  /// Reads one message; nullopt when the connection ended (see close_code/close_reason).
  std::optional<jarvis::Json> read(std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    beast::error_code ec;
    bool done = false;
    buffer_.consume(buffer_.size());
    ws_.async_read(buffer_, [&](beast::error_code e, std::size_t) {
      ec = e;
      done = true;
    });
    run(done, limit);
    if (!done) {
      beast::get_lowest_layer(ws_).cancel();
      run(done);
      ended = "timeout";
      return std::nullopt;
    }
    if (ec) {
      ended = ec.message();
      close_code = ws_.reason().code;
      close_reason = std::string(ws_.reason().reason.c_str());
      return std::nullopt;
    }
    return jarvis::Json::parse(beast::buffers_to_string(buffer_.data()));
  }

  void send(const std::string& text) {
    bool done = false;
    ws_.async_write(net::buffer(text), [&](beast::error_code, std::size_t) { done = true; });
    run(done);
  }

  websocket::stream<beast::tcp_stream>& stream() { return ws_; }

  std::string error;
  std::string ended;
  unsigned close_code = 0;
  std::string close_reason;

 private:
  void run(bool& done, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    ioc_.restart();
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done && std::chrono::steady_clock::now() < deadline) {
      ioc_.run_for(std::chrono::milliseconds(50));
      if (ioc_.stopped()) ioc_.restart();
    }
  }

  net::io_context ioc_;
  websocket::stream<beast::tcp_stream> ws_{ioc_};
  beast::flat_buffer buffer_;
  http::response<http::string_body> response_;
};

}  // namespace jarvis::test::ws_detail

namespace jarvis::test {
using ws_detail::WsClient;
}  // namespace jarvis::test

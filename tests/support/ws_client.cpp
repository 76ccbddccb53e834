// tests/support/ws_client.cpp — the test WebSocket client (see the header) on Boost.Beast: one
// io_context per client, run in slices until the operation completes or its time limit passes.
#include <utility>  // before Asio/Beast

#include "support/ws_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

namespace jarvis::test {

namespace ws_client_impl {
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;
}  // namespace ws_client_impl

using namespace ws_client_impl;

struct WsClient::Impl {
  net::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer buffer;
  http::response<http::string_body> response;

  void run(bool& done, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    ioc.restart();
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done && std::chrono::steady_clock::now() < deadline) {
      ioc.run_for(std::chrono::milliseconds(50));
      if (ioc.stopped()) ioc.restart();
    }
  }
};

WsClient::WsClient() : impl_(std::make_unique<Impl>()) {}
WsClient::~WsClient() = default;

bool WsClient::connect(uint16_t port,
                       const std::vector<std::pair<std::string, std::string>>& headers,
                       const std::string& target, int receive_buffer) {
  beast::error_code ec;
  auto& sock = beast::get_lowest_layer(impl_->ws).socket();
  sock.open(net::ip::tcp::v4(), ec);
  if (receive_buffer > 0) {
    sock.set_option(net::socket_base::receive_buffer_size(receive_buffer), ec);
  }
  sock.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  if (ec) {
    error = ec.message();
    return false;
  }
  impl_->ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
    for (const auto& [k, v] : headers) req.set(k, v);
  }));
  bool done = false;
  impl_->ws.async_handshake(impl_->response, "127.0.0.1:" + std::to_string(port), target,
                            [&](beast::error_code e) {
                              ec = e;
                              done = true;
                            });
  impl_->run(done);
  if (!done || ec) {
    error = done ? ec.message() : "timeout";
    return false;
  }
  return true;
}

std::optional<jarvis::Json> WsClient::read(std::chrono::milliseconds limit) {
  beast::error_code ec;
  bool done = false;
  impl_->buffer.consume(impl_->buffer.size());
  impl_->ws.async_read(impl_->buffer, [&](beast::error_code e, std::size_t) {
    ec = e;
    done = true;
  });
  impl_->run(done, limit);
  if (!done) {
    beast::get_lowest_layer(impl_->ws).cancel();
    impl_->run(done);
    ended = "timeout";
    return std::nullopt;
  }
  if (ec) {
    ended = ec.message();
    close_code = impl_->ws.reason().code;
    close_reason = std::string(impl_->ws.reason().reason.c_str());
    return std::nullopt;
  }
  return jarvis::Json::parse(beast::buffers_to_string(impl_->buffer.data()));
}

void WsClient::send(const std::string& text) {
  bool done = false;
  impl_->ws.async_write(net::buffer(text), [&](beast::error_code, std::size_t) { done = true; });
  impl_->run(done);
}

void WsClient::on_ping(std::function<void()> callback) {
  impl_->ws.control_callback(
      [cb = std::move(callback)](websocket::frame_type kind, beast::string_view) {
        if (kind == websocket::frame_type::ping && cb) cb();
      });
}

}  // namespace jarvis::test

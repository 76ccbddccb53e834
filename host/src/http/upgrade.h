// host/src/http/upgrade.h — the connection the HTTP server hands to an upgrade handler (the
// WebSocket engine). Includes Beast: include it only from engine files (session.cpp, WebSocket
// code).
#pragma once

#include <utility>  // before Asio/Beast (Boost 1.74 + GCC 12 + C++20)

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "http/connection_limits.h"
#include "jarvis/http.h"

namespace jarvis::host {

/// A connection whose request asked to upgrade. The stream runs on its own strand of the server's
/// io_context, with no timeout armed.
struct UpgradeConnection {
  boost::beast::tcp_stream stream;
  /// Bytes already read from the socket after the upgrade request (usually empty).
  boost::beast::flat_buffer buffer;
  /// The upgrade request as Beast parsed it (pass it to websocket::stream::async_accept).
  boost::beast::http::request<boost::beast::http::string_body> request;
  /// The same request converted for the host: method, target, decoded path, headers,
  /// remote_address and a fresh request_id. No auth has run: authenticate before accepting.
  jarvis::Request jarvis_request;
  /// The connection's place under the server's connection caps (global and per address). Move it
  /// into the object that owns the socket for the connection's lifetime: the place is freed when
  /// the slot is destroyed, so a WebSocket keeps counting against
  /// JARVIS_HTTP_MAX_CONNECTIONS(_PER_IP) until it closes. Marked busy: an upgraded connection is
  /// never shed as idle.
  ConnectionSlot slot;
};

}  // namespace jarvis::host

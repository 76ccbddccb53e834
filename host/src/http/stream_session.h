// host/src/http/stream_session.h — the connection of a streamed response (SSE or any chunked body)
// once the server handed it over: sends the headers, then the chunks the producer queues in the
// StreamChannel; keeps reading the socket to notice a client that goes away; keep-alive comments
// on idle SSE streams; the write-stall and max-duration timers; the access log and metrics when it
// ends. Includes Beast: include it only from engine files (server.cpp, session.cpp,
// stream_session.cpp).
#pragma once

#include <utility>  // before Asio/Beast (Boost 1.74 + GCC 12 + C++20)

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <boost/beast/core/tcp_stream.hpp>

#include "http/connection_limits.h"
#include "http/dispatcher.h"
#include "http/response_stream.h"
#include "jarvis/http.h"

namespace jarvis::host {

class StreamSession;

/// The open streams of one server: counted for /readyz and in_flight, closed at shutdown.
/// Thread-safe.
class StreamTracker {
 public:
  /// Registers a starting session; false when shutdown already began (the session ends at once).
  bool add(const std::shared_ptr<StreamSession>& session);
  void remove(StreamSession* session);
  /// Shutdown, step 1: every open stream is ended cleanly (handler told through its token and
  /// on_close), sends what is queued and the end of the body. Later streams end at once.
  void close_all();
  /// Shutdown, step 2: waits until every stream finished, up to `timeout`; true when none is left.
  bool wait_empty(std::chrono::milliseconds timeout);
  /// Shutdown, step 3 (the I/O threads have stopped): cuts every channel from its session so a
  /// producer still holding a stream can no longer reach the io_context.
  void detach_all();
  std::size_t active() const;
  /// Streams dropped because the client read too slowly (buffer cap) or a write stalled.
  std::uint64_t dropped() const { return dropped_.load(); }
  void count_dropped() { dropped_.fetch_add(1); }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<StreamSession*, std::weak_ptr<StreamSession>> live_;
  bool closing_ = false;
  std::atomic<std::uint64_t> dropped_{0};
};

/// What the server hands over with a connection whose response is a stream.
struct StreamHandoff {
  boost::beast::tcp_stream stream;  ///< on the connection's strand; no timeout armed
  ConnectionSlot slot;              ///< the connection's place under the caps (busy)
  std::shared_ptr<StreamChannel> channel;
  std::shared_ptr<jarvis::Request> request;  ///< for the access log
  DispatchInfo info;
  int status = 200;
  jarvis::Headers headers;  ///< as the dispatcher finished them (X-Request-Id, CORS)
  unsigned version = 11;    ///< 10: no chunked coding, the body ends with the connection
};

/// Runs a stream's start callback (on the handler thread) with a new jarvis::ResponseStream on
/// `channel`. An exception is logged and counted against the route's owner like a handler crash,
/// and drops the connection (StreamEnd::StartFailed).
void run_stream_start(jarvis::StreamStart start, const std::shared_ptr<StreamChannel>& channel,
                      Dispatcher& dispatcher, const jarvis::Request& req, const DispatchInfo& info);

/// Starts serving `h` on its strand (call from that strand). The session owns itself through its
/// pending operations and ends when the stream does; `in_flight` is incremented until then.
void start_stream_session(StreamHandoff h, Dispatcher& dispatcher, StreamTracker& tracker,
                          const StreamLimits& limits, std::atomic<std::size_t>& in_flight);

}  // namespace jarvis::host

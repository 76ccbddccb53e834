// host/src/http/response_stream.h — the host side of jarvis::ResponseStream, without Beast: the
// channel between a plugin's producer (any thread) and the connection that sends the bytes (the
// stream session on its strand, http/stream_session.h).
//
//   auto channel = std::make_shared<StreamChannel>(1 << 20);
//   channel->set_wake([] { /* post a flush to the connection's strand */ });
//   std::shared_ptr<jarvis::ResponseStream> s = make_response_stream(channel);
//   s->write("hello");                      // producer: queues, wakes the connection
//   auto batch = channel->take();           // connection: what to send now
//   channel->sent();                        // … once it is written
//   channel->close(StreamEnd::ClientGone);  // connection: the client went away
//
// Memory: at most `max_buffer` bytes are queued or being written; a write beyond that closes the
// stream (StreamEnd::Overflow) and the connection drops the client.
//
// Threads: the plugin's on_close callbacks and the on_cancel callbacks of the stream's token never
// run on an Asio I/O thread. A close (or end) on one — the connection noticing a client that went
// away, a timer, shutdown — hands them to `callbacks` (the server's stream-callback thread) in
// that order; the token itself reports cancelled() at once. On any other thread they run there.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "jarvis/cancel.h"
#include "jarvis/http.h"

namespace jarvis::host {

/// Why a stream ended.
enum class StreamEnd {
  Complete,      ///< the producer called end() or released the stream
  ClientGone,    ///< the client closed the connection or a write failed
  Overflow,      ///< the client read too slowly: the buffer cap was exceeded (dropped)
  WriteTimeout,  ///< a write made no progress for the idle timeout (dropped)
  Expired,       ///< JARVIS_STREAM_MAX_SECONDS elapsed
  Shutdown,      ///< the host is shutting down
  StartFailed,   ///< the start callback threw
};

/// "complete", "client_gone", "dropped_slow_client", "write_timeout", "expired", "shutdown",
/// "start_failed" (metric label and access-log value).
const char* to_string(StreamEnd e);

/// True for the ends after which the connection still sends what is queued and the end of the
/// body (Complete, Expired, Shutdown); the others drop the connection at once.
bool ends_cleanly(StreamEnd e);

/// Stream limits (ServerOptions carries them from the host settings).
struct StreamLimits {
  /// Unsent bytes per stream before the client is dropped (JARVIS_STREAM_MAX_BUFFER_BYTES).
  std::size_t max_buffer_bytes = 1 << 20;
  /// `: keep-alive` comment on an SSE stream idle this long; 0 = never
  /// (JARVIS_SSE_KEEPALIVE_SECONDS).
  std::chrono::milliseconds sse_keepalive{15000};
  /// A stream is ended (cleanly) after this long; 0 = no limit (JARVIS_STREAM_MAX_SECONDS).
  std::chrono::milliseconds max_duration{0};
  /// A write that makes no progress this long drops the client (the server's idle timeout).
  std::chrono::milliseconds write_timeout{60000};
};

/// The queue between a producer and the connection. Thread-safe.
class DeliveryThread;

class StreamChannel {
 public:
  /// `callbacks` runs the callbacks of a close that happens on an I/O thread (null: they run on
  /// the closing thread, as in unit tests without a server). `keep` is held until the last
  /// callback ran (the route entry: it keeps the plugin's library mapped).
  explicit StreamChannel(std::size_t max_buffer,
                         std::shared_ptr<DeliveryThread> callbacks = nullptr,
                         std::shared_ptr<const void> keep = nullptr)
      : max_buffer_(max_buffer), callbacks_(std::move(callbacks)), keep_(std::move(keep)) {}

  // --- producer side (through jarvis::ResponseStream) ---
  bool write(std::string_view bytes);
  void end();
  bool closed() const;
  jarvis::CancelToken cancelled() const { return cancel_.token(); }
  void on_close(std::function<void()> callback);
  std::size_t buffered() const;

  // --- connection side ---
  /// The function that makes the connection call take() soon (it must only post, never run the
  /// flush inline). Called with the channel's lock held, so clear_wake() guarantees no later call.
  void set_wake(std::function<void()> wake);
  void clear_wake();
  /// What the connection should do now: send `bytes` (moved out of the queue; counted as in
  /// flight until sent()), and, when `closed`, stop after them — cleanly (`reason` ends cleanly:
  /// send the end of the body) or by dropping the connection.
  struct Batch {
    std::string bytes;
    bool closed = false;
    StreamEnd reason = StreamEnd::Complete;
  };
  Batch take();
  /// True when the host closed the stream in a way that drops the connection (Overflow, …).
  bool must_drop() const;
  /// The bytes of the last take() were written.
  void sent();
  /// The host closes the stream: no more writes, the token is cancelled and the on_close
  /// callbacks run (on this thread, or handed off when this is an I/O thread), then the
  /// connection is woken. No effect on a stream already
  /// closed by the host; after the producer's end() only the reason changes (when `reason` does not
  /// end cleanly).
  void close(StreamEnd reason);
  StreamEnd reason() const;

 private:
  void wake_locked();
  static void run_callbacks(std::vector<std::function<void()>>& callbacks);
  // Runs `job` here, or on callbacks_ when this is an I/O thread (and it still takes jobs).
  void dispatch(std::function<void()> job) const;
  void dispatch_callbacks(std::vector<std::function<void()>> callbacks) const;

  const std::size_t max_buffer_;
  const std::shared_ptr<DeliveryThread> callbacks_;
  const std::shared_ptr<const void> keep_;
  mutable std::mutex mu_;
  std::string pending_;
  std::size_t in_flight_ = 0;
  bool closed_ = false;
  bool host_closed_ = false;
  bool wake_pending_ = false;
  StreamEnd reason_ = StreamEnd::Complete;
  std::function<void()> wake_;
  std::vector<std::function<void()>> on_close_;
  jarvis::CancelSource cancel_;
};

/// The jarvis::ResponseStream a plugin receives: forwards to `channel`; its destruction (the
/// plugin's last reference) ends the stream.
std::shared_ptr<jarvis::ResponseStream> make_response_stream(
    std::shared_ptr<StreamChannel> channel);

}  // namespace jarvis::host

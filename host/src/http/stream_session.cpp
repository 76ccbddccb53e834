// host/src/http/stream_session.cpp — a streamed response's connection (see stream_session.h).
#include <utility>  // before Asio/Beast (Boost 1.74 + GCC 12 + C++20)

#include "http/stream_session.h"

#include <array>
#include <cstdio>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

#include "http/framing.h"

namespace jarvis::host {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

class StreamSession : public std::enable_shared_from_this<StreamSession> {
 public:
  StreamSession(StreamHandoff h, Dispatcher& dispatcher, StreamTracker& tracker,
                const StreamLimits& limits, std::atomic<std::size_t>& in_flight)
      : h_(std::move(h)),
        dispatcher_(dispatcher),
        tracker_(tracker),
        limits_(limits),
        in_flight_(in_flight),
        write_timer_(h_.stream.get_executor()),
        keepalive_timer_(h_.stream.get_executor()),
        expiry_timer_(h_.stream.get_executor()) {
    in_flight_.fetch_add(1);
  }

  ~StreamSession() {
    if (done_) return;
    // The io_context was destroyed under us (shutdown past its grace period).
    h_.channel->close(StreamEnd::Shutdown);
    finish(StreamEnd::Shutdown);
  }

  void start() {
    dispatcher_.stream_opened();
    std::weak_ptr<StreamSession> weak = shared_from_this();
    auto executor = h_.stream.get_executor();
    h_.channel->set_wake([weak, executor] {
      net::post(executor, [weak] {
        if (auto self = weak.lock()) self->flush();
      });
    });
    if (!tracker_.add(shared_from_this())) h_.channel->close(StreamEnd::Shutdown);
    write_header();
    read_loop();
    bool sse = h_.headers.get("Content-Type").value_or("").starts_with("text/event-stream");
    if (sse && limits_.sse_keepalive.count() > 0) arm_keepalive();
    if (limits_.max_duration.count() > 0) {
      expiry_timer_.expires_after(limits_.max_duration);
      expiry_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (!ec && !self->done_) self->h_.channel->close(StreamEnd::Expired);
      });
    }
  }

  // Shutdown, from any thread: ends the stream cleanly on its strand.
  void post_shutdown() {
    net::post(h_.stream.get_executor(), [self = shared_from_this()] {
      if (!self->done_) self->h_.channel->close(StreamEnd::Shutdown);
    });
  }

  StreamChannel& channel() { return *h_.channel; }

 private:
  void write_header() {
    res_.version(h_.version);
    res_.result(static_cast<unsigned>(h_.status));
    bool has_date = false;
    for (const auto& [name, value] : h_.headers.all()) {
      if (iequals_ascii(name, "Content-Length") || iequals_ascii(name, "Transfer-Encoding") ||
          iequals_ascii(name, "Connection")) {
        continue;
      }
      if (iequals_ascii(name, "Date")) has_date = true;
      res_.insert(name, value);
    }
    if (!has_date) {
      auto date = http_date();
      res_.set(http::field::date, beast::string_view(date.data(), date.size()));
    }
    // A stream is the connection's last response: nothing read while it runs is parsed.
    res_.keep_alive(false);
    if (h_.version >= 11) res_.chunked(true);
    serializer_.emplace(res_);
    writing_ = true;
    arm_write_timer();
    http::async_write_header(h_.stream.socket(), *serializer_,
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                               self->writing_ = false;
                               self->write_timer_.cancel();
                               if (self->done_) return;
                               if (ec) return self->abort(StreamEnd::ClientGone);
                               self->headers_sent_ = true;
                               self->flush();
                             });
  }

  // The client only ever sends EOF or a reset now (or bytes we discard): either ends the stream.
  void read_loop() {
    h_.stream.socket().async_read_some(
        net::buffer(drain_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
          if (self->done_) return;
          // A client that closes right after the last chunk: the final write's completion (queued
          // behind this one) decides how the stream ended.
          if (ec && self->finishing_ && self->writing_) return;
          if (ec) return self->abort(StreamEnd::ClientGone);
          self->read_loop();
        });
  }

  void flush() {
    if (done_) return;
    if (writing_ || !headers_sent_) {
      // A slow client's write may never complete: drop it now, not when the write times out.
      if (h_.channel->must_drop()) abort(h_.channel->reason());
      return;
    }
    StreamChannel::Batch batch = h_.channel->take();
    if (batch.closed && !ends_cleanly(batch.reason)) return abort(batch.reason);
    out_.clear();
    if (!batch.bytes.empty()) {
      if (h_.version >= 11) {
        char size[24];
        int n = std::snprintf(size, sizeof size, "%zx\r\n", batch.bytes.size());
        out_.append(size, static_cast<std::size_t>(n));
        out_.append(batch.bytes);
        out_.append("\r\n");
      } else {
        out_ = std::move(batch.bytes);
      }
      active_since_tick_ = true;
    }
    if (batch.closed) {
      finishing_ = true;
      end_reason_ = batch.reason;
      if (h_.version >= 11) out_.append("0\r\n\r\n");
    }
    if (out_.empty()) {
      h_.channel->sent();
      if (finishing_) finish_cleanly();
      return;
    }
    writing_ = true;
    arm_write_timer();
    std::size_t body_bytes = batch.bytes.size();
    net::async_write(h_.stream.socket(), net::buffer(out_),
                     [self = shared_from_this(), body_bytes](beast::error_code ec, std::size_t) {
                       self->writing_ = false;
                       self->write_timer_.cancel();
                       self->h_.channel->sent();
                       if (self->done_) return;
                       if (ec) return self->abort(StreamEnd::ClientGone);
                       self->bytes_ += body_bytes;
                       if (self->finishing_) return self->finish_cleanly();
                       self->flush();
                     });
  }

  void arm_write_timer() {
    write_timer_.expires_after(limits_.write_timeout);
    write_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec && self->writing_ && !self->done_) self->abort(StreamEnd::WriteTimeout);
    });
  }

  void arm_keepalive() {
    keepalive_timer_.expires_after(limits_.sse_keepalive);
    keepalive_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->done_) return;
      if (!self->active_since_tick_ && !self->writing_) {
        self->h_.channel->write(": keep-alive\n\n");
      }
      self->active_since_tick_ = false;
      self->arm_keepalive();
    });
  }

  // Drops the connection without the end of the body: the client sees a truncated response.
  void abort(StreamEnd reason) {
    if (done_) return;
    h_.channel->close(reason);  // the handler is told (token, on_close) before we forget it
    if (reason == StreamEnd::Overflow || reason == StreamEnd::WriteTimeout) {
      tracker_.count_dropped();
    }
    beast::error_code ec;
    h_.stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    h_.stream.socket().close(ec);
    finish(reason);
  }

  void finish_cleanly() {
    beast::error_code ec;
    h_.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    h_.stream.socket().close(ec);
    finish(end_reason_);
  }

  void finish(StreamEnd reason) {
    if (done_) return;
    done_ = true;
    write_timer_.cancel();
    keepalive_timer_.cancel();
    expiry_timer_.cancel();
    h_.channel->clear_wake();
    dispatcher_.finish_stream(*h_.request, h_.info, h_.status, bytes_, to_string(reason));
    h_.slot.release();
    // The route entry (and so the plugin's library) is no longer needed by this connection.
    h_.info.route.reset();
    in_flight_.fetch_sub(1);
    tracker_.remove(this);
  }

  StreamHandoff h_;
  Dispatcher& dispatcher_;
  StreamTracker& tracker_;
  const StreamLimits& limits_;
  std::atomic<std::size_t>& in_flight_;
  http::response<http::empty_body> res_;
  std::optional<http::response_serializer<http::empty_body>> serializer_;
  net::steady_timer write_timer_;
  net::steady_timer keepalive_timer_;
  net::steady_timer expiry_timer_;
  std::string out_;
  std::array<char, 1024> drain_{};
  std::uint64_t bytes_ = 0;
  StreamEnd end_reason_ = StreamEnd::Complete;
  bool headers_sent_ = false;
  bool writing_ = false;
  bool finishing_ = false;
  bool done_ = false;
  bool active_since_tick_ = false;
};

bool StreamTracker::add(const std::shared_ptr<StreamSession>& session) {
  std::lock_guard lock(mu_);
  live_.emplace(session.get(), session);
  return !closing_;
}

void StreamTracker::remove(StreamSession* session) {
  std::lock_guard lock(mu_);
  live_.erase(session);
  cv_.notify_all();
}

void StreamTracker::close_all() {
  std::vector<std::shared_ptr<StreamSession>> open;
  {
    std::lock_guard lock(mu_);
    closing_ = true;
    for (auto& [ptr, weak] : live_) {
      if (auto s = weak.lock()) open.push_back(std::move(s));
    }
  }
  for (auto& s : open) s->post_shutdown();
}

bool StreamTracker::wait_empty(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return live_.empty(); });
}

void StreamTracker::detach_all() {
  std::vector<std::shared_ptr<StreamSession>> open;
  {
    std::lock_guard lock(mu_);
    for (auto& [ptr, weak] : live_) {
      if (auto s = weak.lock()) open.push_back(std::move(s));
    }
  }
  for (auto& s : open) {
    s->channel().clear_wake();
    s->channel().close(StreamEnd::Shutdown);
  }
}

std::size_t StreamTracker::active() const {
  std::lock_guard lock(mu_);
  return live_.size();
}

void run_stream_start(jarvis::StreamStart start, const std::shared_ptr<StreamChannel>& channel,
                      Dispatcher& dispatcher, const jarvis::Request& req,
                      const DispatchInfo& info) {
  // Held here so that a throwing callback cannot end the stream normally while unwinding.
  std::shared_ptr<jarvis::ResponseStream> stream = make_response_stream(channel);
  try {
    start(stream);
  } catch (const std::exception& e) {
    dispatcher.stream_start_failed(req, info, e.what());
    channel->close(StreamEnd::StartFailed);
  } catch (...) {
    dispatcher.stream_start_failed(req, info, "non-standard exception");
    channel->close(StreamEnd::StartFailed);
  }
}

void start_stream_session(StreamHandoff h, Dispatcher& dispatcher, StreamTracker& tracker,
                          const StreamLimits& limits, std::atomic<std::size_t>& in_flight) {
  std::make_shared<StreamSession>(std::move(h), dispatcher, tracker, limits, in_flight)->start();
}

}  // namespace jarvis::host

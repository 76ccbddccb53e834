// host/src/http/response_stream.cpp — the producer/connection channel of a streamed response (see
// response_stream.h).
#include "http/response_stream.h"

#include <spdlog/spdlog.h>

#include "events/delivery_thread.h"
#include "events/io_thread.h"

namespace jarvis::host {

const char* to_string(StreamEnd e) {
  switch (e) {
    case StreamEnd::Complete:
      return "complete";
    case StreamEnd::ClientGone:
      return "client_gone";
    case StreamEnd::Overflow:
      return "dropped_slow_client";
    case StreamEnd::WriteTimeout:
      return "write_timeout";
    case StreamEnd::Expired:
      return "expired";
    case StreamEnd::Shutdown:
      return "shutdown";
    case StreamEnd::StartFailed:
      return "start_failed";
  }
  return "unknown";
}

bool ends_cleanly(StreamEnd e) {
  return e == StreamEnd::Complete || e == StreamEnd::Expired || e == StreamEnd::Shutdown;
}

bool StreamChannel::write(std::string_view bytes) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    if (bytes.empty()) return true;
    if (pending_.size() + in_flight_ + bytes.size() <= max_buffer_) {
      pending_.append(bytes);
      wake_locked();
      return true;
    }
  }
  // The client does not keep up: drop it rather than queue without bound.
  close(StreamEnd::Overflow);
  return false;
}

void StreamChannel::end() {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    reason_ = StreamEnd::Complete;
    callbacks.swap(on_close_);
  }
  dispatch_callbacks(std::move(callbacks));
  std::lock_guard lock(mu_);
  wake_pending_ = false;  // the connection must look again: the stream is over
  wake_locked();
}

bool StreamChannel::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

void StreamChannel::on_close(std::function<void()> callback) {
  if (!callback) return;
  {
    std::lock_guard lock(mu_);
    if (!closed_) {
      on_close_.push_back(std::move(callback));
      return;
    }
  }
  std::vector<std::function<void()>> now;
  now.push_back(std::move(callback));
  dispatch_callbacks(std::move(now));
}

std::size_t StreamChannel::buffered() const {
  std::lock_guard lock(mu_);
  return pending_.size() + in_flight_;
}

void StreamChannel::set_wake(std::function<void()> wake) {
  std::lock_guard lock(mu_);
  wake_ = std::move(wake);
  wake_pending_ = false;
  wake_locked();
}

void StreamChannel::clear_wake() {
  std::lock_guard lock(mu_);
  wake_ = nullptr;
}

StreamChannel::Batch StreamChannel::take() {
  std::lock_guard lock(mu_);
  wake_pending_ = false;
  Batch b;
  b.closed = closed_;
  b.reason = reason_;
  if (!closed_ || ends_cleanly(reason_)) {
    b.bytes.swap(pending_);
    in_flight_ += b.bytes.size();
  } else {
    pending_.clear();
  }
  return b;
}

bool StreamChannel::must_drop() const {
  std::lock_guard lock(mu_);
  return closed_ && !ends_cleanly(reason_);
}

void StreamChannel::sent() {
  std::lock_guard lock(mu_);
  in_flight_ = 0;
}

void StreamChannel::close(StreamEnd reason) {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(mu_);
    if (host_closed_) return;
    host_closed_ = true;
    if (!closed_) {
      closed_ = true;
      reason_ = reason;
      callbacks.swap(on_close_);
    } else if (!ends_cleanly(reason)) {
      reason_ = reason;
    }
  }
  // The handler is told before the client can see the end: the token at once, its callbacks and
  // then the on_close callbacks here or, from an I/O thread, on the stream-callback thread.
  cancel_.cancel_deferred([this](std::function<void()> run) { dispatch(std::move(run)); });
  dispatch_callbacks(std::move(callbacks));
  std::lock_guard lock(mu_);
  // Even with a flush already pending: the connection may be stuck in a write and must look.
  wake_pending_ = false;
  wake_locked();
}

StreamEnd StreamChannel::reason() const {
  std::lock_guard lock(mu_);
  return reason_;
}

void StreamChannel::wake_locked() {
  if (wake_pending_ || !wake_) return;
  wake_pending_ = true;
  wake_();
}

void StreamChannel::dispatch(std::function<void()> job) const {
  if (callbacks_ && on_io_thread()) {
    // The job holds `keep_` (the plugin's library) until it ran and was destroyed.
    if (callbacks_->post([job, keep = keep_]() mutable {
          job();
          job = nullptr;
        })) {
      return;
    }
  }
  job();
}

void StreamChannel::dispatch_callbacks(std::vector<std::function<void()>> callbacks) const {
  if (callbacks.empty()) return;
  auto held = std::make_shared<std::vector<std::function<void()>>>(std::move(callbacks));
  dispatch([held] { run_callbacks(*held); });
}

void StreamChannel::run_callbacks(std::vector<std::function<void()>>& callbacks) {
  for (auto& cb : callbacks) {
    try {
      cb();
    } catch (const std::exception& e) {
      spdlog::error("stream on_close callback threw: {}", e.what());
    } catch (...) {
      spdlog::error("stream on_close callback threw a non-standard exception");
    }
  }
  callbacks.clear();  // drops what they captured (possibly the stream itself)
}

namespace {

class HostResponseStream final : public jarvis::ResponseStream {
 public:
  explicit HostResponseStream(std::shared_ptr<StreamChannel> channel)
      : channel_(std::move(channel)) {}
  ~HostResponseStream() override { channel_->end(); }

  bool write(std::string_view bytes) override { return channel_->write(bytes); }
  void end() override { channel_->end(); }
  bool closed() const override { return channel_->closed(); }
  jarvis::CancelToken cancelled() const override { return channel_->cancelled(); }
  void on_close(std::function<void()> callback) override {
    channel_->on_close(std::move(callback));
  }
  std::size_t buffered_bytes() const override { return channel_->buffered(); }

 private:
  std::shared_ptr<StreamChannel> channel_;
};

}  // namespace

std::shared_ptr<jarvis::ResponseStream> make_response_stream(
    std::shared_ptr<StreamChannel> channel) {
  return std::make_shared<HostResponseStream>(std::move(channel));
}

}  // namespace jarvis::host

// host/src/plugins/in_flight.h — counts the calls running inside one plugin's code, so shutdown
// can wait for them before it destroys the plugin object (docs/decisions/0018-…).
//
//   auto calls = std::make_shared<InFlight>();
//   spec.handler = [calls, inner = std::move(spec.handler)](jarvis::Request& req) {
//     InFlight::Call call(*calls);           // +1 now, -1 when the handler returns or throws
//     return inner(req);
//   };
//   …
//   if (!calls->wait_idle(std::chrono::seconds(30))) { /* never destroy the plugin object */ }
//
// Every wrapper the host puts around a plugin callback (routes, tools, policies, tasks, commands,
// event subscribers, health()) holds a shared_ptr to its plugin's InFlight.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>

namespace jarvis::host {

/// In-flight call counter of one plugin. Thread-safe.
class InFlight {
 public:
  /// RAII: one call in progress for the lifetime of this object.
  class Call {
   public:
    explicit Call(InFlight& counter) : counter_(counter) { counter_.enter(); }
    ~Call() { counter_.leave(); }
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;

   private:
    InFlight& counter_;
  };

  /// Calls running right now.
  std::int64_t count() const {
    std::lock_guard lock(mu_);
    return count_;
  }
  /// Calls ever started (for tests and the log line at shutdown).
  std::uint64_t total() const {
    std::lock_guard lock(mu_);
    return total_;
  }
  /// Waits until no call is running or `timeout` passed; true when idle.
  bool wait_idle(std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mu_);
    return idle_.wait_for(lock, timeout, [this] { return count_ == 0; });
  }

 private:
  void enter() {
    std::lock_guard lock(mu_);
    ++count_;
    ++total_;
  }
  void leave() {
    std::lock_guard lock(mu_);
    if (--count_ == 0) idle_.notify_all();
  }

  mutable std::mutex mu_;
  mutable std::condition_variable idle_;
  std::int64_t count_ = 0;
  std::uint64_t total_ = 0;
};

}  // namespace jarvis::host

namespace jarvis::host {

/// `fn` wrapped so every call counts in `calls` while it runs (returns `fn` itself when either is
/// empty). The wrapper is host code; `fn` (plugin code) is destroyed with it.
template <class R, class... A>
std::function<R(A...)> counted(std::shared_ptr<InFlight> calls, std::function<R(A...)> fn) {
  if (!calls || !fn) return fn;
  return [calls = std::move(calls), fn = std::move(fn)](A... args) -> R {
    InFlight::Call call(*calls);
    return fn(std::forward<A>(args)...);
  };
}

}  // namespace jarvis::host

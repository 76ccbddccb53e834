// host/src/auth/rate_limiter.h — an in-memory sliding-window limiter keyed by string (login
// attempts per client address and per username).
//
// One process only: with several `jarvis serve` instances behind a load balancer each keeps its
// own window, so the effective limit is the per-instance limit times the number of instances
// (documented in docs/decisions/0007-identity-and-rbac.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

namespace jarvis::host {

/// At most `limit` events per key within any `window`. Thread-safe. Memory is bounded: keys whose
/// events all left the window are pruned, and at `max_keys` the least recently used key is dropped.
class SlidingWindowLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  SlidingWindowLimiter(std::size_t limit, std::chrono::seconds window,
                       std::size_t max_keys = 100000);

  /// Records an event for `key` at `now` and returns true when the key is under its limit;
  /// otherwise records nothing, returns false and sets `retry_after` (≥ 1 s) to when the oldest
  /// event leaves the window. A limit of 0 disables the limiter (always true).
  bool try_acquire(const std::string& key, Clock::time_point now,
                   std::chrono::seconds& retry_after);

  /// Takes back the event recorded at `at` by try_acquire (a successful login does not count).
  void release(const std::string& key, Clock::time_point at);

  /// Forgets every event of `key`.
  void reset(const std::string& key);

  /// Number of keys currently tracked.
  std::size_t size() const;

 private:
  void prune(Clock::time_point now);

  std::size_t limit_;
  std::chrono::seconds window_;
  std::size_t max_keys_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::deque<Clock::time_point>> events_;
};

}  // namespace jarvis::host

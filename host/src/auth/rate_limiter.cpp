// host/src/auth/rate_limiter.cpp — sliding-window limiter (see rate_limiter.h).
#include "auth/rate_limiter.h"

#include <algorithm>

namespace jarvis::host {

SlidingWindowLimiter::SlidingWindowLimiter(std::size_t limit, std::chrono::seconds window,
                                           std::size_t max_keys)
    : limit_(limit), window_(window), max_keys_(std::max<std::size_t>(max_keys, 1)) {}

bool SlidingWindowLimiter::try_acquire(const std::string& key, Clock::time_point now,
                                       std::chrono::seconds& retry_after) {
  retry_after = std::chrono::seconds(0);
  if (limit_ == 0) return true;
  std::lock_guard lock(mu_);
  if (events_.size() >= max_keys_ && !events_.count(key)) prune(now);
  auto& q = events_[key];
  while (!q.empty() && q.front() <= now - window_) q.pop_front();
  if (q.size() >= limit_) {
    auto wait = std::chrono::ceil<std::chrono::seconds>(q.front() + window_ - now);
    retry_after = std::max(wait, std::chrono::seconds(1));
    return false;
  }
  q.push_back(now);
  return true;
}

void SlidingWindowLimiter::release(const std::string& key, Clock::time_point at) {
  std::lock_guard lock(mu_);
  auto it = events_.find(key);
  if (it == events_.end()) return;
  auto& q = it->second;
  auto pos = std::find(q.rbegin(), q.rend(), at);
  if (pos != q.rend()) q.erase(std::next(pos).base());
  if (q.empty()) events_.erase(it);
}

void SlidingWindowLimiter::reset(const std::string& key) {
  std::lock_guard lock(mu_);
  events_.erase(key);
}

std::size_t SlidingWindowLimiter::size() const {
  std::lock_guard lock(mu_);
  return events_.size();
}

void SlidingWindowLimiter::prune(Clock::time_point now) {
  // Drop keys whose events all left the window; if still full, drop the key idle the longest.
  for (auto it = events_.begin(); it != events_.end();) {
    auto& q = it->second;
    while (!q.empty() && q.front() <= now - window_) q.pop_front();
    it = q.empty() ? events_.erase(it) : std::next(it);
  }
  while (events_.size() >= max_keys_) {
    auto oldest = std::min_element(
        events_.begin(), events_.end(),
        [](const auto& a, const auto& b) { return a.second.back() < b.second.back(); });
    events_.erase(oldest);
  }
}

}  // namespace jarvis::host

// host/src/http/connection_limits.cpp — connection caps, idle shedding and the fd limit.
#include "http/connection_limits.h"

#include <sys/resource.h>

#include <algorithm>

namespace jarvis::host {

ConnectionSlot& ConnectionSlot::operator=(ConnectionSlot&& other) noexcept {
  if (this != &other) {
    release();
    limiter_ = std::move(other.limiter_);
    id_ = other.id_;
    other.limiter_.reset();
    other.id_ = 0;
  }
  return *this;
}

void ConnectionSlot::release() noexcept {
  if (limiter_) limiter_->release(id_);
  limiter_.reset();
}

bool ConnectionSlot::set_idle(bool idle) noexcept {
  return limiter_ ? limiter_->set_idle(id_, idle) : true;
}

ConnectionSlot ConnectionLimiter::admit(const std::string& ip, std::function<void()> shed,
                                        std::vector<std::function<void()>>& to_shed) {
  std::lock_guard lock(mu_);
  if (caps_.max_per_ip > 0) {
    auto it = by_ip_.find(ip);
    if (it != by_ip_.end() && it->second.count >= caps_.max_per_ip) {
      if (it->second.idle.empty()) {
        ++refused_total_;
        return {};
      }
      to_shed.push_back(evict(*it->second.idle.begin()));
    }
  }
  if (caps_.max_total > 0 && entries_.size() >= caps_.max_total) {
    if (idle_.empty()) {
      ++refused_total_;
      return {};
    }
    to_shed.push_back(evict(*idle_.begin()));
  }
  std::uint64_t id = next_id_++;
  entries_.emplace(id, Entry{ip, true, std::move(shed)});
  auto& per = by_ip_[ip];
  ++per.count;
  per.idle.insert(id);
  idle_.insert(id);
  return ConnectionSlot(shared_from_this(), id);
}

std::function<void()> ConnectionLimiter::evict(std::uint64_t id) {
  auto it = entries_.find(id);
  std::function<void()> shed = std::move(it->second.shed);
  erase(it);
  ++shed_total_;
  return shed ? shed : [] {};
}

void ConnectionLimiter::erase(std::unordered_map<std::uint64_t, Entry>::iterator it) {
  std::uint64_t id = it->first;
  auto per = by_ip_.find(it->second.ip);
  if (per != by_ip_.end()) {
    per->second.idle.erase(id);
    if (--per->second.count == 0) by_ip_.erase(per);
  }
  idle_.erase(id);
  entries_.erase(it);
}

void ConnectionLimiter::release(std::uint64_t id) noexcept {
  std::function<void()> dropped;  // destroyed outside the lock
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return;  // already shed
  dropped = std::move(it->second.shed);
  erase(it);
}

bool ConnectionLimiter::set_idle(std::uint64_t id, bool idle) noexcept {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return false;  // shed (or released): its place is someone else's
  if (it->second.idle == idle) return true;
  it->second.idle = idle;
  auto& per = by_ip_[it->second.ip];
  if (idle) {
    per.idle.insert(id);
    idle_.insert(id);
  } else {
    per.idle.erase(id);
    idle_.erase(id);
  }
  return true;
}

std::size_t ConnectionLimiter::count() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

std::size_t ConnectionLimiter::count(const std::string& ip) const {
  std::lock_guard lock(mu_);
  auto it = by_ip_.find(ip);
  return it == by_ip_.end() ? 0 : it->second.count;
}

std::uint64_t ConnectionLimiter::shed_total() const {
  std::lock_guard lock(mu_);
  return shed_total_;
}

std::uint64_t ConnectionLimiter::refused_total() const {
  std::lock_guard lock(mu_);
  return refused_total_;
}

FdLimit current_fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return {};
  return {static_cast<std::uint64_t>(rl.rlim_cur), static_cast<std::uint64_t>(rl.rlim_max)};
}

FdLimit raise_fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &raised);  // best effort: the old limit stays on failure
  }
  return current_fd_limit();
}

std::size_t default_max_connections(std::uint64_t fd_soft_limit) {
  if (fd_soft_limit == 0 || fd_soft_limit == RLIM_INFINITY) return 1 << 20;
  std::uint64_t reserve = std::max<std::uint64_t>(256, fd_soft_limit / 10);
  std::uint64_t cap = fd_soft_limit > reserve ? fd_soft_limit - reserve : 0;
  return static_cast<std::size_t>(std::max<std::uint64_t>(16, cap));
}

ConnectionCaps resolve_caps(std::size_t max_total, std::size_t max_per_ip,
                            std::uint64_t fd_soft_limit) {
  ConnectionCaps caps;
  caps.max_total = max_total > 0 ? max_total : default_max_connections(fd_soft_limit);
  caps.max_per_ip = max_per_ip > 0 ? std::min(max_per_ip, caps.max_total)
                                   : std::max<std::size_t>(1, caps.max_total * 9 / 10);
  return caps;
}

const std::string& connection_refused_response() {
  static const std::string response = [] {
    std::string body =
        "{\"error\":{\"code\":\"too_many_connections\",\"message\":\"connection limit "
        "reached; retry shortly\",\"request_id\":\"\"}}";
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
           "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }();
  return response;
}

}  // namespace jarvis::host

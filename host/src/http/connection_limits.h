// host/src/http/connection_limits.h — the bound on open HTTP connections: a global cap (below the
// file-descriptor limit) and a per-address cap, with shedding of the oldest idle connection when
// a cap is reached. Upgraded (WebSocket) connections keep their ConnectionSlot and stay counted.
// No Beast here: the server and the WebSocket engine hold slots; tests use the limiter directly.
//
//   auto limiter = std::make_shared<ConnectionLimiter>(ConnectionCaps{.max_total = 1000});
//   std::vector<std::function<void()>> shed;
//   auto slot = limiter->admit("127.0.0.1", [] { /* close me if idle */ }, shed);
//   for (auto& close : shed) close();   // outside any lock
//   if (!slot) { /* refuse: accept then close */ }
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace jarvis::host {

class ConnectionLimiter;

/// One admitted connection's place under the caps. Move-only; releasing it (destructor or
/// release()) frees the place. Thread-safe: release() may race with the limiter shedding the
/// connection (the place is freed once).
class ConnectionSlot {
 public:
  ConnectionSlot() = default;
  ConnectionSlot(std::shared_ptr<ConnectionLimiter> limiter, std::uint64_t id)
      : limiter_(std::move(limiter)), id_(id) {}
  ConnectionSlot(ConnectionSlot&& other) noexcept { *this = std::move(other); }
  ConnectionSlot& operator=(ConnectionSlot&& other) noexcept;
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  ~ConnectionSlot() { release(); }

  /// Frees the place (idempotent).
  void release() noexcept;
  /// Marks the connection idle (waiting for a request: may be shed) or busy (a request is being
  /// read, handled or answered, or the connection was upgraded: never shed). Returns false when
  /// the connection no longer holds a place — it was shed and its close is on the way — so the
  /// caller must close it rather than serve it uncounted.
  bool set_idle(bool idle) noexcept;
  explicit operator bool() const { return limiter_ != nullptr; }

 private:
  std::shared_ptr<ConnectionLimiter> limiter_;
  std::uint64_t id_ = 0;
};

/// The caps. 0 = unlimited.
struct ConnectionCaps {
  std::size_t max_total = 0;
  std::size_t max_per_ip = 0;
};

/// Counts open connections by address. Thread-safe.
class ConnectionLimiter : public std::enable_shared_from_this<ConnectionLimiter> {
 public:
  explicit ConnectionLimiter(ConnectionCaps caps) : caps_(caps) {}

  /// Admits a new connection from `ip` (initially idle). At a cap, the oldest idle connection (of
  /// `ip` for the per-address cap, of anyone for the global cap) is shed: its place is freed now
  /// and its `shed` callback is appended to `to_shed` (call them without holding locks; they close
  /// the connection). Returns an empty slot when no idle connection can make room (refuse).
  ConnectionSlot admit(const std::string& ip, std::function<void()> shed,
                       std::vector<std::function<void()>>& to_shed);

  std::size_t count() const;
  std::size_t count(const std::string& ip) const;
  const ConnectionCaps& caps() const { return caps_; }
  /// Connections shed and refused since start (for /readyz and the metrics).
  std::uint64_t shed_total() const;
  std::uint64_t refused_total() const;

 private:
  friend class ConnectionSlot;
  struct Entry {
    std::string ip;
    bool idle = true;
    std::function<void()> shed;
  };
  struct PerIp {
    std::size_t count = 0;
    std::set<std::uint64_t> idle;  // ids in accept order: the first is the oldest
  };
  void release(std::uint64_t id) noexcept;
  bool set_idle(std::uint64_t id, bool idle) noexcept;
  // Frees `id`'s place and hands back its shed callback. Caller holds mu_.
  std::function<void()> evict(std::uint64_t id);
  void erase(std::unordered_map<std::uint64_t, Entry>::iterator it);

  const ConnectionCaps caps_;
  mutable std::mutex mu_;
  std::uint64_t next_id_ = 1;
  std::unordered_map<std::uint64_t, Entry> entries_;
  std::unordered_map<std::string, PerIp> by_ip_;
  std::set<std::uint64_t> idle_;  // every idle id, oldest first
  std::uint64_t shed_total_ = 0;
  std::uint64_t refused_total_ = 0;
};

/// The caps from the configured values (0 = default): the global cap defaults to
/// default_max_connections(fd_soft_limit); the per-address cap to 90 % of the global one (at least
/// 1) and never exceeds it.
ConnectionCaps resolve_caps(std::size_t max_total, std::size_t max_per_ip,
                            std::uint64_t fd_soft_limit);

/// The bytes written to a connection refused at a cap: `503` with the JSON error
/// `too_many_connections`, `Retry-After: 1` and `Connection: close`.
const std::string& connection_refused_response();

/// The process's RLIMIT_NOFILE after raise_fd_limit().
struct FdLimit {
  std::uint64_t soft = 0;
  std::uint64_t hard = 0;
};

/// Raises the soft RLIMIT_NOFILE to the hard limit (best effort) and returns the result.
FdLimit raise_fd_limit();
/// The current RLIMIT_NOFILE.
FdLimit current_fd_limit();

/// The default global connection cap for an fd limit: the limit minus a reserve for the
/// database, files, plugins and the listener (max(256, limit/10)), at least 16.
std::size_t default_max_connections(std::uint64_t fd_soft_limit);

}  // namespace jarvis::host

// host/src/system/service_notify.h — systemd's notify protocol for `jarvis serve` (Type=notify,
// WatchdogSec): READY=1 once the server accepts connections, WATCHDOG=1 at half of WATCHDOG_USEC,
// RELOADING=1 when a controlled restart begins (the re-executed image sends READY=1 again),
// STOPPING=1 on shutdown. Every call is a no-op when NOTIFY_SOCKET is unset (not under systemd).
//
//   notify_service_manager("READY=1\nSTATUS=serving on 127.0.0.1:8000");
//   WatchdogPinger pinger;        // pings only when systemd asked for a watchdog
//   pinger.start();               // start-up (migrations): pings unconditionally
//   pinger.watch([&](std::function<void()> f) { server.post_to_io(std::move(f)); });
//   ...                           // serving: pings only while the I/O loop runs its no-ops
//   pinger.watch(nullptr);        // shutdown drains the loop: unconditional again
//   notify_service_manager("STOPPING=1");
//   pinger.stop();
//
// Decision: docs/decisions/0055-systemd-notify-and-watchdog.md.
#pragma once

#include <chrono>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace jarvis::host {

/// Sends `state` (newline-separated VAR=value assignments) to the service manager through
/// libsystemd's sd_notify. Returns true when a datagram was sent, false when NOTIFY_SOCKET is
/// unset or sending failed (logged at debug level; never throws).
bool notify_service_manager(const std::string& state);

/// RELOADING=1 with MONOTONIC_USEC (what systemd 253+ expects with it) and a STATUS line.
std::string reloading_message(const std::string& status);

/// Half of the watchdog timeout systemd set for this process (WATCHDOG_USEC, and WATCHDOG_PID
/// naming this process when set); zero when no watchdog is enabled.
std::chrono::microseconds watchdog_ping_interval();

/// A thread sending WATCHDOG=1 every watchdog_ping_interval() from start() to stop(). When no
/// watchdog is enabled start() starts nothing. With a loop to watch (watch()), a tick pings only
/// when the no-op it posted onto that loop at the previous tick has run: a stuck event loop stops
/// the pings and systemd restarts the host after WatchdogSec. Not copyable; stop() is idempotent
/// and called by the destructor. Thread-safe.
class WatchdogPinger {
 public:
  WatchdogPinger() = default;
  ~WatchdogPinger();
  WatchdogPinger(const WatchdogPinger&) = delete;
  WatchdogPinger& operator=(const WatchdogPinger&) = delete;

  /// Starts pinging (first ping at once); returns false when no watchdog is enabled.
  bool start();
  /// Stops the thread (wakes it at once).
  void stop();
  /// Hands a callable to the loop whose progress the pings must prove (e.g. the HTTP server's
  /// io_context). `post` must not block nor run the callable inline; it may drop it (a stopped
  /// loop), which stops the pings. nullptr: ping unconditionally again (start-up, shutdown). A
  /// no-op is posted at once, so the next tick can ping.
  using Poster = std::function<void(std::function<void()>)>;
  void watch(Poster post);
  /// One step of the pinger thread, exposed for tests: with no loop watched, sends WATCHDOG=1;
  /// otherwise sends it only when the previous no-op ran, then posts the next. Returns true when
  /// WATCHDOG=1 was sent (notify_service_manager succeeded or not: true means "would ping").
  bool tick();
  /// Ticks that found the watched loop stuck (its no-op had not run), since construction.
  std::uint64_t stalled_ticks() const { return stalled_.load(); }

 private:
  /// Posts the next no-op (generation `posted_ + 1`); mu_ held.
  void post_heartbeat_locked();

  Poster poster_;
  /// Generation of the newest no-op that ran on the watched loop (shared with the no-ops, which
  /// may run after this pinger is gone).
  std::shared_ptr<std::atomic<std::uint64_t>> ran_ =
      std::make_shared<std::atomic<std::uint64_t>>(0);
  std::uint64_t posted_ = 0;  ///< generation of the newest no-op posted
  std::atomic<std::uint64_t> stalled_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace jarvis::host

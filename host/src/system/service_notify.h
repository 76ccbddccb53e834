// host/src/system/service_notify.h — systemd's notify protocol for `jarvis serve` (Type=notify,
// WatchdogSec): READY=1 once the server accepts connections, WATCHDOG=1 at half of WATCHDOG_USEC,
// RELOADING=1 when a controlled restart begins (the re-executed image sends READY=1 again),
// STOPPING=1 on shutdown. Every call is a no-op when NOTIFY_SOCKET is unset (not under systemd).
//
//   notify_service_manager("READY=1\nSTATUS=serving on 127.0.0.1:8000");
//   WatchdogPinger pinger;        // pings only when systemd asked for a watchdog
//   pinger.start();
//   ...
//   notify_service_manager("STOPPING=1");
//   pinger.stop();
//
// Decision: docs/decisions/0055-systemd-notify-and-watchdog.md.
#pragma once

#include <chrono>
#include <condition_variable>
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
/// watchdog is enabled start() starts nothing. Not copyable; stop() is idempotent and called by
/// the destructor.
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

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace jarvis::host

// host/src/plugins/shutdown_watchdog.h — ends a stuck shutdown without running destructors.
//
//   ShutdownWatchdog dog(http_grace + task_grace + plugin_drain, [&] { return pm.busy_plugins();
//   }); server.shutdown(http_grace);   // may wait for a handler stuck in plugin code
//   pm.stop_all();
//   dog.disarm();
//
// Parts of shutdown outside the plugin manager (the HTTP server joining its handler threads, the
// task runner) wait for calls running in plugin code. Past the deadline, while `busy()` names
// plugins with calls in flight, the watchdog logs them and calls std::_Exit(1): no plugin object
// (nor any service it uses) is destroyed under a running thread. When nothing is in flight it
// keeps waiting — a slow shutdown for another reason is not its business.
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace jarvis::host {

class ShutdownWatchdog {
 public:
  /// Arms the watchdog: after `deadline`, while `busy()` is non-empty, the process exits with 1.
  ShutdownWatchdog(std::chrono::milliseconds deadline, std::function<std::string()> busy)
      : thread_([this, deadline, busy = std::move(busy)] {
          std::unique_lock lock(mu_);
          if (cv_.wait_for(lock, deadline, [this] { return disarmed_; })) return;
          while (!disarmed_) {
            const std::string names = busy();
            if (!names.empty()) {
              spdlog::error(
                  "plugin drain timed out: shutdown still waiting after {} ms with calls running "
                  "in: {}; exiting without destroying plugin objects (JARVIS_PLUGIN_DRAIN_SECONDS)",
                  deadline.count(), names);
              spdlog::default_logger()->flush();
              std::_Exit(1);
            }
            cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return disarmed_; });
          }
        }) {}
  ~ShutdownWatchdog() { disarm(); }
  ShutdownWatchdog(const ShutdownWatchdog&) = delete;
  ShutdownWatchdog& operator=(const ShutdownWatchdog&) = delete;

  /// Shutdown finished (or reached a point where destroying is safe): stop watching.
  void disarm() {
    {
      std::lock_guard lock(mu_);
      disarmed_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool disarmed_ = false;
  std::thread thread_;  // last: starts after the members it uses exist
};

}  // namespace jarvis::host

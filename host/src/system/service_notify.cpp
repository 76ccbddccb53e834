// host/src/system/service_notify.cpp — sd_notify wrapper and the watchdog thread (see the header).
#include "system/service_notify.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstdlib>
#include <cstring>

namespace jarvis::host {

bool notify_service_manager(const std::string& state) {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  if (!socket || !*socket) return false;
  // unset_environment = 0: a re-executed image (controlled restart) notifies the same socket.
  int rc = sd_notify(0, state.c_str());
  if (rc <= 0) {
    spdlog::debug("sd_notify failed ({}): {}", rc, rc < 0 ? std::strerror(-rc) : "no socket");
    return false;
  }
  return true;
}

std::string reloading_message(const std::string& status) {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  long long usec = static_cast<long long>(ts.tv_sec) * 1000000LL + ts.tv_nsec / 1000;
  return "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec) + "\nSTATUS=" + status;
}

std::chrono::microseconds watchdog_ping_interval() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::chrono::microseconds(0);
  return std::chrono::microseconds(static_cast<long long>(usec / 2));
}

WatchdogPinger::~WatchdogPinger() { stop(); }

bool WatchdogPinger::start() {
  auto interval = watchdog_ping_interval();
  if (interval.count() <= 0 || thread_.joinable()) return false;
  {
    std::lock_guard lk(mu_);
    stopping_ = false;
  }
  spdlog::info("systemd watchdog enabled: WATCHDOG=1 every {} ms", interval.count() / 1000);
  thread_ = std::thread([this, interval] {
    std::unique_lock lk(mu_);
    while (!stopping_) {
      lk.unlock();
      tick();
      lk.lock();
      cv_.wait_for(lk, interval, [this] { return stopping_; });
    }
  });
  return true;
}

void WatchdogPinger::post_heartbeat_locked() {
  const std::uint64_t gen = ++posted_;
  poster_([ran = ran_, gen] {
    std::uint64_t seen = ran->load();
    while (seen < gen && !ran->compare_exchange_weak(seen, gen)) {
    }
  });
}

void WatchdogPinger::watch(Poster post) {
  std::lock_guard lk(mu_);
  poster_ = std::move(post);
  // A fresh generation counter: a no-op still queued on a previous loop proves nothing here.
  ran_ = std::make_shared<std::atomic<std::uint64_t>>(0);
  posted_ = 0;
  if (poster_) post_heartbeat_locked();
}

bool WatchdogPinger::tick() {
  {
    std::lock_guard lk(mu_);
    if (poster_) {
      if (ran_->load() < posted_) {
        // The loop has not run the no-op posted a whole interval ago: no ping, and no second
        // no-op queued behind the first.
        if (stalled_.fetch_add(1) == 0 || stalled_.load() % 16 == 0) {
          spdlog::warn(
              "systemd watchdog: the event loop made no progress for a ping interval; "
              "WATCHDOG=1 withheld");
        }
        return false;
      }
      post_heartbeat_locked();
    }
  }
  notify_service_manager("WATCHDOG=1");
  return true;
}

void WatchdogPinger::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace jarvis::host

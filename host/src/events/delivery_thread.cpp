// host/src/events/delivery_thread.cpp — the hand-off thread for plugin callbacks (see
// delivery_thread.h).
#include "events/delivery_thread.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <utility>

namespace jarvis::host {

DeliveryThread::DeliveryThread(std::string name) : name_(std::move(name)) {}

DeliveryThread::~DeliveryThread() { stop(); }

bool DeliveryThread::post(std::function<void()> job) {
  if (!job) return true;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return false;
    queue_.push_back(std::move(job));
    ++posted_;
    if (!worker_.joinable()) worker_ = std::thread([this] { loop(); });
  }
  cv_.notify_one();
  return true;
}

void DeliveryThread::stop() {
  std::thread worker;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    worker = std::move(worker_);
  }
  cv_.notify_all();
  if (worker.joinable()) worker.join();
}

std::uint64_t DeliveryThread::posted() const {
  std::lock_guard lock(mu_);
  return posted_;
}

std::uint64_t DeliveryThread::completed() const {
  std::lock_guard lock(mu_);
  return completed_;
}

void DeliveryThread::loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, everything ran
    std::function<void()> job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    try {
      job();
    } catch (const std::exception& e) {
      spdlog::error("{}: a handed-off callback threw: {}", name_, e.what());
    } catch (...) {
      spdlog::error("{}: a handed-off callback threw a non-standard exception", name_);
    }
    job = nullptr;  // what it captured dies here, off the I/O thread too
    lock.lock();
    ++completed_;
  }
}

}  // namespace jarvis::host

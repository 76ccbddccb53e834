// host/src/http/handler_pool.cpp — the bounded handler pool (see handler_pool.h).
#include "http/handler_pool.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace jarvis::host {

HandlerPool::HandlerPool(std::size_t threads, std::size_t queue_limit)
    : thread_count_(std::max<std::size_t>(1, threads)), queue_limit_(queue_limit) {
  workers_.reserve(thread_count_);
  for (std::size_t i = 0; i < thread_count_; ++i) workers_.emplace_back([this] { run(); });
}

HandlerPool::~HandlerPool() { shutdown(); }

bool HandlerPool::try_post(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return false;
    // A job may wait only while the queue has room; idle workers take it at once.
    std::size_t idle = thread_count_ - std::min(busy_, thread_count_);
    if (queue_.size() >= idle + queue_limit_) return false;
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void HandlerPool::shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& w : workers_) {
    if (w.joinable()) w.join();
  }
  std::lock_guard lock(mu_);
  workers_.clear();
}

std::size_t HandlerPool::queued() const {
  std::lock_guard lock(mu_);
  std::size_t idle = thread_count_ - std::min(busy_, thread_count_);
  return queue_.size() > idle ? queue_.size() - idle : 0;
}

std::size_t HandlerPool::busy() const {
  std::lock_guard lock(mu_);
  return busy_;
}

void HandlerPool::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      job = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
    }
    try {
      job();
    } catch (const std::exception& e) {
      spdlog::error("handler pool: job threw: {}", e.what());
    } catch (...) {
      spdlog::error("handler pool: job threw a non-standard exception");
    }
    job = nullptr;
    std::lock_guard lock(mu_);
    --busy_;
  }
}

}  // namespace jarvis::host

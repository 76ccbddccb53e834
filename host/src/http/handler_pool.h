// host/src/http/handler_pool.h — the bounded thread pool that runs route handlers off the I/O
// threads, so a slow handler never delays parsing, writing, or the inline system routes
// (/healthz, /readyz, /metrics). A full pool (every thread busy, queue full) refuses new work:
// the server answers 503 `overloaded` with Retry-After instead of queueing without bound.
//
//   HandlerPool pool(8, 256);
//   if (!pool.try_post([] { /* dispatch, then post the write back to the strand */ })) { 503 }
//   pool.shutdown();  // runs what is queued, joins
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace jarvis::host {

class HandlerPool {
 public:
  /// Starts `threads` (≥ 1) workers; at most `queue_limit` jobs wait for a free worker.
  HandlerPool(std::size_t threads, std::size_t queue_limit);
  /// Calls shutdown().
  ~HandlerPool();
  HandlerPool(const HandlerPool&) = delete;
  HandlerPool& operator=(const HandlerPool&) = delete;

  /// Queues `job`; false (job not taken) when every worker is busy and the queue is full, or after
  /// shutdown(). Jobs must not throw (exceptions are logged and swallowed).
  bool try_post(std::function<void()> job);
  /// Refuses new jobs, runs the queued ones, joins the workers. Idempotent. Not from a job.
  void shutdown();

  std::size_t threads() const { return thread_count_; }
  std::size_t queue_limit() const { return queue_limit_; }
  /// Jobs waiting for a worker / jobs running now.
  std::size_t queued() const;
  std::size_t busy() const;

 private:
  void run();

  const std::size_t thread_count_;
  const std::size_t queue_limit_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::size_t busy_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace jarvis::host

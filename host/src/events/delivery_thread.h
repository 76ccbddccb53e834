// host/src/events/delivery_thread.h — one thread that runs plugin callbacks handed off by code on
// an Asio I/O thread (events/io_thread.h), so a slow callback never stalls a connection.
//
//   auto callbacks = std::make_shared<DeliveryThread>("stream-callbacks");
//   if (on_io_thread() && callbacks->post([cbs] { run(cbs); })) return;   // later, in order
//   run(cbs);                                                              // here
//   …
//   callbacks->stop();   // shutdown: runs what is queued, joins; later posts return false
//
// Jobs run one at a time in the order they were posted; one that throws is logged and ignored.
// The thread starts with the first post. The queue is not bounded here: callers bound what they
// post (a stream posts at most two jobs, its cancellation and its on_close callbacks, and streams
// are bounded by the connection caps).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace jarvis::host {

/// A lazily started single worker thread for handed-off callbacks. Thread-safe.
class DeliveryThread {
 public:
  /// `name` appears in the log lines about failing jobs.
  explicit DeliveryThread(std::string name);
  /// stop().
  ~DeliveryThread();
  DeliveryThread(const DeliveryThread&) = delete;
  DeliveryThread& operator=(const DeliveryThread&) = delete;

  /// Queues `job` for the thread (started on first use). Returns false, without queueing, once
  /// stop() began: the caller then runs the job itself.
  bool post(std::function<void()> job);
  /// Runs every job already queued, then joins the thread. Idempotent; never call it from a job.
  void stop();
  /// Jobs posted so far.
  std::uint64_t posted() const;
  /// Jobs completed so far (posted() - completed() are queued or running).
  std::uint64_t completed() const;

 private:
  void loop();

  const std::string name_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::uint64_t posted_ = 0;
  std::uint64_t completed_ = 0;
  std::thread worker_;
};

}  // namespace jarvis::host

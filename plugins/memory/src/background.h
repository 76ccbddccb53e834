// memory/src/background.h — the memory core's thread in `jarvis serve`: keeps this host's vector
// index current from the table (other hosts' vectors on PostgreSQL), saves it, flushes retrieval
// access counts, refreshes the KPI gauges and makes sure pending items get embedded.
//
//   jarvis::memory::BackgroundLoop loop(core);
//   loop.start();     // in Plugin::start()
//   loop.note_access({12, 15});   // from a search; written in batches
//   loop.stop();      // in Plugin::stop(): joins, saves the index
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core.h"

namespace jarvis::memory {

/// See the file comment. Thread-safe.
class BackgroundLoop {
 public:
  explicit BackgroundLoop(MemoryCore& core);
  ~BackgroundLoop();
  void start();
  void stop();
  /// Counts one retrieval of each item (flushed every few seconds; dropped when importance or
  /// writes are off).
  void note_access(const std::vector<long long>& seqs);
  /// Runs one round now (tests, and the first round at start).
  void tick();

 private:
  void run();
  void flush_access();

  MemoryCore& core_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
  std::unordered_map<long long, int> access_;
  std::size_t saved_size_ = 0;
  long long rounds_ = 0;
};

}  // namespace jarvis::memory

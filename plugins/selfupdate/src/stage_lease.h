// selfupdate/src/stage_lease.h — the lease of a running stage (decision 0079). While a stage
// runs, a thread renews its patch's lease_until every third of SELFUPDATE_LEASE (conditional on
// the patch still being in a running state and run by this runner). A process killed with -9
// stops renewing; once lease_until has passed, any process may declare the patch `interrupted`
// — whatever its runner id says (another machine, a reused pid). A stage whose renewal fails has
// lost its patch: lost() turns true and its commands are cancelled.
//
//   StageLease lease(store, id, runner, settings.lease, [&](long long ms) { return at(ms); });
//   run_command(…, jarvis::CancelToken::when([&] { return lease.lost(); }));
//   lease.stop();
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "store.h"

namespace selfupdate {

/// Renews one patch's lease from a background thread until stop() or destruction.
class StageLease {
 public:
  /// `at(ms)` is the ISO time ms from now (the pipeline's clock).
  StageLease(PatchStore& store, std::string trace_id, std::string runner,
             std::chrono::milliseconds lease, std::function<std::string(long long)> at);
  ~StageLease();
  StageLease(const StageLease&) = delete;
  StageLease& operator=(const StageLease&) = delete;

  /// Stops renewing (idempotent).
  void stop();
  /// True once a renewal found the patch no longer ours.
  bool lost() const { return lost_.load(); }

 private:
  void loop();

  PatchStore& store_;
  std::string id_, runner_;
  std::chrono::milliseconds lease_;
  std::function<std::string(long long)> at_;
  std::atomic<bool> lost_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace selfupdate

// chat/src/step_heartbeat.h — keeps a running step's heartbeat fresh while it runs, also during a
// model call that lasts longer than the stale window (decision 0044).
//
// A step's row says it is alive through `heartbeat_at`; a `running` row whose heartbeat is older
// than CHAT_STEP_STALE_SECONDS is presumed dead (its host was killed) and the next step of the
// thread may start. The step refreshes it after every tool round, but a single model call can
// outlast the window — so while a step runs, a StepHeartbeat thread refreshes it every
// CHAT_STEP_HEARTBEAT_SECONDS, and reads the step's cancel flag on the way (a cancel whose live
// push was missed still stops the model request within one interval).
//
//   StepHeartbeat beat(host, step_id, std::chrono::seconds(30), [&] { cancel.cancel(); });
//   … the step runs …                              // the destructor stops and joins the thread
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "jarvis/jarvis.h"

namespace chat {

/// Refreshes one step's heartbeat on its own thread until destroyed. Thread-safe.
class StepHeartbeat {
 public:
  /// Starts the thread: every `every`, ChatStore::heartbeat_step in its own short transaction;
  /// `on_cancel` runs (on that thread) the first time the step's cancel flag is seen set.
  StepHeartbeat(jarvis::Host& host, std::string step_id, std::chrono::milliseconds every,
                std::function<void()> on_cancel);
  /// Stops and joins the thread (at most one database round trip).
  ~StepHeartbeat();
  StepHeartbeat(const StepHeartbeat&) = delete;
  StepHeartbeat& operator=(const StepHeartbeat&) = delete;

  /// Heartbeats written so far (tests, logs).
  int beats() const;

 private:
  void loop();

  jarvis::Host& host_;
  std::string step_id_;
  std::chrono::milliseconds every_;
  std::function<void()> on_cancel_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  int beats_ = 0;
  std::thread thread_;
};

}  // namespace chat

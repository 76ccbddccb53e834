// chat/src/step_heartbeat.cpp — see step_heartbeat.h.
#include "step_heartbeat.h"

#include <algorithm>

#include "store.h"

namespace chat {

StepHeartbeat::StepHeartbeat(jarvis::Host& host, std::string step_id,
                             std::chrono::milliseconds every, std::function<void()> on_cancel)
    : host_(host),
      step_id_(std::move(step_id)),
      every_(std::max(every, std::chrono::milliseconds(10))),
      on_cancel_(std::move(on_cancel)),
      thread_([this] { loop(); }) {}

StepHeartbeat::~StepHeartbeat() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int StepHeartbeat::beats() const {
  std::lock_guard lock(mu_);
  return beats_;
}

void StepHeartbeat::loop() {
  bool cancel_seen = false;
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (cv_.wait_for(lock, every_, [this] { return stop_; })) break;
    lock.unlock();
    bool cancel = false;
    try {
      auto tx = host_.db().transaction();
      cancel = ChatStore::heartbeat_step(tx->session(), step_id_);
      tx->commit();
    } catch (const std::exception& e) {
      // A busy database is no reason to stop the step; the next beat tries again.
      host_.log()->warn("chat: heartbeat of step {} failed: {}", step_id_, e.what());
    }
    if (cancel && !cancel_seen && on_cancel_) {
      cancel_seen = true;
      on_cancel_();
    }
    lock.lock();
    ++beats_;
  }
}

}  // namespace chat

// selfupdate/src/stage_lease.cpp — StageLease (see stage_lease.h) and the pipeline's checks of
// a lease that ran out.
#include "stage_lease.h"

#include <algorithm>

#include "pipeline.h"

namespace selfupdate {

StageLease::StageLease(PatchStore& store, std::string trace_id, std::string runner,
                       std::chrono::milliseconds lease, std::function<std::string(long long)> at)
    : store_(store),
      id_(std::move(trace_id)),
      runner_(std::move(runner)),
      lease_(lease),
      at_(std::move(at)) {
  thread_ = std::thread([this] { loop(); });
}

StageLease::~StageLease() { stop(); }

void StageLease::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void StageLease::loop() {
  const auto every = std::max(lease_ / 3, std::chrono::milliseconds(100));
  std::unique_lock lk(mu_);
  while (!cv_.wait_for(lk, every, [this] { return stop_; })) {
    lk.unlock();
    try {
      auto sql = store_.db().session();
      if (!store_.renew_lease(*sql, id_, runner_, at_(lease_.count()))) lost_ = true;
    } catch (const std::exception&) {
      // A busy database: the next round tries again (the lease has two more thirds).
    }
    lk.lock();
    if (lost_) return;
  }
}

bool Pipeline::lease_expired(const jarvis::Json& row) const {
  const std::string until = row.value("lease_until", "");
  return is_running_state(row.value("state", "")) && !until.empty() && until < now();
}

jarvis::Json Pipeline::reap_if_expired(const jarvis::Json& row) {
  if (!lease_expired(row)) return row;
  const std::string id = row["trace_id"];
  const std::string state = row["state"];
  std::string stage = row.value("stage", "");
  if (stage.empty())
    stage = state == "validating"  ? "validate"
            : state == "testing"   ? "test"
            : state == "applying"  ? "apply"
            : state == "verifying" ? "verify"
                                   : "rollback";
  move(id, state, "interrupted",
       "the lease of stage " + stage + " ran out at " + row.value("lease_until", "") + " (runner " +
           row.value("runner", "") + " stopped renewing it at step '" + row.value("step", "") +
           "')",
       "system", {{"interrupted_stage", stage}, {"lease_until", nullptr}});
  jarvis::Json now_row = store_.get(id);
  return now_row.is_null() ? row : now_row;
}

}  // namespace selfupdate

// Cooperative cancellation tokens (jarvis/cancel.h).
#include "jarvis/cancel.h"

#include <atomic>
#include <mutex>
#include <utility>
#include <vector>

namespace jarvis {
namespace detail {

struct CancelState {
  std::atomic<bool> flag{false};
  std::function<bool()> predicate;             // for CancelToken::when
  std::shared_ptr<CancelState> first, second;  // for CancelToken::any
  std::mutex mu;
  std::vector<std::function<void()>> callbacks;  // guarded by mu

  bool cancelled() const {
    if (flag.load(std::memory_order_acquire)) return true;
    if (predicate && predicate()) return true;
    if (first && first->cancelled()) return true;
    if (second && second->cancelled()) return true;
    return false;
  }

  // Sets the flag; returns the callbacks to run (none when it was already set).
  std::vector<std::function<void()>> mark_cancelled() {
    std::vector<std::function<void()>> run;
    std::lock_guard lock(mu);
    if (flag.exchange(true, std::memory_order_acq_rel)) return run;
    run.swap(callbacks);
    return run;
  }

  static void run_all(std::vector<std::function<void()>>& run) {
    for (auto& cb : run) {
      try {
        cb();
      } catch (...) {  // a callback never breaks the canceller
      }
    }
    run.clear();
  }

  void cancel() {
    auto run = mark_cancelled();
    run_all(run);
  }

  void on_cancel(std::function<void()> cb) {
    {
      std::lock_guard lock(mu);
      if (!flag.load(std::memory_order_acquire)) {
        callbacks.push_back(std::move(cb));
        return;
      }
    }
    cb();
  }
};

}  // namespace detail

CancelToken CancelToken::when(std::function<bool()> predicate) {
  if (!predicate) return {};
  auto s = std::make_shared<detail::CancelState>();
  s->predicate = std::move(predicate);
  return CancelToken(std::move(s));
}

CancelToken CancelToken::any(const CancelToken& a, const CancelToken& b) {
  if (!a.state_) return b;
  if (!b.state_) return a;
  auto s = std::make_shared<detail::CancelState>();
  s->first = a.state_;
  s->second = b.state_;
  // Explicit cancellation of either side runs this token's callbacks too.
  std::weak_ptr<detail::CancelState> weak = s;
  auto forward = [weak] {
    if (auto p = weak.lock()) p->cancel();
  };
  a.state_->on_cancel(forward);
  b.state_->on_cancel(forward);
  return CancelToken(std::move(s));
}

bool CancelToken::cancelled() const { return state_ && state_->cancelled(); }

void CancelToken::on_cancel(std::function<void()> callback) const {
  if (state_ && callback) state_->on_cancel(std::move(callback));
}

CancelSource::CancelSource() : state_(std::make_shared<detail::CancelState>()) {}
CancelToken CancelSource::token() const { return CancelToken(state_); }
void CancelSource::cancel() { state_->cancel(); }
void CancelSource::cancel_deferred(const std::function<void(std::function<void()>)>& run) {
  auto callbacks = std::make_shared<std::vector<std::function<void()>>>(state_->mark_cancelled());
  if (callbacks->empty()) return;
  if (!run) return detail::CancelState::run_all(*callbacks);
  run([callbacks] { detail::CancelState::run_all(*callbacks); });
}
bool CancelSource::cancelled() const { return state_->cancelled(); }

}  // namespace jarvis

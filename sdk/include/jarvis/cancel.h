// jarvis/cancel.h — cooperative cancellation shared by tasks, streams, outbound HTTP and
// subprocesses.
//
//   jarvis::CancelSource source;                    // owned by whoever may cancel
//   auto req = jarvis::OutboundRequest{…};
//   req.cancel = source.token();                    // handed to the work that should stop
//   …                                               // elsewhere: source.cancel();
//
//   // From a task: stop the upstream call when the host asks the task to stop.
//   req.cancel = jarvis::CancelToken::when(ctx.should_stop);
//
// A token is cheap to copy (one shared pointer) and thread-safe. It is cancelled when its source
// calls cancel() or, for a token made with `when`, as soon as the predicate returns true when
// polled. Long-running consumers (the host's HTTP client, run_process, streams) poll
// `cancelled()` at least every 100 ms, so predicate tokens need no thread of their own; callbacks
// registered with `on_cancel` run once, on the thread that calls cancel() (or immediately when the
// token is already cancelled) — keep them short and non-blocking. A canceller that must not run
// them itself (SDK 1.1: the host when a stream closes on one of its I/O threads) uses
// `cancel_deferred`: the token reports cancelled() at once and the callbacks run on a thread of
// the canceller's choosing:
//
//   source.cancel_deferred([&pool](std::function<void()> callbacks) { pool.post(callbacks); });
#pragma once

#include <functional>
#include <memory>

#include "jarvis/version.h"

namespace jarvis {

namespace detail {
struct CancelState;
}

/// Observes a cancellation; default-constructed tokens are never cancelled.
class JARVIS_API CancelToken {
 public:
  CancelToken() = default;
  /// A token that is cancelled once `predicate()` returns true (polled by consumers), e.g.
  /// `CancelToken::when(ctx.should_stop)`. An empty predicate gives a never-cancelled token.
  static CancelToken when(std::function<bool()> predicate);
  /// A token cancelled when either `a` or `b` is.
  static CancelToken any(const CancelToken& a, const CancelToken& b);

  /// True once cancelled. Cheap; safe to call from any thread.
  bool cancelled() const;
  /// True when this token can ever be cancelled (it has a source or a predicate).
  bool can_cancel() const { return static_cast<bool>(state_); }
  /// Runs `callback` once when the token is cancelled through its source (immediately when it is
  /// already). Predicate tokens only report through `cancelled()`.
  void on_cancel(std::function<void()> callback) const;

 private:
  friend class CancelSource;
  explicit CancelToken(std::shared_ptr<detail::CancelState> state) : state_(std::move(state)) {}
  std::shared_ptr<detail::CancelState> state_;
};

/// Owns a cancellation: hand out `token()`, call `cancel()` to stop the work.
class JARVIS_API CancelSource {
 public:
  CancelSource();
  /// A token observing this source.
  CancelToken token() const;
  /// Cancels every token of this source and runs their callbacks. Idempotent.
  void cancel();
  /// SDK 1.1: cancels every token of this source now (cancelled() is true when this returns) but,
  /// instead of running the on_cancel callbacks here, hands them to `run` as one function that
  /// runs them all, in registration order. `run` is called at most once, on this thread, and not
  /// at all when there is nothing to run or the source was already cancelled. An exception from a
  /// callback is swallowed, as with cancel().
  void cancel_deferred(const std::function<void(std::function<void()>)>& run);
  bool cancelled() const;

 private:
  std::shared_ptr<detail::CancelState> state_;
};

}  // namespace jarvis

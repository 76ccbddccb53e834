// Tests of jarvis/cancel.h: sources, predicate tokens, combined tokens and callbacks.
#include "jarvis/cancel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <stdexcept>
#include <vector>
#include <thread>

namespace {

TEST(Cancel, DefaultTokenIsNeverCancelled) {
  jarvis::CancelToken t;
  EXPECT_FALSE(t.can_cancel());
  EXPECT_FALSE(t.cancelled());
  bool ran = false;
  t.on_cancel([&] { ran = true; });
  EXPECT_FALSE(ran);
}

TEST(Cancel, SourceCancelsItsTokensAndRunsCallbacksOnce) {
  jarvis::CancelSource src;
  auto t = src.token();
  int runs = 0;
  t.on_cancel([&] { ++runs; });
  EXPECT_FALSE(t.cancelled());
  src.cancel();
  src.cancel();  // idempotent
  EXPECT_TRUE(t.cancelled());
  EXPECT_TRUE(src.cancelled());
  EXPECT_EQ(runs, 1);
  // Registering after cancellation runs immediately.
  t.on_cancel([&] { ++runs; });
  EXPECT_EQ(runs, 2);
}

TEST(Cancel, ThrowingCallbackDoesNotStopOthers) {
  jarvis::CancelSource src;
  int runs = 0;
  src.token().on_cancel([] { throw std::runtime_error("x"); });
  src.token().on_cancel([&] { ++runs; });
  src.cancel();
  EXPECT_EQ(runs, 1);
}

TEST(Cancel, PredicateTokenFollowsThePredicate) {
  std::atomic<bool> stop{false};
  auto t = jarvis::CancelToken::when([&] { return stop.load(); });
  EXPECT_TRUE(t.can_cancel());
  EXPECT_FALSE(t.cancelled());
  stop = true;
  EXPECT_TRUE(t.cancelled());
  EXPECT_FALSE(jarvis::CancelToken::when({}).can_cancel());
}

TEST(Cancel, AnyIsCancelledByEitherSide) {
  jarvis::CancelSource a;
  std::atomic<bool> stop{false};
  auto both =
      jarvis::CancelToken::any(a.token(), jarvis::CancelToken::when([&] { return stop.load(); }));
  EXPECT_FALSE(both.cancelled());
  stop = true;
  EXPECT_TRUE(both.cancelled());

  jarvis::CancelSource b, c;
  auto either = jarvis::CancelToken::any(b.token(), c.token());
  int runs = 0;
  either.on_cancel([&] { ++runs; });
  c.cancel();
  EXPECT_TRUE(either.cancelled());
  EXPECT_EQ(runs, 1);
  EXPECT_FALSE(b.cancelled());
}

TEST(Cancel, CancelFromAnotherThreadIsSeen) {
  jarvis::CancelSource src;
  auto t = src.token();
  std::thread th([&] { src.cancel(); });
  th.join();
  EXPECT_TRUE(t.cancelled());
}

// SDK 1.1: a canceller that must not run callbacks itself (the host on an I/O thread).
TEST(Cancel, CancelDeferredCancelsAtOnceAndHandsTheCallbacksOver) {
  jarvis::CancelSource src;
  auto t = src.token();
  std::vector<int> order;
  t.on_cancel([&] { order.push_back(1); });
  t.on_cancel([&] { throw std::runtime_error("ignored"); });
  t.on_cancel([&] { order.push_back(3); });
  std::vector<std::function<void()>> handed;
  src.cancel_deferred([&](std::function<void()> run) { handed.push_back(std::move(run)); });
  EXPECT_TRUE(t.cancelled()) << "the token is cancelled before any callback ran";
  EXPECT_TRUE(order.empty()) << "no callback ran on the cancelling thread";
  ASSERT_EQ(handed.size(), 1u) << "one job for all callbacks";
  std::thread other(handed[0]);
  other.join();
  EXPECT_EQ(order, (std::vector<int>{1, 3})) << "in registration order; a throw is swallowed";
  // Idempotent: a second cancel (of either kind) hands nothing over and runs nothing.
  src.cancel_deferred([&](std::function<void()> run) { handed.push_back(std::move(run)); });
  src.cancel();
  EXPECT_EQ(handed.size(), 1u);
  EXPECT_EQ(order.size(), 2u);
  // Nothing registered: `run` is not called at all.
  jarvis::CancelSource quiet;
  bool called = false;
  quiet.cancel_deferred([&](std::function<void()>) { called = true; });
  EXPECT_FALSE(called);
  EXPECT_TRUE(quiet.cancelled());
}

}  // namespace

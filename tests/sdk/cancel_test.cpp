// Tests of jarvis/cancel.h: sources, predicate tokens, combined tokens and callbacks.
#include "jarvis/cancel.h"

#include <gtest/gtest.h>

#include <atomic>
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

}  // namespace

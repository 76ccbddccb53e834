// Tests of the SDK's timestamps (fixed-width ISO-8601 UTC) and random identifiers.
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "jarvis/database.h"

namespace {

const std::regex kIso(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");

/// Seconds since the epoch of an ISO timestamp produced by the SDK (UTC).
long long epoch_seconds(const std::string& iso) {
  std::tm tm{};
  EXPECT_NE(strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%S", &tm), nullptr) << iso;
  return static_cast<long long>(timegm(&tm));
}

TEST(Timestamps, FixedWidthIsoUtc) {
  std::string now = jarvis::now_iso();
  EXPECT_TRUE(std::regex_match(now, kIso)) << now;
  EXPECT_EQ(now.size(), 24u);
  long long sys = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  EXPECT_LE(std::llabs(epoch_seconds(now) - sys), 2);
}

TEST(Timestamps, OffsetsMoveTheClock) {
  long long base = epoch_seconds(jarvis::iso_from_now(0));
  long long day_ahead = epoch_seconds(jarvis::iso_from_now(86'400'000));
  long long day_back = epoch_seconds(jarvis::iso_from_now(-86'400'000));
  EXPECT_NEAR(static_cast<double>(day_ahead - base), 86400.0, 2.0);
  EXPECT_NEAR(static_cast<double>(base - day_back), 86400.0, 2.0);
}

TEST(Timestamps, TextOrderIsTimeOrder) {
  std::vector<long long> offsets = {-400LL * 86'400'000, -1500, -1, 0, 1, 999, 1000, 3'600'000,
                                    366LL * 86'400'000};
  std::string prev;
  for (long long off : offsets) {
    std::string t = jarvis::iso_from_now(off);
    EXPECT_TRUE(std::regex_match(t, kIso)) << t;
    EXPECT_LE(prev, t) << "offset " << off;
    prev = t;
  }
  // Far past and far future keep the fixed width.
  std::string past = jarvis::iso_from_now(-40LL * 365 * 86'400'000);
  std::string future = jarvis::iso_from_now(5000LL * 365 * 86'400'000);
  EXPECT_TRUE(std::regex_match(past, kIso)) << past;
  EXPECT_TRUE(std::regex_match(future, kIso)) << future;
  EXPECT_LT(past, future);
}

TEST(Timestamps, AbsurdOffsetsClampInsteadOfOverflowing) {
  EXPECT_EQ(jarvis::iso_from_now(std::numeric_limits<long long>::max()),
            "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(jarvis::iso_from_now(std::numeric_limits<long long>::min()),
            "0001-01-01T00:00:00.000Z");
}

TEST(Ids, PrefixAnd128RandomBits) {
  std::string id = jarvis::new_id("bug");
  EXPECT_TRUE(std::regex_match(id, std::regex("bug_[0-9a-f]{32}"))) << id;
  EXPECT_TRUE(std::regex_match(jarvis::new_id(""), std::regex("_[0-9a-f]{32}")));
}

TEST(Ids, UniqueAcrossThreads) {
  constexpr int kThreads = 4, kPerThread = 5000;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &ids] {
      for (int i = 0; i < kPerThread; ++i) ids[t].push_back(jarvis::new_id("x"));
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> all;
  for (auto& v : ids) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kPerThread));
}

}  // namespace

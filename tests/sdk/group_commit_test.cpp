// tests/sdk/group_commit_test.cpp — jarvis::GroupCommit (jarvis/group_commit.h, decisions 0093
// and 0089) on a real SQLite file and on the test PostgreSQL: a leader waits for the requests
// announced before it started, so two requests land in one transaction instead of two; a
// withdrawn announcement (a duplicate, a held message) lets the leader go on; an announcement made
// after the leader started does not hold it; a failing item in a gathered batch still fails only
// itself, and that batch is one fallback (counted, reported to the hook, its survivors committed
// alone); an item that asks to be rolled back alone writes nothing; the state snapshot shows a
// committing leader and the queue behind it. No timing: the tests wait for states, never for
// durations.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <stdexcept>
#include <utility>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "jarvis/group_commit.h"
#include "jarvis/sql.h"
#include "tasks/task_test_env.h"

namespace sdk_group_commit_test {

using jarvis::GroupCommit;
using jarvis::host::testing::Db;

class SdkGroupCommit : public ::testing::TestWithParam<Db> {
 protected:
  void SetUp() override {
    db_ = jarvis::host::testing::open_db(GetParam(), dir_, 4);
    ASSERT_TRUE(db_);
    auto s = db_->session();
    jarvis::sql::exec(*s, "CREATE TABLE sdk_gc_rows(v TEXT PRIMARY KEY)");
  }

  /// Work that inserts `v` (a repeated `v` violates the primary key: the item throws).
  static GroupCommit::Work insert(const std::string& v) {
    return [v](jarvis::Transaction& tx) {
      jarvis::sql::exec(tx.session(), "INSERT INTO sdk_gc_rows(v) VALUES(:v)", {v});
      return true;
    };
  }

  long long rows() {
    auto s = db_->session();
    return jarvis::sql::scalar_int(*s, "SELECT COUNT(*) FROM sdk_gc_rows");
  }

  /// Waits until a leader is gathering (a hang guard, not a threshold).
  static void wait_gathering(const GroupCommit& gc) {
    ASSERT_TRUE(jarvis::host::testing::wait_until([&] { return gc.gathering(); }));
  }

  jarvis::test::TempDir dir_;
  std::unique_ptr<jarvis::host::SqlDatabase> db_;
};

TEST_P(SdkGroupCommit, ALeaderWaitsForAnAnnouncedRequestAndCommitsBothInOneTransaction) {
  GroupCommit gc(*db_);
  auto early = std::make_optional(gc.arrive());  // still reading outside the transaction
  auto leader = std::async(std::launch::async, [&] {
    GroupCommit::Arrival mine = gc.arrive();
    return gc.run(mine, insert("leader"));
  });
  wait_gathering(gc);  // without gathering the leader would commit alone here
  EXPECT_EQ(gc.batches(), 0u);
  EXPECT_TRUE(gc.run(*early, insert("early")));
  EXPECT_TRUE(leader.get());
  EXPECT_EQ(gc.batches(), 1u);  // one transaction …
  EXPECT_EQ(gc.items(), 2u);    // … holding both messages
  EXPECT_EQ(rows(), 2);
}

TEST_P(SdkGroupCommit, AWithdrawnAnnouncementLetsTheLeaderCommitAlone) {
  GroupCommit gc(*db_);
  auto duplicate = std::make_optional(gc.arrive());  // will turn out to be a duplicate
  auto leader = std::async(std::launch::async, [&] { return gc.run(insert("only")); });
  wait_gathering(gc);
  duplicate.reset();  // the early return of admit(): nothing to commit
  EXPECT_TRUE(leader.get());
  EXPECT_FALSE(gc.gathering());
  EXPECT_EQ(gc.batches(), 1u);
  EXPECT_EQ(gc.items(), 1u);
  EXPECT_EQ(rows(), 1);
}

TEST_P(SdkGroupCommit, AnAnnouncementAfterTheLeaderStartedDoesNotHoldIt) {
  GroupCommit gc(*db_);
  auto early = std::make_optional(gc.arrive());
  auto leader = std::async(std::launch::async, [&] { return gc.run(insert("first")); });
  wait_gathering(gc);
  GroupCommit::Arrival late = gc.arrive();  // after the leader began: not waited for
  early.reset();
  EXPECT_TRUE(leader.get());  // would hang if `late` held the leader
  EXPECT_EQ(gc.items(), 1u);
  // The late one still commits (its own batch).
  EXPECT_TRUE(gc.run(late, insert("late")));
  EXPECT_EQ(gc.batches(), 2u);
  EXPECT_EQ(rows(), 2);
}

TEST_P(SdkGroupCommit, AFailingItemOfAGatheredBatchFailsOnlyItself) {
  {
    auto s = db_->session();
    jarvis::sql::exec(*s, "INSERT INTO sdk_gc_rows(v) VALUES('taken')");
  }
  GroupCommit gc(*db_);
  auto bad = std::make_optional(gc.arrive());
  auto good = std::async(std::launch::async, [&] {
    GroupCommit::Arrival mine = gc.arrive();
    return gc.run(mine, insert("good"));
  });
  wait_gathering(gc);
  EXPECT_THROW(gc.run(*bad, insert("taken")), std::exception);  // the primary key refuses it
  EXPECT_TRUE(good.get());
  EXPECT_EQ(rows(), 2);  // 'taken' once, and 'good'
  auto s = db_->session();
  EXPECT_EQ(jarvis::sql::scalar_int(*s, "SELECT COUNT(*) FROM sdk_gc_rows WHERE v = 'good'"), 1);
  EXPECT_EQ(gc.fallbacks(), 1u);  // the gathered batch failed once; both ran again alone
}

TEST_P(SdkGroupCommit, AFailedBatchIsOneFallbackReportedToTheHookAndItsSurvivorsCommitAlone) {
  {
    auto s = db_->session();
    jarvis::sql::exec(*s, "INSERT INTO sdk_gc_rows(v) VALUES('taken')");
  }
  std::mutex hook_mu;
  std::vector<std::pair<std::size_t, std::string>> reported;
  GroupCommit gc(*db_, 64, [&](std::size_t n, const std::string& why) {
    std::lock_guard lock(hook_mu);
    reported.emplace_back(n, why);
  });
  // Three requests announced before the leader starts: one batch of three, the middle one bad.
  auto a1 = std::make_optional(gc.arrive());
  auto a2 = std::make_optional(gc.arrive());
  auto leader = std::async(std::launch::async, [&] {
    GroupCommit::Arrival mine = gc.arrive();
    return gc.run(mine, insert("first"));
  });
  wait_gathering(gc);
  auto bad = std::async(std::launch::async, [&] { return gc.run(*a1, insert("taken")); });
  ASSERT_TRUE(jarvis::host::testing::wait_until([&] { return gc.state().queued == 2; }));
  EXPECT_TRUE(gc.run(*a2, insert("third")));
  EXPECT_TRUE(leader.get());
  EXPECT_THROW(bad.get(), std::exception);
  const GroupCommit::State st = gc.state();
  EXPECT_EQ(st.fallbacks, 1u);
  EXPECT_EQ(st.batches, 3u);  // each of the three alone; the failed batch is not a batch
  EXPECT_EQ(st.items, 3u);
  EXPECT_EQ(st.queued, 0u);
  EXPECT_FALSE(st.committing);
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0].first, 3u);
  EXPECT_FALSE(reported[0].second.empty());
  EXPECT_EQ(rows(), 3);  // 'taken' once, 'first', 'third'
}

TEST_P(SdkGroupCommit, AnItemThatAsksToBeRolledBackWritesNothingAndAThrowingHookHarmsNobody) {
  GroupCommit gc(*db_, 64, [](std::size_t, const std::string&) { throw std::runtime_error("x"); });
  auto a1 = std::make_optional(gc.arrive());
  auto leader = std::async(std::launch::async, [&] {
    GroupCommit::Arrival mine = gc.arrive();
    return gc.run(mine, insert("kept"));
  });
  wait_gathering(gc);
  // Writes a row, then asks to be rolled back: its batch falls back, and alone it commits nothing.
  EXPECT_FALSE(gc.run(*a1, [](jarvis::Transaction& tx) {
    jarvis::sql::exec(tx.session(), "INSERT INTO sdk_gc_rows(v) VALUES('rolled-back')");
    return false;
  }));
  EXPECT_TRUE(leader.get());
  EXPECT_EQ(gc.fallbacks(), 1u);
  auto s = db_->session();
  EXPECT_EQ(jarvis::sql::scalar_int(*s, "SELECT COUNT(*) FROM sdk_gc_rows WHERE v = 'kept'"), 1);
  EXPECT_EQ(rows(), 1);
}

TEST_P(SdkGroupCommit, TheStateShowsTheCommittingLeaderAndTheQueueBehindIt) {
  GroupCommit gc(*db_);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> inside{false};
  auto leader = std::async(std::launch::async, [&] {
    return gc.run([&](jarvis::Transaction& tx) {
      jarvis::sql::exec(tx.session(), "INSERT INTO sdk_gc_rows(v) VALUES('leader')");
      inside = true;
      released.wait();  // test only: holds the batch so the next ones queue
      return true;
    });
  });
  ASSERT_TRUE(jarvis::host::testing::wait_until([&] { return inside.load(); }));
  GroupCommit::State st = gc.state();
  EXPECT_TRUE(st.committing);
  EXPECT_EQ(st.queued, 0u);
  auto f1 = std::async(std::launch::async, [&] { return gc.run(insert("one")); });
  auto f2 = std::async(std::launch::async, [&] { return gc.run(insert("two")); });
  ASSERT_TRUE(jarvis::host::testing::wait_until([&] { return gc.state().queued == 2; }));
  release.set_value();
  EXPECT_TRUE(leader.get());
  EXPECT_TRUE(f1.get());
  EXPECT_TRUE(f2.get());
  st = gc.state();
  EXPECT_EQ(st.batches, 2u);  // the leader's, then both queued ones together
  EXPECT_EQ(st.items, 3u);
  EXPECT_EQ(st.fallbacks, 0u);
  EXPECT_EQ(rows(), 3);
}

INSTANTIATE_TEST_SUITE_P(Backends, SdkGroupCommit, ::testing::Values(Db::Sqlite, Db::Postgresql),
                         jarvis::host::testing::db_name);

}  // namespace sdk_group_commit_test

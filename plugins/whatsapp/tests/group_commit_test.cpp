// whatsapp/tests/group_commit_test.cpp — GroupCommit's gathering (decision 0093) on a real
// SQLite file and on the test PostgreSQL: a leader waits for the requests announced before it
// started, so two requests land in one transaction instead of two; a withdrawn announcement (a
// duplicate, a held message) lets the leader go on; an announcement made after the leader started
// does not hold it; a failing item in a gathered batch still fails only itself. No timing: the
// tests wait for states (the leader gathering), never for durations.
#include <gtest/gtest.h>

#include <future>
#include <optional>
#include <thread>

#include "group_commit.h"
#include "jarvis/sql.h"
#include "tasks/task_test_env.h"

namespace wa_group_commit_test {

using jarvis::host::testing::Db;
using whatsapp::GroupCommit;

class WhatsappGroupCommit : public ::testing::TestWithParam<Db> {
 protected:
  void SetUp() override {
    db_ = jarvis::host::testing::open_db(GetParam(), dir_, 4);
    ASSERT_TRUE(db_);
    auto s = db_->session();
    jarvis::sql::exec(*s, "CREATE TABLE wa_gc_rows(v TEXT PRIMARY KEY)");
  }

  /// Work that inserts `v` (a repeated `v` violates the primary key: the item throws).
  static GroupCommit::Work insert(const std::string& v) {
    return [v](jarvis::Transaction& tx) {
      jarvis::sql::exec(tx.session(), "INSERT INTO wa_gc_rows(v) VALUES(:v)", {v});
      return true;
    };
  }

  long long rows() {
    auto s = db_->session();
    return jarvis::sql::scalar_int(*s, "SELECT COUNT(*) FROM wa_gc_rows");
  }

  /// Waits until a leader is gathering (a hang guard, not a threshold).
  static void wait_gathering(const GroupCommit& gc) {
    ASSERT_TRUE(jarvis::host::testing::wait_until([&] { return gc.gathering(); }));
  }

  jarvis::test::TempDir dir_;
  std::unique_ptr<jarvis::host::SqlDatabase> db_;
};

TEST_P(WhatsappGroupCommit, ALeaderWaitsForAnAnnouncedRequestAndCommitsBothInOneTransaction) {
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

TEST_P(WhatsappGroupCommit, AWithdrawnAnnouncementLetsTheLeaderCommitAlone) {
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

TEST_P(WhatsappGroupCommit, AnAnnouncementAfterTheLeaderStartedDoesNotHoldIt) {
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

TEST_P(WhatsappGroupCommit, AFailingItemOfAGatheredBatchFailsOnlyItself) {
  {
    auto s = db_->session();
    jarvis::sql::exec(*s, "INSERT INTO wa_gc_rows(v) VALUES('taken')");
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
  EXPECT_EQ(jarvis::sql::scalar_int(*s, "SELECT COUNT(*) FROM wa_gc_rows WHERE v = 'good'"), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, WhatsappGroupCommit,
                         ::testing::Values(Db::Sqlite, Db::Postgresql),
                         jarvis::host::testing::db_name);

}  // namespace wa_group_commit_test

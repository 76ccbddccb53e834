// tests/db/db_fixture.h — the fixture shared by the database tests: every test runs once on a
// fresh SQLite file and once on a fresh PostgreSQL database of the test cluster.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "db/sql_database.h"
#include "support/support.h"

namespace jarvis::host::dbtest {

using jarvis::test::Backend;
using jarvis::test::backend_name;

/// A fresh database per test (SQLite file in a temp dir, or a new PostgreSQL database).
class DbTest : public testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    url_ = jarvis::test::fresh_database_url(GetParam(), tmp_);
    ASSERT_FALSE(url_.empty()) << "no test PostgreSQL";
    db_ = SqlDatabase::open(url_, 4);
  }

  /// Opens another, independent pool on the same database (a second "host").
  std::unique_ptr<SqlDatabase> open_again(std::size_t pool = 2) {
    return SqlDatabase::open(url_, pool);
  }

  /// True if a table of that name exists.
  bool table_exists(const std::string& name) {
    auto s = db_->session();
    int n = 0;
    if (db_->dialect() == jarvis::Dialect::Sqlite) {
      *s << "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = :n",
          soci::use(name), soci::into(n);
    } else {
      *s << "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = :n", soci::use(name),
          soci::into(n);
    }
    return n > 0;
  }

  /// Runs a COUNT(*)-style query returning one integer.
  int count(const std::string& query) {
    auto s = db_->session();
    int n = -1;
    *s << query, soci::into(n);
    return n;
  }

  jarvis::test::TempDir tmp_;
  std::string url_;
  std::unique_ptr<SqlDatabase> db_;
};

}  // namespace jarvis::host::dbtest

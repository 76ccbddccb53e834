// tests/tasks/task_test_env.h — shared set-up for the task queue and scheduler tests: a migrated
// SQLite file or a fresh PostgreSQL database, and a polling wait helper.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "db/migrations.h"
#include "db/sql_database.h"
#include "support/support.h"

namespace jarvis::host::testing {

/// Which database a parameterised test runs on.
enum class Db { Sqlite, Postgresql };

inline std::string db_name(const ::testing::TestParamInfo<Db>& info) {
  return info.param == Db::Sqlite ? "sqlite" : "postgresql";
}

/// Opens a migrated database of kind `kind` (SQLite in `dir`, or a fresh PostgreSQL database).
inline std::unique_ptr<SqlDatabase> open_db(Db kind, const jarvis::test::TempDir& dir,
                                            std::size_t pool = 8, std::string* url_out = nullptr) {
  std::string url =
      kind == Db::Sqlite ? "sqlite://" + dir.file("jarvis.db") : jarvis::test::pg_fresh_database();
  if (url.empty()) return nullptr;
  auto db = SqlDatabase::open(url, pool);
  MigrationRunner(*db).apply({{"host", std::string(JARVIS_SOURCE_DIR) + "/migrations"}});
  if (url_out) *url_out = url;
  return db;
}

/// Polls `done` every 10 ms until it is true or `limit` passes; returns its last value. The
/// limit is a hang guard, not a performance threshold.
inline bool wait_until(const std::function<bool()>& done,
                       std::chrono::milliseconds limit = std::chrono::seconds(60)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

}  // namespace jarvis::host::testing

// tests/system/system_fixture.h — a migrated database (SQLite file or fresh PostgreSQL database),
// a real event bus recording every event, and helpers for the safety-state tests.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "db/migrations.h"
#include "db/sql_database.h"
#include "registry/event_bus.h"
#include "support/support.h"
#include "system/system_state.h"

namespace jarvis::host::systest {

using jarvis::test::Backend;
using jarvis::test::backend_name;

class SystemTest : public testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    url_ = jarvis::test::fresh_database_url(GetParam(), tmp_);
    ASSERT_FALSE(url_.empty()) << "no test PostgreSQL";
    db_ = SqlDatabase::open(url_, 4);
    MigrationRunner(*db_).apply({{"host", std::string(JARVIS_SOURCE_DIR) + "/migrations"}});
    bus_ = std::make_unique<EventBusImpl>(db_.get(), nullptr);
    bus_->subscribe(Owner{"recorder", nullptr}, "", [this](const jarvis::Event& e) {
      std::lock_guard lock(mu_);
      events_.push_back(e);
    });
    options_.unlock_code_path = tmp_.file("var/unlock_code");
  }

  std::unique_ptr<SystemState> make_state() {
    return std::make_unique<SystemState>(*db_, bus_.get(), options_);
  }

  /// Events recorded so far whose type equals `type`.
  std::vector<jarvis::Event> events(const std::string& type) {
    std::lock_guard lock(mu_);
    std::vector<jarvis::Event> out;
    for (const auto& e : events_) {
      if (e.type == type) out.push_back(e);
    }
    return out;
  }

  /// Runs a statement on the database (simulating time passing, another instance, …).
  void exec(const std::string& sql) {
    auto s = db_->session();
    *s << sql;
  }

  std::string text(const std::string& query) {
    auto s = db_->session();
    std::string out;
    *s << query, soci::into(out);
    return out;
  }

  int integer(const std::string& query) {
    auto s = db_->session();
    int out = -1;
    *s << query, soci::into(out);
    return out;
  }

  /// The code the operator would read from ADMIN_UNLOCK_CODE_PATH.
  std::string code_file() {
    std::string c = jarvis::test::read_file(options_.unlock_code_path);
    while (!c.empty() && (c.back() == '\n')) c.pop_back();
    return c;
  }

  template <class P>
  static bool eventually(P pred) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return pred();
  }

  jarvis::test::TempDir tmp_;
  std::string url_;
  std::unique_ptr<SqlDatabase> db_;
  std::unique_ptr<EventBusImpl> bus_;
  SystemOptions options_;
  std::mutex mu_;
  std::vector<jarvis::Event> events_;
};

}  // namespace jarvis::host::systest

// tests/plugins/plugin_threads_test.cpp — a plugin claims conversation threads through
// Host::threads(): the claim lands in `thread_owners` with the plugin as component, another user's
// claim is refused, access follows ownership, and a process without the registry says so.
#include <gtest/gtest.h>

#include "auth/thread_owners.h"
#include "db/migrations.h"
#include "db/sql_database.h"
#include "jarvis/error.h"
#include "plugins/plugin_config.h"
#include "plugins/plugin_host.h"
#include "support/support.h"

namespace jarvis::host {
namespace {

class PluginThreadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = SqlDatabase::open(tmp_.file("t.db"), 2);
    MigrationRunner(*db_).apply({{"host", std::string(JARVIS_SOURCE_DIR) + "/migrations"}});
    owners_ = std::make_unique<ThreadOwners>(*db_);
  }
  jarvis::test::TempDir tmp_;
  std::unique_ptr<SqlDatabase> db_;
  std::unique_ptr<ThreadOwners> owners_;
  PluginConfigImpl config_{"chatty", {}, nullptr};
};

TEST_F(PluginThreadsTest, ClaimOwnerAccessAndRelease) {
  HostServices s;
  s.threads = owners_.get();
  PluginHost host(Owner{"chatty", {}}, s, config_, nullptr);
  jarvis::ThreadRegistry& threads = host.threads();

  EXPECT_FALSE(threads.owner("thr_1"));
  threads.claim("thr_1", "usr_alice");
  threads.claim("thr_1", "usr_alice");  // idempotent
  EXPECT_EQ(threads.owner("thr_1"), "usr_alice");
  try {
    threads.claim("thr_1", "usr_bob");
    FAIL() << "a second owner was accepted";
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.status(), 409);
    EXPECT_EQ(e.code(), "thread_owned");
  }
  EXPECT_THROW(threads.claim("", "usr_alice"), jarvis::Error);
  EXPECT_THROW(threads.claim(std::string(129, 't'), "usr_alice"), jarvis::Error);

  jarvis::Principal alice{"usr_alice", "alice", jarvis::Role::User, true};
  jarvis::Principal bob{"usr_bob", "bob", jarvis::Role::User, true};
  jarvis::Principal admin{"usr_root", "root", jarvis::Role::Admin, true};
  EXPECT_TRUE(threads.may_access(alice, "thr_1"));
  EXPECT_FALSE(threads.may_access(bob, "thr_1"));
  EXPECT_TRUE(threads.may_access(admin, "thr_1"));
  EXPECT_FALSE(threads.may_access(alice, "thr_unclaimed"));

  // The registering component is the plugin.
  auto sql = db_->session();
  std::string component;
  *sql << "SELECT component FROM thread_owners WHERE thread_id = 'thr_1'", soci::into(component);
  EXPECT_EQ(component, "chatty");

  EXPECT_TRUE(threads.release("thr_1"));
  EXPECT_FALSE(threads.release("thr_1"));
  EXPECT_FALSE(threads.owner("thr_1"));
}

TEST_F(PluginThreadsTest, AProcessWithoutTheRegistrySaysSo) {
  HostServices s;  // e.g. a CLI path without a database
  PluginHost host(Owner{"chatty", {}}, s, config_, nullptr);
  try {
    host.threads().claim("thr_1", "usr_alice");
    FAIL() << "claim without a registry succeeded";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("chatty"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("thread registry"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace jarvis::host

// tests/deploy/backup_now_test.cpp — SystemControl::backup_now, what a plugin calls before a
// destructive admin operation: through the host's SystemState wired to a BackupService as the
// application wires it, a verified snapshot and a `backup.snapshot` event (SQLite and
// PostgreSQL); 503 backup_unavailable without a backup service and 503 backup_failed when no
// snapshot can be written — so the operation does not go ahead.
#include <gtest/gtest.h>

#include <filesystem>

#include "db/backup_service.h"
#include "jarvis/error.h"
#include "system/system_fixture.h"

namespace backup_now_test {

using jarvis::host::BackupError;
using jarvis::host::BackupService;
using jarvis::host::BackupSettings;

class BackupNow : public jarvis::host::systest::SystemTest {
 protected:
  // The application's wiring (host/src/core/app.cpp).
  void wire(jarvis::host::SystemState& state, BackupService& backups) {
    state.set_backup_source([&backups](const std::string& reason) {
      try {
        return backups.backup_now(reason).to_json();
      } catch (const BackupError& e) {
        throw jarvis::Error(503, "backup_failed", e.what());
      }
    });
  }
};

TEST_P(BackupNow, TakesAVerifiedSnapshotAndEmitsTheEvent) {
  auto state = make_state();
  jarvis::SystemControl& control = *state;  // what a plugin holds
  BackupSettings s;
  s.dir = tmp_.file("snapshots");
  BackupService backups(url_, s, bus_.get());
  wire(*state, backups);
  jarvis::Json r = control.backup_now("before purge-all by usr_1");
  const std::string path = r["path"];
  EXPECT_TRUE(std::filesystem::exists(path)) << r.dump();
  EXPECT_EQ(r["reason"], "before purge-all by usr_1");
  EXPECT_EQ(r["verification"], GetParam() == jarvis::test::Backend::Sqlite
                                   ? "integrity_check: ok"
                                   : "pg_restore --list: ok");
  ASSERT_TRUE(jarvis::test::eventually([&] { return events("backup.snapshot").size() == 1; }));
  auto ev = events("backup.snapshot");
  EXPECT_EQ(ev[0].payload["path"], path);
  EXPECT_EQ(ev[0].payload["reason"], "before purge-all by usr_1");
}

TEST_P(BackupNow, RefusesWhenNoSnapshotCanBeTaken) {
  auto state = make_state();
  jarvis::SystemControl& control = *state;
  try {
    control.backup_now("no service");
    ADD_FAILURE() << "expected backup_unavailable";
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.status(), 503);
    EXPECT_EQ(e.code(), "backup_unavailable");
  }
  // The backup directory is a file: nothing can be written there.
  jarvis::test::write_file(tmp_.file("not-a-dir"), "x");
  BackupSettings s;
  s.dir = tmp_.file("not-a-dir");
  BackupService backups(url_, s, bus_.get());
  wire(*state, backups);
  try {
    control.backup_now("blocked");
    ADD_FAILURE() << "expected backup_failed";
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.status(), 503);
    EXPECT_EQ(e.code(), "backup_failed");
  }
  EXPECT_TRUE(events("backup.snapshot").empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, BackupNow,
                         testing::Values(jarvis::test::Backend::Sqlite,
                                         jarvis::test::Backend::Postgresql),
                         jarvis::test::backend_name);

}  // namespace backup_now_test

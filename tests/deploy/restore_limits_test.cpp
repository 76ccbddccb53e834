// tests/deploy/restore_limits_test.cpp — the review findings of issue 14 on `jarvis db restore`:
// a gzip bomb stops at RESTORE_MAX_BYTES and a restore that would leave less than
// RESTORE_MIN_FREE_BYTES free is refused before anything is staged (SQLite); a PostgreSQL restore
// gives exactly the snapshot (tables, schemas and functions created after it are gone), and a
// session that connects after the first check — a host starting in the race window — makes the
// restoring transaction refuse with nothing changed (decision 0080).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "db/backup_service.h"
#include "deploy/deploy_fixture.h"
#include "jarvis/subprocess.h"
#include "support/support.h"

using deploy_test::count_files;
using deploy_test::gunzip_file;
using deploy_test::gzip_to;
using jarvis::test::read_file;
using jarvis::test::run_jarvis;
using jarvis::test::write_file;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

namespace restore_limits_test {

/// A migrated SQLite database under `dir` and its snapshot (path of the .db.gz).
std::string migrated_with_snapshot(const jarvis::test::TempDir& dir,
                                   const std::map<std::string, std::string>& env) {
  EXPECT_EQ(run_jarvis({"migrate"}, dir.path(), env).exit_code, 0);
  auto b = run_jarvis({"db", "backup", "--json"}, dir.path(), env);
  EXPECT_EQ(b.exit_code, 0) << b.err;
  auto j = nlohmann::json::parse(b.out, nullptr, false);
  return j.is_object() ? j.value("path", "") : "";
}

/// `psql URL -c SQL` (a failure is a test failure); its output without the trailing newline.
std::string psql(const std::string& url, const std::string& sql) {
  auto r = jarvis::run_process(
      {.argv = {"psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", url, "-c", sql},
       .timeout_ms = 60000});
  EXPECT_EQ(r.exit_code, 0) << sql << ": " << r.stderr_text;
  std::string out = r.stdout_text;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

/// Every table outside the system schemas, as "schema.table,…".
const std::string kUserTables =
    "SELECT string_agg(table_schema || '.' || table_name, ',' ORDER BY table_schema, table_name) "
    "FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', "
    "'information_schema')";

/// A fresh, migrated PostgreSQL database, backups under dir/pg, and one snapshot of it taken
/// (snapshot()); ok() is false (and the test has failed) when any step did not work.
struct PgSnapshotRig {
  PgSnapshotRig() : url(jarvis::test::pg_fresh_database()) {
    // 1 MiB kept free, not the default 256 MiB: a restore that should work must not depend on
    // this machine's free disk (ARestoreThatWouldFillTheDiskIsRefused tests the limit).
    env = {{"DATABASE_URL", url},
           {"BACKUP_LOCAL_DIR", dir.file("pg")},
           {"RESTORE_MIN_FREE_BYTES", "1048576"}};
    migrated = !url.empty() && run_jarvis({"migrate"}, dir.path(), env).exit_code == 0;
    EXPECT_TRUE(migrated) << url;
  }
  /// `jarvis db backup --json`: the snapshot's path ("" on failure).
  std::string snapshot() {
    auto backup = run_jarvis({"db", "backup", "--json"}, dir.path(), env);
    EXPECT_EQ(backup.exit_code, 0) << backup.err;
    auto j = nlohmann::json::parse(backup.out, nullptr, false);
    return j.is_object() ? j.value("path", "") : "";
  }
  jarvis::test::TempDir dir;
  std::string url;
  std::map<std::string, std::string> env;
  bool migrated = false;
};

}  // namespace restore_limits_test

using namespace restore_limits_test;

// 64 MiB of zeros in a gzip of a few hundred KiB: with a 1 MiB cap the restore stops at the cap
// (before the fix it decompressed all of it, and a bigger bomb fills the disk).
TEST(DbRestoreLimits, AGzipBombStopsAtRestoreMaxBytes) {
  jarvis::test::TempDir dir;
  std::map<std::string, std::string> env{{"APP_DB", dir.file("j.db")},
                                         {"BACKUP_LOCAL_DIR", dir.file("backups")},
                                         {"RESTORE_MAX_BYTES", "1048576"},
                                         {"RESTORE_MIN_FREE_BYTES", "1048576"}};
  const std::string snapshot = migrated_with_snapshot(dir, env);
  ASSERT_FALSE(snapshot.empty());
  gzip_to(dir.file("bomb.db.gz"), std::string(64u << 20, '\0'));
  ASSERT_LT(fs::file_size(dir.file("bomb.db.gz")), 1u << 20);
  const std::string before = read_file(dir.file("j.db"));
  auto bomb = run_jarvis({"db", "restore", dir.file("bomb.db.gz")}, dir.path(), env);
  EXPECT_EQ(bomb.exit_code, 1) << bomb.out;
  EXPECT_THAT(bomb.err, HasSubstr("snapshot_too_large"));
  EXPECT_THAT(bomb.err, HasSubstr("decompresses to more than RESTORE_MAX_BYTES=1048576"));
  // An uncompressed snapshot over the cap is refused before it is copied.
  write_file(dir.file("big.db"), gunzip_file(snapshot) + std::string(2u << 20, '\0'));
  auto big = run_jarvis({"db", "restore", dir.file("big.db")}, dir.path(), env);
  EXPECT_EQ(big.exit_code, 1);
  EXPECT_THAT(big.err, HasSubstr("snapshot_too_large"));
  EXPECT_TRUE(read_file(dir.file("j.db")) == before);
  EXPECT_EQ(count_files(dir.path(), ".partial"), 0);
  EXPECT_EQ(count_files(dir.path(), "pre_restore"), 0);
  // Under the cap the same snapshot restores.
  auto ok = run_jarvis({"db", "restore", snapshot}, dir.path(), env);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

// Keeping RESTORE_MIN_FREE_BYTES free is impossible here (2^60 bytes): refused before staging,
// compressed or not, with the current database untouched.
TEST(DbRestoreLimits, ARestoreThatWouldFillTheDiskIsRefused) {
  jarvis::test::TempDir dir;
  std::map<std::string, std::string> env{{"APP_DB", dir.file("j.db")},
                                         {"BACKUP_LOCAL_DIR", dir.file("backups")}};
  const std::string snapshot = migrated_with_snapshot(dir, env);
  ASSERT_FALSE(snapshot.empty());
  write_file(dir.file("plain.db"), gunzip_file(snapshot));
  env["RESTORE_MIN_FREE_BYTES"] = std::to_string(1LL << 60);
  const std::string before = read_file(dir.file("j.db"));
  for (const std::string& snap : {snapshot, dir.file("plain.db")}) {
    auto r = run_jarvis({"db", "restore", snap}, dir.path(), env);
    EXPECT_EQ(r.exit_code, 1) << snap;
    EXPECT_THAT(r.err, HasSubstr("insufficient_space")) << snap;
    EXPECT_THAT(r.err, HasSubstr("RESTORE_MIN_FREE_BYTES")) << snap;
  }
  EXPECT_TRUE(read_file(dir.file("j.db")) == before);
  EXPECT_EQ(count_files(dir.path(), ".partial"), 0);
}

// Tables, a schema, a view, a type and a function created after the snapshot: gone after the
// restore (before the fix `pg_restore --clean` dropped and recreated only the snapshot's own
// objects, so the newer ones stayed next to them).
TEST(DbRestoreLimits, PostgresqlRestoreGivesExactlyTheSnapshot) {
  PgSnapshotRig rig;
  ASSERT_TRUE(rig.migrated);
  const jarvis::test::TempDir& dir = rig.dir;
  const std::string& url = rig.url;
  const std::map<std::string, std::string>& env = rig.env;
  jarvis::test::create_user_token(dir.path(), env, "in_snapshot", true);
  const std::string dump = rig.snapshot();
  ASSERT_FALSE(dump.empty());
  const std::string tables_before = psql(url, kUserTables);

  jarvis::test::create_user_token(dir.path(), env, "after_snapshot", false);
  psql(url,
       "CREATE TABLE later_table(x int); CREATE VIEW later_view AS SELECT * FROM later_table; "
       "CREATE SCHEMA later_schema; CREATE TABLE later_schema.t(y int); "
       "CREATE TYPE later_mood AS ENUM ('a'); "
       "CREATE FUNCTION later_fn() RETURNS int LANGUAGE sql AS 'SELECT 1'; "
       "CREATE SEQUENCE later_seq;");
  auto r = run_jarvis({"db", "restore", dump, "--json"}, dir.path(), env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(psql(url, kUserTables), tables_before);
  EXPECT_EQ(psql(url, "SELECT count(*) FROM pg_namespace WHERE nspname = 'later_schema'"), "0");
  EXPECT_EQ(psql(url, "SELECT count(*) FROM pg_type WHERE typname = 'later_mood'"), "0");
  EXPECT_EQ(psql(url, "SELECT count(*) FROM pg_proc WHERE proname = 'later_fn'"), "0");
  EXPECT_EQ(psql(url, "SELECT count(*) FROM pg_class WHERE relname = 'later_seq'"), "0");
  auto users = run_jarvis({"users", "list"}, dir.path(), env);
  EXPECT_THAT(users.out, HasSubstr("in_snapshot"));
  EXPECT_THAT(users.out, ::testing::Not(HasSubstr("after_snapshot")));
  EXPECT_EQ(run_jarvis({"migrate", "--status"}, dir.path(), env).exit_code, 0);
}

// The race of the old check: a session (a host starting) connects after the "no other session"
// check and before the restore. The restoring transaction checks again under its table locks:
// refused, nothing changed. Before the fix the restore went ahead under the host's feet.
TEST(DbRestoreLimits, PostgresqlASessionConnectingAfterTheFirstCheckIsRefused) {
  PgSnapshotRig rig;
  ASSERT_TRUE(rig.migrated);
  const jarvis::test::TempDir& dir = rig.dir;
  const std::string& url = rig.url;
  const std::string dump = rig.snapshot();
  ASSERT_FALSE(dump.empty());
  psql(url, "CREATE TABLE still_here(x int); INSERT INTO still_here VALUES (7);");

  jarvis::host::BackupSettings s;
  s.dir = dir.file("pg");
  jarvis::host::BackupService backups(url, s);
  PGconn* host = nullptr;
  jarvis::host::RestoreHooks hooks;
  hooks.after_first_check = [&] { host = PQconnectdb(url.c_str()); };
  std::string code;
  try {
    jarvis::host::restore_database(backups, dump, hooks);
  } catch (const jarvis::host::BackupError& e) {
    code = e.code();
  }
  ASSERT_NE(host, nullptr);
  EXPECT_EQ(PQstatus(host), CONNECTION_OK);
  PQfinish(host);
  EXPECT_EQ(code, "database_in_use");
  EXPECT_EQ(psql(url, "SELECT x FROM still_here"), "7");  // nothing changed
  // Without the late session it restores.
  jarvis::host::restore_database(backups, dump);
  EXPECT_EQ(psql(url, "SELECT count(*) FROM pg_class WHERE relname = 'still_here'"), "0");
}

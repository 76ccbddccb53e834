// tests/deploy/backup_test.cpp — `jarvis db backup|restore` on the real binary: a snapshot taken
// while the host serves and writes, restored into a new path, served again with the data intact;
// restore refused while serving and on corrupt or foreign snapshots (nothing changed); retention
// deleting only old snapshots; the periodic system.backup job; PostgreSQL through pg_dump and
// pg_restore.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "db/backup_service.h"
#include "deploy/deploy_fixture.h"
#include "jarvis/subprocess.h"
#include "support/support.h"

using jarvis::test::bearer;
using jarvis::test::eventually;
using jarvis::test::http;
using jarvis::test::read_file;
using jarvis::test::run_jarvis;
using jarvis::test::ServerProcess;
using jarvis::test::write_file;
using nlohmann::json;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

namespace backup_test {

const char* kJsonHeader = "Content-Type: application/json";

// Creates a schedule carrying `marker` (real data through the API); returns its id.
std::string create_marked_schedule(const ServerProcess& server, const std::string& admin,
                                   const std::string& marker) {
  json body = {
      {"cron_expr", "@every:86400"}, {"task", "system.echo"}, {"payload", {{"marker", marker}}}};
  auto r = http("POST", server.url("/api/v1/schedules"), body.dump(), {bearer(admin), kJsonHeader});
  EXPECT_EQ(r.status, 201) << r.body;
  json j = json::parse(r.body, nullptr, false);
  return j.is_object() ? j.value("id", "") : "";
}

json json_of(const std::string& text) { return json::parse(text, nullptr, false); }

// The marker of schedule `id` as the server lists it; "" when it is not there.
std::string schedule_marker(const ServerProcess& server, const std::string& admin,
                            const std::string& id) {
  auto r = http("GET", server.url("/api/v1/schedules?limit=1000"), "", {bearer(admin)});
  EXPECT_EQ(r.status, 200) << r.body;
  json j = json_of(r.body);
  if (!j.is_object() || !j["items"].is_array()) return "";
  for (const auto& s : j["items"]) {
    if (s.value("id", "") == id) return s["payload"].value("marker", "");
  }
  return "";
}

using deploy_test::count_files;
using deploy_test::gunzip_file;
using deploy_test::gzip_to;

// Every command here keeps 1 MiB free on restore instead of the default 256 MiB: these tests are
// about what a restore does, not this machine's free disk (CI machines have had less than 256 MiB).
// restore_limits_test.cpp tests the limit itself.
const std::pair<const std::string, std::string> kSmallFreeMargin{"RESTORE_MIN_FREE_BYTES",
                                                                 "1048576"};

}  // namespace backup_test

using namespace backup_test;

TEST(DbBackup, RoundTripWhileServingIntoANewPath) {
  jarvis::test::TempDir dir;
  std::map<std::string, std::string> env{kSmallFreeMargin,
                                         {"APP_DB", dir.file("live/j.db")},
                                         {"BACKUP_LOCAL_DIR", dir.file("backups")},
                                         {"BACKUP_INTERVAL_SECONDS", "0"}};
  ASSERT_EQ(run_jarvis({"migrate"}, dir.path(), env).exit_code, 0);
  std::string admin = jarvis::test::create_user_token(dir.path(), env, "root", true);
  std::string snapshot, id_before, id_after;
  {
    ServerProcess server(dir.path(), env);
    ASSERT_TRUE(server.ready()) << server.output();
    id_before = create_marked_schedule(server, admin, "before-backup");
    ASSERT_FALSE(id_before.empty());
    // Writes keep arriving while the snapshot is taken.
    std::atomic<bool> stop{false};
    std::thread writer([&] {
      for (int i = 0; !stop; ++i)
        create_marked_schedule(server, admin, "during-" + std::to_string(i));
    });
    auto backup = run_jarvis({"db", "backup", "--json"}, dir.path(), env);
    stop = true;
    writer.join();
    ASSERT_EQ(backup.exit_code, 0) << backup.err;
    json b = json_of(backup.out);
    ASSERT_TRUE(b.is_object()) << backup.out;
    EXPECT_EQ(b["verification"], "integrity_check: ok");
    snapshot = b["path"];
    EXPECT_TRUE(snapshot.ends_with(".db.gz")) << snapshot;
    EXPECT_EQ(fs::path(snapshot).parent_path().string(), dir.file("backups"));
    EXPECT_EQ(fs::status(snapshot).permissions() & fs::perms::others_read, fs::perms::none);
    id_after = create_marked_schedule(server, admin, "after-backup");

    // Refused while the host serves this database: nothing changes.
    auto refused = run_jarvis({"db", "restore", snapshot}, dir.path(), env);
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_THAT(refused.err, HasSubstr("database_in_use"));
    EXPECT_EQ(count_files(dir.file("live"), "pre_restore"), 0);
    EXPECT_EQ(schedule_marker(server, admin, id_after), "after-backup");
    EXPECT_EQ(server.terminate(), 0) << server.output();
  }

  // Restore into a new path, start a host on it: the data of the snapshot is there.
  auto env2 = env;
  env2["APP_DB"] = dir.file("restored/j.db");
  auto restored = run_jarvis({"db", "restore", snapshot, "--json"}, dir.path(), env2);
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_EQ(json_of(restored.out)["database"], dir.file("restored/j.db"));
  ServerProcess again(dir.path(), env2);
  ASSERT_TRUE(again.ready()) << again.output();
  EXPECT_EQ(schedule_marker(again, admin, id_before), "before-backup");
  // Created after the snapshot, so absent from it.
  EXPECT_EQ(schedule_marker(again, admin, id_after), "");
  EXPECT_EQ(http("GET", again.url("/readyz")).status, 200);
}

TEST(DbBackup, RestoreKeepsTheCurrentDatabaseAsideAndBacksItUpFirst) {
  jarvis::test::TempDir dir;
  std::map<std::string, std::string> env{
      kSmallFreeMargin, {"APP_DB", dir.file("j.db")}, {"BACKUP_LOCAL_DIR", dir.file("backups")}};
  ASSERT_EQ(run_jarvis({"migrate"}, dir.path(), env).exit_code, 0);
  auto first = run_jarvis({"db", "backup", "--json"}, dir.path(), env);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  std::string snapshot = json_of(first.out)["path"];
  // A user created after the snapshot is in the pre-restore backup and the kept-aside file.
  jarvis::test::create_user_token(dir.path(), env, "later", false);
  auto r = run_jarvis({"db", "restore", snapshot, "--json"}, dir.path(), env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json_of(r.out);
  std::string aside = j["kept_aside"], pre = j["pre_restore_backup"];
  EXPECT_TRUE(fs::exists(aside)) << aside;
  EXPECT_TRUE(fs::exists(pre)) << pre;
  EXPECT_NE(pre, snapshot);
  auto users = run_jarvis({"users", "list", "--json"}, dir.path(), env);
  EXPECT_THAT(users.out, ::testing::Not(HasSubstr("later")));
  auto env_aside = env;
  env_aside["APP_DB"] = aside;
  EXPECT_THAT(run_jarvis({"users", "list", "--json"}, dir.path(), env_aside).out,
              HasSubstr("later"));
}

TEST(DbBackup, RestoreRefusesCorruptAndForeignSnapshots) {
  jarvis::test::TempDir dir;
  std::map<std::string, std::string> env{
      kSmallFreeMargin, {"APP_DB", dir.file("j.db")}, {"BACKUP_LOCAL_DIR", dir.file("backups")}};
  ASSERT_EQ(run_jarvis({"migrate"}, dir.path(), env).exit_code, 0);
  jarvis::test::create_user_token(dir.path(), env, "keeper", true);
  auto good = run_jarvis({"db", "backup", "--json"}, dir.path(), env);
  ASSERT_EQ(good.exit_code, 0);
  std::string good_path = json_of(good.out)["path"];

  // A gzip that breaks off half-way; a gzip of garbage; plain garbage; a jarvis database with a
  // damaged page; a valid SQLite file of some other program.
  std::string gz = read_file(good_path);
  write_file(dir.file("cut.db.gz"), gz.substr(0, gz.size() / 2));
  gzip_to(dir.file("garbage.db.gz"), std::string(20000, 'g'));
  write_file(dir.file("garbage.db"), "SQLite format 3 - not really");
  {
    auto raw = run_jarvis({"db", "backup", "--json", "--to", dir.file("raw")}, dir.path(), env);
    ASSERT_EQ(raw.exit_code, 0);
    std::string db = gunzip_file(json_of(raw.out)["path"]);
    ASSERT_GT(db.size(), 8192u);
    // Every b-tree page's type byte (offset 0 of pages 2…) made invalid.
    for (std::size_t page = 4096; page < db.size(); page += 4096) db[page] = '\x5a';
    write_file(dir.file("damaged.db"), db);
  }
  {
    auto r = jarvis::run_process({.argv = {"sqlite3", dir.file("foreign.db"),
                                           "CREATE TABLE notes(x); INSERT INTO notes VALUES(1);"}});
    ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  }
  const std::string before = read_file(dir.file("j.db"));
  for (const char* name : {"cut.db.gz", "garbage.db.gz", "garbage.db", "damaged.db"}) {
    auto r = run_jarvis({"db", "restore", dir.file(name)}, dir.path(), env);
    EXPECT_EQ(r.exit_code, 1) << name << ": " << r.out;
    EXPECT_THAT(r.err, HasSubstr("snapshot_corrupt")) << name;
  }
  auto foreign = run_jarvis({"db", "restore", dir.file("foreign.db")}, dir.path(), env);
  EXPECT_EQ(foreign.exit_code, 1);
  EXPECT_THAT(foreign.err, HasSubstr("snapshot_not_jarvis"));
  auto missing = run_jarvis({"db", "restore", dir.file("nope.db.gz")}, dir.path(), env);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("snapshot_missing"));
  // Nothing changed: the same file, nothing kept aside, no staged leftovers.
  EXPECT_TRUE(read_file(dir.file("j.db")) == before);  // (no binary dump on failure)
  EXPECT_EQ(count_files(dir.path(), "pre_restore"), 0);
  EXPECT_EQ(count_files(dir.path(), ".partial"), 0);
  EXPECT_THAT(run_jarvis({"users", "list"}, dir.path(), env).out, HasSubstr("keeper"));
}

TEST(DbBackup, RetentionDeletesOnlyOldSnapshotsAndKeepsTheNewest) {
  jarvis::test::TempDir dir;
  const std::string b = dir.file("b");
  fs::create_directories(b);
  auto now = std::chrono::system_clock::now();
  auto stamp = [](std::chrono::system_clock::time_point t) {
    std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return std::string(buf);
  };
  const std::string old1 = b + "/backup_" + stamp(now - std::chrono::hours(24 * 20)) + ".db.gz";
  const std::string old2 = b + "/backup_" + stamp(now - std::chrono::hours(24 * 15)) + ".pgdump";
  const std::string recent = b + "/backup_" + stamp(now - std::chrono::hours(24 * 13)) + ".db.gz";
  const std::string today = b + "/backup_" + stamp(now - std::chrono::hours(1)) + "_2.db.gz";
  for (const auto& f : {old1, old2, recent, today}) write_file(f, "x");
  // Not snapshots (other names, a snapshot-like name of another kind): never touched.
  for (const char* other : {"notes.txt", "backup_garbage.db.gz", "backup_20000101T000000Z.tar"}) {
    write_file(b + "/" + other, "keep");
  }
  jarvis::host::BackupSettings s;
  s.dir = b;
  s.retention_days = 14;
  jarvis::host::BackupService svc(dir.file("j.db"), s);
  auto removed = svc.prune(now);
  EXPECT_EQ(removed.size(), 2u);
  EXPECT_FALSE(fs::exists(old1));
  EXPECT_FALSE(fs::exists(old2));
  EXPECT_TRUE(fs::exists(recent));
  EXPECT_TRUE(fs::exists(today));
  for (const char* other : {"notes.txt", "backup_garbage.db.gz", "backup_20000101T000000Z.tar"}) {
    EXPECT_TRUE(fs::exists(b + "/" + other)) << other;
  }
  // Only old snapshots left: the newest of them stays.
  fs::remove(recent);
  fs::remove(today);
  const std::string older = b + "/backup_" + stamp(now - std::chrono::hours(24 * 40)) + ".db.gz";
  const std::string newest_old =
      b + "/backup_" + stamp(now - std::chrono::hours(24 * 30)) + ".db.gz";
  write_file(older, "x");
  write_file(newest_old, "x");
  svc.prune(now);
  EXPECT_FALSE(fs::exists(older));
  EXPECT_TRUE(fs::exists(newest_old));
  // retention 0 keeps everything.
  write_file(older, "x");
  s.retention_days = 0;
  jarvis::host::BackupService keep_all(dir.file("j.db"), s);
  EXPECT_TRUE(keep_all.prune(now).empty());
  EXPECT_TRUE(fs::exists(older));
}

TEST(DbBackup, ThePeriodicJobWritesSnapshotsWhileServing) {
  jarvis::test::TempDir dir;
  std::map<std::string, std::string> env{kSmallFreeMargin,
                                         {"APP_DB", dir.file("j.db")},
                                         {"BACKUP_LOCAL_DIR", dir.file("auto")},
                                         {"BACKUP_INTERVAL_SECONDS", "1"}};
  ASSERT_EQ(run_jarvis({"migrate"}, dir.path(), env).exit_code, 0);
  std::string admin = jarvis::test::create_user_token(dir.path(), env, "root", true);
  ServerProcess server(dir.path(), env);
  ASSERT_TRUE(server.ready()) << server.output();
  ASSERT_TRUE(eventually([&] { return count_files(dir.file("auto"), ".db.gz") >= 1; },
                         std::chrono::seconds(60)))
      << server.output();
  // Each one emitted backup.snapshot.
  ASSERT_TRUE(eventually([&] {
    auto ev = http("GET", server.url("/api/v1/events?type=backup.snapshot"), "", {bearer(admin)});
    json j = json_of(ev.body);
    return ev.status == 200 && j.is_object() && !j["items"].empty();
  }));
  auto listed = run_jarvis({"db", "list", "--json"}, dir.path(), env);
  EXPECT_EQ(listed.exit_code, 0);
  EXPECT_FALSE(json_of(listed.out)["items"].empty()) << listed.out;
}

TEST(DbBackup, PostgresqlThroughPgDumpAndPgRestore) {
  jarvis::test::TempDir dir;
  const std::string source = jarvis::test::pg_fresh_database();
  const std::string target = jarvis::test::pg_fresh_database();
  ASSERT_FALSE(source.empty());
  ASSERT_FALSE(target.empty());
  std::map<std::string, std::string> env{
      kSmallFreeMargin, {"DATABASE_URL", source}, {"BACKUP_LOCAL_DIR", dir.file("pg")}};
  ASSERT_EQ(run_jarvis({"migrate"}, dir.path(), env).exit_code, 0);
  jarvis::test::create_user_token(dir.path(), env, "pguser", true);
  auto backup = run_jarvis({"db", "backup", "--json"}, dir.path(), env);
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  json b = json_of(backup.out);
  EXPECT_EQ(b["dialect"], "postgresql");
  EXPECT_EQ(b["verification"], "pg_restore --list: ok");
  std::string dump = b["path"];
  EXPECT_TRUE(dump.ends_with(".pgdump")) << dump;

  auto env2 = env;
  env2["DATABASE_URL"] = target;
  {
    // Refused while a host is connected to the target.
    ASSERT_EQ(run_jarvis({"migrate"}, dir.path(), env2).exit_code, 0);
    ServerProcess server(dir.path(), env2);
    ASSERT_TRUE(server.ready()) << server.output();
    auto refused = run_jarvis({"db", "restore", dump}, dir.path(), env2);
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_THAT(refused.err, HasSubstr("database_in_use"));
    EXPECT_EQ(server.terminate(), 0);
  }
  // A file that is no pg_dump archive is refused.
  write_file(dir.file("fake.pgdump"), "PGDMP but not really");
  auto corrupt = run_jarvis({"db", "restore", dir.file("fake.pgdump")}, dir.path(), env2);
  EXPECT_EQ(corrupt.exit_code, 1);
  EXPECT_THAT(corrupt.err, HasSubstr("snapshot_corrupt"));

  auto restored = run_jarvis({"db", "restore", dump, "--json"}, dir.path(), env2);
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_FALSE(std::string(json_of(restored.out)["pre_restore_backup"]).empty());
  // The password never reaches argv or the output (the test URL has none; the conninfo is shown).
  auto users = run_jarvis({"users", "list"}, dir.path(), env2);
  EXPECT_THAT(users.out, HasSubstr("pguser"));
  auto status = run_jarvis({"migrate", "--status"}, dir.path(), env2);
  EXPECT_EQ(status.exit_code, 0) << status.out;
}

TEST(DbBackup, MigrationsOnAnExistingSchemaAreBackedUpFirst) {
  jarvis::test::TempDir dir;
  // The host's migrations plus files this test adds (JARVIS_MIGRATIONS_DIR).
  const std::string migrations = dir.file("migrations");
  fs::copy(std::string(JARVIS_SOURCE_DIR) + "/migrations", migrations);
  std::map<std::string, std::string> env{kSmallFreeMargin,
                                         {"APP_DB", dir.file("j.db")},
                                         {"BACKUP_LOCAL_DIR", dir.file("backups")},
                                         {"JARVIS_MIGRATIONS_DIR", migrations}};
  // A fresh database has nothing to lose: no snapshot.
  ASSERT_EQ(run_jarvis({"migrate"}, dir.path(), env).exit_code, 0);
  EXPECT_EQ(count_files(dir.file("backups"), "backup_"), 0);

  write_file(migrations + "/900_backup_probe.sql", "CREATE TABLE backup_probe (x INTEGER);\n");
  auto r = run_jarvis({"migrate"}, dir.path(), env);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto files = jarvis::host::BackupService(dir.file("j.db"),
                                           [&] {
                                             jarvis::host::BackupSettings s;
                                             s.dir = dir.file("backups");
                                             return s;
                                           }())
                   .list();
  ASSERT_EQ(files.size(), 1u);
  // The snapshot is the schema before 900: no backup_probe table in it.
  write_file(dir.file("before.db"), gunzip_file(files[0].path));
  auto probe = jarvis::run_process(
      {.argv = {"sqlite3", dir.file("before.db"),
                "SELECT count(*) FROM sqlite_master WHERE name='backup_probe'"}});
  EXPECT_EQ(probe.stdout_text, "0\n") << probe.stderr_text;

  // No snapshot possible (the backup directory is a file): the migration does not run.
  write_file(migrations + "/901_backup_probe_two.sql", "CREATE TABLE backup_probe_two (x INT);\n");
  write_file(dir.file("blocked"), "x");
  auto blocked_env = env;
  blocked_env["BACKUP_LOCAL_DIR"] = dir.file("blocked");
  auto refused = run_jarvis({"migrate"}, dir.path(), blocked_env);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("BACKUP_BEFORE_MIGRATE"));
  EXPECT_EQ(run_jarvis({"migrate", "--status"}, dir.path(), env).exit_code, 1);  // 901 pending
  // Turned off explicitly, it runs.
  blocked_env["BACKUP_BEFORE_MIGRATE"] = "0";
  EXPECT_EQ(run_jarvis({"migrate"}, dir.path(), blocked_env).exit_code, 0);
  EXPECT_EQ(run_jarvis({"migrate", "--status"}, dir.path(), env).exit_code, 0);
}

// Restoring an old snapshot from BACKUP_LOCAL_DIR: the pre-restore backup applies no retention,
// so the file being restored is still there afterwards.
TEST(DbBackup, RestoringAnOldSnapshotFromTheBackupDirKeepsIt) {
  jarvis::test::TempDir dir;
  std::map<std::string, std::string> env{kSmallFreeMargin,
                                         {"APP_DB", dir.file("j.db")},
                                         {"BACKUP_LOCAL_DIR", dir.file("backups")},
                                         {"BACKUP_RETENTION_DAYS", "1"}};
  ASSERT_EQ(run_jarvis({"migrate"}, dir.path(), env).exit_code, 0);
  auto first = run_jarvis({"db", "backup", "--json"}, dir.path(), env);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const std::string old = dir.file("backups/backup_20200101T000000Z.db.gz");
  fs::rename(std::string(json_of(first.out)["path"]), old);
  auto r = run_jarvis({"db", "restore", old, "--json"}, dir.path(), env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(old));
  EXPECT_TRUE(json_of(r.out)["pre_restore_backup"].get<std::string>().size() > 0) << r.out;
}

// `--to` an existing directory keeps its mode and its files (no retention there), and
// retention in BACKUP_LOCAL_DIR deletes only names the service writes.
TEST(DbBackup, BackupToAnExistingDirKeepsItsModeAndOperatorFiles) {
  jarvis::test::TempDir dir;
  std::map<std::string, std::string> env{kSmallFreeMargin,
                                         {"APP_DB", dir.file("j.db")},
                                         {"BACKUP_LOCAL_DIR", dir.file("backups")},
                                         {"BACKUP_RETENTION_DAYS", "1"}};
  ASSERT_EQ(run_jarvis({"migrate"}, dir.path(), env).exit_code, 0);
  const std::string shared = dir.file("shared");
  fs::create_directories(shared);
  fs::permissions(shared, fs::perms(0755));
  write_file(shared + "/backup_20200101T000000Z.db.gz", "theirs");
  auto to = run_jarvis({"db", "backup", "--to", shared, "--json"}, dir.path(), env);
  ASSERT_EQ(to.exit_code, 0) << to.err;
  EXPECT_EQ(fs::status(shared).permissions() & fs::perms::all, fs::perms(0755));
  EXPECT_TRUE(fs::exists(shared + "/backup_20200101T000000Z.db.gz"));

  fs::create_directories(dir.file("backups"));
  const std::string keep = dir.file("backups/backup_20200102T000000Z_before-upgrade-KEEP.db");
  const std::string old = dir.file("backups/backup_20200101T000000Z.db.gz");
  write_file(keep, "operator's");
  write_file(old, "x");
  auto local = run_jarvis({"db", "backup", "--json"}, dir.path(), env);
  ASSERT_EQ(local.exit_code, 0) << local.err;
  EXPECT_TRUE(fs::exists(keep));
  EXPECT_FALSE(fs::exists(old));  // retention still works on the service's own names
  auto listed = run_jarvis({"db", "list", "--json"}, dir.path(), env);
  EXPECT_THAT(listed.out, ::testing::Not(HasSubstr("KEEP")));
}

// A -wal left next to a missing database file (a restore killed between its renames) is moved
// aside, not applied to the snapshot put in place.
TEST(DbBackup, RestoreMovesALeftoverWalAsideWhenTheFileIsMissing) {
  jarvis::test::TempDir dir;
  std::map<std::string, std::string> env{
      kSmallFreeMargin, {"APP_DB", dir.file("j.db")}, {"BACKUP_LOCAL_DIR", dir.file("backups")}};
  ASSERT_EQ(run_jarvis({"migrate"}, dir.path(), env).exit_code, 0);
  auto first = run_jarvis({"db", "backup", "--json"}, dir.path(), env);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  std::string snapshot = json_of(first.out)["path"];
  deploy_test::crash_writer_in_wal_mode(dir.file("j.db"));
  ASSERT_TRUE(fs::exists(dir.file("j.db-wal")));
  fs::rename(dir.file("j.db"), dir.file("j.db.moved"));
  auto r = run_jarvis({"db", "restore", snapshot, "--json"}, dir.path(), env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(dir.file("j.db-wal")));
  auto tables = jarvis::run_process({.argv = {"sqlite3", dir.file("j.db"),
                                              "SELECT count(*) FROM sqlite_master WHERE "
                                              "name='crashed'; PRAGMA integrity_check;"},
                                     .timeout_ms = 60000});
  EXPECT_EQ(tables.stdout_text, "0\nok\n");
}

// Served through a symlinked APP_DB, restored through the real path: refused.
TEST(DbBackup, RestoreRefusedWhileServedThroughASymlinkAlias) {
  jarvis::test::TempDir dir;
  std::map<std::string, std::string> env{kSmallFreeMargin,
                                         {"APP_DB", dir.file("real/j.db")},
                                         {"BACKUP_LOCAL_DIR", dir.file("backups")},
                                         {"BACKUP_INTERVAL_SECONDS", "0"}};
  ASSERT_EQ(run_jarvis({"migrate"}, dir.path(), env).exit_code, 0);
  auto first = run_jarvis({"db", "backup", "--json"}, dir.path(), env);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  std::string snapshot = json_of(first.out)["path"];
  fs::create_symlink(dir.file("real"), dir.file("alias"));
  auto alias = env;
  alias["APP_DB"] = dir.file("alias/j.db");
  ServerProcess server(dir.path(), alias);
  ASSERT_TRUE(server.ready()) << server.output();
  auto refused = run_jarvis({"db", "restore", snapshot}, dir.path(), env);
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_THAT(refused.err, HasSubstr("database_in_use"));
  EXPECT_EQ(count_files(dir.file("real"), "pre_restore"), 0);
  EXPECT_EQ(server.terminate(), 0) << server.output();
}

// While a restore holds the serving lock exclusively, a command that opens the database
// (migrate, serve, …) refuses before opening it: nothing is created at the path.
TEST(DbBackup, CommandsThatOpenTheDatabaseRefuseWhileARestoreHoldsTheLock) {
  jarvis::test::TempDir dir;
  std::map<std::string, std::string> env{
      kSmallFreeMargin, {"APP_DB", dir.file("j.db")}, {"BACKUP_INTERVAL_SECONDS", "0"}};
  int fd = ::open(dir.file("j.db.serving").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  auto migrate = run_jarvis({"migrate"}, dir.path(), env);
  EXPECT_NE(migrate.exit_code, 0) << migrate.out;
  EXPECT_THAT(migrate.err + migrate.out, HasSubstr("being restored"));
  EXPECT_FALSE(fs::exists(dir.file("j.db")));
  ::close(fd);
  EXPECT_EQ(run_jarvis({"migrate"}, dir.path(), env).exit_code, 0);
}

// A password with a quote and a backslash reaches libpq intact (the server of the test trusts
// local connections, so a conninfo that parses is all this needs).
TEST(DbBackup, PostgresqlRestoreWithAPasswordHoldingQuotesAndBackslashes) {
  jarvis::test::TempDir dir;
  std::string target = jarvis::test::pg_fresh_database();
  ASSERT_FALSE(target.empty());
  const auto at = target.find('@');
  ASSERT_NE(at, std::string::npos) << target;
  target.insert(at, ":se%27cr%5Cet%20host%3Dnowhere");
  std::map<std::string, std::string> env{
      kSmallFreeMargin, {"DATABASE_URL", target}, {"BACKUP_LOCAL_DIR", dir.file("pg")}};
  ASSERT_EQ(run_jarvis({"migrate"}, dir.path(), env).exit_code, 0);
  auto backup = run_jarvis({"db", "backup", "--json"}, dir.path(), env);
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  auto restored =
      run_jarvis({"db", "restore", std::string(json_of(backup.out)["path"])}, dir.path(), env);
  EXPECT_EQ(restored.exit_code, 0) << restored.err;
}

// Two `jarvis db backup` at once (the same second, two processes): two complete snapshots under
// two names, each the size it reports; a .partial left by a backup killed -9 is swept.
TEST(DbBackup, ConcurrentBackupsGetTheirOwnFilesAndStalePartialsAreSwept) {
  jarvis::test::TempDir dir;
  std::map<std::string, std::string> env{
      kSmallFreeMargin, {"APP_DB", dir.file("j.db")}, {"BACKUP_LOCAL_DIR", dir.file("backups")}};
  ASSERT_EQ(run_jarvis({"migrate"}, dir.path(), env).exit_code, 0);
  fs::create_directories(dir.file("backups"));
  write_file(dir.file("backups/.backup_kill9x.partial"), std::string(4096, 'x'));
  for (int round = 0; round < 3; ++round) {
    jarvis::test::RunResult a, b;
    std::thread other([&] { b = run_jarvis({"db", "backup", "--json"}, dir.path(), env); });
    a = run_jarvis({"db", "backup", "--json"}, dir.path(), env);
    other.join();
    ASSERT_EQ(a.exit_code, 0) << a.err;
    ASSERT_EQ(b.exit_code, 0) << b.err;
    json ja = json_of(a.out), jb = json_of(b.out);
    EXPECT_NE(ja["path"], jb["path"]);
    for (const json& j : {ja, jb}) {
      EXPECT_EQ(static_cast<long long>(fs::file_size(std::string(j["path"]))),
                j["bytes"].get<long long>());
    }
  }
  EXPECT_FALSE(fs::exists(dir.file("backups/.backup_kill9x.partial")));
  EXPECT_EQ(count_files(dir.file("backups"), ".partial"), 0);
}

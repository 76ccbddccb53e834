// tests/db/migrations_test.cpp — the migration runner on real SQLite and PostgreSQL databases:
// ordering, re-runs, checksums, rollback of failing files, dialect files, concurrency.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <latch>
#include <regex>
#include <set>
#include <thread>

#include "db/migrations.h"
#include "db_fixture.h"

namespace jarvis::host::dbtest {
namespace {

using jarvis::test::write_file;

class MigrationTest : public DbTest {
 protected:
  /// Writes a migration file into the host's migration folder.
  void host_file(const std::string& filename, const std::string& sql) {
    write_file(tmp_.file("migrations/" + filename), sql);
  }
  std::vector<MigrationSource> host_only() { return {{"host", tmp_.file("migrations")}}; }
  bool is_sqlite() const { return GetParam() == Backend::Sqlite; }
};

const char* kUsers = "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n";
// sha256sum of kUsers, computed outside the program.
const char* kUsersSha = "71be7ba6ac2e3d90e1f46272007503ad5fe294844e645e6c4a6c95714858e232";
const char* kNotes =
    "-- notes belong to users\n"
    "CREATE TABLE notes(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),\n"
    "                   body TEXT NOT NULL DEFAULT 'a; b -- not a comment');\n"
    "/* a block comment; with a semicolon */\n"
    "CREATE INDEX notes_by_user ON notes(user_id);\n"
    "INSERT INTO users(id, name) VALUES (1, 'ann');\n"
    "INSERT INTO notes(id, user_id) VALUES (1, 1);\n";

TEST_P(MigrationTest, FreshApplyRunsEveryFileInVersionOrderAndRecordsIt) {
  host_file("002_notes.sql", kNotes);
  host_file("001_users.sql", kUsers);
  host_file("README.md", "not a migration");
  MigrationRunner runner(*db_);
  auto applied = runner.apply(host_only());
  ASSERT_EQ(applied.size(), 2u);
  EXPECT_EQ(applied[0].version, "1");
  EXPECT_EQ(applied[0].name, "users");
  EXPECT_EQ(applied[0].component, "host");
  EXPECT_EQ(applied[0].checksum, kUsersSha);
  EXPECT_EQ(applied[1].version, "2");
  EXPECT_EQ(applied[1].name, "notes");
  EXPECT_TRUE(table_exists("users"));
  EXPECT_TRUE(table_exists("notes"));
  // Every statement of the multi-statement file ran, the quoted ';' and '--' stayed data.
  EXPECT_EQ(count("SELECT COUNT(*) FROM notes WHERE body = 'a; b -- not a comment'"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM schema_migrations WHERE component = 'host'"), 2);
  auto s = db_->session();
  std::string checksum;
  *s << "SELECT checksum FROM schema_migrations WHERE component = 'host' AND version = 1",
      soci::into(checksum);
  EXPECT_EQ(checksum, kUsersSha);
}

TEST_P(MigrationTest, RerunAppliesNothing) {
  host_file("001_users.sql", kUsers);
  host_file("002_notes.sql", kNotes);
  MigrationRunner runner(*db_);
  EXPECT_FALSE(runner.up_to_date(host_only()));
  EXPECT_EQ(runner.apply(host_only()).size(), 2u);
  EXPECT_TRUE(runner.up_to_date(host_only()));
  EXPECT_TRUE(runner.apply(host_only()).empty());
  EXPECT_EQ(count("SELECT COUNT(*) FROM schema_migrations"), 2);
  EXPECT_EQ(count("SELECT COUNT(*) FROM users"), 1);  // 002's INSERT ran once
}

TEST_P(MigrationTest, EditedAppliedMigrationIsRefusedBeforeAnythingIsApplied) {
  host_file("001_users.sql", kUsers);
  MigrationRunner runner(*db_);
  runner.apply(host_only());
  host_file("001_users.sql", std::string(kUsers) + "-- edited\n");
  host_file("002_later.sql", "CREATE TABLE later(id INTEGER);\n");
  std::string edited_sha = MigrationRunner::discover(host_only(), db_->dialect())[0].checksum;
  ASSERT_NE(edited_sha, kUsersSha);
  try {
    runner.apply(host_only());
    FAIL() << "an edited applied migration was accepted";
  } catch (const MigrationError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("host/001_users.sql"), std::string::npos) << msg;
    EXPECT_NE(msg.find(kUsersSha), std::string::npos) << msg;
    EXPECT_NE(msg.find(edited_sha), std::string::npos) << msg;
  }
  EXPECT_FALSE(table_exists("later"));
  EXPECT_EQ(count("SELECT COUNT(*) FROM schema_migrations"), 1);
  auto st = runner.status(host_only());
  ASSERT_EQ(st.size(), 2u);
  EXPECT_TRUE(st[0].applied);
  EXPECT_TRUE(st[0].checksum_mismatch);
  EXPECT_FALSE(st[1].applied);
  EXPECT_FALSE(runner.up_to_date(host_only()));
}

TEST_P(MigrationTest, FailingMigrationIsRolledBackEntirely) {
  host_file("001_users.sql", kUsers);
  host_file("002_bad.sql",
            "CREATE TABLE half_done(id INTEGER);\n"
            "INSERT INTO missing_table VALUES (1);\n");
  host_file("003_after.sql", "CREATE TABLE after_bad(id INTEGER);\n");
  MigrationRunner runner(*db_);
  try {
    runner.apply(host_only());
    FAIL() << "a failing migration did not throw";
  } catch (const MigrationError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("host/002_bad.sql"), std::string::npos) << msg;
    EXPECT_NE(msg.find("missing_table"), std::string::npos) << msg;
    EXPECT_NE(msg.find("line 2"), std::string::npos) << msg;
  }
  EXPECT_TRUE(table_exists("users"));       // 001 stays applied
  EXPECT_FALSE(table_exists("half_done"));  // 002's first statement was rolled back
  EXPECT_FALSE(table_exists("after_bad"));  // nothing after the failure ran
  EXPECT_EQ(count("SELECT COUNT(*) FROM schema_migrations"), 1);

  // The connection is usable again and the fixed file applies.
  host_file("002_bad.sql", "CREATE TABLE half_done(id INTEGER);\n");
  auto applied = runner.apply(host_only());
  ASSERT_EQ(applied.size(), 2u);
  EXPECT_EQ(applied[0].name, "bad");
  EXPECT_TRUE(table_exists("half_done"));
  EXPECT_TRUE(table_exists("after_bad"));
}

TEST_P(MigrationTest, TransactionControlInsideAFileIsRefused) {
  host_file("001_commits.sql", "CREATE TABLE c1(id INTEGER);\nCOMMIT;\n");
  MigrationRunner runner(*db_);
  try {
    runner.apply(host_only());
    FAIL() << "a migration containing COMMIT was accepted";
  } catch (const MigrationError& e) {
    EXPECT_NE(std::string(e.what()).find("host/001_commits.sql"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("COMMIT"), std::string::npos) << e.what();
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM schema_migrations"), 0);
  // SQLite refuses the statement before it runs; PostgreSQL can only detect it afterwards.
  if (is_sqlite()) {
    EXPECT_FALSE(table_exists("c1"));
  }
}

TEST_P(MigrationTest, DialectSpecificFileWinsAndOtherDialectIsIgnored) {
  host_file("001_init.sql", "CREATE TABLE t_portable(id INTEGER);\n");
  host_file("001_init.sqlite.sql", "CREATE TABLE t_sqlite(id INTEGER);\n");
  host_file("001_init.postgresql.sql", "CREATE TABLE t_postgresql(id INTEGER);\n");
  host_file("002_tuning.postgresql.sql", "CREATE TABLE t_pg_only(id INTEGER);\n");
  host_file("003_tuning.sqlite.sql", "CREATE TABLE t_sqlite_only(id INTEGER);\n");
  host_file("004_common.sql", "CREATE TABLE t_common(id INTEGER);\n");
  MigrationRunner runner(*db_);
  auto applied = runner.apply(host_only());
  ASSERT_EQ(applied.size(), 3u);
  EXPECT_EQ(applied[0].version, "1");
  EXPECT_FALSE(table_exists("t_portable"));
  EXPECT_TRUE(table_exists("t_common"));
  if (is_sqlite()) {
    EXPECT_NE(applied[0].path.find("001_init.sqlite.sql"), std::string::npos);
    EXPECT_EQ(applied[1].version, "3");
    EXPECT_TRUE(table_exists("t_sqlite"));
    EXPECT_TRUE(table_exists("t_sqlite_only"));
    EXPECT_FALSE(table_exists("t_postgresql"));
    EXPECT_FALSE(table_exists("t_pg_only"));
  } else {
    EXPECT_NE(applied[0].path.find("001_init.postgresql.sql"), std::string::npos);
    EXPECT_EQ(applied[1].version, "2");
    EXPECT_TRUE(table_exists("t_postgresql"));
    EXPECT_TRUE(table_exists("t_pg_only"));
    EXPECT_FALSE(table_exists("t_sqlite"));
    EXPECT_FALSE(table_exists("t_sqlite_only"));
  }
  EXPECT_EQ(applied[2].version, "4");
}

TEST_P(MigrationTest, TriggerAndFunctionBodiesWithSemicolonsRun) {
  host_file("001_audit.sql",
            "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT);\n"
            "CREATE TABLE audit(item_id INTEGER, note TEXT);\n");
  host_file("002_trigger.sqlite.sql",
            "CREATE TRIGGER items_audit AFTER INSERT ON items\n"
            "BEGIN\n"
            "  INSERT INTO audit(item_id, note) VALUES (NEW.id, 'created; ok');\n"
            "  INSERT INTO audit(item_id, note) VALUES (NEW.id, 'second');\n"
            "END;\n");
  host_file("002_trigger.postgresql.sql",
            "CREATE FUNCTION items_audit() RETURNS trigger AS $$\n"
            "BEGIN\n"
            "  INSERT INTO audit(item_id, note) VALUES (NEW.id, 'created; ok');\n"
            "  INSERT INTO audit(item_id, note) VALUES (NEW.id, 'second');\n"
            "  RETURN NEW;\n"
            "END;\n"
            "$$ LANGUAGE plpgsql;\n"
            "CREATE TRIGGER items_audit AFTER INSERT ON items\n"
            "  FOR EACH ROW EXECUTE FUNCTION items_audit();\n");
  MigrationRunner runner(*db_);
  ASSERT_EQ(runner.apply(host_only()).size(), 2u);
  {
    auto s = db_->session();
    *s << "INSERT INTO items(id, name) VALUES (7, 'x')";
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM audit WHERE item_id = 7"), 2);
  EXPECT_EQ(count("SELECT COUNT(*) FROM audit WHERE note = 'created; ok'"), 1);
}

TEST_P(MigrationTest, DuplicateVersionIsRefused) {
  host_file("001_first.sql", "CREATE TABLE first_t(id INTEGER);\n");
  host_file("1_second.sql", "CREATE TABLE second_t(id INTEGER);\n");
  MigrationRunner runner(*db_);
  try {
    runner.apply(host_only());
    FAIL() << "duplicate versions were accepted";
  } catch (const MigrationError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("duplicate version 1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("001_first.sql"), std::string::npos) << msg;
    EXPECT_NE(msg.find("1_second.sql"), std::string::npos) << msg;
  }
  EXPECT_FALSE(table_exists("first_t"));
  EXPECT_FALSE(table_exists("second_t"));
}

TEST_P(MigrationTest, InvalidNamesAndFoldersAreRefused) {
  MigrationRunner runner(*db_);
  host_file("001_init.sql", "CREATE TABLE a(id INTEGER);\n");
  host_file("001_other.sqlite.sql", "CREATE TABLE b(id INTEGER);\n");
  EXPECT_THROW(runner.apply(host_only()), MigrationError);  // dialect file must repeat the name

  jarvis::test::TempDir other;
  write_file(other.file("init.sql"), "CREATE TABLE c(id INTEGER);\n");
  try {
    runner.status({{"bugs", other.path()}});
    FAIL() << "a file without a version was accepted";
  } catch (const MigrationError& e) {
    EXPECT_NE(std::string(e.what()).find("bugs/init.sql"), std::string::npos) << e.what();
  }
  EXPECT_THROW(runner.apply({{"host", tmp_.file("does-not-exist")}}), MigrationError);
  EXPECT_THROW(runner.apply({{"x", other.path()}, {"x", other.path()}}), MigrationError);
  EXPECT_FALSE(table_exists("a"));
  EXPECT_FALSE(table_exists("b"));
  EXPECT_FALSE(table_exists("c"));
}

TEST_P(MigrationTest, StatusReportsAppliedAndPendingPerComponentInOrder) {
  host_file("001_users.sql", kUsers);
  host_file("002_notes.sql", kNotes);
  write_file(tmp_.file("bugs/001_bugs.sql"), "CREATE TABLE bugs(id INTEGER PRIMARY KEY);\n");
  std::vector<MigrationSource> sources{{"host", tmp_.file("migrations")},
                                       {"bugs", tmp_.file("bugs")}};
  MigrationRunner runner(*db_);
  auto before = runner.status(sources);
  ASSERT_EQ(before.size(), 3u);
  for (const auto& st : before) {
    EXPECT_FALSE(st.applied);
    EXPECT_TRUE(st.applied_at.empty());
  }
  EXPECT_FALSE(table_exists("users"));  // status() applies nothing

  auto applied = runner.apply(sources);
  ASSERT_EQ(applied.size(), 3u);
  EXPECT_EQ(applied[2].component, "bugs");  // sources in the given order
  host_file("003_tags.sql", "CREATE TABLE tags(id INTEGER);\n");

  auto after = runner.status(sources);
  ASSERT_EQ(after.size(), 4u);
  const std::regex iso(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");
  EXPECT_EQ(after[0].file.component, "host");
  EXPECT_EQ(after[2].file.name, "tags");
  EXPECT_EQ(after[3].file.component, "bugs");
  for (std::size_t i : {0u, 1u, 3u}) {
    EXPECT_TRUE(after[i].applied) << i;
    EXPECT_FALSE(after[i].checksum_mismatch) << i;
    EXPECT_TRUE(std::regex_match(after[i].applied_at, iso)) << after[i].applied_at;
  }
  EXPECT_FALSE(after[2].applied);
  EXPECT_FALSE(runner.up_to_date(sources));
  ASSERT_EQ(runner.apply(sources).size(), 1u);
  EXPECT_TRUE(runner.up_to_date(sources));
}

TEST_P(MigrationTest, ConcurrentHostsMigrateExactlyOnce) {
  // Each file records its own run; applying any file twice would fail (CREATE TABLE) or
  // leave a duplicate row.
  host_file("001_runs.sql",
            "CREATE TABLE runs(version INTEGER PRIMARY KEY);\nINSERT INTO runs VALUES (1);\n");
  for (int v = 2; v <= 8; ++v) {
    host_file("00" + std::to_string(v) + "_step.sql", "CREATE TABLE step" + std::to_string(v) +
                                                          "(id INTEGER);\n"
                                                          "INSERT INTO runs VALUES (" +
                                                          std::to_string(v) + ");\n");
  }
  constexpr int kHosts = 4;
  std::vector<std::unique_ptr<SqlDatabase>> hosts;
  for (int i = 0; i < kHosts; ++i) hosts.push_back(open_again());
  std::latch start(kHosts);
  std::vector<std::vector<MigrationFile>> results(kHosts);
  std::vector<std::string> errors(kHosts);
  std::vector<std::thread> threads;
  for (int i = 0; i < kHosts; ++i) {
    threads.emplace_back([&, i] {
      MigrationRunner runner(*hosts[i]);
      start.arrive_and_wait();
      try {
        results[i] = runner.apply(host_only());
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  std::multiset<std::string> applied_versions;
  for (int i = 0; i < kHosts; ++i) {
    EXPECT_EQ(errors[i], "") << "host " << i;
    for (const auto& f : results[i]) applied_versions.insert(f.version);
  }
  EXPECT_EQ(applied_versions.size(), 8u);
  for (int v = 1; v <= 8; ++v) EXPECT_EQ(applied_versions.count(std::to_string(v)), 1u) << v;
  EXPECT_EQ(count("SELECT COUNT(*) FROM runs"), 8);
  EXPECT_EQ(count("SELECT COUNT(*) FROM schema_migrations"), 8);
}

INSTANTIATE_TEST_SUITE_P(Backends, MigrationTest,
                         testing::Values(Backend::Sqlite, Backend::Postgresql), backend_name);

}  // namespace
}  // namespace jarvis::host::dbtest

namespace jarvis::host::dbtest {
namespace {

// The schema the project ships (the host's migrations/, then each in-tree plugin's) applies
// cleanly on both dialects, and a second run is a no-op.
TEST_P(MigrationTest, ShippedMigrationsApplyOnBothDialects) {
  namespace fs = std::filesystem;
  std::vector<MigrationSource> sources{{"host", std::string(JARVIS_SOURCE_DIR) + "/migrations"}};
  std::vector<fs::path> plugin_dirs;
  for (const auto& e : fs::directory_iterator(std::string(JARVIS_SOURCE_DIR) + "/plugins")) {
    if (fs::is_directory(e.path() / "migrations")) plugin_dirs.push_back(e.path());
  }
  std::sort(plugin_dirs.begin(), plugin_dirs.end());
  for (const auto& p : plugin_dirs) {
    sources.push_back({p.filename().string(), (p / "migrations").string()});
  }
  MigrationRunner runner(*db_);
  auto applied = runner.apply(sources);
  EXPECT_FALSE(applied.empty());
  EXPECT_TRUE(runner.up_to_date(sources));
  EXPECT_TRUE(runner.apply(sources).empty());
}

}  // namespace
}  // namespace jarvis::host::dbtest

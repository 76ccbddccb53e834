// tests/db/sql_database_test.cpp — opening the pool on real SQLite and PostgreSQL databases,
// per-session SQLite settings, URL forms, and error messages that never show a password.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <thread>

#include "db_fixture.h"
#include "jarvis/database.h"

namespace jarvis::host::dbtest {
namespace {

namespace fs = std::filesystem;

// The message of the std::runtime_error that SqlDatabase::open(url) throws ("" if none).
std::string open_error(const std::string& url, std::size_t pool = 1) {
  try {
    SqlDatabase::open(url, pool);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

// The test server's URL with its user, host and port, and `rest` after the authority.
std::string pg_server(const std::string& userinfo, const std::string& rest) {
  std::string base = jarvis::test::pg_test_url();  // postgresql://jarvis@127.0.0.1:PORT/postgres
  auto at = base.find('@');
  auto slash = base.find('/', at);
  return "postgresql://" + userinfo + "@" + base.substr(at + 1, slash - at - 1) + rest;
}

using SqlDatabaseTest = DbTest;

TEST_P(SqlDatabaseTest, OpensPoolAndRunsTransactions) {
  EXPECT_EQ(db_->dialect(),
            GetParam() == Backend::Sqlite ? jarvis::Dialect::Sqlite : jarvis::Dialect::Postgresql);
  EXPECT_EQ(db_->pool_size(), 4u);
  {
    auto s = db_->session();
    *s << "CREATE TABLE kv(k TEXT PRIMARY KEY, v TEXT NOT NULL, at TEXT NOT NULL)";
    soci::transaction tx(*s);
    std::string k = "a", v = "1", at = jarvis::now_iso();
    *s << "INSERT INTO kv(k, v, at) VALUES(:k, :v, :at)", soci::use(k), soci::use(v), soci::use(at);
    tx.commit();
  }
  {
    auto s = db_->session();
    soci::transaction tx(*s);
    *s << "INSERT INTO kv(k, v, at) VALUES('b', '2', 'x')";
    tx.rollback();
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM kv"), 1);
  // Every pooled session can be borrowed at the same time, from different threads.
  std::vector<jarvis::DbSession> held;
  for (int i = 0; i < 4; ++i) held.push_back(db_->session());
  std::vector<int> seen(4, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] { *held[i] << "SELECT COUNT(*) FROM kv", soci::into(seen[i]); });
  }
  for (auto& t : threads) t.join();
  for (int n : seen) EXPECT_EQ(n, 1);
}

TEST_P(SqlDatabaseTest, DisplayUrlNeverShowsAPassword) {
  if (GetParam() == Backend::Sqlite) {
    EXPECT_EQ(db_->display_url(), url_);
    return;
  }
  // The test server trusts every connection, so the password is accepted and ignored.
  std::string url = pg_server("jarvis:Pa55word-xyz", "/postgres?application_name=jarvis%20test");
  auto db = SqlDatabase::open(url, 1);
  EXPECT_EQ(db->display_url().find("Pa55word-xyz"), std::string::npos) << db->display_url();
  EXPECT_NE(db->display_url().find("jarvis:***@"), std::string::npos) << db->display_url();
  auto s = db->session();
  std::string app;
  *s << "SELECT current_setting('application_name')", soci::into(app);
  EXPECT_EQ(app, "jarvis test");  // query parameters reach libpq, percent-decoded
}

INSTANTIATE_TEST_SUITE_P(Backends, SqlDatabaseTest,
                         testing::Values(Backend::Sqlite, Backend::Postgresql), backend_name);

TEST(SqliteDatabase, EveryPooledSessionHasWalForeignKeysAndBusyTimeout) {
  jarvis::test::TempDir tmp;
  std::string path = tmp.file("nested/dir/jarvis.db");  // parent folders do not exist yet
  auto db = SqlDatabase::open(path, 3);
  EXPECT_TRUE(fs::exists(path));
  std::vector<jarvis::DbSession> sessions;
  for (int i = 0; i < 3; ++i) sessions.push_back(db->session());  // all three at once
  for (auto& s : sessions) {
    std::string mode;
    int fk = 0, sync = -1, busy = 0;
    *s << "PRAGMA journal_mode", soci::into(mode);
    *s << "PRAGMA foreign_keys", soci::into(fk);
    *s << "PRAGMA synchronous", soci::into(sync);
    *s << "PRAGMA busy_timeout", soci::into(busy);
    EXPECT_EQ(mode, "wal");
    EXPECT_EQ(fk, 1);
    EXPECT_EQ(sync, 1);  // NORMAL
    EXPECT_EQ(busy, 5000);
  }
  auto& s = *sessions[0];
  s << "CREATE TABLE parent(id INTEGER PRIMARY KEY)";
  s << "CREATE TABLE child(id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id))";
  EXPECT_THROW(s << "INSERT INTO child(id, parent_id) VALUES (1, 42)", soci::soci_error);
}

TEST(SqliteDatabase, TheWalIsCheckpointedByItsOwnThreadAndStaysBounded) {
  // Decision 0098: commits no longer checkpoint (the writer held the write gate while copying
  // 1,000 pages); each commit past 1,000 WAL pages signals a thread that checkpoints on its own
  // connection. Without any checkpoint this WAL would grow past 20 MB.
  jarvis::test::TempDir tmp;
  std::string path = tmp.file("jarvis.db");
  auto db = SqlDatabase::open(path, 2);
  {
    auto s = db->session();
    *s << "CREATE TABLE blobs(id INTEGER PRIMARY KEY, body TEXT NOT NULL)";
  }
  const std::string body(3000, 'x');  // about one page per row
  for (int batch = 0; batch < 40; ++batch) {
    auto tx = db->transaction();
    for (int i = 0; i < 150; ++i) {
      tx->session() << "INSERT INTO blobs(body) VALUES (:b)", soci::use(body);
    }
    tx->commit();
    // Give the checkpointer its moment, as a serving host's idle gaps do.
    if (batch % 8 == 7) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(jarvis::test::eventually([&] { return db->wal_checkpoints() > 0; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto wal_bytes = fs::file_size(path + "-wal");
  EXPECT_LT(wal_bytes, 12u * 1024 * 1024) << "the WAL grew without checkpoints";
  auto s = db->session();
  long long rows = 0;
  *s << "SELECT COUNT(*) FROM blobs", soci::into(rows);
  EXPECT_EQ(rows, 6000);
}

TEST(SqliteDatabase, UrlFormsNameTheSameFile) {
  jarvis::test::TempDir tmp;
  {
    auto db = SqlDatabase::open("sqlite://" + tmp.file("a.db"), 1);  // sqlite:///abs/a.db
    EXPECT_EQ(db->dialect(), jarvis::Dialect::Sqlite);
    *db->session() << "CREATE TABLE marker(id INTEGER)";
  }
  {
    auto db = SqlDatabase::open(tmp.file("a.db"), 1);
    int n = 0;
    *db->session() << "SELECT COUNT(*) FROM sqlite_master WHERE name = 'marker'", soci::into(n);
    EXPECT_EQ(n, 1);
  }
  // sqlite://relative/path is relative to the working directory.
  const auto old_cwd = fs::current_path();
  fs::current_path(tmp.path());
  std::string err;
  try {
    auto db = SqlDatabase::open("sqlite://rel/b.db", 1);
  } catch (const std::exception& e) {
    err = e.what();
  }
  fs::current_path(old_cwd);
  EXPECT_EQ(err, "");
  EXPECT_TRUE(fs::exists(tmp.file("rel/b.db")));
  // A path with spaces and '=' (SOCI's connect string is quoted).
  auto odd = SqlDatabase::open(tmp.file("my dir/a=b.db"), 1);
  *odd->session() << "CREATE TABLE t(id INTEGER)";
  EXPECT_TRUE(fs::exists(tmp.file("my dir/a=b.db")));
}

TEST(SqliteDatabase, UnusableLocationsGiveClearErrors) {
  std::string err = open_error("/proc/jarvis-no-such/x.db");
  EXPECT_NE(err.find("cannot create directory /proc/jarvis-no-such"), std::string::npos) << err;
  jarvis::test::TempDir tmp;
  fs::create_directories(tmp.file("a-directory.db"));
  err = open_error(tmp.file("a-directory.db"));
  EXPECT_NE(err.find("cannot open database " + tmp.file("a-directory.db")), std::string::npos)
      << err;
  EXPECT_NE(open_error(":memory:", 2).find("pool size 1"), std::string::npos);
  EXPECT_NE(open_error(tmp.file("x.db"), 0).find("at least 1"), std::string::npos);
  EXPECT_NE(open_error("").find("empty database URL"), std::string::npos);
}

TEST(DatabaseUrl, UnsupportedSchemeIsRefusedWithoutItsPassword) {
  std::string err = open_error("mysql://root:Hunter2x@db.example/app");
  EXPECT_NE(err.find("unsupported database URL scheme 'mysql'"), std::string::npos) << err;
  EXPECT_EQ(err.find("Hunter2x"), std::string::npos) << err;
}

TEST(PostgresqlDatabase, UnreachableServerErrorHidesThePassword) {
  int port = jarvis::test::free_port();  // nothing listens there
  std::string url = "postgresql://jarvis:S3cret-Pw@127.0.0.1:" + std::to_string(port) + "/jarvis";
  std::string err = open_error(url);
  ASSERT_NE(err, "");
  EXPECT_NE(err.find("cannot open database postgresql://jarvis:***@127.0.0.1:" +
                     std::to_string(port) + "/jarvis"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("Connection refused"), std::string::npos) << err;
  EXPECT_EQ(err.find("S3cret-Pw"), std::string::npos) << err;

  std::string q = "postgres://jarvis@127.0.0.1:" + std::to_string(port) +
                  "/jarvis?password=Qu3ry-Pw&sslmode=disable";
  err = open_error(q);
  ASSERT_NE(err, "");
  EXPECT_EQ(err.find("Qu3ry-Pw"), std::string::npos) << err;
  EXPECT_NE(err.find("password=***&sslmode=disable"), std::string::npos) << err;
}

TEST(PostgresqlDatabase, MissingDatabaseAndBadUrlAreClearErrors) {
  std::string err = open_error(pg_server("jarvis:Zz9-pass", "/jarvis_no_such_db"));
  EXPECT_NE(err.find("jarvis_no_such_db"), std::string::npos) << err;
  EXPECT_NE(err.find("does not exist"), std::string::npos) << err;
  EXPECT_EQ(err.find("Zz9-pass"), std::string::npos) << err;

  err = open_error("postgresql://jarvis:Zz9-pass@127.0.0.1:5432/db?no_such_option=1");
  EXPECT_NE(err.find("invalid PostgreSQL URL"), std::string::npos) << err;
  EXPECT_NE(err.find("no_such_option"), std::string::npos) << err;
  EXPECT_EQ(err.find("Zz9-pass"), std::string::npos) << err;

  err = open_error("postgresql://jarvis:Zz9-pass@127.0.0.1:5432/my db");
  EXPECT_NE(err.find("must be percent-encoded"), std::string::npos) << err;
  EXPECT_EQ(err.find("Zz9-pass"), std::string::npos) << err;
}

}  // namespace
}  // namespace jarvis::host::dbtest

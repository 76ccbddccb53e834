// tests/db/sdk_sql_test.cpp — jarvis/sql.h on SQLite and PostgreSQL: positional binds (text,
// integer, null), rows as JSON whatever type each backend reports, COUNT(*) as an integer, and a
// hostile value staying a value.
#include <gtest/gtest.h>

#include "db/db_fixture.h"
#include "jarvis/sql.h"

namespace jarvis::host::dbtest {
namespace {

namespace sql = jarvis::sql;
using SdkSqlTest = DbTest;

TEST_P(SdkSqlTest, BindsReadsAndCounts) {
  auto s = db_->session();
  sql::exec(*s,
            "CREATE TABLE notes(id TEXT PRIMARY KEY, owner TEXT NOT NULL, n BIGINT, note TEXT)");
  EXPECT_EQ(sql::exec(*s, "INSERT INTO notes(id, owner, n, note) VALUES(:i, :o, :n, :t)",
                      {"a", "ada", 1, "first"}),
            1);
  sql::exec(*s, "INSERT INTO notes(id, owner, n, note) VALUES(:i, :o, :n, :t)",
            {"b", "ada", 2LL, sql::Bind::null()});
  // A hostile value is bound, never spliced into the SQL text.
  const std::string evil = "x'); DROP TABLE notes; --";
  sql::exec(*s, "INSERT INTO notes(id, owner, n, note) VALUES(:i, :o, :n, :t)",
            {"c", "bob", 3, evil});

  EXPECT_EQ(sql::scalar_int(*s, "SELECT COUNT(*) FROM notes"), 3);
  EXPECT_EQ(sql::scalar_int(*s, "SELECT COUNT(*) FROM notes WHERE owner = :o", {"ada"}), 2);
  EXPECT_EQ(sql::scalar_int(*s, "SELECT SUM(n) FROM notes"), 6);
  EXPECT_EQ(sql::scalar_int(*s, "SELECT n FROM notes WHERE id = :i", {"missing"}), 0);

  Json b = sql::one_row(*s, "SELECT id, owner, n, note FROM notes WHERE id = :i", {"b"});
  ASSERT_TRUE(b.is_object());
  EXPECT_EQ(b["id"], "b");
  EXPECT_EQ(b["n"], 2);
  EXPECT_TRUE(b["note"].is_null());
  EXPECT_TRUE(sql::one_row(*s, "SELECT id FROM notes WHERE id = :i", {"zzz"}).is_null());

  Json c = sql::one_row(*s, "SELECT note FROM notes WHERE id = :i", {"c"});
  EXPECT_EQ(c["note"], evil);

  // A WHERE clause built at run time: binds follow the placeholder order.
  sql::Binds binds{"ada"};
  std::string q = "SELECT id FROM notes WHERE owner = :o";
  q += " AND n >= :n";
  binds.emplace_back(2);
  q += " ORDER BY id LIMIT :l";
  binds.emplace_back(10);
  Json rows = sql::all_rows(*s, q, binds);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["id"], "b");

  std::size_t seen = sql::for_each_row(*s, "SELECT id FROM notes ORDER BY id", binds = {},
                                       [](const soci::row&) {});
  EXPECT_EQ(seen, 3u);
  EXPECT_EQ(sql::exec(*s, "UPDATE notes SET note = :t WHERE owner = :o", {"z", "ada"}), 2);
}

INSTANTIATE_TEST_SUITE_P(Backends, SdkSqlTest,
                         testing::Values(Backend::Sqlite, Backend::Postgresql), backend_name);

}  // namespace
}  // namespace jarvis::host::dbtest

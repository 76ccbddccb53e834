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

// The pool's SQLite sessions reuse prepared statements (decision 0087); PostgreSQL's do not.
// Each case below is what naive reuse gets wrong.
class SdkSqlCacheTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    auto s = db_->session();
    sql::exec(*s, "CREATE TABLE notes(id TEXT PRIMARY KEY, owner TEXT NOT NULL, n BIGINT)");
  }
  bool sqlite() const { return db_->dialect() == jarvis::Dialect::Sqlite; }
};

TEST_P(SdkSqlCacheTest, ARepeatedStatementIsPreparedOnceAndSeesEachCallsBinds) {
  auto s = db_->session();
  std::size_t before = sql::cached_statements(*s);
  for (int i = 0; i < 5; ++i) {
    sql::exec(*s, "INSERT INTO notes(id, owner, n) VALUES(:i, :o, :n)",
              {"id" + std::to_string(i), i % 2 ? "ada" : "bob", i});
  }
  for (int i = 0; i < 5; ++i) {
    Json r = sql::one_row(*s, "SELECT id, owner, n FROM notes WHERE id = :i",
                          {"id" + std::to_string(i)});
    ASSERT_TRUE(r.is_object()) << i;
    EXPECT_EQ(r["n"], i);
    EXPECT_EQ(r["owner"], i % 2 ? "ada" : "bob");
  }
  // A null bind in a reused statement, then a value again.
  sql::exec(*s, "INSERT INTO notes(id, owner, n) VALUES(:i, :o, :n)",
            {"nil", "cy", sql::Bind::null()});
  EXPECT_TRUE(
      sql::one_row(*s, "SELECT id, owner, n FROM notes WHERE id = :i", {"nil"})["n"].is_null());
  EXPECT_EQ(sql::one_row(*s, "SELECT id, owner, n FROM notes WHERE id = :i", {"id3"})["n"], 3);
  EXPECT_TRUE(sql::one_row(*s, "SELECT id, owner, n FROM notes WHERE id = :i", {"zz"}).is_null());
  // The INSERT with an integer n, the same INSERT with a null (a text bind), the SELECT.
  EXPECT_EQ(sql::cached_statements(*s) - before, sqlite() ? 3u : 0u);
}

TEST_P(SdkSqlCacheTest, AnExpressionColumnReadsAsAFreshStatementReadsIt) {
  auto s = db_->session();
  // MAX() over no rows is NULL. Newer SOCI versions type an undeclared SQLite column from the
  // first row they see, so a statement reused after that would keep the type of that NULL.
  const std::string q = "SELECT MAX(n) AS m, COUNT(*) AS c, MIN(id) AS i FROM notes";
  EXPECT_TRUE(sql::one_row(*s, q)["m"].is_null());
  sql::exec(*s, "INSERT INTO notes(id, owner, n) VALUES('a', 'ada', 7)");
  Json reused = sql::one_row(*s, q);
  sql::disable_statement_cache(*s);
  Json fresh = sql::one_row(*s, q);
  sql::enable_statement_cache(*s);
  EXPECT_EQ(reused.dump(), fresh.dump());
  EXPECT_EQ(sql::scalar_int(*s, q), 7);
}

TEST_P(SdkSqlCacheTest, AReturningWriteRunThroughExecIsCommittedAtOnce) {
  auto s = db_->session();
  // exec() steps a RETURNING statement once; left un-reset, SQLite keeps its autocommit write
  // open and every other connection waits (or sees nothing).
  for (int i = 0; i < 2; ++i) {
    sql::exec(*s, "INSERT INTO notes(id, owner, n) VALUES(:i, 'ada', 1) RETURNING id",
              {"r" + std::to_string(i)});
  }
  auto other = open_again(1);
  auto o = other->session();
  EXPECT_EQ(sql::scalar_int(*o, "SELECT COUNT(*) FROM notes WHERE id LIKE 'r%'"), 2);
  EXPECT_EQ(sql::exec(*o, "UPDATE notes SET n = 2 WHERE id = 'r0'"), 1);
  EXPECT_EQ(sql::one_row(*s, "SELECT id, owner, n FROM notes WHERE id = :i", {"r0"})["n"], 2);
}

TEST_P(SdkSqlCacheTest, TheSameStatementInsideItsOwnRowCallbackAndAfterAThrowWorks) {
  auto s = db_->session();
  for (const char* id : {"a", "b", "c"}) {
    sql::exec(*s, "INSERT INTO notes(id, owner, n) VALUES(:i, 'ada', 1)", {id});
  }
  const std::string q = "SELECT id FROM notes WHERE owner = :o ORDER BY id";
  sql::Binds ada{"ada"};
  std::vector<std::string> outer, inner;
  sql::for_each_row(*s, q, ada, [&](const soci::row& r) {
    outer.push_back(r.get<std::string>(0));
    sql::Binds again{"ada"};
    inner.push_back(std::to_string(sql::for_each_row(*s, q, again, [](const soci::row&) {})));
  });
  EXPECT_EQ(outer, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(inner, (std::vector<std::string>{"3", "3", "3"}));

  EXPECT_THROW(
      sql::for_each_row(*s, q, ada, [](const soci::row&) { throw std::runtime_error("stop"); }),
      std::runtime_error);
  std::size_t n = sql::for_each_row(*s, q, ada, [](const soci::row&) {});
  EXPECT_EQ(n, 3u);
  // A failing statement (constraint) is not kept half-executed either.
  EXPECT_ANY_THROW(sql::exec(*s, "INSERT INTO notes(id, owner, n) VALUES(:i, 'ada', 1)", {"a"}));
  EXPECT_EQ(sql::exec(*s, "INSERT INTO notes(id, owner, n) VALUES(:i, 'ada', 1)", {"d"}), 1);
}

TEST_P(SdkSqlCacheTest, TheCacheIsBoundedAndDroppedWithItsSession) {
  auto s = db_->session();
  sql::enable_statement_cache(*s, 2);  // replaces the pool's cache of this session
  for (int i = 0; i < 5; ++i) {
    sql::scalar_int(
        *s,
        "SELECT n FROM notes WHERE id = :i AND " + std::to_string(i) + " = " + std::to_string(i),
        {"x"});
  }
  EXPECT_EQ(sql::cached_statements(*s), sqlite() ? 2u : 0u);
  sql::disable_statement_cache(*s);
  EXPECT_EQ(sql::cached_statements(*s), 0u);
  EXPECT_EQ(sql::scalar_int(*s, "SELECT COUNT(*) FROM notes"), 0);  // one-shot again
  sql::enable_statement_cache(*s);
}

// jarvis_bm25 (decision 0098): bm25() with the caller's row count of each phrase, on every
// SQLite session of the pool.
using SdkFts5RankingTest = DbTest;

TEST_P(SdkFts5RankingTest, WithExactCountsItIsBm25AndTheCountsGivenAreTheOnesUsed) {
  auto s = db_->session();
  sql::exec(*s, "CREATE VIRTUAL TABLE docs USING fts5(body, tokenize='porter unicode61')");
  for (int i = 0; i < 60; ++i) {
    std::string body = "common words in row " + std::to_string(i);
    if (i % 3 == 0) body += " alpha";
    if (i % 7 == 0) body += " beta beta";
    for (int k = 0; k < i % 5; ++k) body += " filler";
    sql::exec(*s, "INSERT INTO docs(rowid, body) VALUES(:r, :b)", {i + 1, body});
  }
  auto count = [&](const std::string& phrase) {
    return sql::scalar_int(*s, "SELECT COUNT(*) FROM docs WHERE docs MATCH :q", {phrase});
  };
  // An expression column has no declared type: SOCI may report it as text.
  auto real = [](const soci::row& r, std::size_t i) {
    Json v = sql::column(r, i);
    return v.is_number() ? v.get<double>() : std::stod(v.get<std::string>());
  };
  struct Query {
    std::string match;
    std::vector<std::string> phrases;  // in the order they appear
  };
  const std::vector<Query> queries = {
      {R"("alpha")", {R"("alpha")"}},
      {R"("alpha" OR "beta")", {R"("alpha")", R"("beta")"}},
      {R"(("alpha") AND ("common" OR "beta"))", {R"("alpha")", R"("common")", R"("beta")"}},
      {R"(("common") NOT ("alpha"))", {R"("common")", R"("alpha")"}},
      {R"("words in")", {R"("words in")"}}};
  for (const auto& q : queries) {
    // Exact counts; none at all; unusable ones (NULL, negative, text): each equals bm25().
    for (int variant = 0; variant < 3; ++variant) {
      std::string text = "SELECT rowid, bm25(docs), jarvis_bm25(docs";
      sql::Binds b;
      for (std::size_t i = 0; variant != 1 && i < q.phrases.size(); ++i) {
        text += ", :n" + std::to_string(i);
        if (variant == 0) b.emplace_back(count(q.phrases[i]));
        if (variant == 2)
          b.push_back(i % 3 == 0 ? sql::Bind::null() : i % 3 == 1 ? sql::Bind(-5) : sql::Bind("x"));
      }
      text += ") FROM docs WHERE docs MATCH :q ORDER BY rowid";
      b.emplace_back(q.match);
      std::size_t rows = 0;
      sql::for_each_row(*s, text, b, [&](const soci::row& r) {
        ++rows;
        EXPECT_NEAR(real(r, 2), real(r, 1), 1e-12 * std::max(1.0, std::abs(real(r, 1))))
            << q.match << " variant " << variant << " row " << sql::column_int(r, 0);
      });
      EXPECT_GT(rows, 0u) << q.match;
    }
  }
  // The count given is the one used: "common" (in all 60 rows, idf at bm25's floor) said to be in
  // one row scores far higher; "alpha" said to be in 50 rows scores lower than its 20 give.
  sql::Binds b{1, R"("common")"};
  sql::for_each_row(
      *s, "SELECT bm25(docs), jarvis_bm25(docs, :n) FROM docs WHERE docs MATCH :q AND rowid = 1", b,
      [&](const soci::row& r) { EXPECT_LT(real(r, 1), real(r, 0) - 1.0); });
  b = {50, R"("alpha")"};
  sql::for_each_row(
      *s, "SELECT bm25(docs), jarvis_bm25(docs, :n) FROM docs WHERE docs MATCH :q AND rowid = 1", b,
      [&](const soci::row& r) { EXPECT_GT(real(r, 1), real(r, 0) + 0.1); });
  // Outside a full-text query it is an SQL error, not a crash.
  EXPECT_THROW(sql::scalar_int(*s, "SELECT jarvis_bm25(1)"), std::exception);
}

INSTANTIATE_TEST_SUITE_P(Backends, SdkFts5RankingTest, testing::Values(Backend::Sqlite),
                         backend_name);

INSTANTIATE_TEST_SUITE_P(Backends, SdkSqlCacheTest,
                         testing::Values(Backend::Sqlite, Backend::Postgresql), backend_name);

INSTANTIATE_TEST_SUITE_P(Backends, SdkSqlTest,
                         testing::Values(Backend::Sqlite, Backend::Postgresql), backend_name);

}  // namespace
}  // namespace jarvis::host::dbtest

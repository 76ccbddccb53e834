// jarvis/sql.h — portable SQL with positional binds, and rows read as JSON whatever column types
// SQLite or PostgreSQL report (SDK 1.1). For statements whose WHERE clause is built at run time,
// and for reading rows without caring whether COUNT(*) came back as int, bigint or text.
//
//   jarvis::sql::Binds b{owner, jarvis::sql::Bind(limit)};
//   std::string q = "SELECT id, title, created_at FROM notes WHERE owner = :o";
//   if (!status.empty()) { q += " AND status = :s"; b.push_back(status); }   // placeholder order
//   q += " ORDER BY created_at DESC LIMIT :l";
//   jarvis::Json rows = jarvis::sql::all_rows(*sql, q, b);         // [{"id":…, "title":…}, …]
//   long long n = jarvis::sql::scalar_int(*sql, "SELECT COUNT(*) FROM notes WHERE owner = :o",
//                                         {owner});
//   jarvis::sql::exec(*sql, "UPDATE notes SET title = :t WHERE id = :i", {title, id});
//
// Binds are matched to placeholders by position (the names are documentation). Values are always
// bound, never spliced into the SQL text: user input never becomes SQL. Works on a plain session
// (`*host.db().session()`) and inside a transaction (`tx->session()`).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <soci/soci.h>

#include "jarvis/json.h"
#include "jarvis/version.h"

namespace jarvis::sql {

/// One positional bind: text, an integer or SQL NULL.
struct JARVIS_API Bind {
  Bind(std::string s) : text(std::move(s)) {}         // NOLINT(google-explicit-constructor)
  Bind(const char* s) : text(s) {}                    // NOLINT(google-explicit-constructor)
  Bind(long long i) : integer(i), is_int(true) {}     // NOLINT(google-explicit-constructor)
  Bind(long i) : integer(i), is_int(true) {}          // NOLINT(google-explicit-constructor)
  Bind(int i) : integer(i), is_int(true) {}           // NOLINT(google-explicit-constructor)
  Bind(bool b) : integer(b ? 1 : 0), is_int(true) {}  // NOLINT(google-explicit-constructor)
  /// SQL NULL (bound as a null text value).
  static Bind null();

  std::string text;                        ///< the value of a text bind
  long long integer = 0;                   ///< the value of an integer bind
  bool is_int = false;                     ///< integer rather than text
  soci::indicator indicator = soci::i_ok;  ///< i_null for null()
};

/// Binds of one statement, in placeholder order.
using Binds = std::vector<Bind>;

/// Column `i` of `row` as JSON: null, string, integer or double.
JARVIS_API Json column(const soci::row& row, std::size_t i);

/// Column `i` as an integer: PostgreSQL reports COUNT/SUM as bigint or numeric text, SQLite as
/// int; null and unparsable text give 0.
JARVIS_API long long column_int(const soci::row& row, std::size_t i);

/// The row as a JSON object keyed by lower-cased column name.
JARVIS_API Json row_json(const soci::row& row);

/// Runs `query` with `binds` and calls `on_row` for every result row; returns the row count.
/// `binds` must stay alive until it returns (soci binds by reference).
JARVIS_API std::size_t for_each_row(soci::session& sql, const std::string& query, Binds& binds,
                                    const std::function<void(const soci::row&)>& on_row);

/// Runs a statement without results; returns the number of affected rows.
JARVIS_API long long exec(soci::session& sql, const std::string& query, Binds binds = {});

/// The first row as JSON, or null when there is none.
JARVIS_API Json one_row(soci::session& sql, const std::string& query, Binds binds = {});

/// Every row as a JSON array.
JARVIS_API Json all_rows(soci::session& sql, const std::string& query, Binds binds = {});

/// The integer in the first column of the first row; 0 when there is no row or it is null.
JARVIS_API long long scalar_int(soci::session& sql, const std::string& query, Binds binds = {});

// --- Prepared-statement reuse (SDK 1.1, decision 0087) ---
//
// Every function above prepares its statement anew unless the session has a statement cache;
// the host gives each of its pooled SQLite sessions one, so plugins get the reuse without doing
// anything. A cached statement is prepared on first use of its exact SQL text and bind types,
// then only reset, re-bound and stepped. Statements whose result columns have no declared type
// (COUNT(*), MAX(x), CASE …) are never cached: SQLite reports their type from the first row, so
// reuse would freeze a NULL-first column as text. PostgreSQL sessions are not cached.
//
//   jarvis::sql::enable_statement_cache(session, 128);   // once, when the session is opened
//   …                                                    // exec / for_each_row reuse statements
//   jarvis::sql::disable_statement_cache(session);       // before the session is destroyed

/// Gives an open SQLite session a cache of up to `capacity` prepared statements (least recently
/// used evicted). No effect on other backends. The session must outlive the cache: call
/// disable_statement_cache() before destroying or closing it. Thread-safe; the session itself,
/// as always, is used by one thread at a time.
JARVIS_API void enable_statement_cache(soci::session& sql, std::size_t capacity = 128);

/// Finalizes the session's cached statements and forgets the session; a no-op when it has none.
JARVIS_API void disable_statement_cache(soci::session& sql) noexcept;

/// The number of statements cached for `sql` (0 without a cache).
JARVIS_API std::size_t cached_statements(soci::session& sql);

// --- Full-text ranking with known document counts (SDK 1.1, decision 0098) ---
//
// FTS5's bm25() counts, once per query, the rows holding each phrase of the MATCH expression by
// walking that phrase's whole doclist: `"zlib" AND "used"` matches a few rows but pays for every
// row holding "used" (about 0.7 ms for 10,000 rows). The host's SQLite sessions also have the
// FTS5 auxiliary function
//
//   jarvis_bm25(fts_table, n_1, …, n_P)
//
// — bm25() with every column weight 1 (k1 = 1.2, b = 0.75, the same sign: lower is better) where
// n_i, the number of rows holding the i-th phrase of the MATCH expression (phrases numbered in
// the order they appear), is the caller's figure, exact or cached; a phrase whose n_i is missing,
// NULL, negative or not a number is counted as bm25() counts it. With exact counts the result
// equals bm25()'s; with a stale count only that phrase's idf, log((N - n + 0.5) / (n + 0.5)),
// moves. Plugins get it without doing anything; a plugin opening its own SQLite session calls:
//
//   jarvis::sql::enable_fts5_ranking(session);   // once, after opening
//   SELECT rowid, jarvis_bm25(notes_fts, :n0, :n1) FROM notes_fts
//   WHERE notes_fts MATCH '"zlib" AND "used"' ORDER BY 2 LIMIT 10

/// Registers jarvis_bm25() on an open SQLite session (no effect on other backends). Throws when
/// the SQLite library has no FTS5.
JARVIS_API void enable_fts5_ranking(soci::session& sql);

}  // namespace jarvis::sql

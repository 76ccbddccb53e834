// chat/src/sql_rows.h — small helpers to run portable SQL with positional binds and read rows
// as JSON, whatever column types SQLite or PostgreSQL report.
//
//   chat::Binds b{thread_id, chat::Bind(limit)};
//   chat::for_each_row(sql, "SELECT id, seq FROM chat_messages WHERE thread_id = :t LIMIT :l", b,
//                      [&](const soci::row& r) { items.push_back(chat::row_json(r)); });
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "jarvis/jarvis.h"

namespace chat {

/// One positional bind: a text or an integer (bound in the order the placeholders appear).
struct Bind {
  Bind(std::string s) : text(std::move(s)) {}      // NOLINT(google-explicit-constructor)
  Bind(const char* s) : text(s) {}                 // NOLINT(google-explicit-constructor)
  Bind(long long i) : integer(i), is_int(true) {}  // NOLINT(google-explicit-constructor)
  Bind(int i) : integer(i), is_int(true) {}        // NOLINT(google-explicit-constructor)
  std::string text;
  long long integer = 0;
  bool is_int = false;
};
/// Binds of one statement.
using Binds = std::vector<Bind>;

/// Column `i` of `r` as JSON (null, string, integer or double).
jarvis::Json column(const soci::row& r, std::size_t i);
/// The row as a JSON object keyed by column name (lower-cased).
jarvis::Json row_json(const soci::row& r);
/// Column `i` as an integer (PostgreSQL may report COUNT/SUM as text or bigints); 0 when null.
long long column_int(const soci::row& r, std::size_t i);

/// Runs `query` with `binds` (kept alive by the caller until it returns) and calls `on_row` for
/// every result row. Returns the number of rows.
std::size_t for_each_row(soci::session& sql, const std::string& query, Binds& binds,
                         const std::function<void(const soci::row&)>& on_row);
/// Runs a statement without results; returns the affected row count.
long long exec(soci::session& sql, const std::string& query, Binds binds);
/// The first row of `query` as JSON, or null when there is none.
jarvis::Json one_row(soci::session& sql, const std::string& query, Binds binds);
/// All rows of `query` as a JSON array.
jarvis::Json all_rows(soci::session& sql, const std::string& query, Binds binds);
/// The integer in the first column of the first row (0 when none or null).
long long scalar_int(soci::session& sql, const std::string& query, Binds binds);

}  // namespace chat

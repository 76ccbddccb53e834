// chat/src/sql_rows.h — the SDK's portable SQL helpers (jarvis/sql.h) under the names the chat
// plugin's store uses: positional binds, rows as JSON whatever SQLite or PostgreSQL report.
//
//   chat::Binds b{thread_id, chat::Bind(limit)};
//   chat::for_each_row(sql, "SELECT id, seq FROM chat_messages WHERE thread_id = :t LIMIT :l", b,
//                      [&](const soci::row& r) { items.push_back(chat::row_json(r)); });
#pragma once

#include "jarvis/sql.h"

namespace chat {

using jarvis::sql::all_rows;
using jarvis::sql::Bind;
using jarvis::sql::Binds;
using jarvis::sql::column;
using jarvis::sql::column_int;
using jarvis::sql::exec;
using jarvis::sql::for_each_row;
using jarvis::sql::one_row;
using jarvis::sql::row_json;
using jarvis::sql::scalar_int;

}  // namespace chat

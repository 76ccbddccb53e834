// sdk/src/event_log.cpp — jarvis::events_since over the host's `events` table
// (migrations/001_events.sql; PostgreSQL's insertion order column from migrations/022).
#include "jarvis/event_log.h"

#include <algorithm>

#include "jarvis/json.h"
#include "jarvis/sql.h"

namespace jarvis {

std::vector<Event> events_since(Database& db, const std::string& type,
                                const std::string& from_created_at, std::size_t limit) {
  limit = std::clamp<std::size_t>(limit, 1, kMaxTraceEvents);
  const bool sqlite = db.dialect() == Dialect::Sqlite;
  // A time range over idx_events_created with the type checked per row: SQLite without
  // statistics would otherwise walk every event of the type (idx_events_type) and sort them.
  const std::string q =
      std::string(
          "SELECT id, created_at, trace_id, type, component, actor_type, actor_id, "
          "thread_id, payload FROM events WHERE ") +
      (sqlite ? "(type || '') = :t" : "type = :t") + " AND created_at >= :f ORDER BY created_at, " +
      (sqlite ? "rowid" : "seq") + " LIMIT :l";
  auto session = db.session();
  sql::Binds b{type, from_created_at, sql::Bind(static_cast<long long>(limit))};
  std::vector<Event> out;
  sql::for_each_row(*session, q, b, [&](const soci::row& r) {
    auto text = [&](std::size_t i) {
      Json v = sql::column(r, i);
      return v.is_string() ? v.get<std::string>() : std::string();
    };
    Event e;
    e.id = text(0);
    e.created_at = text(1);
    e.trace_id = text(2);
    e.type = text(3);
    e.component = text(4);
    e.actor_type = text(5);
    e.actor_id = text(6);
    e.thread_id = text(7);
    auto payload = try_parse_json(text(8));
    e.payload = payload && payload->is_object() ? *payload : Json::object();
    out.push_back(std::move(e));
  });
  return out;
}

std::map<std::string, long long> event_order(Database& db, const std::vector<std::string>& ids) {
  std::map<std::string, long long> out;
  if (ids.empty()) return out;
  const std::size_t n = std::min<std::size_t>(ids.size(), kMaxTraceEvents);
  const bool sqlite = db.dialect() == Dialect::Sqlite;
  auto session = db.session();
  // IN lists of 200 over the primary key.
  for (std::size_t from = 0; from < n; from += 200) {
    const std::size_t to = std::min(n, from + 200);
    std::string q =
        std::string("SELECT id, ") + (sqlite ? "rowid" : "seq") + " FROM events WHERE id IN (";
    sql::Binds b;
    for (std::size_t i = from; i < to; ++i) {
      q += i > from ? ", :i" : ":i";
      q += std::to_string(i - from);
      b.push_back(ids[i]);
    }
    q += ")";
    sql::for_each_row(*session, q, b, [&](const soci::row& r) {
      Json id = sql::column(r, 0);
      if (id.is_string()) out[id.get<std::string>()] = sql::column_int(r, 1);
    });
  }
  return out;
}

}  // namespace jarvis

// host/src/events/event_query.cpp — scoped event reads and the event routes.
#include "events/event_query.h"

#include <memory>

#include "http/router.h"
#include "jarvis/error.h"
#include "jarvis/http.h"

namespace jarvis::host {
namespace {

constexpr const char* kColumns =
    "e.id, e.created_at, e.trace_id, e.type, e.component, e.actor_type, e.actor_id, e.thread_id, "
    "e.payload";
// Non-admins: only events of threads they own. `:adm` is 1 for admins.
constexpr const char* kVisible =
    "(:adm = 1 OR e.thread_id IN (SELECT o.thread_id FROM thread_owners o WHERE o.user_id = :uid))";

/// The insertion-order column: SQLite's rowid, PostgreSQL's seq (migrations/022).
const char* order_column(const jarvis::Database& db) {
  return db.dialect() == jarvis::Dialect::Sqlite ? "e.rowid" : "e.seq";
}

/// Bound output columns of kColumns.
struct EventRow {
  std::string id, created_at, trace_id, type, component, actor_type, actor_id, thread_id, payload;
  soci::indicator trace_ind = soci::i_null, thread_ind = soci::i_null;

  void bind(soci::statement& st) {
    st.exchange(soci::into(id));
    st.exchange(soci::into(created_at));
    st.exchange(soci::into(trace_id, trace_ind));
    st.exchange(soci::into(type));
    st.exchange(soci::into(component));
    st.exchange(soci::into(actor_type));
    st.exchange(soci::into(actor_id));
    st.exchange(soci::into(thread_id, thread_ind));
    st.exchange(soci::into(payload));
  }

  jarvis::Json json() const {
    jarvis::Json p = jarvis::try_parse_json(payload).value_or(jarvis::Json::object());
    return {
        {"id", id},
        {"created_at", created_at},
        {"trace_id", trace_ind == soci::i_ok ? jarvis::Json(trace_id) : jarvis::Json(nullptr)},
        {"type", type},
        {"component", component},
        {"actor_type", actor_type},
        {"actor_id", actor_id},
        {"thread_id", thread_ind == soci::i_ok ? jarvis::Json(thread_id) : jarvis::Json(nullptr)},
        {"payload", p}};
  }
};

/// Runs `query` with named string/int parameters and collects the rows.
std::vector<jarvis::Json> run(jarvis::Database& db, const std::string& query,
                              std::vector<std::pair<std::string, std::string>> strings,
                              std::vector<std::pair<std::string, int>> ints) {
  auto sql = db.session();
  EventRow row;
  soci::statement st(*sql);
  row.bind(st);
  for (auto& [name, value] : strings) st.exchange(soci::use(value, name));
  for (auto& [name, value] : ints) st.exchange(soci::use(value, name));
  st.alloc();
  st.prepare(query);
  st.define_and_bind();
  st.execute(false);
  std::vector<jarvis::Json> out;
  while (st.fetch()) {
    out.push_back(row.json());
    row.trace_ind = row.thread_ind = soci::i_null;
  }
  return out;
}

void check_filter_value(const std::string& value, const char* name) {
  if (value.size() > 200) {
    throw jarvis::Error(
        400, "invalid_query",
        std::string("query parameter '") + name + "' is longer than 200 characters");
  }
}

}  // namespace

EventQuery::EventQuery(jarvis::Database& db) : db_(db) {}

EventPage EventQuery::list(const jarvis::Principal& who, const EventFilter& f) {
  std::string q = std::string("SELECT ") + kColumns + " FROM events e WHERE " + kVisible +
                  " AND (:tp = '' OR substr(e.type, 1, :tplen) = :tp2)"
                  " AND (:comp = '' OR e.component = :comp2)"
                  " AND (:thr = '' OR e.thread_id = :thr2)"
                  " AND (:trc = '' OR e.trace_id = :trc2)"
                  " ORDER BY e.created_at DESC, " +
                  order_column(db_) +
                  " DESC"
                  " LIMIT :lim OFFSET :off";
  auto rows = run(db_, q,
                  {{"uid", who.user_id},
                   {"tp", f.type_prefix},
                   {"tp2", f.type_prefix},
                   {"comp", f.component},
                   {"comp2", f.component},
                   {"thr", f.thread_id},
                   {"thr2", f.thread_id},
                   {"trc", f.trace_id},
                   {"trc2", f.trace_id}},
                  {{"adm", who.is_admin() ? 1 : 0},
                   {"tplen", static_cast<int>(f.type_prefix.size())},
                   {"lim", f.limit + 1},
                   {"off", f.offset}});
  EventPage page;
  page.has_more = static_cast<int>(rows.size()) > f.limit;
  if (page.has_more) rows.pop_back();
  page.items = std::move(rows);
  return page;
}

std::optional<jarvis::Json> EventQuery::get(const jarvis::Principal& who, const std::string& id) {
  std::string q =
      std::string("SELECT ") + kColumns + " FROM events e WHERE e.id = :id AND " + kVisible;
  auto rows = run(db_, q, {{"id", id}, {"uid", who.user_id}}, {{"adm", who.is_admin() ? 1 : 0}});
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::vector<jarvis::Json> EventQuery::trace(const jarvis::Principal& who,
                                            const std::string& trace_id, int limit,
                                            bool& truncated) {
  truncated = false;
  if (trace_id.size() > kMaxTraceIdLength) return {};
  std::string q = std::string("SELECT ") + kColumns +
                  " FROM events e WHERE e.trace_id = :trc AND " + kVisible +
                  " ORDER BY e.created_at, " + order_column(db_) + " LIMIT :lim";
  auto rows = run(db_, q, {{"trc", trace_id}, {"uid", who.user_id}},
                  {{"adm", who.is_admin() ? 1 : 0}, {"lim", limit + 1}});
  truncated = static_cast<int>(rows.size()) > limit;
  if (truncated) rows.pop_back();
  return rows;
}

bool EventQuery::owns_thread(const jarvis::Principal& who, const std::string& thread_id) {
  if (who.is_admin()) return true;
  auto sql = db_.session();
  int n = 0;
  *sql << "SELECT COUNT(*) FROM thread_owners WHERE thread_id = :t AND user_id = :u",
      soci::use(thread_id), soci::use(who.user_id), soci::into(n);
  return n > 0;
}

jarvis::Event event_from_json(const jarvis::Json& row) {
  auto text = [&](const char* key) {
    auto it = row.find(key);
    return it != row.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  jarvis::Event e;
  e.id = text("id");
  e.created_at = text("created_at");
  e.trace_id = text("trace_id");
  e.type = text("type");
  e.component = text("component");
  e.actor_type = text("actor_type");
  e.actor_id = text("actor_id");
  e.thread_id = text("thread_id");
  auto p = row.find("payload");
  e.payload = p != row.end() ? *p : jarvis::Json::object();
  return e;
}

void register_event_routes(Router& router, jarvis::Database& db) {
  auto q = std::make_shared<EventQuery>(db);

  router.add(
      Owner{},
      jarvis::RouteSpec{
          .method = "GET",
          .path = "/api/v1/events",
          .auth = jarvis::Auth::User,
          .summary = "Events, newest first: ?type= (prefix) &component= &thread_id= &trace_id= "
                     "&limit= (1-200, 50) &offset=; users see only their own threads' events",
          .handler = [q](jarvis::Request& req) {
            EventFilter f;
            f.type_prefix = req.query_param("type").value_or("");
            f.component = req.query_param("component").value_or("");
            f.thread_id = req.query_param("thread_id").value_or("");
            f.trace_id = req.query_param("trace_id").value_or("");
            check_filter_value(f.type_prefix, "type");
            check_filter_value(f.component, "component");
            check_filter_value(f.thread_id, "thread_id");
            check_filter_value(f.trace_id, "trace_id");
            f.limit = static_cast<int>(req.query_int("limit", 50, 1, 200));
            f.offset = static_cast<int>(req.query_int("offset", 0, 0, 100000));
            if (!f.thread_id.empty() && !q->owns_thread(req.principal, f.thread_id)) {
              throw jarvis::Error(403, "thread_forbidden",
                                  "thread '" + f.thread_id + "' is not yours");
            }
            EventPage page = q->list(req.principal, f);
            return jarvis::Response::json(200, {{"items", page.items},
                                                {"limit", f.limit},
                                                {"offset", f.offset},
                                                {"has_more", page.has_more}});
          }});

  router.add(Owner{}, jarvis::RouteSpec{
                          .method = "GET",
                          .path = "/api/v1/events/{id}",
                          .auth = jarvis::Auth::User,
                          .summary = "One event (404 when it does not exist or is not yours)",
                          .handler = [q](jarvis::Request& req) {
                            const std::string& id = req.path_param("id");
                            auto e = id.size() <= 200 ? q->get(req.principal, id) : std::nullopt;
                            if (!e)
                              throw jarvis::Error(404, "event_not_found",
                                                  "no event '" + id.substr(0, 200) + "'");
                            return jarvis::Response::json(200, *e);
                          }});

  router.add(
      Owner{},
      jarvis::RouteSpec{
          .method = "GET",
          .path = "/api/v1/traces/{trace_id}",
          .auth = jarvis::Auth::User,
          .summary =
              "Events of one trace in the order they happened; ?view=redacted|raw (raw: admin "
              "only, "
              "and identical: payloads are only ever stored redacted) &limit= (1-1000, 1000)",
          .handler = [q](jarvis::Request& req) {
            std::string view = req.query_param("view").value_or("redacted");
            if (view != "redacted" && view != "raw") {
              throw jarvis::Error(400, "invalid_query",
                                  "query parameter 'view' must be 'redacted' or 'raw'");
            }
            if (view == "raw" && !req.principal.is_admin()) {
              throw jarvis::Error(403, "raw_view_forbidden", "the raw view is for admins only");
            }
            int limit = static_cast<int>(req.query_int("limit", 1000, 1, 1000));
            const std::string& trace_id = req.path_param("trace_id");
            bool truncated = false;
            auto items = q->trace(req.principal, trace_id, limit, truncated);
            if (items.empty()) {
              throw jarvis::Error(404, "trace_not_found",
                                  "no visible events for trace '" + trace_id.substr(0, 200) + "'");
            }
            return jarvis::Response::json(200, {{"trace_id", trace_id},
                                                {"view", view},
                                                {"items", items},
                                                {"truncated", truncated}});
          }});
}

}  // namespace jarvis::host

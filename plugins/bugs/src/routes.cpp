// bugs/src/routes.cpp — /api/v1/bugs and /api/v1/feature-requests.
#include "routes.h"

namespace bugs {
namespace {

ListQuery list_query(const jarvis::Request& req, const std::string& forced_kind) {
  ListQuery q;
  q.status = req.query_param("status").value_or("");
  q.priority = req.query_param("priority").value_or("");
  q.kind = forced_kind.empty() ? req.query_param("kind").value_or("") : forced_kind;
  q.search = req.query_param("search").value_or("");
  if (q.search.size() > 200)
    throw jarvis::bad_request("query 'search' is longer than 200 bytes", "invalid_query");
  q.limit = req.query_int("limit", 50, 1, 200);
  q.offset = req.query_int("offset", 0, 0, 1000000000);
  return q;
}

}  // namespace

void register_routes(jarvis::Host& host, BugStore& store) {
  BugStore* s = &store;
  auto& routes = host.routes();

  for (const auto& [path, kind] :
       {std::pair<std::string, std::string>{"/api/v1/bugs", ""},
        std::pair<std::string, std::string>{"/api/v1/feature-requests", "feature"}}) {
    std::string what = kind.empty() ? "bug and feature reports" : "feature requests";
    routes.add(
        {.method = "GET",
         .path = path,
         .auth = jarvis::Auth::User,
         .summary = "List " + what +
                    " (?status&priority&kind&search&limit≤200&offset) → {items, total, limit, "
                    "offset, has_more}; total is exact up to 1000, beyond it "
                    "total_capped: true; users see their own",
         .handler = [s, kind](jarvis::Request& req) {
           return jarvis::Response::json(200, s->list(list_query(req, kind), req.principal));
         }});
    routes.add({.method = "POST",
                .path = path,
                .auth = jarvis::Auth::User,
                .summary = "File a report {title, description, priority, kind, thread_id? (own "
                           "thread), trace_id?, sync_to_github?}; 429 past the hourly quota",
                .handler = [s, kind](jarvis::Request& req) {
                  return jarvis::Response::json(201,
                                                s->create(req.json_body(), req.principal, kind));
                }});
  }
  routes.add({.method = "GET",
              .path = "/api/v1/bugs/{id}",
              .auth = jarvis::Auth::User,
              .summary = "One report (404 when absent or not the caller's)",
              .handler = [s](jarvis::Request& req) {
                return jarvis::Response::json(200, s->get(req.path_param("id"), req.principal));
              }});
  routes.add({.method = "PATCH",
              .path = "/api/v1/bugs/{id}",
              .auth = jarvis::Auth::User,
              .summary = "Change title, description, status, priority or assignee",
              .handler = [s](jarvis::Request& req) {
                return jarvis::Response::json(
                    200, s->update(req.path_param("id"), req.json_body(), req.principal));
              }});
  routes.add({.method = "DELETE",
              .path = "/api/v1/bugs/{id}",
              .auth = jarvis::Auth::User,
              .summary = "Delete a report",
              .handler = [s](jarvis::Request& req) {
                s->remove(req.path_param("id"), req.principal);
                return jarvis::Response::no_content();
              }});
}

}  // namespace bugs

// memory/state/state_routes.cpp — /api/v1/memory/state/… (see state_routes.h).
#include "state/state_routes.h"

#include "jarvis/error.h"
#include "jarvis/list.h"
#include "jarvis/strings.h"
#include "state/consistency.h"
#include "state/state_queries.h"
#include "state/state_types.h"

namespace jarvis::memory::state {

namespace {

constexpr long long kDefaultWindowMs = 7LL * 24 * 3600 * 1000;
constexpr std::size_t kMaxNoteChars = 2000;

std::string query_text(const jarvis::Request& req, const std::string& name, std::size_t max) {
  auto v = req.query_param(name);
  if (!v) return "";
  if (v->size() > max) {
    throw jarvis::Error(400, "invalid_query",
                        name + " is longer than " + std::to_string(max) + " characters");
  }
  return *v;
}

// A caller-supplied thread id: one the caller may use (404 otherwise, as for a missing thread).
std::string query_thread(jarvis::Host& host, const jarvis::Request& req) {
  std::string t = query_text(req, "thread_id", 128);
  host.threads().require_access(req.principal, t);
  return t;
}

std::string query_time(const jarvis::Request& req, const std::string& name) {
  std::string t = query_text(req, name, 40);
  if (t.empty()) return "";
  auto n = normalize_timestamp(t);
  if (!n) {
    throw jarvis::Error(400, "invalid_query",
                        name +
                            " must be an ISO-8601 UTC time (2026-11-01 or "
                            "2026-11-01T10:00:00Z)");
  }
  return *n;
}

bool query_bool(const jarvis::Request& req, const std::string& name) {
  std::string v = jarvis::ascii_lower(query_text(req, name, 8));
  if (v.empty() || v == "0" || v == "false" || v == "no") return false;
  if (v == "1" || v == "true" || v == "yes") return true;
  throw jarvis::Error(400, "invalid_query", name + " must be true or false");
}

std::string body_text(const jarvis::Json& body, const std::string& key, std::size_t max,
                      bool required) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) {
    if (required) throw jarvis::Error(422, "validation_failed", key + " is required");
    return "";
  }
  if (!it->is_string()) throw jarvis::Error(422, "validation_failed", key + " must be a string");
  std::string v = jarvis::trimmed(it->get<std::string>());
  if (required && v.empty()) {
    throw jarvis::Error(422, "validation_failed", key + " must not be empty");
  }
  if (v.size() > max) {
    throw jarvis::Error(422, "validation_failed",
                        key + " is longer than " + std::to_string(max) + " characters");
  }
  return v;
}

std::string checked_uid(const jarvis::Request& req) {
  const std::string& uid = req.path_param("uid");
  if (!plausible_uid(uid)) throw jarvis::Error(404, "state_item_not_found", "no such state item");
  return uid;
}

}  // namespace

bool plausible_uid(const std::string& uid) {
  if (uid.size() != 14 || uid[0] < 'a' || uid[0] > 'z' || uid[1] != '_') return false;
  for (std::size_t i = 2; i < uid.size(); ++i) {
    const char c = uid[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void register_state_routes(jarvis::Host& host, std::shared_ptr<StateEngine> engine,
                           std::function<void()> after_write) {
  jarvis::Host* h = &host;
  std::shared_ptr<StateEngine> e = std::move(engine);
  auto refresh = std::make_shared<std::function<void()>>(std::move(after_write));

  host.routes().add(
      {.method = "GET",
       .path = "/api/v1/memory/state/search",
       .auth = jarvis::Auth::User,
       .summary = "Search structured state (q plain text, thread_id, type, status, as_of for "
                  "what was true then, include_superseded)",
       .handler = [h](jarvis::Request& req) {
         StateSearch s;
         s.q = query_text(req, "q", 1000);
         s.thread_id = query_thread(*h, req);
         s.type = query_text(req, "type", 32);
         if (!s.type.empty() && !state_type(s.type)) {
           throw jarvis::Error(400, "invalid_query",
                               "type must be decision, constraint, action, question, risk or "
                               "failure");
         }
         s.status = query_text(req, "status", 32);
         s.as_of = query_time(req, "as_of");
         s.include_superseded = query_bool(req, "include_superseded");
         auto page = jarvis::page_request(req, 20, 100);
         s.limit = page.limit;
         s.offset = page.offset;
         auto sql = h->db().session();
         return jarvis::Response::json(200, search_state(*sql, req.principal, s));
       }});

  host.routes().add({.method = "GET",
                     .path = "/api/v1/memory/state/items/{uid}",
                     .auth = jarvis::Auth::User,
                     .summary = "One structured-state item",
                     .handler = [h](jarvis::Request& req) {
                       const std::string uid = checked_uid(req);
                       auto sql = h->db().session();
                       auto item = visible_item(*sql, req.principal, uid);
                       if (!item) {
                         throw jarvis::Error(404, "state_item_not_found", "no such state item");
                       }
                       return jarvis::Response::json(200, *item);
                     }});

  host.routes().add(
      {.method = "GET",
       .path = "/api/v1/memory/state/review/conflicts",
       .auth = jarvis::Auth::Admin,
       .summary = "Open conflicts of the review queue (limit 1-200, default 50), with both items",
       .handler = [h](jarvis::Request& req) {
         auto page = jarvis::page_request(req, 50, 200);
         auto sql = h->db().session();
         return jarvis::Response::json(200, list_conflicts(*sql, page.limit, page.offset));
       }});

  host.routes().add({.method = "POST",
                     .path = "/api/v1/memory/state/review/{uid}/resolve",
                     .auth = jarvis::Auth::Admin,
                     .summary =
                         "Resolve the open conflicts of an item {resolution: note, decision?: "
                         "keep_both|supersede|retract|unsupported}",
                     .handler =
                         [e, refresh](jarvis::Request& req) {
                           const std::string uid = checked_uid(req);
                           jarvis::Json body = req.json_body();
                           Resolution r;
                           r.uid = uid;
                           r.note = body_text(body, "resolution", kMaxNoteChars, true);
                           std::string decision = body_text(body, "decision", 32, false);
                           if (!decision.empty()) r.decision = decision;
                           r.reviewer = req.principal.user_id;
                           jarvis::Json out = e->resolve(r);
                           if (*refresh) (*refresh)();
                           return jarvis::Response::json(200, out);
                         },
                     .max_body_bytes = 16384});

  host.routes().add({.method = "GET",
                     .path = "/api/v1/memory/state/stats",
                     .auth = jarvis::Auth::User,
                     .summary = "Structured-state counts (types, statuses, tiers, conflicts, "
                                "failures, relations) of what the caller may see",
                     .handler = [h, e](jarvis::Request& req) {
                       auto sql = h->db().session();
                       return jarvis::Response::json(
                           200, state_stats(*sql, req.principal, e->settings()));
                     }});

  host.routes().add(
      {.method = "GET",
       .path = "/api/v1/memory/state/failures",
       .auth = jarvis::Auth::User,
       .summary = "Failure items (similar_to plain text, status, phase task|model|tool|claim, "
                  "trace_id), deduplicated by signature",
       .handler = [h](jarvis::Request& req) {
         FailureSearch f;
         f.similar_to = query_text(req, "similar_to", 1000);
         f.status = query_text(req, "status", 32);
         f.phase = query_text(req, "phase", 16);
         if (!f.phase.empty() && f.phase != "task" && f.phase != "model" && f.phase != "tool" &&
             f.phase != "claim") {
           throw jarvis::Error(400, "invalid_query", "phase must be task, model, tool or claim");
         }
         f.trace_id = query_text(req, "trace_id", 200);
         auto page = jarvis::page_request(req, 20, 100);
         f.limit = page.limit;
         f.offset = page.offset;
         auto sql = h->db().session();
         return jarvis::Response::json(200, search_failures(*sql, req.principal, f));
       }});

  host.routes().add({.method = "GET",
                     .path = "/api/v1/memory/state/graph/{uid}",
                     .auth = jarvis::Auth::User,
                     .summary = "Relations around an item (depth 1-5, default 2): supersessions, "
                                "merges, conflicts, explicit links",
                     .handler = [h, e](jarvis::Request& req) {
                       const std::string uid = checked_uid(req);
                       const long long depth = req.query_int("depth", 2, 1, 5);
                       if (!e->settings().graph_enabled) {
                         throw jarvis::Error(409, "graph_disabled",
                                             "the state graph is off (MEMORY_GRAPH_ENABLED=0); "
                                             "its relations are kept");
                       }
                       auto sql = h->db().session();
                       return jarvis::Response::json(
                           200, state_graph(*sql, req.principal, uid, static_cast<int>(depth)));
                     }});

  host.routes().add(
      {.method = "GET",
       .path = "/api/v1/memory/state/consistency/report",
       .auth = jarvis::Auth::User,
       .summary = "Stored consistency reports (thread_id, from_ts, to_ts overlap), newest first, "
                  "with avg_score",
       .handler = [h](jarvis::Request& req) {
         const std::string thread = query_thread(*h, req);
         const std::string from = query_time(req, "from_ts");
         const std::string to = query_time(req, "to_ts");
         auto page = jarvis::page_request(req, 50, 500);
         auto sql = h->db().session();
         return jarvis::Response::json(
             200, list_reports(*sql, req.principal, thread, from, to, page.limit, page.offset));
       }});

  host.routes().add(
      {.method = "POST",
       .path = "/api/v1/memory/state/consistency/report",
       .auth = jarvis::Auth::User,
       .summary = "Compute and store a consistency report {thread_id?, from_ts?, to_ts?} "
                  "(default: the last 7 days)",
       .handler =
           [h, e](jarvis::Request& req) {
             jarvis::Json body = req.json_body();
             ReportScope s;
             s.thread_id = body_text(body, "thread_id", 128, false);
             h->threads().require_access(req.principal, s.thread_id);
             const std::pair<const char*, std::string*> times[] = {{"from_ts", &s.from_ts},
                                                                   {"to_ts", &s.to_ts}};
             for (const auto& [key, into] : times) {
               std::string v = body_text(body, key, 40, false);
               if (v.empty()) continue;
               auto n = normalize_timestamp(v);
               if (!n) {
                 throw jarvis::Error(422, "validation_failed",
                                     std::string(key) + " must be an ISO-8601 UTC time");
               }
               *into = *n;
             }
             if (s.to_ts.empty()) s.to_ts = jarvis::now_iso();
             if (s.from_ts.empty()) s.from_ts = jarvis::iso_from_now(-kDefaultWindowMs);
             if (s.from_ts >= s.to_ts) {
               throw jarvis::Error(422, "validation_failed", "from_ts must be before to_ts");
             }
             if (req.principal.is_admin()) {
               s.all_owners = true;
             } else {
               s.owner_id = req.principal.user_id;
             }
             jarvis::Json out = e->create_report(
                 s, req.principal.user_id.empty() ? "unknown" : req.principal.user_id);
             return jarvis::Response::json(201, out);
           },
       .max_body_bytes = 4096});

  host.routes().add({.method = "GET",
                     .path = "/api/v1/memory/state/consistency/report/{id}",
                     .auth = jarvis::Auth::User,
                     .summary = "One stored consistency report",
                     .handler = [h](jarvis::Request& req) {
                       const std::string& id = req.path_param("id");
                       if (id.size() > 64) {
                         throw jarvis::Error(404, "report_not_found", "no such report");
                       }
                       auto sql = h->db().session();
                       auto r = get_report(*sql, req.principal, id);
                       if (!r) throw jarvis::Error(404, "report_not_found", "no such report");
                       return jarvis::Response::json(200, *r);
                     }});
}

}  // namespace jarvis::memory::state

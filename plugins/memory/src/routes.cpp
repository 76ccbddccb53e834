// memory/src/routes.cpp — the item routes of /api/v1/memory (owner-scoped; admins see all).
//
//   GET    /api/v1/memory?q=&thread_id=&limit=&agent_id=&tier=&from_ts=&to_ts=&as_of=&owner_id=
//   POST   /api/v1/memory {text, thread_id?}
//   GET    /api/v1/memory/stats
//   GET    /api/v1/memory/export?thread_id=&tier=&agent_id=&after=&limit=&format=jsonl
//   DELETE /api/v1/memory/{id}
//   POST   /api/v1/memory/{id}/feedback {useful}
#include <algorithm>

#include "core.h"
#include "jarvis/error.h"
#include "jarvis/http.h"
#include "jarvis/list.h"
#include "jarvis/strings.h"

namespace jarvis::memory {
namespace {

/// A query parameter that must be an ISO timestamp when present (text comparison = time order).
std::string iso_param(const Request& req, const std::string& name) {
  auto v = req.query_param(name);
  if (!v || v->empty()) return "";
  const std::string& s = *v;
  const bool shape = s.size() >= 10 && s.size() <= 40 &&
                     std::isdigit(static_cast<unsigned char>(s[0])) && s[4] == '-' && s[7] == '-' &&
                     std::all_of(s.begin(), s.end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == ':' ||
                              c == '.' || c == '+';
                     });
  if (!shape) {
    throw Error(400, "invalid_query",
                name + " must be an ISO-8601 time, e.g. 2026-12-01T10:00:00.000Z");
  }
  return s;
}

std::string short_param(const Request& req, const std::string& name, std::size_t max = 200) {
  auto v = req.query_param(name);
  if (!v) return "";
  if (v->size() > max) throw Error(400, "invalid_query", name + " is too long");
  return *v;
}

/// The filters of a list/search request, scoped to the caller; a thread the caller names must be
/// one they may access (404 thread_not_found otherwise).
ItemFilter filter_of(MemoryCore& core, const Request& req) {
  ItemFilter f = core.scope_for(req.principal, short_param(req, "owner_id"));
  f.thread_id = short_param(req, "thread_id");
  if (!f.thread_id.empty() && !req.principal.is_admin()) {
    core.host.threads().require_access(req.principal, f.thread_id);
  }
  f.agent_id = short_param(req, "agent_id");
  f.tier = short_param(req, "tier", 32);
  f.from_ts = iso_param(req, "from_ts");
  f.to_ts = iso_param(req, "to_ts");
  f.as_of = iso_param(req, "as_of");
  return f;
}

}  // namespace

void register_routes(Host& host, MemoryCore& core) {
  MemoryCore* c = &core;
  host.routes().add(
      {.method = "GET",
       .path = "/api/v1/memory",
       .auth = Auth::User,
       .summary = "Hybrid search of memory items (full text + vectors + recency) with score parts; "
                  "newest items without q",
       .handler = [c](Request& req) {
         SearchRequest s;
         s.query = short_param(req, "q", 2000);
         s.filter = filter_of(*c, req);
         // The one list envelope (jarvis/list.h) over the ranked hits: a page of at most
         // `limit` hits from `offset`, within the search window of the 100 best.
         const jarvis::PageRequest page = jarvis::page_request(req, 10, 100);
         const long long window = std::min<long long>(page.offset + page.limit, 100);
         s.limit = static_cast<int>(std::max<long long>(window, 1));
         c->ensure_index_loaded();
         Json r = c->search->run(s);
         Json hits = r["items"];
         Json items = Json::array();
         for (long long i = page.offset; i < page.offset + page.limit && i < (long long)hits.size();
              ++i) {
           items.push_back(hits[static_cast<std::size_t>(i)]);
         }
         // Fewer hits than asked for is every match; a full window may have more behind it.
         const bool capped = static_cast<long long>(hits.size()) >= s.limit;
         Json out = jarvis::list_page(items, static_cast<long long>(hits.size()), page, capped);
         if (capped && window < 100) out["has_more"] = true;
         for (auto it = r.begin(); it != r.end(); ++it) {
           if (it.key() != "items") out[it.key()] = it.value();
         }
         c->note_hits(out);
         return Response::json(200, out);
       }});
  host.routes().add(
      {.method = "POST",
       .path = "/api/v1/memory",
       .auth = Auth::User,
       .summary = "Remember a text for the caller (redacted like every item) {text, thread_id?}",
       .handler =
           [c](Request& req) {
             Json body = req.json_body();
             if (!body.contains("text") || !body["text"].is_string()) {
               throw Error(400, "invalid_field", "text (a string) is required");
             }
             NewItem item{.owner_id = req.principal.user_id,
                          .kind = "remembered",
                          .text = body["text"].get<std::string>()};
             if (body.contains("thread_id") && !body["thread_id"].is_null()) {
               if (!body["thread_id"].is_string()) {
                 throw Error(400, "invalid_field", "thread_id must be a string");
               }
               item.thread_id = body["thread_id"].get<std::string>();
               c->host.threads().require_access(req.principal, item.thread_id);
             }
             item.evidence_refs = Json::array({{{"type", "api"}, {"id", req.request_id}}});
             WriteResult r = c->writer->write(item, "api", false, true);
             return Response::json(
                 r.ref.duplicate ? 200 : 201,
                 {{"item", r.item}, {"duplicate", r.ref.duplicate}, {"redactions", r.redactions}});
           },
       .max_body_bytes = 256 * 1024});
  host.routes().add(
      {.method = "GET",
       .path = "/api/v1/memory/stats",
       .auth = Auth::User,
       .summary = "Item counts, embedding coverage and tiers (the caller's; admins: all)",
       .handler = [c](Request& req) {
         ItemFilter f = c->scope_for(req.principal, short_param(req, "owner_id"));
         auto sql = c->host.db().session();
         Json st = MemoryStore::stats(*sql, f, c->embedder->model_id());
         st["index_vectors"] = c->index->size();
         st["vector_kernel"] = c->index->kernel();
         return Response::json(200, st);
       }});
  host.routes().add(
      {.method = "GET",
       .path = "/api/v1/memory/export",
       .auth = Auth::User,
       .summary =
           "Export memory items (the caller's; admins: all), oldest first, paged by after=seq",
       .handler = [c](Request& req) {
         ItemFilter f = filter_of(*c, req);
         const long long after = req.query_int("after", 0, 0, (1LL << 62));
         const int limit = static_cast<int>(req.query_int("limit", 500, 1, 5000));
         auto sql = c->host.db().session();
         Json items = MemoryStore::export_items(*sql, f, after, limit);
         Json next = items.size() == static_cast<std::size_t>(limit) ? items.back()["seq"] : Json();
         if (req.query_param("format").value_or("json") == "jsonl") {
           std::string out;
           for (const auto& it : items) out += it.dump() + "\n";
           Response r = Response::text(200, std::move(out), "application/x-ndjson");
           if (!next.is_null())
             r.headers.set("X-Next-After", std::to_string(next.get<long long>()));
           return r;
         }
         // Cursor-paged like the event log: the log envelope without `total`, plus next_after.
         return Response::json(200, {{"items", items},
                                     {"limit", limit},
                                     {"offset", 0},
                                     {"has_more", !next.is_null()},
                                     {"next_after", next}});
       }});
  host.routes().add(
      {.method = "DELETE",
       .path = "/api/v1/memory/{id}",
       .auth = Auth::User,
       .summary = "Delete a memory item: tombstoned now (never returned again), purged "
                  "after MEMORY_PURGE_AFTER_HOURS",
       .handler = [c](Request& req) {
         return Response::json(200, c->writer->forget(req.principal, req.path_param("id")));
       }});
  host.routes().add({.method = "POST",
                     .path = "/api/v1/memory/{id}/feedback",
                     .auth = Auth::User,
                     .summary = "Feedback on a memory item {useful: bool} (feeds its importance)",
                     .handler = [c](Request& req) {
                       Json body = req.json_body();
                       if (!body.contains("useful") || !body["useful"].is_boolean()) {
                         throw Error(400, "invalid_field", "useful (a boolean) is required");
                       }
                       return Response::json(
                           200, c->writer->feedback(req.principal, req.path_param("id"),
                                                    body["useful"].get<bool>()));
                     }});
}

}  // namespace jarvis::memory

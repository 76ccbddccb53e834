// jarvis/list.h — the one list envelope every list endpoint answers.
//
//   // GET /api/v1/hello/greetings?limit=&offset=
//   auto page = jarvis::page_request(req);               // limit 1..200 (default 50), offset ≥ 0
//   long long total = store.count(who);
//   jarvis::Json items = store.list(who, page.limit, page.offset);
//   return jarvis::Response::json(200, jarvis::list_page(std::move(items), total, page));
//   // → {"items":[…], "total":42, "limit":50, "offset":0, "has_more":false}
//
// The envelope is `{items, total, limit, offset, has_more}`. `total` counts every match of the
// filters (not just this page); when counting is capped (see `list_page`'s `total_capped`), the
// envelope adds `"total_capped": true` and `total` is a lower bound. Append-only logs whose
// count is unbounded (the event log) answer the one documented alternative: the same envelope
// without `total` (`{items, limit, offset, has_more}`), made by `log_page`. Extra fields a route
// needs (a schedule id, a trace id) sit beside these keys, never instead of them.
#pragma once

#include "jarvis/http.h"
#include "jarvis/json.h"
#include "jarvis/version.h"

namespace jarvis {

/// Paging parameters of one list request.
struct PageRequest {
  long long limit = 50;
  long long offset = 0;
};

/// Reads `?limit=` (1..max_limit, default `default_limit`) and `?offset=` (0..1e9, default 0);
/// 400 `invalid_query` naming the parameter when either is not an integer or out of range.
JARVIS_API PageRequest page_request(const Request& req, long long default_limit = 50,
                                    long long max_limit = 200);

/// The list envelope `{items, total, limit, offset, has_more}` for one page `items` of `total`
/// matches. With `total_capped`, `total` is a lower bound and `"total_capped": true` is added.
JARVIS_API Json list_page(Json items, long long total, const PageRequest& page,
                          bool total_capped = false);

/// The envelope for a list held whole in memory (plugins, permissions, a catalogue): slices
/// `all` (a JSON array) by `page` and reports its full size as `total`.
JARVIS_API Json list_slice(const Json& all, const PageRequest& page);

/// The alternative for unbounded logs: `{items, limit, offset, has_more}` without a count.
/// Fetch `limit + 1` rows and pass them all: the extra row only sets `has_more`.
JARVIS_API Json log_page(Json items_plus_one, const PageRequest& page);

}  // namespace jarvis

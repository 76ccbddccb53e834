// The list envelope (jarvis/list.h).
#include "jarvis/list.h"

#include <algorithm>

#include "jarvis/error.h"

namespace jarvis {

PageRequest page_request(const Request& req, long long default_limit, long long max_limit) {
  PageRequest p;
  p.limit = req.query_int("limit", default_limit, 1, max_limit);
  p.offset = req.query_int("offset", 0, 0, 1000000000);
  return p;
}

Json list_page(Json items, long long total, const PageRequest& page, bool total_capped) {
  if (!items.is_array()) items = Json::array();
  const auto shown = static_cast<long long>(items.size());
  total = std::max(total, page.offset + shown);  // never less than what is on screen
  Json out = {{"items", std::move(items)},
              {"total", total},
              {"limit", page.limit},
              {"offset", page.offset},
              {"has_more", total_capped || page.offset + shown < total}};
  if (total_capped) out["total_capped"] = true;
  return out;
}

Json list_slice(const Json& all, const PageRequest& page) {
  Json items = Json::array();
  const auto n = all.is_array() ? static_cast<long long>(all.size()) : 0;
  for (long long i = page.offset; i < n && i < page.offset + page.limit; ++i) {
    items.push_back(all[static_cast<std::size_t>(i)]);
  }
  return list_page(std::move(items), n, page);
}

Json log_page(Json items_plus_one, const PageRequest& page) {
  if (!items_plus_one.is_array()) items_plus_one = Json::array();
  bool more = static_cast<long long>(items_plus_one.size()) > page.limit;
  while (static_cast<long long>(items_plus_one.size()) > page.limit)
    items_plus_one.erase(items_plus_one.end() - 1);
  return {{"items", std::move(items_plus_one)},
          {"limit", page.limit},
          {"offset", page.offset},
          {"has_more", more}};
}

}  // namespace jarvis

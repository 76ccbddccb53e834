// github/src/client.cpp — REST calls, pagination and rate-limit handling.
#include "client.h"

#include <chrono>

#include "analysis.h"
#include "jarvis/json.h"

namespace github {

namespace {

long long header_int(const jarvis::Headers& h, const char* name, long long fallback) {
  auto v = h.get(name);
  if (!v) return fallback;
  try {
    std::size_t used = 0;
    long long n = std::stoll(*v, &used);
    return used == 0 ? fallback : n;
  } catch (const std::exception&) {
    return fallback;
  }
}

// Path without the query, for error messages (queries may carry search terms).
std::string path_only(const std::string& url) {
  auto q = url.find('?');
  return q == std::string::npos ? url : url.substr(0, q);
}

}  // namespace

long long epoch_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void RateState::observe(const jarvis::Headers& h, long long now) {
  std::lock_guard lock(mu_);
  long long rem = header_int(h, "X-RateLimit-Remaining", -2);
  if (rem != -2) remaining_ = rem;
  long long lim = header_int(h, "X-RateLimit-Limit", -2);
  if (lim != -2) limit_ = lim;
  long long reset = header_int(h, "X-RateLimit-Reset", -2);
  if (reset != -2) reset_ = reset;
  if (remaining_ == 0 && reset_ > now && reset_ > blocked_until_) {
    blocked_until_ = reset_;
    kind_ = "primary";
  }
}

void RateState::block_until(long long until, const std::string& kind) {
  std::lock_guard lock(mu_);
  if (until > blocked_until_) blocked_until_ = until;
  kind_ = kind;
}

long long RateState::wait_seconds(long long now) const {
  std::lock_guard lock(mu_);
  return blocked_until_ > now ? blocked_until_ - now : 0;
}

jarvis::Json RateState::to_json() const {
  std::lock_guard lock(mu_);
  auto opt = [](long long v) { return v < 0 ? jarvis::Json(nullptr) : jarvis::Json(v); };
  return {{"remaining", opt(remaining_)},
          {"limit", opt(limit_)},
          {"reset_epoch", reset_ > 0 ? jarvis::Json(reset_) : jarvis::Json(nullptr)},
          {"blocked_until_epoch",
           blocked_until_ > 0 ? jarvis::Json(blocked_until_) : jarvis::Json(nullptr)},
          {"last_limit_kind", kind_.empty() ? jarvis::Json(nullptr) : jarvis::Json(kind_)}};
}

Client::Client(jarvis::Host& host, const Settings& settings, RateState& rate,
               std::function<bool()> should_stop)
    : host_(host), s_(settings), rate_(rate), should_stop_(std::move(should_stop)) {}

jarvis::OutboundResponse Client::raw(const std::string& method, const std::string& url,
                                     const std::string& body) {
  if (s_.token.empty()) throw ApiError(0, "GITHUB_TOKEN is not set");
  const long long now = epoch_now();
  if (long long w = rate_.wait_seconds(now); w > 0) throw RateLimited(w, "primary");
  jarvis::OutboundRequest r;
  r.method = method;
  r.url = url;
  r.headers.set("Accept", "application/vnd.github+json");
  r.headers.set("X-GitHub-Api-Version", s_.api_version);
  r.headers.set("Authorization", "Bearer " + s_.token.reveal());
  r.headers.set("User-Agent", "Jarvis-GitHub/1.0");
  if (!body.empty()) {
    r.headers.set("Content-Type", "application/json");
    r.body = body;
  }
  r.timeout_ms = static_cast<long>(s_.api_timeout_seconds) * 1000;
  r.max_response_bytes = 32u << 20;
  r.cancel = jarvis::CancelToken::when(should_stop_);
  ++calls_;
  jarvis::OutboundResponse res = host_.http().send(r);
  const long long after = epoch_now();
  if (res.status != 0) rate_.observe(res.headers, after);
  if (res.status == 403 || res.status == 429) {
    if (auto ra = res.headers.get("Retry-After")) {
      long long secs = header_int(res.headers, "Retry-After", 60);
      if (secs < 1) secs = 1;
      rate_.block_until(after + secs, "secondary");
      throw RateLimited(secs, "secondary");
    }
    if (header_int(res.headers, "X-RateLimit-Remaining", -1) == 0) {
      long long reset = header_int(res.headers, "X-RateLimit-Reset", after + 60);
      long long secs = reset > after ? reset - after : 1;
      rate_.block_until(after + secs, "primary");
      throw RateLimited(secs, "primary");
    }
  }
  return res;
}

jarvis::Json Client::parse(const jarvis::OutboundResponse& r, const std::string& what) {
  if (!r.error_class.empty())
    throw ApiError(0, what + ": " + r.error_class + " (" + r.error_message + ")");
  if (r.status < 200 || r.status >= 300)
    throw ApiError(r.status, what + ": HTTP " + std::to_string(r.status));
  if (r.status == 204 || r.body.empty()) return nullptr;
  auto j = jarvis::try_parse_json(r.body);
  if (!j) throw ApiError(r.status, what + ": the response is not JSON");
  return *j;
}

jarvis::Json Client::get(const std::string& path) {
  return parse(raw("GET", s_.api_base_url + path, ""), "GET " + path_only(path));
}

jarvis::Json Client::get_or_null(const std::string& path) {
  auto r = raw("GET", s_.api_base_url + path, "");
  if (r.error_class.empty() && r.status == 404) return nullptr;
  return parse(r, "GET " + path_only(path));
}

jarvis::Json Client::send(const std::string& method, const std::string& path,
                          const jarvis::Json& body) {
  return parse(raw(method, s_.api_base_url + path, body.is_null() ? "" : body.dump()),
               method + " " + path_only(path));
}

std::vector<jarvis::Json> Client::get_all(const std::string& path, std::size_t max_items) {
  std::vector<jarvis::Json> items;
  std::string url =
      s_.api_base_url + path + (path.find('?') == std::string::npos ? "?" : "&") + "per_page=100";
  for (int page = 0; !url.empty() && items.size() < max_items; ++page) {
    if (page >= 1000) throw ApiError(0, "GET " + path_only(path) + ": too many pages");
    auto r = raw("GET", url, "");
    jarvis::Json body = parse(r, "GET " + path_only(path));
    if (!body.is_array()) throw ApiError(r.status, "GET " + path_only(path) + ": not a list");
    for (auto& item : body) {
      if (items.size() >= max_items) break;
      items.push_back(std::move(item));
    }
    url = next_link(r.headers.get("Link").value_or(""));
    // The next page must be on the configured API (a Link elsewhere would carry the token out).
    if (!url.empty() && !url.starts_with(s_.api_base_url + "/"))
      throw ApiError(r.status, "GET " + path_only(path) + ": Link points outside the API base");
  }
  return items;
}

}  // namespace github

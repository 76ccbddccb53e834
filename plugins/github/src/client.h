// github/src/client.h — the GitHub REST client of the plugin: GITHUB_API_BASE_URL + a path,
// `Authorization: Bearer GITHUB_TOKEN`, `Accept: application/vnd.github+json`,
// `X-GitHub-Api-Version`, Link-header pagination, and rate limits turned into RateLimited (the
// task is then postponed — never a sleep in a handler).
//
//   github::RateState rate;                                   // shared by every task
//   github::Client api(host, settings, rate, ctx.should_stop);
//   jarvis::Json pr = api.get("/repos/octo/hello/pulls/7");
//   std::vector<jarvis::Json> files = api.get_all("/repos/octo/hello/pulls/7/files", 3000);
//   api.send("PATCH", "/repos/octo/hello/issues/comments/9", {{"body", text}});
//   // throws github::RateLimited{wait_seconds} or github::ApiError{status}
#pragma once

#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "jarvis/host.h"
#include "settings.h"

namespace github {

/// The API answered "not now": primary limit exhausted (X-RateLimit-Remaining: 0 until
/// X-RateLimit-Reset) or a secondary limit (Retry-After).
class RateLimited : public std::runtime_error {
 public:
  RateLimited(long long wait_seconds, std::string kind)
      : std::runtime_error("GitHub rate limit (" + kind + "): retry in " +
                           std::to_string(wait_seconds) + " s"),
        wait_seconds(wait_seconds),
        kind(std::move(kind)) {}
  long long wait_seconds;  ///< how long to wait before the next call (≥ 1)
  std::string kind;        ///< "primary" or "secondary"
};

/// A non-2xx answer (or a transport failure, status 0). The message names the method, path and
/// status — never the token or the response body.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, const std::string& message) : std::runtime_error(message), status(status) {}
  int status;
};

/// The last rate-limit figures the API sent, shared by every task of this process (thread-safe).
class RateState {
 public:
  /// Records the X-RateLimit-* headers of a response (absent headers change nothing).
  void observe(const jarvis::Headers& h, long long now_epoch);
  /// Records a refusal until `until_epoch`.
  void block_until(long long until_epoch, const std::string& kind);
  /// Seconds until calls may resume (0 = now).
  long long wait_seconds(long long now_epoch) const;
  /// {remaining, limit, reset_at, blocked_until, last_kind} (nulls when never seen).
  jarvis::Json to_json() const;

 private:
  mutable std::mutex mu_;
  long long remaining_ = -1, limit_ = -1, reset_ = 0, blocked_until_ = 0;
  std::string kind_;
};

/// One task's view of the API (cheap to construct; not shared between threads).
class Client {
 public:
  Client(
      jarvis::Host& host, const Settings& settings, RateState& rate,
      std::function<bool()> should_stop = [] { return false; });

  /// GET `path` (starting with '/', may carry a query) → JSON body.
  jarvis::Json get(const std::string& path);
  /// Every item of a list endpoint, following rel="next" up to `max_items` (per_page=100 is
  /// added). Next links must stay on GITHUB_API_BASE_URL.
  std::vector<jarvis::Json> get_all(const std::string& path, std::size_t max_items);
  /// POST/PATCH/PUT/DELETE with a JSON body → JSON body (null for 204).
  jarvis::Json send(const std::string& method, const std::string& path, const jarvis::Json& body);
  /// GET that answers nullopt-like null for 404 instead of throwing.
  jarvis::Json get_or_null(const std::string& path);
  /// Number of HTTP calls made.
  int calls() const { return calls_; }

 private:
  jarvis::OutboundResponse raw(const std::string& method, const std::string& url,
                               const std::string& body);
  jarvis::Json parse(const jarvis::OutboundResponse& r, const std::string& what);

  jarvis::Host& host_;
  const Settings& s_;
  RateState& rate_;
  std::function<bool()> should_stop_;
  int calls_ = 0;
};

/// Seconds since the Unix epoch, now.
long long epoch_now();

}  // namespace github

// tests/support/fakes/fake_github.h — a fake of the GitHub REST API on 127.0.0.1 (LoopbackServer)
// with the parts the github plugin uses: pull requests, their files paginated by the `Link`
// header, issue comments (list, create, edit), issues (create, list, search), collaborator
// permission, `/rate_limit`, the X-RateLimit-* headers on every answer, primary-limit exhaustion
// (403 with X-RateLimit-Remaining: 0) and secondary limits (403 with Retry-After), and injected
// failures. tests/node/github.test.mjs checks it with GitHub's official client (@octokit/rest).
//
//   using namespace jarvis::test::fakes;
//   FakeGitHub gh;                                             // token "ghp_test", bot
//   "jarvis-bot" gh.add_pull("octo/hello", {{"number", 7}, {"base", {{"ref", "main"}}}},
//               FakeGitHub::generated_files(3000));
//   gh.set_permission("octo/hello", "alice", "write");
//   gh.fail_next("POST", "/repos/octo/hello/issues", 502, 1, /*apply=*/true);  // made, 502 sent
//   gh.secondary_limit_next(1, /*retry_after_seconds=*/2);
//   … GITHUB_API_BASE_URL = gh.base_url() …
//   EXPECT_TRUE(gh.wait_comment_writes(1, std::chrono::seconds(30)));
//   auto comments = gh.comments("octo/hello", 7);              // [{id, body, user:{login}}, …]
//
// Control endpoints (not authenticated, not rate-limited, recorded apart), for jarvis-fake-github
// clients (tests/node, bench/github.sh) — JSON bodies as the C++ calls take:
//   POST /_fake/pulls {repo, pull, files? | file_count?}   POST /_fake/permissions {repo, login,
//   permission}   POST /_fake/fail {method, path, status, times?, apply?}   POST /_fake/secondary
//   {times, retry_after}   POST /_fake/rate {remaining, reset?}   GET /_fake/comments?repo=&number=
//   GET /_fake/issues?repo=   GET /_fake/requests   GET /_fake/state
//   GET /_fake/wait_comment_writes?count=&timeout_ms=   (long poll: {reached, comment_writes})
//
// Not covered: GraphQL, conditional requests (ETag / 304), reactions, review comments, anything
// the plugin does not call. Thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "support/fakes/loopback_server.h"

namespace jarvis::test::fakes {

/// The fake GitHub REST API (see the file comment).
class FakeGitHub {
 public:
  /// Listens on 127.0.0.1:`port` (0 = free). Requests must carry `Authorization: Bearer <token>`
  /// (or `token <token>`); the bot's comments are authored by `bot_login`.
  explicit FakeGitHub(std::string token = "ghp_test", std::string bot_login = "jarvis-bot",
                      int port = 0);
  ~FakeGitHub();

  /// "http://127.0.0.1:PORT" — what GITHUB_API_BASE_URL and Octokit's baseUrl take.
  std::string base_url() const;
  int port() const;

  /// Adds (or replaces) pull request `pull["number"]` of `repo` with its files. Missing fields
  /// get defaults (title, state, base/head refs and sha, user, commits); additions, deletions and
  /// changed_files are computed from `files` unless given.
  void add_pull(const std::string& repo, nlohmann::json pull, std::vector<nlohmann::json> files);
  /// `n` files named like a real change: mostly src/… edits, with risky ones spread through the
  /// list (a migration, an auth file, a route, a workflow, a lock file, a deleted test — the
  /// deleted test last, so a top-N judgement would miss it). Each has a small patch.
  static std::vector<nlohmann::json> generated_files(int n);

  /// Sets `login`'s permission on `repo` (admin, maintain, write, triage, read, none).
  void set_permission(const std::string& repo, const std::string& login, const std::string& perm);
  /// Adds a comment by `login` to issue/PR `number`; returns its id.
  long long add_comment(const std::string& repo, long long number, const std::string& login,
                        const std::string& body);
  /// Deletes a comment (as if removed on GitHub).
  void delete_comment(long long id);
  /// The comments of issue/PR `number`, oldest first.
  std::vector<nlohmann::json> comments(const std::string& repo, long long number) const;
  /// The issues created in `repo`, oldest first.
  std::vector<nlohmann::json> issues(const std::string& repo) const;
  /// When true, issues created from now on are left out of /search/issues (GitHub's index lags).
  void set_search_lag(bool lag);

  /// The next `times` requests of `method` whose path starts with `path_prefix` answer `status`
  /// with a GitHub error body; with `apply` the request's effect happens first (a created issue
  /// whose 201 was lost).
  void fail_next(const std::string& method, const std::string& path_prefix, int status,
                 int times = 1, bool apply = false);
  /// The next `times` API requests answer 403 "secondary rate limit" with Retry-After.
  void secondary_limit_next(int times, int retry_after_seconds);
  /// Sets the primary limit's remaining calls and reset time (epoch seconds; 0 = now + 1 h). At 0
  /// every API request answers 403 with X-RateLimit-Remaining: 0 until the reset passes.
  void set_rate_limit(int remaining, long long reset_epoch = 0);

  /// The next `count` API requests of `method` whose path starts with `path_prefix` wait for
  /// each other: each is answered only once all `count` have arrived, or after `timeout` (a
  /// barrier that lines up two hosts' tasks at the same step). At most 64 holds per fake.
  void hold_requests(const std::string& method, const std::string& path_prefix, int count,
                     std::chrono::milliseconds timeout);
  /// Comment creations + edits so far.
  int comment_writes() const;
  /// Waits until comment_writes() >= n.
  bool wait_comment_writes(int n, std::chrono::milliseconds timeout) const;
  /// API requests answered so far (control endpoints excluded).
  std::vector<HttpRequest> requests() const;
  /// API requests whose method is `method` and path starts with `prefix`.
  int count_requests(const std::string& method, const std::string& prefix) const;

 private:
  struct State;
  void handle(const HttpRequest& req, Responder& out);
  bool control(const HttpRequest& req, Responder& out);
  std::unique_ptr<State> st_;
  std::unique_ptr<LoopbackServer> server_;
};

}  // namespace jarvis::test::fakes

// github/tests/github_support.h — a real `jarvis serve` with the github and bugs plugins (and,
// when asked, the github_fixture plugin's scripted chat.complete), a FakeGitHub as
// GITHUB_API_BASE_URL, on SQLite or the test PostgreSQL; the webhook payloads of
// @octokit/webhooks-examples, signed by @octokit/webhooks-methods (GitHub's own signing code,
// run by node) and by jarvis::hmac_sha256_hex.
//
//   GitHubHost h(Backend::Sqlite, {.env = {{"GITHUB_PR_SUMMARY_ENABLED", "1"}}});
//   json opened = example("pull_request", "opened");            // unchanged from the package
//   auto r = h.deliver("pull_request", opened.dump(), "d-1");   // signed with the secret
//   EXPECT_EQ(r.status, 202);
//   ASSERT_TRUE(h.fake->wait_comment_writes(1, std::chrono::seconds(30)));
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "jarvis/crypto.h"
#include "support/fakes/fake_github.h"
#include "support/support.h"

namespace github_test {

using jarvis::test::Backend;
using jarvis::test::fakes::FakeGitHub;
using nlohmann::json;

inline const std::string kSecret = "webhook-secret-for-tests";
inline const std::string kToken = "ghp_test";
inline const std::string kRepo = "Codertocat/Hello-World";  ///< the examples' repository

/// node_modules of the repository (installed by ctest's node_deps fixture).
inline std::string node_modules() { return std::string(JARVIS_SOURCE_DIR) + "/node_modules"; }

/// Every example of `event` in @octokit/webhooks-examples (api.github.com), unchanged.
inline std::vector<json> examples(const std::string& event) {
  static const json index = [] {
    std::string text = jarvis::test::read_file(
        node_modules() + "/@octokit/webhooks-examples/api.github.com/index.json");
    return json::parse(text);
  }();
  for (const auto& e : index)
    if (e["name"] == event) return e["examples"].get<std::vector<json>>();
  return {};
}

/// The first example of `event` whose action is `action` ("" = the first example).
inline json example(const std::string& event, const std::string& action = "") {
  for (const auto& e : examples(event))
    if (action.empty() || e.value("action", "") == action) return e;
  ADD_FAILURE() << "no example " << event << "/" << action;
  return json::object();
}

/// `sha256=<hex>` for `body` under `secret`, computed by @octokit/webhooks-methods' sign() in a
/// node process (the body goes through a file, byte for byte).
inline std::string octokit_sign(const std::string& secret, const std::string& body) {
  jarvis::test::TempDir d;
  jarvis::test::write_file(d.file("body"), body);
  jarvis::test::write_file(d.file("secret"), secret);
  const std::string cmd = "node " + std::string(JARVIS_SOURCE_DIR) +
                          "/plugins/github/tests/sign.mjs " + d.file("secret") + " " +
                          d.file("body");
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[256];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
  }
  return out;
}

/// Options of one test host.
struct GitHubHostOptions {
  std::map<std::string, std::string> env;  ///< extra config
  bool model = false;                      ///< load github_fixture (chat.complete)
  std::string model_mode = "ok";           ///< GITHUB_FIXTURE_MODEL
  bool start = true;                       ///< start the server in the constructor
};

/// One server under test (see the file comment).
class GitHubHost {
 public:
  explicit GitHubHost(Backend backend, GitHubHostOptions o = {})
      : fake(std::make_unique<FakeGitHub>(kToken, "jarvis-bot")) {
    namespace fs = std::filesystem;
    fs::create_directories(dir.file("plugins"));
    std::string required = "github,bugs";
    if (o.model) {
      fs::create_directory_symlink(std::string(JARVIS_TEST_PLUGIN_DIR) + "/github_fixture",
                                   dir.file("plugins/github_fixture"));
      required += ",github_fixture";
    }
    env = {{"LOG_LEVEL", "warn"},
           {"JARVIS_PLUGIN_DIRS", dir.file("plugins")},
           {"JARVIS_PLUGINS_REQUIRED", required},
           {"JARVIS_PLUGINS_DISABLED", "chat"},
           {"GITHUB_WEBHOOK_SECRET", kSecret},
           {"GITHUB_TOKEN", kToken},
           {"GITHUB_BOT_LOGIN", "jarvis-bot"},
           {"GITHUB_API_BASE_URL", fake->base_url()},
           {"GITHUB_FIXTURE_MODEL", o.model_mode}};
    if (backend == Backend::Sqlite) {
      env["APP_DB"] = dir.file("jarvis.db");
    } else {
      env["DATABASE_URL"] = jarvis::test::pg_fresh_database();
    }
    for (auto& [k, v] : o.env) env[k] = v;
    auto m = jarvis::test::run_jarvis({"migrate"}, dir.path(), env);
    EXPECT_EQ(m.exit_code, 0) << m.out << m.err;
    admin = jarvis::test::create_user_token(dir.path(), env, "root", true);
    alice = jarvis::test::create_user_token(dir.path(), env, "alice", false);
    if (o.start) start();
  }

  /// Starts (or restarts) `jarvis serve` with `env`.
  void start(std::map<std::string, std::string> extra = {}) {
    auto e = env;
    for (auto& [k, v] : extra) e[k] = v;
    server = std::make_unique<jarvis::test::ServerProcess>(dir.path(), e);
    ASSERT_TRUE(server->ready()) << server->output();
  }

  /// POSTs a delivery. `signature` "" = the right one (jarvis::hmac_sha256_hex); "-" = none.
  jarvis::test::HttpResult deliver(const std::string& event, const std::string& body,
                                   const std::string& delivery, std::string signature = "") const {
    std::vector<std::string> h = {"Content-Type: application/json",
                                  "User-Agent: GitHub-Hookshot/test"};
    if (signature.empty()) signature = "sha256=" + jarvis::hmac_sha256_hex(kSecret, body);
    if (signature != "-") h.push_back("X-Hub-Signature-256: " + signature);
    if (!event.empty()) h.push_back("X-GitHub-Event: " + event);
    if (!delivery.empty()) h.push_back("X-GitHub-Delivery: " + delivery);
    return jarvis::test::http("POST", server->url("/api/v1/webhooks/github"), body, h);
  }

  /// One JSON call with a bearer token.
  jarvis::test::HttpResult call(const std::string& method, const std::string& path,
                                const std::string& token, const json& body = nullptr) const {
    std::vector<std::string> h = {"Content-Type: application/json"};
    if (!token.empty()) h.push_back(jarvis::test::bearer(token));
    return jarvis::test::http(method, server->url(path), body.is_null() ? "" : body.dump(), h);
  }

  /// Events of `type` (admin view), oldest first.
  json events(const std::string& type) const {
    auto r = call("GET", "/api/v1/events?type=" + type + "&limit=200", admin);
    json j = json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j["items"].is_array()) return json::array();
    json out = json::array();
    for (const auto& e : j["items"])
      if (e.value("type", "") == type) out.push_back(e);
    return out;
  }

  /// Waits until `n` PR summaries were posted (the task finished, not only its comment write).
  bool wait_posted(std::size_t n) const {
    return eventually([&] { return events("github.pr_summary_posted").size() >= n; });
  }

  /// Polls `check` (every 50 ms, up to 60 s) until it returns true.
  static bool eventually(const std::function<bool()>& check,
                         std::chrono::seconds limit = std::chrono::seconds(60)) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (check()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return check();
  }

  jarvis::test::TempDir dir;
  std::unique_ptr<FakeGitHub> fake;
  std::map<std::string, std::string> env;
  std::string admin, alice;
  std::unique_ptr<jarvis::test::ServerProcess> server;
};

/// The error code of an error envelope ("" when none).
inline std::string error_code(const jarvis::test::HttpResult& r) {
  json j = json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "";
}

}  // namespace github_test

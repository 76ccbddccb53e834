// github/tests/github_support.h — a real `jarvis serve` (jarvis::test::PluginHost) with the github
// and bugs plugins (and, when asked, the github_fixture plugin's scripted chat.complete; every
// other installed plugin disabled; root (admin), alice and bob with tokens), a FakeGitHub as
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
#include "support/plugin_host.h"
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

/// The fake GitHub API, made before the host (whose configuration names its URL).
struct GitHubFake {
  std::unique_ptr<FakeGitHub> fake = std::make_unique<FakeGitHub>(kToken, "jarvis-bot");
};

/// One server under test (see the file comment): a jarvis::test::PluginHost with github and bugs
/// (and github_fixture), the FakeGitHub as GITHUB_API_BASE_URL.
class GitHubHost : public GitHubFake, public jarvis::test::PluginHost {
 public:
  explicit GitHubHost(Backend backend, GitHubHostOptions o = {})
      : PluginHost(backend, host_options(*fake, o)) {}

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

 private:
  static jarvis::test::PluginHostOptions host_options(const FakeGitHub& fake,
                                                      const GitHubHostOptions& o) {
    std::map<std::string, std::string> env = {{"GITHUB_WEBHOOK_SECRET", kSecret},
                                              {"GITHUB_TOKEN", kToken},
                                              {"GITHUB_BOT_LOGIN", "jarvis-bot"},
                                              {"GITHUB_API_BASE_URL", fake.base_url()},
                                              {"GITHUB_FIXTURE_MODEL", o.model_mode}};
    for (const auto& [k, v] : o.env) env[k] = v;
    jarvis::test::PluginHostOptions p{.plugins = {"github", "bugs"}, .env = env, .start = o.start};
    if (o.model) p.fixtures = {"github_fixture"};
    return p;
  }
};

using jarvis::test::api::error_code;

}  // namespace github_test

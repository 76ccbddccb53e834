// github/tests/github_webhook_test.cpp — POST /api/v1/webhooks/github on a real server, SQLite
// and PostgreSQL, with the unchanged payloads of @octokit/webhooks-examples signed by
// @octokit/webhooks-methods: every signature failure, the unset secret, missing headers, replay,
// ping, unknown events, the allowlist, GitHub's test vector, and the status route.
#include <gtest/gtest.h>

#include <future>

#include "github_support.h"

namespace {

using namespace github_test;

class GitHubWebhook : public ::testing::TestWithParam<Backend> {};

TEST_P(GitHubWebhook, OctokitsSignatureIsAcceptedAndEveryBadSignatureIsRefused) {
  GitHubHost h(GetParam());
  const std::string body = example("ping").dump();
  const std::string good = octokit_sign(kSecret, body);
  ASSERT_EQ(good, "sha256=" + jarvis::hmac_sha256_hex(kSecret, body)) << "GitHub's signer agrees";

  const std::string hex = good.substr(7);
  std::string flipped = hex;
  flipped[10] = flipped[10] == 'a' ? 'b' : 'a';
  std::string tampered = body;
  tampered[tampered.size() / 2] ^= 1;
  struct Case {
    const char* name;
    std::string body, signature;
  };
  const std::vector<Case> bad = {
      {"missing header", body, "-"},
      {"empty header", body, " "},
      {"no scheme", body, hex},
      {"sha1 scheme", body, "sha1=" + hex},
      {"one hex digit changed", body, "sha256=" + flipped},
      {"truncated", body, good.substr(0, good.size() - 2)},
      {"not hex", body, "sha256=" + std::string(64, 'z')},
      {"signed with another secret", body, octokit_sign("another secret", body)},
      {"body changed by one bit", tampered, good},
      {"signature of an empty body", body, "sha256=" + jarvis::hmac_sha256_hex(kSecret, "")},
  };
  int n = 0;
  for (const auto& c : bad) {
    auto r = h.deliver("ping", c.body, "bad-" + std::to_string(++n), c.signature);
    EXPECT_EQ(r.status, 401) << c.name << ": " << r.body;
    EXPECT_EQ(error_code(r), "invalid_signature") << c.name;
  }
  auto st = json::parse(h.call("GET", "/api/v1/github/status", h.admin).body);
  EXPECT_TRUE(st["last_delivery"].is_null()) << "a refused delivery leaves no record: " << st;

  auto ok = h.deliver("ping", body, "good-1", good);
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(json::parse(ok.body)["event"], "ping");
}

TEST_P(GitHubWebhook, GitHubsTestVectorPassesTheRoute) {
  GitHubHost h(GetParam(), {.env = {{"GITHUB_WEBHOOK_SECRET", "It's a Secret to Everybody"}}});
  const std::string sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
  EXPECT_EQ(octokit_sign("It's a Secret to Everybody", "Hello, World!"), sig);
  auto r = h.deliver("ping", "Hello, World!", "vector-1", sig);
  EXPECT_EQ(r.status, 200) << r.body;
  auto wrong = h.deliver("ping", "Hello, World?", "vector-2", sig);
  EXPECT_EQ(wrong.status, 401);
}

TEST_P(GitHubWebhook, AnUnsetSecretFailsClosed) {
  GitHubHost h(GetParam(), {.env = {{"GITHUB_WEBHOOK_SECRET", ""}}});
  const std::string body = example("ping").dump();
  auto r = h.deliver("ping", body, "d-1", octokit_sign("", body));
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(error_code(r), "webhook_not_configured");
  EXPECT_EQ(h.deliver("ping", body, "d-2", "-").status, 503);
}

TEST_P(GitHubWebhook, MissingOrMalformedHeadersAre400) {
  GitHubHost h(GetParam());
  const std::string body = example("ping").dump();
  auto no_delivery = h.deliver("ping", body, "");
  EXPECT_EQ(no_delivery.status, 400);
  EXPECT_EQ(error_code(no_delivery), "missing_delivery_id");
  auto no_event = h.deliver("", body, "d-1");
  EXPECT_EQ(no_event.status, 400);
  EXPECT_EQ(error_code(no_event), "missing_event");
  auto bad_id = h.deliver("ping", body, "d 1;drop");
  EXPECT_EQ(bad_id.status, 400);
  EXPECT_EQ(error_code(bad_id), "invalid_delivery_id");
  // A handled event whose body is not JSON (signed correctly) is a 400, never a 500.
  auto not_json = h.deliver("pull_request", "{not json", "d-2");
  EXPECT_EQ(not_json.status, 400) << not_json.body;
  EXPECT_EQ(error_code(not_json), "invalid_json");
  auto no_repo = h.deliver("pull_request", R"({"action":"opened","number":1})", "d-3");
  EXPECT_EQ(no_repo.status, 400);
  EXPECT_EQ(error_code(no_repo), "invalid_payload");
}

TEST_P(GitHubWebhook, AReplayedDeliveryIs409AndDoesNothingTwice) {
  GitHubHost h(GetParam(), {.env = {{"GITHUB_PR_SUMMARY_ENABLED", "1"}}});
  h.fake->add_pull(kRepo, {{"number", 2}}, FakeGitHub::generated_files(3));
  const std::string body = example("pull_request", "opened").dump();
  const std::string sig = octokit_sign(kSecret, body);
  auto first = h.deliver("pull_request", body, "replay-1", sig);
  ASSERT_EQ(first.status, 202) << first.body;
  EXPECT_EQ(json::parse(first.body)["accepted"], true);
  auto again = h.deliver("pull_request", body, "replay-1", sig);
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(error_code(again), "duplicate_delivery");
  ASSERT_TRUE(h.fake->wait_comment_writes(1, std::chrono::seconds(60))) << h.server->output();
  auto tasks = json::parse(h.call("GET", "/api/v1/tasks?name=github.pr_summary", h.admin).body);
  EXPECT_EQ(tasks["items"].size(), 1u) << tasks;
  EXPECT_EQ(h.fake->comments(kRepo, 2).size(), 1u);
  EXPECT_EQ(h.fake->count_requests("GET", "/repos/" + kRepo + "/pulls/2/files"), 1);
}

TEST_P(GitHubWebhook, PingIs200AndUnhandledEventsAre202Ignored) {
  GitHubHost h(GetParam(), {.env = {{"GITHUB_PR_SUMMARY_ENABLED", "1"}}});
  for (const auto& p : examples("ping")) {
    static int n = 0;
    auto r = h.deliver("ping", p.dump(), "ping-" + std::to_string(++n));
    EXPECT_EQ(r.status, 200) << r.body;
  }
  auto push = h.deliver("push", example("push").dump(), "push-1");
  EXPECT_EQ(push.status, 202) << push.body;
  EXPECT_EQ(json::parse(push.body)["ignored"], "unsupported_event:push");
  auto labeled = h.deliver("pull_request", example("pull_request", "labeled").dump(), "pr-labeled");
  EXPECT_EQ(labeled.status, 202);
  EXPECT_EQ(json::parse(labeled.body)["ignored"], "unhandled_action:labeled");
  // The examples' comments are on an issue, not a pull request, and carry no trigger.
  auto comment = h.deliver("issue_comment", example("issue_comment", "created").dump(), "ic-1");
  EXPECT_EQ(comment.status, 202);
  EXPECT_EQ(json::parse(comment.body)["ignored"], "not_a_pull_request");
  EXPECT_TRUE(h.fake->requests().empty()) << "nothing ignored reached the API";
  auto st = json::parse(h.call("GET", "/api/v1/github/status", h.admin).body);
  EXPECT_EQ(st["last_delivery"]["delivery_id"], "ic-1") << st;
  EXPECT_EQ(st["last_delivery"]["outcome"], "ignored:not_a_pull_request");
}

TEST_P(GitHubWebhook, RepositoriesOutsideTheAllowlistAreIgnored) {
  GitHubHost h(GetParam(), {.env = {{"GITHUB_PR_SUMMARY_ENABLED", "1"},
                                    {"GITHUB_REPO_ALLOWLIST", "octo/*, other/repo"}}});
  h.fake->add_pull(kRepo, {{"number", 2}}, FakeGitHub::generated_files(3));
  auto r = h.deliver("pull_request", example("pull_request", "opened").dump(), "allow-1");
  EXPECT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(json::parse(r.body)["ignored"], "repository_not_allowed");
  auto tasks = json::parse(h.call("GET", "/api/v1/tasks?name=github.pr_summary", h.admin).body);
  EXPECT_TRUE(tasks["items"].empty()) << tasks;
}

TEST_P(GitHubWebhook, ConcurrentDeliveriesShareCommitsAndEachIdIsAcceptedOnce) {
  // 24 requests at once, 12 ids each sent twice: concurrent deliveries are committed together
  // (group commit), and the second of two equal ids — in one batch or the next — is a 409.
  GitHubHost h(GetParam(), {.env = {{"GITHUB_PR_SUMMARY_ENABLED", "1"}}});
  const std::string body = example("pull_request", "opened").dump();
  std::vector<std::future<jarvis::test::HttpResult>> answers;
  for (int i = 0; i < 24; ++i)
    answers.push_back(std::async(std::launch::async, [&, i] {
      return h.deliver("pull_request", body, "burst-" + std::to_string(i % 12));
    }));
  std::map<int, int> statuses;
  for (auto& a : answers) ++statuses[a.get().status];
  EXPECT_EQ(statuses, (std::map<int, int>{{202, 12}, {409, 12}}));
  auto st = json::parse(h.call("GET", "/api/v1/github/status", h.admin).body);
  EXPECT_EQ(st["deliveries_last_hour"], 12) << st.dump();
}

TEST_P(GitHubWebhook, BodiesUpToGitHubsLimitAreReadAndLargerOnesAre413) {
  GitHubHost h(GetParam(), {.env = {{"GITHUB_PR_SUMMARY_ENABLED", "1"}}});
  // The package's example followed by JSON whitespace up to 3 MiB (the host's default limit is
  // 1 MiB; GitHub sends up to 25 MB): the same JSON value, signed over every byte.
  const std::string big = example("pull_request", "opened").dump() + std::string(3 << 20, ' ');
  auto r = h.deliver("pull_request", big, "big-body-1");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(json::parse(r.body)["accepted"], true) << r.body;
  // A signature over all but the last byte does not cover the body.
  auto cut = h.deliver("pull_request", big, "big-body-2",
                       "sha256=" + jarvis::hmac_sha256_hex(kSecret, big.substr(0, big.size() - 1)));
  EXPECT_EQ(cut.status, 401);
  EXPECT_EQ(error_code(cut), "invalid_signature");
  // Past the route's 26 MiB: refused from Content-Length, before the body is read.
  const std::string huge(27u << 20, ' ');
  auto too_big = h.deliver("pull_request", huge, "big-body-3");
  EXPECT_EQ(too_big.status, 413) << too_big.body.substr(0, 300);
  EXPECT_EQ(error_code(too_big), "payload_too_large");
}

TEST_P(GitHubWebhook, StatusIsAdminOnlyAndNeverShowsSecretValues) {
  GitHubHost h(GetParam());
  EXPECT_EQ(h.call("GET", "/api/v1/github/status", h.alice).status, 403);
  EXPECT_EQ(h.call("GET", "/api/v1/github/status", "").status, 401);
  auto r = h.call("GET", "/api/v1/github/status", h.admin);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body.find(kSecret), std::string::npos);
  EXPECT_EQ(r.body.find(kToken), std::string::npos);
  auto st = json::parse(r.body);
  EXPECT_EQ(st["configured"]["webhook_secret"], true);
  EXPECT_EQ(st["configured"]["token"], true);
  auto cli = jarvis::test::run_jarvis({"github", "status", "--json"}, h.dir.path(), h.env);
  ASSERT_EQ(cli.exit_code, 0) << cli.out << cli.err;
  EXPECT_EQ(cli.out.find(kToken), std::string::npos);
  EXPECT_EQ(json::parse(cli.out)["configured"]["token"], true);
  auto text = jarvis::test::run_jarvis({"github", "status"}, h.dir.path(), h.env);
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("token set: yes"), std::string::npos) << text.out;
}

INSTANTIATE_TEST_SUITE_P(Backends, GitHubWebhook,
                         ::testing::Values(Backend::Sqlite, Backend::Postgresql),
                         jarvis::test::backend_name);

}  // namespace

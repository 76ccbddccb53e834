// github/tests/github_tasks_test.cpp — the work the webhook queues, end to end on a real server
// against FakeGitHub, SQLite and PostgreSQL: a 3,000-file PR summary, one comment across
// synchronize, the model part and its truncation, a failing PR summary filing one bug report,
// rate limits postponing the task, and kill -9 right after the 2xx.
#include <gtest/gtest.h>

#include "github_support.h"

namespace {

using namespace github_test;

class GitHubTasks : public ::testing::TestWithParam<Backend> {};

std::map<std::string, std::string> summary_env() { return {{"GITHUB_PR_SUMMARY_ENABLED", "1"}}; }

TEST_P(GitHubTasks, A3000FilePullRequestIsSummarisedOverEveryFile) {
  GitHubHost h(GetParam(), {.env = summary_env()});
  h.fake->add_pull(kRepo,
                   {{"number", 2},
                    {"title", "Huge change"},
                    {"commits", 12},
                    {"base", {{"ref", "master"}}},
                    {"head", {{"ref", "changes"}}}},
                   FakeGitHub::generated_files(3000));
  auto r = h.deliver("pull_request", example("pull_request", "opened").dump(), "big-1");
  ASSERT_EQ(r.status, 202) << r.body;
  ASSERT_TRUE(h.fake->wait_comment_writes(1, std::chrono::seconds(60))) << h.server->output();
  auto comments = h.fake->comments(kRepo, 2);
  ASSERT_EQ(comments.size(), 1u);
  const std::string body = comments[0]["body"];
  EXPECT_TRUE(body.starts_with("<!-- jarvis:pr-summary -->")) << body;
  EXPECT_NE(body.find("3000 file(s)"), std::string::npos) << body;
  EXPECT_NE(body.find("12 commit(s)"), std::string::npos);
  EXPECT_NE(body.find("`master` ← `changes`"), std::string::npos) << "any base, not only dev";
  EXPECT_NE(body.find("Tests deleted"), std::string::npos) << "the 3,000th file counts";
  EXPECT_NE(body.find("tests/auth/session_test.cpp"), std::string::npos);
  EXPECT_NE(body.find("Database migrations touched"), std::string::npos);
  EXPECT_NE(body.find("Judged over all 3000 file(s)"), std::string::npos);
  EXPECT_NE(body.find("No model summary: no model is available"), std::string::npos) << body;
  EXPECT_EQ(h.fake->count_requests("GET", "/repos/" + kRepo + "/pulls/2/files"), 30);
  for (const auto& req : h.fake->requests()) {
    EXPECT_EQ(req.header("accept"), "application/vnd.github+json");
    EXPECT_EQ(req.header("x-github-api-version"), "2022-11-28");
    EXPECT_EQ(req.header("authorization"), "Bearer " + kToken);
  }
}

TEST_P(GitHubTasks, SynchronizeEditsTheSameCommentAndOnlySelectedBasesCount) {
  GitHubHost h(GetParam(), {.env = {{"GITHUB_PR_SUMMARY_ENABLED", "1"},
                                    {"GITHUB_PR_SUMMARY_BASES", "master, dev"}}});
  h.fake->add_pull(kRepo, {{"number", 2}}, FakeGitHub::generated_files(5));
  // Someone else's comment carrying the marker is never the one edited.
  h.fake->add_comment(kRepo, 2, "mallory", "<!-- jarvis:pr-summary -->\nfake summary");
  ASSERT_EQ(h.deliver("pull_request", example("pull_request", "opened").dump(), "s-1").status, 202);
  // The examples share one head sha, and a delivery for a sha whose summary is still running
  // joins it: wait for the task to end before the next one.
  ASSERT_TRUE(h.wait_posted(1)) << h.server->output();
  h.fake->add_pull(kRepo, {{"number", 2}}, FakeGitHub::generated_files(9));
  ASSERT_EQ(h.deliver("pull_request", example("pull_request", "synchronize").dump(), "s-2").status,
            202);
  ASSERT_TRUE(h.wait_posted(2)) << h.server->output();
  auto comments = h.fake->comments(kRepo, 2);
  ASSERT_EQ(comments.size(), 2u) << "mallory's and one summary";
  EXPECT_EQ(comments[0]["body"], "<!-- jarvis:pr-summary -->\nfake summary");
  EXPECT_NE(comments[1]["body"].get<std::string>().find("9 file(s)"), std::string::npos);
  EXPECT_EQ(h.fake->count_requests("POST", "/repos/" + kRepo + "/issues/2/comments"), 1);
  // The comment vanished on GitHub: the next push creates one again, still only one of ours.
  h.fake->delete_comment(comments[1]["id"]);
  ASSERT_EQ(h.deliver("pull_request", example("pull_request", "reopened").dump(), "s-3").status,
            202);
  ASSERT_TRUE(h.fake->wait_comment_writes(3, std::chrono::seconds(60)));
  EXPECT_EQ(h.fake->comments(kRepo, 2).size(), 2u);

  GitHubHost other(GetParam(), {.env = {{"GITHUB_PR_SUMMARY_ENABLED", "1"},
                                        {"GITHUB_PR_SUMMARY_BASES", "dev"}}});
  auto r = other.deliver("pull_request", example("pull_request", "opened").dump(), "s-4");
  EXPECT_EQ(json::parse(r.body)["ignored"], "base_not_selected");
}

TEST_P(GitHubTasks, TheModelPartIsAddedAndATruncatedDiffIsSaidSo) {
  GitHubHost h(GetParam(), {.env = {{"GITHUB_PR_SUMMARY_ENABLED", "1"},
                                    {"GITHUB_PR_DIFF_BUDGET_BYTES", "1000"}},
                            .model = true});
  h.fake->add_pull(kRepo, {{"number", 2}}, FakeGitHub::generated_files(300));
  ASSERT_EQ(h.deliver("pull_request", example("pull_request", "opened").dump(), "m-1").status, 202);
  ASSERT_TRUE(h.fake->wait_comment_writes(1, std::chrono::seconds(60))) << h.server->output();
  const std::string body = h.fake->comments(kRepo, 2)[0]["body"];
  EXPECT_NE(body.find("MODEL SUMMARY ("), std::string::npos) << body;
  EXPECT_NE(body.find("github.pr_summary)"), std::string::npos) << "purpose sent";
  EXPECT_NE(body.find("cut to 1000 bytes"), std::string::npos) << body;
  EXPECT_NE(body.find("Risk flags"), std::string::npos);
}

TEST_P(GitHubTasks, AProviderFailureIsNeverPostedAndADeniedModelIsSaidSo) {
  GitHubHost h(GetParam(), {.env = summary_env(), .model = true, .model_mode = "fail"});
  h.fake->add_pull(kRepo, {{"number", 2}}, FakeGitHub::generated_files(4));
  ASSERT_EQ(h.deliver("pull_request", example("pull_request", "opened").dump(), "f-1").status, 202);
  ASSERT_TRUE(h.wait_posted(1)) << h.server->output();
  const std::string body = h.fake->comments(kRepo, 2)[0]["body"];
  EXPECT_EQ(body.find("exploded"), std::string::npos) << body;
  EXPECT_EQ(body.find("sk-live"), std::string::npos);
  EXPECT_EQ(body.find("internal.example"), std::string::npos);
  EXPECT_NE(body.find("the assistant is unavailable right now (trace trc_"), std::string::npos)
      << body;
  EXPECT_FALSE(h.events("github.model_failed").empty());

  // An operator's deny wins over the plugin's grant: the summary says the call was not permitted.
  auto deny = jarvis::test::run_jarvis({"permissions", "deny", "agent:github", "chat.complete"},
                                       h.dir.path(), h.env);
  ASSERT_EQ(deny.exit_code, 0) << deny.out << deny.err;
  ASSERT_EQ(h.deliver("pull_request", example("pull_request", "reopened").dump(), "f-2").status,
            202);
  ASSERT_TRUE(h.fake->wait_comment_writes(2, std::chrono::seconds(60)));
  const std::string denied = h.fake->comments(kRepo, 2)[0]["body"];
  EXPECT_NE(denied.find("the model call was not permitted"), std::string::npos) << denied;
}

TEST_P(GitHubTasks, AFailingSummaryFilesOneBugReportAndIsAnEvent) {
  GitHubHost h(GetParam(), {.env = summary_env()});
  h.fake->add_pull(kRepo, {{"number", 2}}, FakeGitHub::generated_files(4));
  h.fake->fail_next("GET", "/repos/" + kRepo + "/pulls/2", 500, 100);
  ASSERT_EQ(h.deliver("pull_request", example("pull_request", "opened").dump(), "x-1").status, 202);
  json bugs;
  ASSERT_TRUE(GitHubHost::eventually(
      [&] {
        bugs = json::parse(h.call("GET", "/api/v1/bugs?search=PR%20summary", h.admin).body, nullptr,
                           false);
        return bugs.is_object() && bugs["items"].size() == 1;
      },
      std::chrono::seconds(90)))
      << bugs << h.server->output();
  EXPECT_EQ(bugs["items"][0]["title"], "GitHub PR summary failed for " + kRepo + "#2");
  EXPECT_EQ(bugs["items"][0]["priority"], "high");
  auto failed = h.events("github.pr_summary_failed");
  EXPECT_EQ(failed.size(), 3u) << failed;
  EXPECT_EQ(h.fake->comment_writes(), 0);
  auto st = json::parse(h.call("GET", "/api/v1/github/status", h.admin).body);
  EXPECT_EQ(st["last_error"]["kind"], "pr_summary") << st;
  EXPECT_EQ(st["last_error"]["message"].get<std::string>().find(kToken), std::string::npos);
}

TEST_P(GitHubTasks, RateLimitsPostponeTheTaskInsteadOfFailingIt) {
  GitHubHost h(GetParam(), {.env = summary_env()});
  h.fake->add_pull(kRepo, {{"number", 2}}, FakeGitHub::generated_files(250));
  // A secondary limit on the first call, then the primary limit runs out in the middle of the
  // files (GitHub answers 403 with X-RateLimit-Remaining: 0 until the reset).
  h.fake->secondary_limit_next(1, 1);
  ASSERT_EQ(h.deliver("pull_request", example("pull_request", "opened").dump(), "rl-1").status,
            202);
  json limited;
  ASSERT_TRUE(GitHubHost::eventually([&] {
    limited = h.events("github.rate_limited");
    return limited.size() == 1;
  })) << h.server->output();
  EXPECT_EQ(limited[0]["payload"]["kind"], "secondary");
  EXPECT_EQ(limited[0]["payload"]["wait_seconds"], 1);
  ASSERT_TRUE(h.wait_posted(1)) << h.server->output();

  const long long reset = static_cast<long long>(std::time(nullptr)) + 3;
  h.fake->set_rate_limit(2, reset);  // the PR and one page of files, then 403
  ASSERT_EQ(h.deliver("pull_request", example("pull_request", "synchronize").dump(), "rl-2").status,
            202);
  json primary;
  ASSERT_TRUE(GitHubHost::eventually([&] {
    for (const auto& e : h.events("github.rate_limited"))
      if (e["payload"]["kind"] == "primary") primary = e;
    return !primary.is_null();
  })) << h.server->output();
  // The page that took the last call said X-RateLimit-Remaining: 0, so the task stopped before
  // the next call and waits for X-RateLimit-Reset.
  EXPECT_GE(primary["payload"]["wait_seconds"].get<long long>(), 1) << primary;
  EXPECT_LE(primary["payload"]["wait_seconds"].get<long long>(), 3) << primary;
  ASSERT_TRUE(h.fake->wait_comment_writes(2, std::chrono::seconds(60))) << h.server->output();
  EXPECT_EQ(h.fake->comments(kRepo, 2).size(), 1u);
  auto st = json::parse(h.call("GET", "/api/v1/github/status", h.admin).body);
  EXPECT_FALSE(st["rate_limit"]["remaining"].is_null()) << st;
  EXPECT_EQ(st["rate_limit"]["last_limit_kind"], "primary") << st;
}

TEST_P(GitHubTasks, KilledRightAfterThe2xxTheWorkStillHappens) {
  // The API is down when the delivery arrives (nothing listens on its port yet), so the task
  // cannot have finished when the host dies; the delivery row and its task were committed
  // before the 202.
  const int api_port = jarvis::test::free_port();
  GitHubHost h(GetParam(),
               {.env = {{"GITHUB_PR_SUMMARY_ENABLED", "1"},
                        {"GITHUB_API_BASE_URL", "http://127.0.0.1:" + std::to_string(api_port)},
                        {"TASK_RUNNER_LEASE_SECONDS", "2"}}});
  h.fake.reset();
  const std::string body = example("pull_request", "opened").dump();
  auto r = h.deliver("pull_request", body, "kill-1");
  ASSERT_EQ(r.status, 202) << r.body;
  const int port = h.server->port();
  h.server->kill9();

  h.fake = std::make_unique<FakeGitHub>(kToken, "jarvis-bot", api_port);
  h.fake->add_pull(kRepo, {{"number", 2}}, FakeGitHub::generated_files(7));
  h.start({{"BIND_PORT", std::to_string(port)}});
  ASSERT_TRUE(h.fake->wait_comment_writes(1, std::chrono::seconds(90))) << h.server->output();
  EXPECT_EQ(h.fake->comments(kRepo, 2).size(), 1u);
  EXPECT_NE(h.fake->comments(kRepo, 2)[0]["body"].get<std::string>().find("7 file(s)"),
            std::string::npos);
  // The delivery id survived too: GitHub's redelivery of it is refused.
  auto again = h.deliver("pull_request", body, "kill-1");
  EXPECT_EQ(again.status, 409) << again.body;
}

INSTANTIATE_TEST_SUITE_P(Backends, GitHubTasks,
                         ::testing::Values(Backend::Sqlite, Backend::Postgresql),
                         jarvis::test::backend_name);

}  // namespace

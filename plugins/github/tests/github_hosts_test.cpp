// github/tests/github_hosts_test.cpp — two real `jarvis serve` hosts on one PostgreSQL database
// (decision 0066): a side effect on GitHub happens once whichever host runs the task. FakeGitHub
// lines the two hosts' tasks up at the same step (hold_requests: a barrier), so without the
// claims of github_claims both would list the comments, find none, and each POST one.
//
// Each host has one task worker, and the first barrier (the first API call of both tasks) is met
// only when the two tasks run at the same time — so on the two hosts, which the test checks.
#include <gtest/gtest.h>

#include <future>
#include <set>

#include "db/sql_database.h"
#include "github_samples.h"
#include "jarvis/sql.h"
#include "github_support.h"

namespace {

using namespace github_test;

namespace github_hosts_test {

/// Host B: a second `jarvis serve` on host A's database (same env, its own port and process).
/// Every task named `name` (admin view).
json tasks_named(const GitHubHost& h, const std::string& name) {
  auto r = h.call("GET", "/api/v1/tasks?name=" + name + "&limit=200", h.admin);
  json j = json::parse(r.body, nullptr, false);
  return j.is_object() && j["items"].is_array() ? j["items"] : json::array();
}

std::unique_ptr<jarvis::test::ServerProcess> second_host(const GitHubHost& a) {
  auto b = std::make_unique<jarvis::test::ServerProcess>(a.dir.path(), a.env);
  EXPECT_TRUE(b->ready()) << b->output();
  return b;
}

/// POSTs a signed delivery to `server`.
jarvis::test::HttpResult deliver_to(const jarvis::test::ServerProcess& server,
                                    const std::string& event, const std::string& body,
                                    const std::string& delivery) {
  return jarvis::test::http(
      "POST", server.url("/api/v1/webhooks/github"), body,
      {"Content-Type: application/json", "User-Agent: GitHub-Hookshot/test",
       "X-Hub-Signature-256: sha256=" + jarvis::hmac_sha256_hex(kSecret, body),
       "X-GitHub-Event: " + event, "X-GitHub-Delivery: " + delivery});
}

/// The lease owners ("<hostname>:<pid>") of every run of the tasks named `name`.
std::set<std::string> ran_on(const GitHubHost& h, const std::string& name) {
  std::set<std::string> out;
  for (const auto& t : tasks_named(h, name))
    if (!t.value("lease_owner", "").empty()) out.insert(t.value("lease_owner", ""));
  return out;
}

/// How many runs of `name` ended by waiting for another task's claim.
int claim_waits(const GitHubHost& h, const std::string& name) {
  int n = 0;
  for (const auto& t : tasks_named(h, name))
    if (t["result"].is_object() && t["result"].contains("waiting_for")) ++n;
  return n;
}

std::map<std::string, std::string> one_worker(std::map<std::string, std::string> env) {
  env["TASK_RUNNER_MAX_CONCURRENT"] = "1";
  return env;
}

}  // namespace github_hosts_test

using namespace github_hosts_test;

TEST(GitHubHosts, TwoHostsSummarisingOnePullRequestAtOnceLeaveOneComment) {
  GitHubHost a(Backend::Postgresql, {.env = one_worker({{"GITHUB_PR_SUMMARY_ENABLED", "1"}})});
  auto b = second_host(a);
  a.fake->add_pull(kRepo, {{"number", 2}}, FakeGitHub::generated_files(7));
  // Both tasks' first call meets here (only possible when each host runs one), and both reach
  // the comment listing together: without a claim both would find no comment and create one.
  a.fake->hold_requests("GET", "/repos/" + kRepo + "/pulls/2", 2, std::chrono::seconds(30));
  a.fake->hold_requests("GET", "/repos/" + kRepo + "/issues/2/comments", 2,
                        std::chrono::seconds(2));

  auto first = std::async(std::launch::async, [&] {
    return deliver_to(*a.server, "pull_request", example("pull_request", "opened").dump(),
                      "race-1");
  });
  auto second = std::async(std::launch::async, [&] {
    return deliver_to(*b, "pull_request", samples::second_commit_push().dump(), "race-2");
  });
  ASSERT_EQ(first.get().status, 202);
  ASSERT_EQ(second.get().status, 202);
  ASSERT_TRUE(a.wait_posted(2)) << a.server->output() << b->output();

  EXPECT_EQ(a.fake->count_requests("POST", "/repos/" + kRepo + "/issues/2/comments"), 1);
  auto comments = a.fake->comments(kRepo, 2);
  ASSERT_EQ(comments.size(), 1u);
  EXPECT_TRUE(comments[0]["body"].get<std::string>().starts_with("<!-- jarvis:pr-summary -->"));
  EXPECT_EQ(a.fake->comment_writes(), 2) << "one creation, one edit";
  auto hosts = ran_on(a, "github.pr_summary");
  EXPECT_EQ(hosts.size(), 2u) << "the two summaries ran on the two hosts";
  EXPECT_GE(claim_waits(a, "github.pr_summary"), 1) << "one task waited for the other's claim";
}

TEST(GitHubHosts, TwoHostsAnsweringTwoCommentsAtOnceLeaveOneChatComment) {
  GitHubHost a(Backend::Postgresql, {.env = one_worker({})});
  auto b = second_host(a);
  a.fake->add_pull(kRepo, {{"number", 2}}, FakeGitHub::generated_files(3));
  a.fake->set_permission(kRepo, samples::kSampleLogin, "write");
  // The permission check is each task's first call (the cache is per process).
  a.fake->hold_requests("GET", "/repos/" + kRepo + "/collaborators/", 2, std::chrono::seconds(30));
  a.fake->hold_requests("GET", "/repos/" + kRepo + "/issues/2/comments", 2,
                        std::chrono::seconds(2));
  auto first = std::async(std::launch::async, [&] {
    return deliver_to(*a.server, "issue_comment",
                      samples::issue_comment_on_pr("/jarvis help", 9001).dump(), "chat-1");
  });
  auto second = std::async(std::launch::async, [&] {
    return deliver_to(*b, "pull_request_review_comment",
                      samples::review_comment("@jarvis-bot help", 9002).dump(), "chat-2");
  });
  ASSERT_EQ(first.get().status, 202);
  ASSERT_EQ(second.get().status, 202);
  ASSERT_TRUE(GitHubHost::eventually([&] { return a.events("github.chat_replied").size() == 2; }))
      << a.server->output() << b->output();
  EXPECT_EQ(a.fake->count_requests("POST", "/repos/" + kRepo + "/issues/2/comments"), 1);
  EXPECT_EQ(a.fake->comments(kRepo, 2).size(), 1u);
  EXPECT_EQ(ran_on(a, "github.pr_chat").size(), 2u) << "the two answers ran on the two hosts";
  EXPECT_GE(claim_waits(a, "github.pr_chat"), 1) << "one answer waited for the other's claim";
}

TEST(GitHubHosts, ADeliveryReachingBothHostsIsAnsweredOnceEvenAfterTheReplayWindow) {
  GitHubHost a(Backend::Postgresql);
  auto b = second_host(a);
  a.fake->add_pull(kRepo, {{"number", 2}}, FakeGitHub::generated_files(3));
  a.fake->set_permission(kRepo, samples::kSampleLogin, "write");
  const std::string body = samples::review_comment("/jarvis help", 9100).dump();
  ASSERT_EQ(deliver_to(*a.server, "pull_request_review_comment", body, "again-1").status, 202);
  ASSERT_TRUE(a.fake->wait_comment_writes(1, std::chrono::seconds(60))) << a.server->output();
  ASSERT_TRUE(GitHubHost::eventually([&] { return a.events("github.chat_replied").size() == 1; }));

  // GitHub's "Redeliver" sends the same id and body; here it reaches host B two hours later
  // (the delivery row is aged), past the replay window, so the delivery is accepted again.
  {
    auto db = jarvis::host::SqlDatabase::open(a.env["DATABASE_URL"], 1, "github-hosts-test");
    auto s = db->session();
    EXPECT_EQ(jarvis::sql::exec(*s, "UPDATE github_deliveries SET received_at = :t",
                                {jarvis::iso_from_now(-2 * 3600 * 1000)}),
              1);
  }
  ASSERT_EQ(deliver_to(*b, "pull_request_review_comment", body, "again-1").status, 202);
  json ignored;
  ASSERT_TRUE(GitHubHost::eventually([&] {
    ignored = a.events("github.chat_ignored");
    return ignored.size() == 1;
  })) << b->output();
  EXPECT_EQ(ignored[0]["payload"]["reason"], "already_answered");
  EXPECT_EQ(a.fake->comment_writes(), 1) << "answered once";
  EXPECT_EQ(a.events("github.chat_replied").size(), 1u);
}

TEST(GitHubHosts, TheSameDeliveryAtBothHostsAtOnceIsAcceptedOnce) {
  GitHubHost a(Backend::Postgresql, {.env = {{"GITHUB_PR_SUMMARY_ENABLED", "1"}}});
  auto b = second_host(a);
  a.fake->add_pull(kRepo, {{"number", 2}}, FakeGitHub::generated_files(3));
  const std::string body = example("pull_request", "opened").dump();
  auto one = std::async(std::launch::async,
                        [&] { return deliver_to(*a.server, "pull_request", body, "same-1"); });
  auto two = std::async(std::launch::async,
                        [&] { return deliver_to(*b, "pull_request", body, "same-1"); });
  std::multiset<int> statuses = {one.get().status, two.get().status};
  EXPECT_EQ(statuses, (std::multiset<int>{202, 409}));
  ASSERT_TRUE(a.wait_posted(1)) << a.server->output() << b->output();
  EXPECT_EQ(a.fake->count_requests("POST", "/repos/" + kRepo + "/issues/2/comments"), 1);
  EXPECT_EQ(a.fake->comments(kRepo, 2).size(), 1u);
}

}  // namespace

// github/tests/github_chat_sync_test.cpp — PR chat (trusted commenters only, one upserted reply,
// provider errors never posted, the bot's own comments ignored) and issue sync (one issue per
// report across a retry whose 201 was lost, the error visible after the last attempt,
// `jarvis github sync-bugs`), on a real server against FakeGitHub, SQLite and PostgreSQL.
//
// The chat bodies come from @octokit/webhooks-examples at run time (github_samples.h, decision
// 0067): the package's issue_comment example with the package's own pull-request issue, and its
// pull_request_review_comment example; only comment.body (and, where a test needs two comments
// or commenters, comment.id and comment.user.login) differ from the package.
#include <gtest/gtest.h>

#include "github_samples.h"
#include "github_support.h"

namespace {

using namespace github_test;

class GitHubChat : public ::testing::TestWithParam<Backend> {};
class GitHubIssueSync : public ::testing::TestWithParam<Backend> {};

json chat_comment(const std::string& text, const std::string& login, long long comment_id) {
  return samples::by(samples::issue_comment_on_pr(text, comment_id), login);
}

TEST_P(GitHubChat, OnlyWritersAreAnsweredAndTheReplyIsUpserted) {
  GitHubHost h(GetParam());
  h.fake->add_pull(kRepo, {{"number", 2}}, FakeGitHub::generated_files(6));
  h.fake->set_permission(kRepo, "reader", "read");
  h.fake->set_permission(kRepo, "writer", "write");

  // A reader and a stranger are ignored with an event, never answered.
  ASSERT_EQ(
      h.deliver("issue_comment", chat_comment("/jarvis review", "reader", 11).dump(), "c-1").status,
      202);
  ASSERT_EQ(h.deliver("issue_comment", chat_comment("@jarvis-bot hi", "stranger", 12).dump(), "c-2")
                .status,
            202);
  json ignored;
  ASSERT_TRUE(GitHubHost::eventually([&] {
    ignored = h.events("github.chat_ignored");
    return ignored.size() == 2;
  })) << h.server->output();
  for (const auto& e : ignored) EXPECT_EQ(e["payload"]["reason"], "not_trusted") << e;
  EXPECT_EQ(h.fake->comment_writes(), 0);

  // A writer gets an answer (no model here: it says so), mentioning them.
  ASSERT_EQ(h.deliver("issue_comment",
                      chat_comment("/jarvis risks is it safe?", "writer", 13).dump(), "c-3")
                .status,
            202);
  ASSERT_TRUE(h.fake->wait_comment_writes(1, std::chrono::seconds(60))) << h.server->output();
  auto comments = h.fake->comments(kRepo, 2);
  ASSERT_EQ(comments.size(), 1u);
  std::string body = comments[0]["body"];
  EXPECT_TRUE(body.starts_with("<!-- jarvis:pr-chat -->\n@writer ")) << body;
  EXPECT_NE(body.find("No model is available"), std::string::npos) << body;

  // help is static text; the reply is the same comment, edited.
  ASSERT_EQ(
      h.deliver("issue_comment", chat_comment("/jarvis help", "writer", 14).dump(), "c-4").status,
      202);
  ASSERT_TRUE(h.fake->wait_comment_writes(2, std::chrono::seconds(60)));
  comments = h.fake->comments(kRepo, 2);
  ASSERT_EQ(comments.size(), 1u);
  EXPECT_NE(comments[0]["body"].get<std::string>().find("`risks`"), std::string::npos);

  // The bot's own comment and one carrying a Jarvis marker never trigger anything.
  auto own =
      h.deliver("issue_comment", chat_comment("/jarvis review", "jarvis-bot", 15).dump(), "c-5");
  EXPECT_EQ(json::parse(own.body)["ignored"], "own_comment");
  auto marked = h.deliver(
      "issue_comment",
      chat_comment("<!-- jarvis:pr-chat -->\n@writer /jarvis review", "writer", 16).dump(), "c-6");
  EXPECT_EQ(json::parse(marked.body)["ignored"], "own_comment");
  auto plain = h.deliver("issue_comment", chat_comment("LGTM", "writer", 17).dump(), "c-7");
  EXPECT_EQ(json::parse(plain.body)["ignored"], "no_trigger");
  // Permission answers are cached: two ignored readers, one writer → three permission calls.
  EXPECT_EQ(h.fake->count_requests("GET", "/repos/" + kRepo + "/collaborators/"), 3);
}

TEST_P(GitHubChat, AllowedUsersSkipTheCheckAndProviderErrorsAreNeverPosted) {
  GitHubHost h(
      GetParam(),
      {.env = {{"GITHUB_CHAT_ALLOWED_USERS", "Listed-User"}}, .model = true, .model_mode = "fail"});
  h.fake->add_pull(kRepo, {{"number", 2}}, FakeGitHub::generated_files(3));
  ASSERT_EQ(
      h.deliver("issue_comment", chat_comment("/jarvis summarize", "listed-user", 21).dump(), "a-1")
          .status,
      202);
  ASSERT_TRUE(h.fake->wait_comment_writes(1, std::chrono::seconds(60))) << h.server->output();
  const std::string body = h.fake->comments(kRepo, 2)[0]["body"];
  EXPECT_NE(body.find("@listed-user The assistant is unavailable right now. Trace id: `trc_"),
            std::string::npos)
      << body;
  EXPECT_EQ(body.find("exploded"), std::string::npos);
  EXPECT_EQ(body.find("sk-live"), std::string::npos);
  EXPECT_EQ(body.find("provider_error"), std::string::npos);
  EXPECT_EQ(h.fake->count_requests("GET", "/repos/" + kRepo + "/collaborators/"), 0);
  auto failed = h.events("github.chat_failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["payload"]["reason"], "provider_error");
}

TEST_P(GitHubChat, AWorkingModelAnswersTheWriter) {
  GitHubHost h(GetParam(), {.model = true});
  h.fake->add_pull(kRepo, {{"number", 2}}, FakeGitHub::generated_files(3));
  h.fake->set_permission(kRepo, "maint", "maintain");
  ASSERT_EQ(h.deliver("issue_comment",
                      chat_comment("/jarvis tests which ones?", "maint", 31).dump(), "w-1")
                .status,
            202);
  ASSERT_TRUE(h.fake->wait_comment_writes(1, std::chrono::seconds(60))) << h.server->output();
  const std::string body = h.fake->comments(kRepo, 2)[0]["body"];
  EXPECT_NE(body.find("@maint MODEL SUMMARY ("), std::string::npos) << body;
  EXPECT_NE(body.find("github.pr_chat)"), std::string::npos);
}

TEST_P(GitHubChat, AReviewCommentOnADiffLineIsAnsweredInTheOneChatComment) {
  GitHubHost h(GetParam());
  h.fake->add_pull(kRepo, {{"number", 2}}, FakeGitHub::generated_files(3));
  h.fake->set_permission(kRepo, samples::kSampleLogin, "write");
  // The package's example as it is: a review comment that does not address Jarvis.
  auto plain = h.deliver("pull_request_review_comment",
                         example("pull_request_review_comment", "created").dump(), "rc-0");
  ASSERT_EQ(plain.status, 202) << plain.body;
  EXPECT_EQ(json::parse(plain.body)["ignored"], "no_trigger");
  auto edited = h.deliver("pull_request_review_comment",
                          example("pull_request_review_comment", "edited").dump(), "rc-00");
  EXPECT_EQ(json::parse(edited.body)["ignored"], "unhandled_action:edited");

  ASSERT_EQ(h.deliver("pull_request_review_comment",
                      samples::review_comment("@jarvis-bot risks").dump(), "rc-1")
                .status,
            202);
  ASSERT_TRUE(h.fake->wait_comment_writes(1, std::chrono::seconds(60))) << h.server->output();
  auto comments = h.fake->comments(kRepo, 2);
  ASSERT_EQ(comments.size(), 1u);
  EXPECT_TRUE(comments[0]["body"].get<std::string>().starts_with(
      "<!-- jarvis:pr-chat -->\n@Codertocat No model is available"))
      << comments[0]["body"];
  // A chat comment in the conversation edits the same reply.
  ASSERT_EQ(h.deliver("issue_comment", samples::issue_comment_on_pr("/jarvis help").dump(), "rc-2")
                .status,
            202);
  ASSERT_TRUE(h.fake->wait_comment_writes(2, std::chrono::seconds(60)));
  comments = h.fake->comments(kRepo, 2);
  ASSERT_EQ(comments.size(), 1u);
  EXPECT_NE(comments[0]["body"].get<std::string>().find("`risks`"), std::string::npos);
  // A review comment that is not a trigger's target (the bot's own) never triggers.
  auto own = h.deliver(
      "pull_request_review_comment",
      samples::by(samples::review_comment("/jarvis review", 77), "jarvis-bot").dump(), "rc-3");
  EXPECT_EQ(json::parse(own.body)["ignored"], "own_comment");
}

std::string file_report(const GitHubHost& h, const std::string& title) {
  auto r = h.call("POST", "/api/v1/bugs", h.alice,
                  {{"title", title},
                   {"description", "steps <!-- jarvis:bug-report:bug_x -->"},
                   {"sync_to_github", true}});
  EXPECT_EQ(r.status, 201) << r.body;
  return json::parse(r.body, nullptr, false).value("id", "");
}

json report(const GitHubHost& h, const std::string& id) {
  return json::parse(h.call("GET", "/api/v1/bugs/" + id, h.admin).body, nullptr, false);
}

std::map<std::string, std::string> sync_env(int attempts = 5) {
  return {{"GITHUB_ISSUE_SYNC_ENABLED", "1"},
          {"GITHUB_ISSUE_SYNC_REPO", "octo/issues"},
          {"GITHUB_ISSUE_SYNC_MAX_ATTEMPTS", std::to_string(attempts)}};
}

TEST_P(GitHubIssueSync, ALostCreateAnswerDoesNotMakeASecondIssue) {
  GitHubHost h(GetParam(), {.env = sync_env()});
  // The first create succeeds on GitHub but its answer is a 502; search has not indexed it yet.
  h.fake->fail_next("POST", "/repos/octo/issues/issues", 502, 1, /*apply=*/true);
  h.fake->set_search_lag(true);
  const std::string id = file_report(h, "Crash on save");
  json bug;
  ASSERT_TRUE(GitHubHost::eventually([&] {
    bug = report(h, id);
    return bug.is_object() && bug["github_issue_number"].is_number_integer();
  })) << bug
      << h.server->output();
  auto issues = h.fake->issues("octo/issues");
  ASSERT_EQ(issues.size(), 1u) << "one issue across the retry";
  EXPECT_EQ(bug["github_issue_number"], 1);
  EXPECT_EQ(bug["github_issue_url"], "https://github.com/octo/issues/issues/1");
  EXPECT_TRUE(bug["github_synced_at"].is_string());
  EXPECT_TRUE(bug["github_sync_error"].is_null()) << bug;
  EXPECT_EQ(issues[0]["title"], "Crash on save");
  const std::string body = issues[0]["body"];
  EXPECT_NE(body.find("<!-- jarvis:bug-report:" + id + " -->"), std::string::npos);
  EXPECT_EQ(body.find("<!-- jarvis:bug-report:bug_x"), std::string::npos) << "user text defused";
  EXPECT_EQ(issues[0]["labels"], json::array({{{"name", "jarvis"}}, {{"name", "bug"}}}));
  EXPECT_EQ(h.fake->count_requests("POST", "/repos/octo/issues/issues"), 1);
  // The list shows the link too.
  auto list = json::parse(h.call("GET", "/api/v1/bugs", h.alice).body);
  EXPECT_EQ(list["items"][0]["github_issue_number"], 1);
  // A report without sync_to_github is left alone.
  auto plain = h.call("POST", "/api/v1/bugs", h.alice, {{"title", "no sync"}});
  ASSERT_EQ(plain.status, 201);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(h.fake->issues("octo/issues").size(), 1u);
}

TEST_P(GitHubIssueSync, TheErrorStaysVisibleAfterTheLastAttemptAndSyncBugsRetries) {
  GitHubHost h(GetParam(), {.env = sync_env(2)});
  h.fake->fail_next("POST", "/repos/octo/issues/issues", 500, 2);
  const std::string id = file_report(h, "Broken export");
  json bug;
  ASSERT_TRUE(GitHubHost::eventually([&] {
    return h.events("github.issue_sync_failed").size() == 2;
  })) << h.server->output();
  bug = report(h, id);
  EXPECT_TRUE(bug["github_issue_number"].is_null()) << bug;
  ASSERT_TRUE(bug["github_sync_error"].is_string()) << bug;
  EXPECT_NE(bug["github_sync_error"].get<std::string>().find("HTTP 500"), std::string::npos);
  EXPECT_EQ(bug["github_sync_error"].get<std::string>().find(kToken), std::string::npos);
  EXPECT_TRUE(h.fake->issues("octo/issues").empty());

  auto cli = jarvis::test::run_jarvis({"github", "sync-bugs", "--json"}, h.dir.path(), h.env);
  ASSERT_EQ(cli.exit_code, 0) << cli.out << cli.err;
  EXPECT_EQ(json::parse(cli.out)["queued"].size(), 1u) << cli.out;
  ASSERT_TRUE(GitHubHost::eventually([&] {
    bug = report(h, id);
    return bug["github_issue_number"].is_number_integer();
  })) << bug
      << h.server->output();
  EXPECT_TRUE(bug["github_sync_error"].is_null());
  EXPECT_EQ(h.fake->issues("octo/issues").size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Backends, GitHubChat,
                         ::testing::Values(Backend::Sqlite, Backend::Postgresql),
                         jarvis::test::backend_name);
INSTANTIATE_TEST_SUITE_P(Backends, GitHubIssueSync,
                         ::testing::Values(Backend::Sqlite, Backend::Postgresql),
                         jarvis::test::backend_name);

}  // namespace

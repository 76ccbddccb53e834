// github/tests/github_samples.h — webhook bodies for PR chat and a second push, built at run time
// from @octokit/webhooks-examples (node_modules, installed by ctest's node_deps fixture); never a
// copy kept in this repository. Decision 0067 says why each changed field is changed:
//
//   * No example of the package addresses a bot (the comments say "You are totally right!…" and
//     "Maybe you should use more emoji on this line."), so `comment.body` is the one field every
//     chat sample changes; `comment.id` changes only when a test needs two distinct comments and
//     `comment.user.login` only when it needs several commenters (reader, writer, stranger).
//   * The package's `issue_comment` examples sit on a plain issue (#1). A comment on a pull
//     request is the same event whose `issue` is the pull request's issue object: that object is
//     taken, unchanged, from the package's own `issues` / `milestoned` example (#2, which carries
//     `pull_request` links) — no field is written by hand.
//   * `pull_request_review_comment` examples are on pull request #2 as they are.
//   * Every `pull_request` example carries one head sha (ec26c3e…); a second push is the
//     `synchronize` example with `before` = that sha and `after` / `pull_request.head.sha` = a
//     second commit.
//
//   json c = github_test::samples::issue_comment_on_pr("/jarvis review", 9001);
//   json r = github_test::samples::review_comment("@jarvis-bot risks", 9002);
//   json p = github_test::samples::second_commit_push();
#pragma once

#include "github_support.h"

namespace github_test::samples {

/// The examples' commenter (author_association OWNER in the package).
inline const std::string kSampleLogin = "Codertocat";
/// The second commit of second_commit_push().
inline const std::string kSecondSha = "6dcb09b5b57875f334f61aebed695e2e4193db5e";

/// The package's `issue_comment` / `created` example on pull request #2: `issue` is the issue
/// object of the package's `issues` / `milestoned` example; `comment.body` = `body`;
/// `comment.id` = `comment_id` when > 0.
inline json issue_comment_on_pr(const std::string& body, long long comment_id = 0) {
  json p = example("issue_comment", "created");
  json pr_issue = example("issues", "milestoned")["issue"];
  EXPECT_TRUE(pr_issue.contains("pull_request")) << "the package's milestoned issue is a PR";
  p["issue"] = pr_issue;
  p["comment"]["body"] = body;
  if (comment_id > 0) p["comment"]["id"] = comment_id;
  return p;
}

/// The package's `pull_request_review_comment` / `created` example (pull request #2) with
/// `comment.body` = `body` and, when > 0, `comment.id` = `comment_id`.
inline json review_comment(const std::string& body, long long comment_id = 0) {
  json p = example("pull_request_review_comment", "created");
  p["comment"]["body"] = body;
  if (comment_id > 0) p["comment"]["id"] = comment_id;
  return p;
}

/// `sample` with `comment.user.login` = `login` (a test's second commenter).
inline json by(json sample, const std::string& login) {
  sample["comment"]["user"]["login"] = login;
  return sample;
}

/// The package's `pull_request` / `synchronize` example as the push of a second commit.
inline json second_commit_push() {
  json p = example("pull_request", "synchronize");
  p["before"] = p["pull_request"]["head"]["sha"];
  p["after"] = kSecondSha;
  p["pull_request"]["head"]["sha"] = kSecondSha;
  return p;
}

}  // namespace github_test::samples

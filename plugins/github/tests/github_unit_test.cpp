// github/tests/github_unit_test.cpp — the plugin's pure parts: risk flags judged over every file
// (a 3,000-file change whose riskiest file is the last), the diff budget and its stated
// truncation, the summary text, PR-chat triggers, allowlist globs, Link headers, names, and
// GitHub's documented HMAC test vector.
#include <gtest/gtest.h>

#include "analysis.h"
#include "jarvis/crypto.h"
#include "settings.h"
#include "support/fakes/fake_github.h"

namespace {

using jarvis::test::fakes::FakeGitHub;

TEST(GitHubSignature, GitHubsDocumentedTestVector) {
  // https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries
  const std::string secret = "It's a Secret to Everybody";
  const std::string expected = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
  EXPECT_EQ(jarvis::hmac_sha256_hex(secret, "Hello, World!"), expected);
  EXPECT_TRUE(jarvis::hmac_sha256_verify(secret, "Hello, World!", expected));
  EXPECT_FALSE(jarvis::hmac_sha256_verify(secret, "Hello, World?", expected));
  EXPECT_FALSE(jarvis::hmac_sha256_verify("It's a secret to everybody", "Hello, World!", expected));
}

TEST(GitHubAnalysis, RiskFlagsAreJudgedOverEveryFileOfA3000FileChange) {
  auto files = FakeGitHub::generated_files(3000);
  ASSERT_EQ(files.back()["status"], "removed");  // the deleted test is the very last file
  github::PrAnalysis a = github::analyse(files, 10);
  EXPECT_EQ(a.files, 3000);
  std::set<std::string> keys;
  for (const auto& r : a.risks) keys.insert(r.key);
  EXPECT_EQ(keys, (std::set<std::string>{"migrations", "auth", "routes", "ci", "dependencies",
                                         "deleted_tests"}));
  long long add = 0, del = 0;
  for (const auto& f : files) {
    add += f["additions"].get<long long>();
    del += f["deletions"].get<long long>();
  }
  EXPECT_EQ(a.additions, add);
  EXPECT_EQ(a.deletions, del);
  ASSERT_EQ(a.largest.size(), 10u);
  for (std::size_t i = 1; i < a.largest.size(); ++i) {
    EXPECT_GE(
        a.largest[i - 1]["additions"].get<long long>() +
            a.largest[i - 1]["deletions"].get<long long>(),
        a.largest[i]["additions"].get<long long>() + a.largest[i]["deletions"].get<long long>());
  }
  // The first 15 files alone raise nothing: a top-15 judgement (the original's) would say "none".
  std::vector<nlohmann::json> top(files.begin(), files.begin() + 15);
  EXPECT_TRUE(github::analyse(top, 10).risks.empty());
}

TEST(GitHubAnalysis, RiskKeysOfTypicalPaths) {
  using V = std::vector<std::string>;
  EXPECT_EQ(github::risk_keys("migrations/003_x.sql", "added"), V{"migrations"});
  EXPECT_EQ(github::risk_keys("src/auth/login.py", "modified"), V{"auth"});
  EXPECT_EQ(github::risk_keys("app/routes.py", "modified"), V{"routes"});
  EXPECT_EQ(github::risk_keys(".github/workflows/ci.yml", "modified"), V{"ci"});
  EXPECT_EQ(github::risk_keys("web/package-lock.json", "modified"), V{"dependencies"});
  EXPECT_EQ(github::risk_keys("tests/test_api.py", "removed"), (V{"routes", "deleted_tests"}));
  EXPECT_EQ(github::risk_keys("tests/test_x.py", "modified"), V{});
  EXPECT_EQ(github::risk_keys("README.md", "modified"), V{});
  EXPECT_EQ(github::risk_keys("src/authorship.cpp", "modified"), V{});  // a word, not "auth"
}

TEST(GitHubAnalysis, TheDiffExcerptKeepsToItsBudgetAndSaysWhatItCut) {
  auto files = FakeGitHub::generated_files(200);
  bool truncated = false;
  std::string d = github::diff_excerpt(files, 2000, &truncated);
  EXPECT_TRUE(truncated);
  EXPECT_LE(d.size(), 2000u + 200u);  // the budget plus the closing note
  EXPECT_NE(d.find("[diff truncated:"), std::string::npos) << d;
  std::string whole = github::diff_excerpt(files, 10'000'000, &truncated);
  EXPECT_FALSE(truncated);
  EXPECT_EQ(whole.find("[diff truncated"), std::string::npos);
}

TEST(GitHubAnalysis, TheSummaryCarriesTheMarkerTheNumbersAndTheMissingModel) {
  auto files = FakeGitHub::generated_files(40);
  nlohmann::json pr = {{"number", 9},
                       {"title", "Add <!-- things -->\nnow"},
                       {"commits", 3},
                       {"changed_files", 40},
                       {"base", {{"ref", "dev"}}},
                       {"head", {{"ref", "feat"}}}};
  github::ModelPart none;
  none.note = "no model is available";
  std::string s = github::render_summary(pr, github::analyse(files, 5), none);
  EXPECT_TRUE(s.starts_with(github::kSummaryMarker));
  EXPECT_EQ(s.find("<!--", 1), std::string::npos) << "titles cannot add a second marker";
  EXPECT_NE(s.find("`dev` ← `feat`"), std::string::npos) << s;
  EXPECT_NE(s.find("40 file(s)"), std::string::npos);
  EXPECT_NE(s.find("3 commit(s)"), std::string::npos);
  EXPECT_NE(s.find("Tests deleted"), std::string::npos);
  EXPECT_NE(s.find("No model summary: no model is available"), std::string::npos) << s;
}

TEST(GitHubTrigger, SlashCommandsModesAndMentions) {
  auto t = github::parse_trigger("/jarvis risks is the migration safe?", "jarvis-bot");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->mode, "risks");
  EXPECT_EQ(t->question, "is the migration safe?");
  t = github::parse_trigger("Thanks!\n/jarvis", "jarvis-bot");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->mode, "review");
  EXPECT_EQ(t->question, "");
  t = github::parse_trigger("hey @Jarvis-Bot what does this do?", "jarvis-bot");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->question, "what does this do?");
  t = github::parse_trigger("/jarvis help", "jarvis-bot");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->mode, "help");
  EXPECT_FALSE(github::parse_trigger("You are totally right! I'll get this fixed right away.",
                                     "jarvis-bot"));
  EXPECT_FALSE(github::parse_trigger("see /jarvisfoo and @jarvis-bots", "jarvis-bot"));
  EXPECT_FALSE(
      github::parse_trigger("mail me at me@jarvis-bot.dev? no: x@jarvis-botty", "jarvis-bot"));
}

TEST(GitHubSettings, AllowlistGlobsNamesAndLinks) {
  EXPECT_TRUE(github::glob_match("octo/*", "Octo/hello"));
  EXPECT_TRUE(github::glob_match("*/hello-?", "a/hello-1"));
  EXPECT_FALSE(github::glob_match("octo/*", "octopus/hello"));
  EXPECT_EQ(github::split_list("a, b\nc,,d "), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_TRUE(github::valid_repo_name("Codertocat/Hello-World"));
  for (const char* bad : {"", "a", "a/b/c", "../x", "a/..", "a b/c", "a/b?x=1", "a/b#1"})
    EXPECT_FALSE(github::valid_repo_name(bad)) << bad;
  EXPECT_TRUE(github::valid_login("dependabot[bot]"));
  EXPECT_FALSE(github::valid_login("a/b"));
  EXPECT_EQ(github::next_link("<https://api.github.com/x?page=2>; rel=\"next\", "
                              "<https://api.github.com/x?page=5>; rel=\"last\""),
            "https://api.github.com/x?page=2");
  EXPECT_EQ(github::next_link("<https://api.github.com/x?page=1>; rel=\"prev\""), "");
  EXPECT_EQ(github::next_link(""), "");
}

}  // namespace

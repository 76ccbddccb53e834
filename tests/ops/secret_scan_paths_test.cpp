// tests/ops/secret_scan_paths_test.cpp — what the credential scanner reads and what it must not
// skip silently (decision 0059, review of issue 14 items 4–6): multi-megabyte lines in linear
// work, symlinks named on the command line, binary/oversized/unreadable/too-deep paths listed with
// their reason, non-UTF-8 file names in --json, a failing git, and a scan started in a
// subdirectory of the work tree.
//
// As in secret_scan_test.cpp no credential-shaped literal appears here: fake keys are assembled
// at run time from a prefix and a seeded pseudo-random body.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "ops/secret_fixture.h"
#include "ops/secret_scan.h"
#include "support/support.h"

namespace secret_scan_paths_test {

using jarvis::host::ops::scan_candidate_checks;
using jarvis::host::ops::scan_text;
using jarvis::test::run_jarvis;
using jarvis::test::TempDir;
using jarvis::test::write_file;

using secret_fixture::random_body;
/// A GitHub token the scanner must find.
std::string github_token(unsigned seed) { return "gh" + std::string("p_") + random_body(36, seed); }

std::map<std::string, std::string> quiet_env() { return secret_fixture::scan_cli_env(); }

nlohmann::json parse_json(const std::string& out) {
  auto doc = nlohmann::json::parse(out, nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << "stdout is not pure JSON: " << out;
  return doc;
}

/// True when --json's "skipped" lists `path` with a reason containing `reason`.
bool skipped_with(const nlohmann::json& doc, const std::string& path, const std::string& reason) {
  for (const auto& s : doc["skipped"]) {
    if (s["path"] == path && s["reason"].get<std::string>().find(reason) != std::string::npos) {
      return true;
    }
  }
  return false;
}

// Before the fix every candidate read its body to the end of the line: a 200 KB line took 34–56 s
// (load 8.6), so these 4 MB lines would take hours and hit ctest's 300 s TIMEOUT. The work is
// also asserted directly: each candidate reads at most ~257 characters, and there are at most a
// few candidates per input byte.
TEST(SecretScanLongLines, MultiMegabyteLinesCostLinearWorkAndStillFindTheKey) {
  for (const std::string unit : {"-sk-ant-", "TOKEN=", "-AIza", "xoxb-"}) {
    std::string line;
    while (line.size() < (4u << 20)) line += unit;
    const std::string key = github_token(7);
    line += " " + key + " ";
    const std::size_t before = scan_candidate_checks();
    auto found = scan_text("long.txt", line);
    const std::size_t checks = scan_candidate_checks() - before;
    EXPECT_LE(checks, 2 * line.size()) << unit;
    ASSERT_EQ(found.size(), 1u) << unit;
    EXPECT_EQ(found[0].kind, "github_token");
  }
}

TEST(SecretScanUrls, UserPasswordAtHostFiresWithOrWithoutAScheme) {
  const std::string pw = random_body(14, 11);
  for (const std::string& line : std::vector<std::string>{
           "SGLANG_BASE_URL=jarvis:" + pw + "@sglang.internal:8000/v1",
           "url: \"postgresql://jarvis:" + pw + "@db:5432/x\"", "via jarvis:" + pw + "@10.0.0.5"}) {
    auto found = scan_text("u.txt", line);
    ASSERT_EQ(found.size(), 1u) << line;
    EXPECT_EQ(found[0].kind, "url_credentials") << line;
  }
  for (const std::string& line :
       std::vector<std::string>{"mail john.doe@example.com", "mailto:" + pw + "@example.com",
                                "git@github.com:org/repo.git", "ssh://git@host/x", "at 12:30@home",
                                "http://jarvis:${PGPASSWORD}@db/x"}) {
    EXPECT_TRUE(scan_text("q.txt", line).empty()) << line;
  }
}

class SecretScanPaths : public ::testing::Test {
 protected:
  int sh(const std::string& cmd) {
    return std::system(("cd '" + dir_.path() + "' && " + cmd + " >/dev/null 2>&1").c_str());
  }
  TempDir dir_;
};

TEST_F(SecretScanPaths, ASymlinkNamedOnTheCommandLineIsFollowed) {
  write_file(dir_.file("real/key.txt"), "GITHUB_TOKEN=" + github_token(1) + "\n");
  ASSERT_EQ(::symlink("real/key.txt", dir_.file("link.txt").c_str()), 0);
  auto r = run_jarvis({"secrets", "scan", "link.txt"}, dir_.path(), quiet_env());
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;  // was 0: "1 skipped", nothing scanned
  EXPECT_NE(r.out.find("link.txt:1:github_token"), std::string::npos) << r.out;
  ASSERT_EQ(::symlink("nowhere.txt", dir_.file("dangling.txt").c_str()), 0);
  auto d = run_jarvis({"secrets", "scan", "dangling.txt"}, dir_.path(), quiet_env());
  EXPECT_EQ(d.exit_code, 2) << d.out << d.err;
  EXPECT_NE(d.err.find("dangling symlink"), std::string::npos) << d.err;
}

TEST_F(SecretScanPaths, EverySkippedPathIsListedWithItsReason) {
  std::string binary = "GITHUB_TOKEN=" + github_token(2) + "\n";
  binary += std::string(1, '\0');
  write_file(dir_.file("tree/blob.bin"), binary);
  write_file(dir_.file("tree/big.txt"), std::string((4u << 20) + 1, 'a'));
  ASSERT_EQ(::symlink("blob.bin", dir_.file("tree/inner-link").c_str()), 0);
  write_file(dir_.file("tree/ok.txt"), "nothing here\n");
  auto r = run_jarvis({"secrets", "scan", "tree", "--json"}, dir_.path(), quiet_env());
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;  // skipped by rule, not an error
  auto doc = parse_json(r.out);
  EXPECT_EQ(doc["files_scanned"], 1);
  EXPECT_EQ(doc["files_skipped"], 3);
  EXPECT_EQ(doc["errors"], 0);
  EXPECT_TRUE(skipped_with(doc, "tree/blob.bin", "binary")) << r.out;
  EXPECT_TRUE(skipped_with(doc, "tree/big.txt", "larger than")) << r.out;
  EXPECT_TRUE(skipped_with(doc, "tree/inner-link", "symlink")) << r.out;
  EXPECT_NE(r.err.find("skipped tree/big.txt: larger than"), std::string::npos) << r.err;
}

TEST_F(SecretScanPaths, AnUnreadableFileIsAFindingNotAPass) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads a mode-000 file; the deep-path test covers it";
  write_file(dir_.file("tree/locked.txt"), "GITHUB_TOKEN=" + github_token(3) + "\n");
  ::chmod(dir_.file("tree/locked.txt").c_str(), 0);
  auto r = run_jarvis({"secrets", "scan", "tree"}, dir_.path(), quiet_env());
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("tree/locked.txt:0:unscannable_file"), std::string::npos) << r.out;
}

TEST_F(SecretScanPaths, APathLongerThanPathMaxIsAFindingNotAPass) {
  // 40 levels of 120-character names: the bottom file's path is ~4,900 bytes.
  const std::string name(120, 'd');
  std::string mk = "mkdir deep && cd deep";
  for (int i = 0; i < 40; ++i) mk += " && mkdir " + name + " && cd " + name;
  mk += " && printf 'GITHUB_TOKEN=" + github_token(4) + "\\n' > key.txt";
  ASSERT_EQ(sh("bash -c \"" + mk + "\""), 0);
  auto r = run_jarvis({"secrets", "scan", "deep", "--json"}, dir_.path(), quiet_env());
  sh("rm -rf deep");  // std::filesystem::remove_all cannot remove it either
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;  // was 0 with nothing said
  auto doc = parse_json(r.out);
  EXPECT_GE(doc["errors"].get<int>(), 1) << r.out;
  bool unscannable = false;
  for (const auto& f : doc["findings"]) {
    unscannable |= f["kind"].get<std::string>().rfind("unscannable_", 0) == 0;
  }
  EXPECT_TRUE(unscannable) << r.out;
}

TEST_F(SecretScanPaths, NonUtf8FileNamesDoNotAbortJson) {
  const std::string bad = dir_.file("tree/bad\xff name.txt");
  write_file(bad, "GITHUB_TOKEN=" + github_token(5) + "\n");
  auto r = run_jarvis({"secrets", "scan", "tree", "--json"}, dir_.path(), quiet_env());
  EXPECT_EQ(r.exit_code, 1) << r.err;  // was 134: SIGABRT from json type_error 316
  auto doc = parse_json(r.out);
  ASSERT_EQ(doc["findings"].size(), 1u) << r.out;
  EXPECT_NE(doc["findings"][0]["path"].get<std::string>().find("\xef\xbf\xbd"), std::string::npos);
}

TEST_F(SecretScanPaths, AFailingGitStopsTheScanWithGitsMessage) {
  ASSERT_EQ(sh("git init -q . && git config core.repositoryformatversion 99"), 0);
  write_file(dir_.file("notes.txt"), "GITHUB_TOKEN=" + github_token(6) + "\n");
  auto r = run_jarvis({"secrets", "scan"}, dir_.path(), quiet_env());
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;  // was a silent directory walk
  EXPECT_NE(r.err.find("repo version"), std::string::npos) << r.err;
  auto j = run_jarvis({"secrets", "scan", "--json"}, dir_.path(), quiet_env());
  EXPECT_EQ(j.exit_code, 2);
  auto doc = parse_json(j.out);
  EXPECT_FALSE(doc["ok"].get<bool>());
  EXPECT_NE(doc["error"].get<std::string>().find("repo version"), std::string::npos);
}

TEST_F(SecretScanPaths, FromASubdirectoryTheWorkTreeTopAndItsAllowListApply) {
  ASSERT_EQ(sh("git init -q ."), 0);
  write_file(dir_.file("plugins/x/tests/fixture.txt"), "GITHUB_TOKEN=" + github_token(8) + "\n");
  write_file(dir_.file(".secret-scan-allow"), "path:plugins/x/tests/* # the fixture's fake key\n");
  ASSERT_EQ(sh("git add -A"), 0);
  auto top = run_jarvis({"secrets", "scan"}, dir_.path(), quiet_env());
  EXPECT_EQ(top.exit_code, 0) << top.out << top.err;
  auto sub = run_jarvis({"secrets", "scan", "--json"}, dir_.file("plugins"), quiet_env());
  EXPECT_EQ(sub.exit_code, 0) << sub.out << sub.err;  // was 1: cwd as root, no allow-list
  auto doc = parse_json(sub.out);
  EXPECT_EQ(doc["allowed"], 1);
  EXPECT_EQ(doc["source"], "git ls-files");
  EXPECT_EQ(doc["root"], std::filesystem::canonical(dir_.path()).string());
}

TEST_F(SecretScanPaths, WithoutGitTheLocalSecretFileRulesStillApply) {
  const std::string key = "sk" + std::string("-proj-") + random_body(48, 9);
  write_file(dir_.file(".env"), "OPENAI_API_KEY=" + key + "\n");
  ::chmod(dir_.file(".env").c_str(), 0600);
  auto ok = run_jarvis({"secrets", "scan", "--json"}, dir_.path(), quiet_env());
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;  // was 1: .env scanned as a plain file
  auto doc = parse_json(ok.out);
  EXPECT_EQ(doc["source"], "directory walk");
  EXPECT_EQ(doc["protected_local_secrets"], 1);
  ::chmod(dir_.file(".env").c_str(), 0644);
  auto open = run_jarvis({"secrets", "scan"}, dir_.path(), quiet_env());
  EXPECT_EQ(open.exit_code, 1);
  EXPECT_NE(open.out.find(".env:0:secret_file_readable_by_others"), std::string::npos) << open.out;
  EXPECT_EQ(open.out.find("not_git_ignored"), std::string::npos) << open.out;
  EXPECT_EQ(open.out.find(key), std::string::npos);
}

}  // namespace secret_scan_paths_test

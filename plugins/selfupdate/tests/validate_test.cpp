// selfupdate/tests/validate_test.cpp — every refusal of the validate stage, on the real fixture
// repository (SQLite and PostgreSQL): path escapes, protected paths, symlinks (created by the
// patch and in the tree), binary patches, a conflicting baseline, malformed diffs — each ends in
// state `invalid` with its reason code, touches neither the live tree nor the install, and frees
// the lock for the next proposal. Plus the parser and the path rules as plain functions.
#include <gtest/gtest.h>

#include "diff_check.h"
#include "workspace.h"
#include "selfupdate_support.h"

namespace validate_test {

using namespace selfupdate_test;
using jarvis::Json;
using selfupdate::DiffRefusal;

class Validate : public ::testing::TestWithParam<Backend> {};

struct Case {
  std::string name;
  std::string diff;
  std::string code;
};

TEST_P(Validate, EveryRefusalEndsInvalidWithItsCode) {
  PipelineRig rig(GetParam());
  const std::string head = rig.repo.head();
  std::vector<Case> cases = {
      {"dotdot", FixtureRepo::diff_new_file("sub/../../outside.txt"), "path_escape"},
      {"absolute", "--- a/app.txt\n+++ /etc/passwd\n@@ -1 +1 @@\n-version 1\n+root::0:0\n",
       "invalid_diff"},
      {"absolute_git_header", FixtureRepo::diff_new_file("/etc/cron.d/jarvis"), "path_escape"},
      {"git_dir", FixtureRepo::diff_new_file(".git/hooks/post-commit"), "path_escape"},
      {"env", FixtureRepo::diff_new_file(".env"), "protected_path"},
      {"env_prod", FixtureRepo::diff_new_file("config/.env.prod"), "protected_path"},
      {"secrets", FixtureRepo::diff_new_file("var/secrets.json"), "protected_path"},
      {"key", FixtureRepo::diff_new_file("certs/server.pem"), "protected_path"},
      {"deploy", FixtureRepo::diff_new_file("deploy/jarvis.service"), "protected_path"},
      {"critical", FixtureRepo::diff_new_file("plugins/selfupdate/src/x.cpp"), "protected_path"},
      {"critical_migration", FixtureRepo::diff_new_file("migrations/999_x.sql"), "protected_path"},
      {"symlink_created", FixtureRepo::diff_new_file("evil", "120000"), "symlink_path"},
      {"through_tree_symlink", FixtureRepo::diff_new_file("linked/escape.txt"), "symlink_path"},
      {"submodule", FixtureRepo::diff_new_file("vendor/lib", "160000"), "submodule_path"},
      {"binary",
       "diff --git a/logo.png b/logo.png\nnew file mode 100644\nindex 0000000..1111111\n"
       "GIT binary patch\nliteral 4\nLcmZ?wbhrQj0Pg@K\n\nliteral 0\nHcmV?d00001\n\n",
       "binary_patch"},
      {"binary_summary",
       "diff --git a/a.bin b/a.bin\nindex 1..2 100644\nBinary files a/a.bin and b/a.bin differ\n",
       "binary_patch"},
      {"conflict", FixtureRepo::diff_version(9, 10), "patch_conflict"},
      {"counts", "--- a/app.txt\n+++ b/app.txt\n@@ -1,2 +1 @@\n-version 1\n+version 2\n",
       "invalid_diff"},
      {"not_a_diff", "please change the version to 2\n", "empty_diff"},
      {"quoted", "diff --git \"a/x\\ty\" \"b/x\\ty\"\n", "invalid_diff"},
      // git reads modes as octal: a leading zero is still a symlink / a submodule.
      {"symlink_octal", FixtureRepo::diff_new_file("evil", "0120000"), "symlink_path"},
      {"submodule_octal", FixtureRepo::diff_new_file("vendor/lib", "0160000"), "submodule_path"},
      {"mode_odd", FixtureRepo::diff_new_file("odd.txt", "100600"), "invalid_diff"},
      {"index_mode_symlink",
       "diff --git a/app.txt b/app.txt\nindex 1111111..2222222 0120000\n--- a/app.txt\n"
       "+++ b/app.txt\n@@ -1 +1 @@\n-version 1\n+/etc\n",
       "symlink_path"},
      // git drops a timestamp after a space in a traditional header: the path must not escape
      // the protected-path rules that way.
      {"timestamped_header",
       "--- a/certs/server.pem 2026-12-01 12:00:00.000000000 +0000\n"
       "+++ b/certs/server.pem 2026-12-01 12:00:00.000000000 +0000\n@@ -0,0 +1 @@\n+EVIL\n",
       "invalid_diff"},
  };
  for (const Case& c : cases) {
    auto p = rig.pipeline();
    std::string id = p->propose(
        {.diff = c.diff, .rationale = c.name, .actor = "system", .source = "cli"})["trace_id"];
    rig.drain(*p);
    Json shown = p->show(id);
    EXPECT_EQ(shown["state"], "invalid") << c.name << "\n" << shown.dump(2);
    EXPECT_EQ(shown["reason_code"], c.code) << c.name << ": " << shown["detail"];
  }
  EXPECT_EQ(rig.repo.head(), head);
  EXPECT_EQ(rig.repo.status(), "");
  EXPECT_FALSE(fs::exists(rig.repo.repo + "/../outside.txt"));
  EXPECT_FALSE(fs::exists(rig.repo.repo + "/sub/escape.txt"));
  EXPECT_EQ(rig.repo.current(), "releases/initial");
  // The fixture's refusals are not an artefact of a broken rig: a good patch still passes.
  auto p = rig.pipeline();
  EXPECT_EQ(rig.state_of(*p, rig.propose_and_test(*p, FixtureRepo::diff_version(1, 2))), "tested");
}

TEST_P(Validate, DeployIsAllowedWhenTheOperatorSaysSo) {
  PipelineRig rig(GetParam());
  rig.settings.allow_deploy = true;
  auto p = rig.pipeline();
  std::string id = rig.propose_and_test(*p, FixtureRepo::diff_new_file("deploy/healthcheck.sh"));
  EXPECT_EQ(rig.state_of(*p, id), "tested") << p->show(id).dump(2);
}

INSTANTIATE_TEST_SUITE_P(Backends, Validate,
                         ::testing::Values(Backend::Sqlite, Backend::Postgresql),
                         jarvis::test::backend_name);

// --- the parser and the rules as functions ---------------------------------------------------

std::string refusal(const std::string& diff, const selfupdate::DiffRules& rules = {}) {
  try {
    selfupdate::check_diff(selfupdate::parse_unified_diff(diff), rules);
  } catch (const DiffRefusal& r) {
    return r.code();
  }
  return "ok";
}

TEST(DiffCheck, ParsesGitDiffsWithRenamesModesAndNoNewline) {
  std::string d =
      "diff --git a/old name.txt b/new name.txt\nsimilarity index 90%\nrename from old name.txt\n"
      "rename to new name.txt\n--- a/old name.txt\t\n+++ b/new name.txt\t\n@@ -1,2 +1,2 @@\n"
      " keep\n-a\n+b\n\\ No newline at end of file\n"
      "diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n"
      "diff --git a/gone.txt b/gone.txt\ndeleted file mode 100644\nindex 1..0\n--- a/gone.txt\n"
      "+++ /dev/null\n@@ -1 +0,0 @@\n-x\n";
  auto s = selfupdate::parse_unified_diff(d);
  ASSERT_EQ(s.files.size(), 3u);
  EXPECT_EQ(s.files[0].old_path, "old name.txt");
  EXPECT_EQ(s.files[0].new_path, "new name.txt");
  EXPECT_EQ(s.files[0].added, 1);
  EXPECT_EQ(s.files[1].new_mode, "100755");
  EXPECT_EQ(s.files[2].new_path, "");
  EXPECT_EQ(s.paths(),
            (std::vector<std::string>{"gone.txt", "new name.txt", "old name.txt", "run.sh"}));
  EXPECT_EQ(refusal(d), "ok");
}

TEST(DiffCheck, RenamesAreCheckedOnBothSides) {
  std::string d =
      "diff --git a/app.txt b/.env\nsimilarity index 100%\nrename from app.txt\n"
      "rename to .env\n";
  EXPECT_EQ(refusal(d), "protected_path");
  d = "diff --git a/.env b/leak.txt\nsimilarity index 100%\nrename from .env\nrename to leak.txt\n";
  EXPECT_EQ(refusal(d), "protected_path");
}

TEST(DiffCheck, PathRules) {
  selfupdate::DiffRules rules{.critical_paths = {"host/src/auth/", "*.lock", "Makefile"}};
  std::string why;
  EXPECT_TRUE(selfupdate::is_protected_path("host/src/auth/x.cpp", rules, &why));
  EXPECT_TRUE(selfupdate::is_protected_path("deep/yarn.lock", rules, &why));
  EXPECT_TRUE(selfupdate::is_protected_path("Makefile", rules, &why));
  EXPECT_FALSE(selfupdate::is_protected_path("Makefile.inc", rules, &why));
  EXPECT_TRUE(selfupdate::is_protected_path("home/.ssh/config", rules, &why));
  EXPECT_TRUE(selfupdate::is_protected_path("keys/id_ed25519", rules, &why));
  EXPECT_FALSE(selfupdate::is_protected_path("host/src/core/app.cpp", rules, &why));
  for (const char* bad : {"a//b", "./a", "a/./b", "a\\b", "/abs", "a/..", ".GIT/config"}) {
    EXPECT_THROW(selfupdate::check_path_inside(bad), DiffRefusal) << bad;
  }
  EXPECT_NO_THROW(selfupdate::check_path_inside("src/.gitignore"));
}

// An operator's rule is normalised the way paths are: a leading '/', doubled slashes and '.'
// components protect what they name; a rule that can never match is a config error.
TEST(DiffCheck, CriticalPathRulesAreNormalised) {
  selfupdate::DiffRules rules{
      .critical_paths = {"/migrations/", "host//src/auth/", "plugins/x/.", "./tools/*.py"}};
  std::string why;
  EXPECT_TRUE(selfupdate::is_protected_path("migrations/999_evil.sql", rules, &why));
  EXPECT_TRUE(selfupdate::is_protected_path("host/src/auth/token.cpp", rules, &why));
  EXPECT_TRUE(selfupdate::is_protected_path("plugins/x/src/a.cpp", rules, &why));
  EXPECT_TRUE(selfupdate::is_protected_path("tools/gen.py", rules, &why));
  EXPECT_FALSE(selfupdate::is_protected_path("host/src/core/app.cpp", rules, &why));
  EXPECT_EQ(selfupdate::normalise_rule("host//src/auth/"), "host/src/auth/");
  EXPECT_EQ(selfupdate::normalise_rule("/migrations/"), "migrations/");
  EXPECT_EQ(selfupdate::normalise_rule("a/./b/."), "a/b");
  for (const char* bad : {"", "/", ".", "./", "a/../b", "..", "a\\b"}) {
    EXPECT_THROW(selfupdate::normalise_rule(bad), DiffRefusal) << bad;
  }
}

// Files that change how git checks out or what CI runs are protected by default.
TEST(DiffCheck, GitAndCiControlFilesAreProtectedByDefault) {
  selfupdate::DiffRules rules;
  std::string why;
  for (const char* p :
       {".gitmodules", ".gitattributes", ".github/workflows/ci.yml", "sub/.gitattributes"}) {
    EXPECT_TRUE(selfupdate::is_protected_path(p, rules, &why)) << p;
  }
  EXPECT_FALSE(selfupdate::is_protected_path("src/.gitignore", rules, &why));
  EXPECT_FALSE(selfupdate::is_protected_path("docs/github.md", rules, &why));
}

TEST(DiffCheck, TooManyFilesAndHunksWithoutHeaders) {
  std::string d;
  for (int i = 0; i < 3; ++i) d += FixtureRepo::diff_new_file("f" + std::to_string(i));
  EXPECT_EQ(refusal(d, {.max_files = 2}), "too_many_files");
  EXPECT_EQ(refusal(d, {.max_files = 3}), "ok");
  EXPECT_EQ(refusal("@@ -1 +1 @@\n-a\n+b\n"), "invalid_diff");
  EXPECT_EQ(refusal("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n"), "invalid_diff");  // ends in a hunk
  EXPECT_EQ(refusal("--- x\n+++ y\n@@ -1 +1 @@\n-a\n+b\n"), "invalid_diff");  // no a/ b/
}

// A command's output cannot grow its log without bound: past the cap the log keeps its head and
// its tail and says how much was cut.
TEST(DiffCheck, CommandLogsAreCapped) {
  jarvis::test::TempDir tmp;
  const std::string log = tmp.file("test.log");
  auto r = selfupdate::run_command(
      {"sh", "-c", "echo FIRST; head -c 200000 /dev/zero | tr '\\0' x; echo; echo LAST"},
      tmp.path(), std::chrono::seconds(30), log, jarvis::CancelToken(), 10000);
  EXPECT_TRUE(r.ok());
  std::string text = jarvis::test::read_file(log);
  EXPECT_LE(text.size(), 10000u + 200u);
  EXPECT_NE(text.find("FIRST"), std::string::npos);
  EXPECT_NE(text.find("LAST"), std::string::npos);
  EXPECT_NE(text.find("bytes truncated"), std::string::npos);
}

TEST(DiffCheck, CommandLinesSplitWithoutAShell) {
  using selfupdate::split_command_line;
  EXPECT_EQ(split_command_line("cmake --build 'my build' -j2"),
            (std::vector<std::string>{"cmake", "--build", "my build", "-j2"}));
  EXPECT_EQ(split_command_line("sh -c \"echo \\\"hi\\\"; exit 3\""),
            (std::vector<std::string>{"sh", "-c", "echo \"hi\"; exit 3"}));
  EXPECT_EQ(split_command_line("a; rm -rf /"), (std::vector<std::string>{"a;", "rm", "-rf", "/"}));
  EXPECT_THROW(split_command_line("a 'b"), std::invalid_argument);
  EXPECT_THROW(split_command_line("   "), std::invalid_argument);
}

}  // namespace validate_test

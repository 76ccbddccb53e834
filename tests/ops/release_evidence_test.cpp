// tests/ops/release_evidence_test.cpp — scripts/release-evidence.sh (`make release-evidence`,
// decision 0062) run as a real subprocess on the tree: the report has every section and the
// summary table, the scratch host's readiness soak passed, the drill ran or says why it was
// skipped, and a secret value configured in the environment appears nowhere in it. The runs get
// a HOME that cannot be written (a file) or none at all: the script's scans must not need one
// (decision 0095), and nothing lands in the runner's home. A failing run prints the script's
// stdout, stderr and the report (the configured secrets masked).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "jarvis/subprocess.h"
#include "support/support.h"

namespace release_evidence_test {

using jarvis::test::TempDir;

/// `text` with every occurrence of each of `secrets` replaced by "[test secret]".
std::string masked(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) {
    for (auto pos = text.find(s); pos != std::string::npos; pos = text.find(s, pos)) {
      text.replace(pos, s.size(), "[test secret]");
    }
  }
  return text;
}

/// scripts/release-evidence.sh run from the source tree with PATH, LANG and TMPDIR only (each
/// test adds its own variables to extra_env).
jarvis::ProcessOptions evidence_run() {
  jarvis::ProcessOptions o;
  o.argv = {"bash", std::string(JARVIS_SOURCE_DIR) + "/scripts/release-evidence.sh"};
  o.cwd = JARVIS_SOURCE_DIR;
  o.timeout_ms = 240000;
  o.inherit_env = {"PATH", "LANG", "TMPDIR"};
  return o;
}

/// After a failed test: everything needed to see why, without the test's own secrets.
void print_run_on_failure(const jarvis::ProcessResult& r, const std::string& report,
                          const std::vector<std::string>& secrets) {
  if (!::testing::Test::HasFailure()) return;
  std::error_code ec;
  const std::string text =
      std::filesystem::exists(report, ec) ? jarvis::test::read_file(report) : "(no report)";
  std::cerr << "---- release-evidence.sh exit " << r.exit_code
            << (r.timed_out ? " (timed out)" : "") << "\n---- stdout:\n"
            << masked(r.stdout_text, secrets) << "\n---- stderr:\n"
            << masked(r.stderr_text, secrets) << "\n---- report " << report << ":\n"
            << masked(text, secrets) << "\n---- end\n";
}

TEST(ReleaseEvidence, WritesADatedReportWithoutSecretValues) {
  TempDir dir;
  const std::string report = dir.file("reports/release-evidence-test.md");
  // A secret-looking variable the report must never contain (doctor would probe GitHub with it
  // configured, so its URL points at a closed local port: fast and offline).
  const std::string secret = "evidence-" + std::to_string(::getpid()) + "-Zx81QmTr4v0Lk2Wp9s";
  jarvis::ProcessOptions o = evidence_run();
  // A HOME that cannot hold anything (what a read-only one is, even for root).
  jarvis::test::write_file(dir.file("home-is-a-file"), "");
  o.extra_env = {
      {"HOME", dir.file("home-is-a-file")},
      {"BUILD_DIR", JARVIS_BUILD_DIR},
      {"RELEASE_EVIDENCE_OUT", report},
      {"RELEASE_SOAK_SECONDS", "2"},
      {"DOCTOR_PROBE_TIMEOUT_MS", "1000"},
      {"BIND_PORT", std::to_string(jarvis::test::free_port())},
      {"APP_DB", dir.file("checkout.db")},
      // The drill's restore must not depend on this machine's free disk (the default keeps
      // 256 MiB free, and CI machines have had less): RestoreLimitsReachTheDrill tests the limit.
      {"RESTORE_MIN_FREE_BYTES", "1048576"},
      {"GITHUB_TOKEN", secret},
      {"GITHUB_API_BASE_URL", "http://127.0.0.1:" + std::to_string(jarvis::test::free_port())}};
  auto r = jarvis::run_process(o);
  ASSERT_TRUE(std::filesystem::exists(report)) << r.stdout_text << r.stderr_text;
  const std::string text = jarvis::test::read_file(report);
  for (const char* s :
       {"# Release evidence", "| Item | Result | Note |", "## 1. Secret scan", "## 2. Doctor",
        "## 3. Readiness soak", "## 4. Backup-and-restore drill", "## 5. Test summary",
        "| secret scan | PASS |", "| readiness soak | PASS | 2/2 /readyz 200 |"}) {
    EXPECT_NE(text.find(s), std::string::npos) << s << "\n" << text.substr(0, 3000);
  }
  // The drill ran and passed when this build has `jarvis db backup|restore`; otherwise the report
  // says plainly that it was skipped and why.
  auto db_help = jarvis::test::run_jarvis({"db", "--help"}, dir.path(), {{"LOG_LEVEL", "warn"}});
  const bool has_db = db_help.out.find("db backup") != std::string::npos &&
                      db_help.out.find("db restore") != std::string::npos;
  if (has_db) {
    EXPECT_NE(text.find("| backup/restore drill | PASS |"), std::string::npos) << text;
    EXPECT_NE(text.find("PRAGMA integrity_check"), std::string::npos);
  } else {
    EXPECT_NE(text.find("| backup/restore drill | SKIP | jarvis db backup/restore not in this "
                        "build |"),
              std::string::npos)
        << text;
  }
  // doctor saw the GitHub dependency (closed port) and recorded its class, not its token.
  EXPECT_NE(text.find("network_unreachable"), std::string::npos) << text;
  EXPECT_EQ(text.find(secret), std::string::npos);
  EXPECT_EQ(r.stdout_text.find(secret), std::string::npos);
  EXPECT_EQ(r.stderr_text.find(secret), std::string::npos);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(jarvis::test::read_file(dir.file("home-is-a-file")), "");
  print_run_on_failure(r, report, {secret});
}

// The operator's RESTORE_MIN_FREE_BYTES reaches the drill's scratch host: a limit no disk meets
// makes the restore refuse (insufficient_space, nothing changed), the drill FAIL with that named,
// and the script exit 1. Before, the drill ran with the default whatever the operator set, and a
// disk with less than 256 MiB free failed it with only "see section 4".
TEST(ReleaseEvidence, RestoreLimitsReachTheDrill) {
  TempDir dir;
  const std::string report = dir.file("reports/release-evidence-limits.md");
  jarvis::ProcessOptions o = evidence_run();
  o.extra_env = {{"HOME", dir.path()},
                 {"BUILD_DIR", JARVIS_BUILD_DIR},
                 {"RELEASE_EVIDENCE_OUT", report},
                 {"RELEASE_SOAK_SECONDS", "1"},
                 {"DOCTOR_PROBE_TIMEOUT_MS", "500"},
                 {"BIND_PORT", std::to_string(jarvis::test::free_port())},
                 {"APP_DB", dir.file("checkout.db")},
                 {"RESTORE_MIN_FREE_BYTES", std::to_string(1LL << 60)}};
  auto r = jarvis::run_process(o);
  ASSERT_TRUE(std::filesystem::exists(report)) << r.stdout_text << r.stderr_text;
  const std::string text = jarvis::test::read_file(report);
  EXPECT_NE(text.find("| backup/restore drill | FAIL | restore refused: insufficient_space"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("(insufficient_space)"), std::string::npos) << text;
  EXPECT_EQ(r.exit_code, 1);
  print_run_on_failure(r, report, {});
}

// A secret that does reach a step's output: the failed-test list of the last ctest run names a
// token and a scheme-less user:password@host URL that are both configured in the environment.
// Before the fix the *_URL value was not redacted and the self-scan needed "://", so the report
// was written with the password in it. The run is also short of `ctest -N`: ATTENTION, not PASS.
TEST(ReleaseEvidence, ConfiguredSecretsInAStepsOutputAreRedacted) {
  TempDir dir;
  const std::string report = dir.file("reports/release-evidence-leak.md");
  const std::string token = "gh" + std::string("p_") + "Q7vN2kLp9XzR4tYw8MbC3dFs6HjA1uEo5GiK";
  const std::string pw = "Hx7" + std::string("kQ2pLm9vR4t");
  const std::string closed = std::to_string(jarvis::test::free_port());
  jarvis::test::write_file(dir.file("build/Testing/Temporary/LastTest.log"),
                           "Start testing: Dec 01 00:00 UTC\nTest Passed.\nTest Failed.\n"
                           "End testing: Dec 01 00:01 UTC\n");
  jarvis::test::write_file(
      dir.file("build/Testing/Temporary/LastTestsFailed.log"),
      "7:Leak.Echo token " + token + " via jarvis:" + pw + "@db.internal:5432\n");
  jarvis::ProcessOptions o = evidence_run();  // no HOME at all
  o.extra_env = {{"BUILD_DIR", dir.file("build")},
                 {"JARVIS_BIN", std::string(JARVIS_BUILD_DIR) + "/bin/jarvis"},
                 {"RELEASE_EVIDENCE_OUT", report},
                 {"RELEASE_SOAK_SECONDS", "1"},
                 {"DOCTOR_PROBE_TIMEOUT_MS", "500"},
                 {"BIND_PORT", std::to_string(jarvis::test::free_port())},
                 {"APP_DB", dir.file("checkout.db")},
                 {"GITHUB_TOKEN", token},
                 {"GITHUB_API_BASE_URL", "http://127.0.0.1:" + closed},
                 {"SGLANG_BASE_URL", "jarvis:" + pw + "@127.0.0.1:" + closed + "/v1"}};
  auto r = jarvis::run_process(o);
  ASSERT_TRUE(std::filesystem::exists(report)) << r.stdout_text << r.stderr_text;
  const std::string text = jarvis::test::read_file(report);
  EXPECT_NE(text.find("7:Leak.Echo token [redacted] via "), std::string::npos) << text;
  EXPECT_EQ(text.find(token), std::string::npos) << text;
  EXPECT_EQ(text.find(pw), std::string::npos) << text;
  EXPECT_EQ(r.stdout_text.find(pw), std::string::npos);
  EXPECT_EQ(r.stderr_text.find(pw), std::string::npos);
  EXPECT_NE(text.find("| test summary | ATTENTION |"), std::string::npos) << text;
  print_run_on_failure(r, report, {token, pw});
}

}  // namespace release_evidence_test

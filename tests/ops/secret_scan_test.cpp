// tests/ops/secret_scan_test.cpp — the credential scanner (decision 0059): a true positive of every
// kind, the false positives that must not fire (placeholders, ${VAR}, example values, low entropy,
// code), the allow-list, and `jarvis secrets scan` end to end — exit codes, git mode, local secret
// files, and that no secret byte ever reaches stdout or stderr.
//
// No credential-shaped literal appears in this file: every fake key is assembled at run time from
// a prefix and a seeded pseudo-random body, so the tree's own scan needs no allow-list entry here.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "ops/secret_fixture.h"
#include "ops/secret_scan.h"
#include "support/support.h"

namespace secret_scan_test {

using jarvis::host::ops::AllowList;
using jarvis::host::ops::Finding;
using jarvis::host::ops::format_finding;
using jarvis::host::ops::looks_like_placeholder;
using jarvis::host::ops::scan_text;
using jarvis::host::ops::shannon_entropy;
using jarvis::test::run_jarvis;
using jarvis::test::TempDir;
using jarvis::test::write_file;

using secret_fixture::kBase64;
using secret_fixture::kUpperDigits;
/// `n` pseudo-random characters (secret_fixture::random_body).
std::string body(std::size_t n, unsigned seed,
                 const std::string& alphabet = secret_fixture::kAlnum) {
  return secret_fixture::random_body(n, seed, alphabet);
}

/// One fake credential per kind, with the line it is written on.
struct Sample {
  std::string kind;
  std::string secret;  ///< the bytes that must never be printed
  std::string line;    ///< how it appears in a file
};

std::vector<Sample> samples() {
  const std::string gh = "gh" + std::string("p_") + body(36, 1);
  const std::string gho = "gh" + std::string("o_") + body(36, 2);
  const std::string pat = "github" + std::string("_pat_") + body(22, 3) + "_" + body(59, 4);
  const std::string oai = "sk" + std::string("-") + body(48, 5);
  const std::string proj = "sk" + std::string("-proj-") + body(40, 6) + "_" + body(20, 7);
  const std::string ant = "sk" + std::string("-ant-api03-") + body(80, 8);
  const std::string gkey = "AI" + std::string("za") + body(35, 9);
  const std::string goauth = "GOC" + std::string("SPX-") + body(28, 10);
  const std::string akia = "AK" + std::string("IA") + body(16, 11, kUpperDigits);
  const std::string aws_secret = body(40, 12, kBase64);
  const std::string slack = "xo" + std::string("xb-") + body(12, 13, "0123456789") + "-" +
                            body(13, 14, "0123456789") + "-" + body(24, 15);
  const std::string pem_body = body(64, 16, kBase64);
  const std::string hex = body(40, 17, "0123456789abcdef");
  const std::string json_secret = body(32, 18);
  const std::string bearer = body(40, 19);
  const std::string url_pw = body(16, 20);
  return {
      {"github_token", gh, "export GH=" + gh},
      {"github_token", gho, "token: " + gho},
      {"github_token", pat, "GITHUB_PAT " + pat},
      {"openai_key", oai, "client = OpenAI(api_key=\"" + oai + "\")"},
      {"openai_key", proj, "key " + proj + " end"},
      {"anthropic_key", ant, "x-api-key: " + ant},
      {"google_api_key", gkey, "?key=" + gkey},
      {"google_oauth_client_secret", goauth, "\"client_secret\": \"" + goauth + "\""},
      {"aws_access_key_id", akia, "aws_access_key_id = " + akia},
      {"aws_secret_access_key", aws_secret, "aws_secret_access_key = " + aws_secret},
      {"slack_token", slack, "SLACK=" + slack},
      {"private_key", pem_body, "-----BEGIN RSA " + std::string("PRIVATE KEY-----")},
      {"secret_assignment", hex, "WEBHOOK_SECRET=" + hex},
      {"secret_assignment", json_secret, "  \"api_token\": \"" + json_secret + "\","},
      {"bearer_token", bearer, "curl -H 'Authorization: Bearer " + bearer + "' https://x"},
      {"url_credentials", url_pw,
       "DATABASE_URL=postgresql://jarvis:" + url_pw + "@db.internal:5432/jarvis"},
  };
}

TEST(SecretScan, FindsEveryKindOnItsLine) {
  std::string text = "# header\n";
  std::vector<std::pair<std::size_t, std::string>> want;  // line → kind
  std::size_t line = 2;
  for (const auto& s : samples()) {
    text += s.line + "\n";
    want.emplace_back(line, s.kind);
    ++line;
    if (s.kind == "private_key") {  // the PEM body follows the BEGIN line
      text += s.secret + "\n-----END RSA PRIVATE KEY-----\n";
      line += 2;
    }
  }
  auto found = scan_text("f.txt", text);
  std::set<std::pair<std::size_t, std::string>> got;
  for (const auto& f : found) got.emplace(f.line, f.kind);
  for (const auto& w : want) {
    EXPECT_TRUE(got.count(w)) << "line " << w.first << " kind " << w.second << " not found";
  }
  EXPECT_EQ(found.size(), want.size()) << "a sample fired twice or something else fired";
  for (const auto& f : found) {
    EXPECT_EQ(f.fingerprint.size(), 12u);
    const std::string printed = format_finding(f);
    for (const auto& s : samples()) {
      EXPECT_EQ(printed.find(s.secret), std::string::npos) << printed;
    }
  }
}

TEST(SecretScan, APrivateKeyInsideAStringLiteralFires) {
  const std::string pem = "\"-----BEGIN EC PRIVATE KEY-----\\n" + body(40, 21, kBase64) + "\\n\"";
  auto found = scan_text("k.cpp", pem);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].kind, "private_key");
}

TEST(SecretScan, PlaceholdersExamplesAndCodeDoNotFire) {
  const std::vector<std::string> quiet = {
      "OPENAI_API_KEY=sk-your-key-here",
      "OPENAI_API_KEY=sk-your-openai-api-key-here-0123456789",
      "OPENAI_API_KEY=${OPENAI_API_KEY}",
      "GITHUB_TOKEN=$(cat /run/secrets/github)",
      "GITHUB_TOKEN=github_pat_\xe2\x80\xa6   # fine-grained token",
      "API_TOKEN=<your-token>",
      "ANTHROPIC_API_KEY={{ anthropic_key }}",
      "aws_access_key_id = AKIA" + std::string("IOSFODNN7EXAMPLE"),  // AWS's documented example
      "token ghp_" + std::string(36, 'a'),                           // one repeated character
      "PASSWORD=correcthorsebatterystaple",                          // words, no digit
      "SECRET=abababababababab12",                                   // low entropy
      "const std::string token = make_session_token(user_id, 42);",  // code
      "session_token = kDefaultSessionTokenValue;",                  // an identifier
      "TOKEN_TTL_SECONDS=86400123456789012345",                      // not a secret's name
      "GITHUB_TOKEN_FILE=/etc/jarvis/github-token-2026.txt",         // a path's name
      "OPENAI_API_KEY=sk-bench",                                     // short fake of a bench
      "if (token == \"" + body(30, 30) + "\") return;",              // a comparison
      "-----BEGIN PRIVATE KEY-----",                                 // a marker, no body
      "regex(\"-----BEGIN [A-Z ]*PRIVATE KEY-----\")",               // a pattern
      "the task-" + body(30, 31) + " id",                            // sk- inside a word
      "AIza" + std::string("Sy") + "short",                          // too short for a key
      "SESSION_SECRET=jarvis.session.cookie.v2",                     // dotted words
      "password: \"********************\"",                          // masked
      "postgresql://jarvis:***@127.0.0.1:5432/jarvis",               // redacted
      "DATABASE_URL=postgresql://jarvis:${PGPASSWORD}@db/jarvis",    // a variable
      "postgresql://u:pw@h/db",                                      // too short
      "Authorization: Bearer ${JARVIS_TOKEN}",                       // a variable
      "out << \"Authorization: Bearer \" + token;",                  // code
      "Authorization: Bearer MEMORY_EMBED_API_KEY when set",         // a name, no digit
  };
  for (const auto& line : quiet) {
    auto found = scan_text("q.txt", line);
    EXPECT_TRUE(found.empty()) << "fired on: " << line << " as "
                               << (found.empty() ? "" : found[0].kind);
  }
}

TEST(SecretScan, EntropyAndPlaceholderHelpers) {
  EXPECT_DOUBLE_EQ(shannon_entropy(""), 0.0);
  EXPECT_DOUBLE_EQ(shannon_entropy("aaaa"), 0.0);
  EXPECT_DOUBLE_EQ(shannon_entropy("abab"), 1.0);
  EXPECT_GT(shannon_entropy(body(40, 40)), 4.0);
  EXPECT_TRUE(looks_like_placeholder("sk-your-key-here"));
  EXPECT_TRUE(looks_like_placeholder("${TOKEN}"));
  EXPECT_TRUE(looks_like_placeholder("xxxxxxxxxxxxxxxx"));
  EXPECT_FALSE(looks_like_placeholder(body(40, 41)));
}

TEST(SecretScan, AllowListNeedsAReasonForEveryEntry) {
  EXPECT_THROW(AllowList::parse("path:tests/*\n"), std::invalid_argument);
  EXPECT_THROW(AllowList::parse("path:tests/*  # \n"), std::invalid_argument);
  EXPECT_THROW(AllowList::parse("fingerprint:XYZ # why\n"), std::invalid_argument);
  EXPECT_THROW(AllowList::parse("glob:tests/* # why\n"), std::invalid_argument);
  AllowList ok = AllowList::parse(
      "# comment\n\npath:plugins/*/tests/*_test.cpp # fake keys of the redaction tests\n"
      "fingerprint:0123456789ab # the bench's fake key\n");
  EXPECT_EQ(ok.size(), 2u);
  EXPECT_TRUE(ok.allows({"plugins/memory/tests/memory_test.cpp", 3, "openai_key", "ffffffffffff"}));
  EXPECT_TRUE(ok.allows({"docs/x.md", 3, "openai_key", "0123456789ab"}));
  EXPECT_FALSE(ok.allows({"host/src/main.cpp", 3, "openai_key", "ffffffffffff"}));
  EXPECT_TRUE(ok.unused().empty());
  AllowList stale = AllowList::parse("path:nowhere/* # gone\n");
  ASSERT_EQ(stale.unused().size(), 1u);
  EXPECT_NE(stale.unused()[0].find("nowhere"), std::string::npos);
}

/// A scan's whole output must not contain any sample secret.
void expect_no_secret_in(const jarvis::test::RunResult& r) {
  for (const auto& s : samples()) {
    EXPECT_EQ(r.out.find(s.secret), std::string::npos) << "secret on stdout: " << s.kind;
    EXPECT_EQ(r.err.find(s.secret), std::string::npos) << "secret on stderr: " << s.kind;
    // Not even a long piece of it.
    EXPECT_EQ(r.out.find(s.secret.substr(s.secret.size() - 12)), std::string::npos) << s.kind;
  }
}

class SecretScanCli : public ::testing::Test {
 protected:
  std::map<std::string, std::string> env() const { return secret_fixture::scan_cli_env(); }
  void write_samples(const std::string& dir) {
    std::filesystem::create_directories(dir);
    std::string text;
    for (const auto& s : samples()) {
      text += s.line + "\n";
      if (s.kind == "private_key") text += s.secret + "\n";
    }
    write_file(dir + "/leak.txt", text);
  }
  int git(const std::string& args) {
    return std::system(("cd '" + dir_.path() + "' && git " + args + " >/dev/null 2>&1").c_str());
  }
  TempDir dir_;
};

TEST_F(SecretScanCli, ReportsPathLineKindAndFingerprintNeverTheSecret) {
  write_samples(dir_.file("tree"));
  write_file(dir_.file("tree/clean.md"), "OPENAI_API_KEY=sk-your-key-here\n");
  auto r = run_jarvis({"secrets", "scan", "tree"}, dir_.path(), env());
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("tree/leak.txt:1:github_token fingerprint="), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("clean.md"), std::string::npos) << r.out;
  expect_no_secret_in(r);
  auto j = run_jarvis({"secrets", "scan", "tree", "--json"}, dir_.path(), env());
  EXPECT_EQ(j.exit_code, 1);
  auto doc = nlohmann::json::parse(j.out, nullptr, false);  // pure JSON on stdout
  ASSERT_FALSE(doc.is_discarded()) << j.out;
  EXPECT_FALSE(doc["ok"].get<bool>());
  EXPECT_EQ(doc["findings"].size(), samples().size());
  expect_no_secret_in(j);
}

TEST_F(SecretScanCli, AllowListSilencesFixturesAndABadListIsAUsageError) {
  write_samples(dir_.file("tests/fixtures"));
  write_file(dir_.file(".secret-scan-allow"),
             "path:tests/fixtures/* # fake keys of the scanner's own fixtures\n");
  auto r = run_jarvis({"secrets", "scan", "tests"}, dir_.path(), env());
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find(std::to_string(samples().size()) + " allow-listed"), std::string::npos)
      << r.err;
  write_file(dir_.file(".secret-scan-allow"), "path:tests/fixtures/*\n");  // no reason
  auto bad = run_jarvis({"secrets", "scan", "tests"}, dir_.path(), env());
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("reason"), std::string::npos) << bad.err;
  EXPECT_EQ(run_jarvis({"secrets", "scan", "missing-dir"}, dir_.path(), env()).exit_code, 2);
  EXPECT_EQ(run_jarvis({"secrets", "scan", "tests", "--allow", "no-such-list"}, dir_.path(), env())
                .exit_code,
            2);
  EXPECT_EQ(run_jarvis({"secrets"}, dir_.path(), env()).exit_code, 2);
  EXPECT_EQ(run_jarvis({"secrets", "scan", "--bogus"}, dir_.path(), env()).exit_code, 2);
}

TEST_F(SecretScanCli, GitModeScansTrackedFilesAndChecksLocalSecretFiles) {
  ASSERT_EQ(git("init -q ."), 0);
  write_file(dir_.file("README.md"), "hello\n");
  write_samples(dir_.file("untracked"));  // not tracked: not part of the tree's scan
  ASSERT_EQ(git("add README.md"), 0);
  auto clean = run_jarvis({"secrets", "scan"}, dir_.path(), env());
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  EXPECT_NE(clean.err.find("git ls-files"), std::string::npos) << clean.err;

  // A .env with a key that git would commit, readable by others: the key and both file problems.
  const std::string key = "sk" + std::string("-proj-") + body(48, 50);
  write_file(dir_.file(".env"), "OPENAI_API_KEY=" + key + "\n");
  ::chmod(dir_.file(".env").c_str(), 0644);
  auto exposed = run_jarvis({"secrets", "scan"}, dir_.path(), env());
  EXPECT_EQ(exposed.exit_code, 1) << exposed.out;
  EXPECT_NE(exposed.out.find(".env:1:openai_key"), std::string::npos) << exposed.out;
  EXPECT_NE(exposed.out.find(".env:0:secret_file_not_git_ignored"), std::string::npos);
  EXPECT_NE(exposed.out.find(".env:0:secret_file_readable_by_others"), std::string::npos);
  EXPECT_EQ(exposed.out.find(key), std::string::npos);
  EXPECT_EQ(exposed.err.find(key), std::string::npos);

  // Ignored and 0600: where a credential belongs — counted, not failed.
  write_file(dir_.file(".gitignore"), "/.env\n/untracked/\n");
  ASSERT_EQ(git("add .gitignore"), 0);
  ::chmod(dir_.file(".env").c_str(), 0600);
  auto protected_env = run_jarvis({"secrets", "scan", "--json"}, dir_.path(), env());
  EXPECT_EQ(protected_env.exit_code, 0) << protected_env.out;
  auto doc = nlohmann::json::parse(protected_env.out);
  EXPECT_EQ(doc["protected_local_secrets"], 1);
  EXPECT_EQ(doc["local_secret_files"][0], ".env");

  // Committed by mistake: a finding even when it is ignored and private.
  ASSERT_EQ(git("add -f .env"), 0);
  auto tracked = run_jarvis({"secrets", "scan"}, dir_.path(), env());
  EXPECT_EQ(tracked.exit_code, 1);
  EXPECT_NE(tracked.out.find(".env:0:secret_file_tracked"), std::string::npos) << tracked.out;
  EXPECT_NE(tracked.out.find(".env:1:openai_key"), std::string::npos) << tracked.out;
}

TEST_F(SecretScanCli, TheSourceTreeItselfPasses) {
  // `make secret-scan`: every fake key in the tree is allow-listed with a reason in
  // .secret-scan-allow; a new fixture with a key-shaped value fails here until it is.
  auto r = run_jarvis({"secrets", "scan"}, JARVIS_SOURCE_DIR, env());
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

}  // namespace secret_scan_test

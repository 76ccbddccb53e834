// tests/ops/secret_fixture.h — fake credentials for the secret-scan tests, assembled at run time
// from a prefix and a seeded pseudo-random body, so no credential-shaped literal is ever in the
// test sources (the tree's own scan needs no allow-list entry for them).
//
//   std::string key = "gh" + std::string("p_") + secret_fixture::random_body(36, 1);
//   std::string aws = secret_fixture::random_body(40, 12, secret_fixture::kBase64);
//   auto r = jarvis::test::run_jarvis({"secrets", "scan", "tree"}, dir,
//   secret_fixture::scan_cli_env());
#pragma once

#include <map>
#include <random>
#include <string>

#include "support/support.h"

namespace secret_fixture {

/// Letters and digits.
inline const std::string kAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Upper-case letters and digits (AWS access key ids, Slack team ids).
inline const std::string kUpperDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// The base64 alphabet (PEM bodies, AWS secret keys).
inline const std::string kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `n` pseudo-random characters of `alphabet`, reproducible from `seed`.
inline std::string random_body(std::size_t n, unsigned seed, const std::string& alphabet = kAlnum) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += alphabet[pick(rng)];
  return s;
}

/// The environment of a `jarvis secrets scan` run by a test: quiet logs, and XDG_STATE_HOME in a
/// folder of this test process, so a scan outside a git work tree creates its key there and never
/// in the runner's `~/.local/state` (decision 0095). Scans inside a work tree keep theirs in .git.
inline std::map<std::string, std::string> scan_cli_env() {
  static const jarvis::test::TempDir state;  // removed when the test process exits
  return {{"LOG_LEVEL", "warn"}, {"XDG_STATE_HOME", state.path()}};
}

}  // namespace secret_fixture

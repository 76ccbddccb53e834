// github/tests/github_field_scan_test.cpp — the webhook's field scanner agrees with the full
// parser on every pull_request and issue_comment example of @octokit/webhooks-examples (and on
// GHES versions'), and refuses what is not a JSON object so the full parser reports it.
#include <gtest/gtest.h>

#include "field_scan.h"
#include "github_support.h"
#include "webhook.h"

namespace {

using github_test::json;

// What decide() would read from the fully parsed document at the wanted paths.
json project(const json& full, const std::vector<std::string>& paths) {
  json out = json::object();
  for (const auto& p : paths) {
    const json* cur = &full;
    json::json_pointer ptr;
    std::string seg;
    bool found = true;
    std::stringstream ss(p);
    while (std::getline(ss, seg, '.')) {
      if (!cur->is_object() || !cur->contains(seg)) {
        found = false;
        break;
      }
      cur = &(*cur)[seg];
      ptr /= seg;
    }
    if (!found) continue;
    if (cur->is_object()) {
      if (!out.contains(ptr)) out[ptr] = json::object();
    } else if (cur->is_array()) {
      out[ptr] = json::array();
    } else {
      out[ptr] = *cur;
    }
  }
  return out;
}

TEST(GitHubFieldScan, AgreesWithTheFullParserOnEveryExample) {
  int n = 0;
  for (const char* event : {"pull_request", "issue_comment", "ping", "push", "issues"}) {
    for (const auto& e : github_test::examples(event)) {
      const std::string text = e.dump();
      auto scanned = github::scan_fields(text, github::kPayloadFields);
      ASSERT_TRUE(scanned) << event;
      EXPECT_EQ(*scanned, project(e, github::kPayloadFields)) << event << " #" << n;
      // Pretty-printed and with escapes in the wanted strings: still the same values.
      auto pretty = github::scan_fields(e.dump(2), github::kPayloadFields);
      ASSERT_TRUE(pretty);
      EXPECT_EQ(*pretty, *scanned);
      ++n;
    }
  }
  EXPECT_GT(n, 70);
  json tricky = github_test::example("issue_comment", "created");
  tricky["comment"]["body"] = "/jarvis \"quoted\" \\ back\\slash\n\t\u00e9 \u2603 end\\";
  tricky["comment"]["user"]["login"] = "a\"b";
  auto s = github::scan_fields(tricky.dump(), github::kPayloadFields);
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, project(tricky, github::kPayloadFields));
}

TEST(GitHubFieldScan, RefusesWhatIsNotAJsonObject) {
  for (const char* bad : {"", "[]", "\"x\"", "{", "{not json", "{\"a\":}", "{\"a\":1,}",
                          "{\"a\":1} x", "{\"a\":\"unterminated}", "{\"a\":tru}",
                          "{\"a\":\"raw\nnewline\"}", "{\"action\":\"op\\qened\"}", "{\"a\" 1}"}) {
    EXPECT_FALSE(github::scan_fields(bad, github::kPayloadFields)) << bad;
  }
  std::string deep = "{\"a\":" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_FALSE(github::scan_fields(deep, github::kPayloadFields))
      << "too deep: the full parser says so";
  EXPECT_TRUE(github::scan_fields("{}", github::kPayloadFields));
}

}  // namespace

// chat/tests/agent_governance_test.cpp — bundle governance as pure functions: the operator's
// CHAT_TOOL_RISK_LEVELS, each tool's risk, path-like arguments, lexical path containment
// (traversal, relative paths, prefixes that are not parents, file: URIs) and the decision for a
// bundle; and chat.complete's purpose names. The policy through a real host is in
// chat_tools_test.cpp.
#include <gtest/gtest.h>

#include "agent/governance.h"
#include "complete_tool.h"

namespace agent_governance_test {

using chat::AgentBundle;
using chat::RiskTier;
using jarvis::Json;

AgentBundle bundle(RiskTier tier, std::vector<std::string> paths = {}, bool privileged = false) {
  AgentBundle b;
  b.id = "coder";
  b.identity.agent_id = "coder";
  b.identity.risk_tier = tier;
  b.identity.allowed_paths = std::move(paths);
  b.identity.can_request_privileged_change = privileged;
  return b;
}

jarvis::ToolInfo tool(const std::string& name, bool is_protected = false) {
  return {name, "", Json::object(), is_protected, "test"};
}

TEST(ToolRiskLevels, ParsesExactNamesAndPrefixesLongestFirst) {
  auto l = chat::parse_tool_risk_levels("memory.*=low, memory.forget=high  github.*=medium,*=high");
  EXPECT_EQ(chat::tool_risk(tool("memory.search"), l), RiskTier::Low);
  EXPECT_EQ(chat::tool_risk(tool("memory.forget"), l), RiskTier::High);  // exact beats prefix
  EXPECT_EQ(chat::tool_risk(tool("github.merge"), l), RiskTier::Medium);
  EXPECT_EQ(chat::tool_risk(tool("other.x"), l), RiskTier::High);  // "*" matches everything
  EXPECT_TRUE(chat::parse_tool_risk_levels("").exact.empty());
}

TEST(ToolRiskLevels, RefusesEveryMalformedEntry) {
  for (const char* bad : {"memory.search", "memory.search=", "memory.search=reckless", "=low",
                          "bad name=low", "a/b=low", "memory.search=LOW"}) {
    EXPECT_THROW(chat::parse_tool_risk_levels(bad), std::invalid_argument) << bad;
  }
}

TEST(ToolRiskLevels, UnlistedToolsAreHighWhenProtectedElseMedium) {
  chat::ToolRiskLevels none;
  EXPECT_EQ(chat::tool_risk(tool("a.b"), none), RiskTier::Medium);
  EXPECT_EQ(chat::tool_risk(tool("a.b", true), none), RiskTier::High);
  // The operator may lower a protected tool's risk level, never its privilege (below).
  EXPECT_EQ(chat::tool_risk(tool("a.b", true), chat::parse_tool_risk_levels("a.b=low")),
            RiskTier::Low);
}

TEST(PathArguments, FindsPathLikeKeysAtAnyDepthAndFileUris) {
  Json args = {{"path", "/a"},
               {"options", {{"output_dir", "/b"}, {"Source-File", "/c"}}},
               {"files", {"/d", "/e"}},
               {"note", "file:///f"},
               {"text", "/not/a/path/key"},
               {"count", 3}};
  std::vector<std::string> found;
  for (const auto& a : chat::path_arguments(args)) found.push_back(a.pointer + "=" + a.value);
  std::sort(found.begin(), found.end());
  EXPECT_EQ(found, (std::vector<std::string>{"/files/0=/d", "/files/1=/e", "/note=file:///f",
                                             "/options/Source-File=/c", "/options/output_dir=/b",
                                             "/path=/a"}));
}

TEST(PathWithin, IsLexicalAndRefusesTraversalRelativeAndSiblingPrefixes) {
  EXPECT_TRUE(chat::path_within("/srv/notes", "/srv/notes"));
  EXPECT_TRUE(chat::path_within("/srv/notes/a/b.txt", "/srv/notes"));
  EXPECT_TRUE(chat::path_within("/srv//notes/./a/../b", "/srv/notes/"));
  EXPECT_FALSE(chat::path_within("/srv/notes/../secrets", "/srv/notes"));
  EXPECT_FALSE(chat::path_within("/srv/notes-old/x", "/srv/notes"));  // a prefix, not a parent
  EXPECT_FALSE(chat::path_within("notes/a", "/srv/notes"));           // relative
  EXPECT_FALSE(chat::path_within("", "/srv/notes"));
  EXPECT_FALSE(chat::path_within("/../etc/passwd", "/"));  // climbs above the root
  EXPECT_TRUE(chat::path_within("/anything", "/"));
}

TEST(Governance, RiskTierCapsTheToolsRiskLevel) {
  chat::ToolRiskLevels l = chat::parse_tool_risk_levels("safe.read=low,big.job=high");
  EXPECT_TRUE(chat::check_governance(bundle(RiskTier::Low), tool("safe.read"), {}, l).allowed);
  auto d = chat::check_governance(bundle(RiskTier::Low), tool("plain.tool"), {}, l);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "risk_tier_exceeded");
  EXPECT_TRUE(chat::check_governance(bundle(RiskTier::Medium), tool("plain.tool"), {}, l).allowed);
  EXPECT_FALSE(chat::check_governance(bundle(RiskTier::Medium), tool("big.job"), {}, l).allowed);
  EXPECT_TRUE(chat::check_governance(bundle(RiskTier::High), tool("big.job"), {}, l).allowed);
}

TEST(Governance, PrivilegedToolsNeedCanRequestPrivilegedChangeWhateverTheTier) {
  chat::ToolRiskLevels l = chat::parse_tool_risk_levels("sys.reboot=low");
  auto d = chat::check_governance(bundle(RiskTier::High), tool("sys.reboot", true), {}, l);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "privileged_change_not_allowed");
  EXPECT_TRUE(
      chat::check_governance(bundle(RiskTier::High, {}, true), tool("sys.reboot", true), {}, l)
          .allowed);
  // Privileged and high risk by default: a medium agent allowed privileged changes still needs
  // the tier (or the operator's lower level).
  EXPECT_EQ(
      chat::check_governance(bundle(RiskTier::Medium, {}, true), tool("x.y", true), {}, {}).reason,
      "risk_tier_exceeded");
}

TEST(Governance, PathArgumentsMustLieInsideAllowedPaths) {
  AgentBundle b = bundle(RiskTier::Medium, {"/srv/notes", "/tmp/scratch"});
  auto ok = [&](const Json& args) { return chat::check_governance(b, tool("fs.read"), args, {}); };
  EXPECT_TRUE(ok({{"path", "/srv/notes/today.md"}}).allowed);
  EXPECT_TRUE(ok({{"paths", {"/srv/notes/a", "/tmp/scratch/b"}}}).allowed);
  EXPECT_TRUE(ok({{"uri", "file:///srv/notes/x"}}).allowed);
  EXPECT_TRUE(ok({{"query", "no paths here"}}).allowed);
  for (const Json& bad :
       {Json{{"path", "/etc/passwd"}}, Json{{"path", "/srv/notes/../../etc/shadow"}},
        Json{{"path", "today.md"}}, Json{{"paths", {"/srv/notes/a", "/root/b"}}},
        Json{{"opts", {{"target_dir", "/var"}}}}, Json{{"uri", "file://evil.example/srv/notes/x"}},
        Json{{"uri", "file:///srv/notes/%2e%2e/x"}}}) {
    auto d = ok(bad);
    EXPECT_FALSE(d.allowed) << bad.dump();
    EXPECT_EQ(d.reason, "path_not_allowed") << bad.dump();
  }
  // No allowed_paths: every path-like argument is refused.
  auto d = chat::check_governance(bundle(RiskTier::High), tool("fs.read"), {{"path", "/srv"}}, {});
  EXPECT_EQ(d.reason, "path_not_allowed");
}

TEST(CompletePurpose, NamesAPluginAndAThing) {
  for (const char* ok : {"memory.extract", "github.pr_summary", "a.b.c", "x1.y2"}) {
    EXPECT_TRUE(chat::valid_purpose(ok)) << ok;
  }
  for (const char* bad : {"", "memory", ".memory", "memory.", "memory..x", "Memory.x", "1a.b",
                          "me mory.x", "memory/x", "memory.x-y"}) {
    EXPECT_FALSE(chat::valid_purpose(bad)) << bad;
  }
  EXPECT_FALSE(chat::valid_purpose(std::string(60, 'a') + ".abcde"));
}

TEST(CompleteSchema, BoundsEveryArgument) {
  Json s = chat::complete_tool_schema();
  EXPECT_FALSE(jarvis::check_json_schema(s));
  EXPECT_FALSE(jarvis::validate_json(s, {{"prompt", "hi"}, {"purpose", "memory.extract"}}));
  EXPECT_TRUE(jarvis::validate_json(s, {{"purpose", "memory.extract"}}));  // prompt required
  EXPECT_TRUE(jarvis::validate_json(s, {{"prompt", "hi"}}));               // purpose required
  EXPECT_TRUE(jarvis::validate_json(s, {{"prompt", ""}, {"purpose", "a.b"}}));
  EXPECT_TRUE(jarvis::validate_json(s, {{"prompt", std::string(100001, 'x')}, {"purpose", "a.b"}}));
  EXPECT_TRUE(jarvis::validate_json(s, {{"prompt", "hi"}, {"purpose", "a.b"}, {"max_tokens", 0}}));
  EXPECT_TRUE(
      jarvis::validate_json(s, {{"prompt", "hi"}, {"purpose", "a.b"}, {"max_tokens", 40000}}));
  EXPECT_TRUE(jarvis::validate_json(s, {{"prompt", "hi"}, {"purpose", "a.b"}, {"tools", 1}}));
}

}  // namespace agent_governance_test

// chat/src/agent/governance.h — bundle governance at tool-call time: the policy
// `chat.bundle_governance` enforces an agent bundle's `risk_tier`, `can_request_privileged_change`
// and `allowed_paths` on every tool call the agent makes (decision 0043).
//
// It applies to calls whose ToolCall::agent_id is a chat bundle's principal ("agent:<id>"); other
// principals (agent:memory, users, the operator) are left to the permission table. In order:
//   1. privileged — a protected tool (ToolSpec::is_protected: it changes the system, so lockdown
//      denies it) is refused unless the bundle says can_request_privileged_change: true
//      (`privileged_change_not_allowed`);
//   2. risk — each tool has a risk level: the operator's CHAT_TOOL_RISK_LEVELS entry, else
//      "high" for a protected tool, else "medium". A bundle's risk_tier is the highest level it
//      may call (low < medium < high); above it: `risk_tier_exceeded`;
//   3. paths — every path-like argument (see path_arguments()) must lie inside one of the
//      bundle's allowed_paths after lexical normalisation; a relative path, a `..` that climbs
//      out, or any path with allowed_paths empty is refused (`path_not_allowed`).
// The permission table is checked first by the host, so this only ever narrows what was granted.
//
//   chat::ToolRiskLevels levels = chat::parse_tool_risk_levels(cfg.get_string("tool_risk_levels"));
//   chat::register_governance_policy(host, bundles, levels);             // setup()
//   auto d = chat::check_governance(*bundle, info, args, levels);       // pure, for tests
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/bundles.h"
#include "jarvis/jarvis.h"

namespace chat {

/// Operator-set risk levels: exact tool names, or a prefix ending in '*' ("github.*").
struct ToolRiskLevels {
  std::map<std::string, RiskTier> exact;
  std::vector<std::pair<std::string, RiskTier>> prefixes;  ///< longest prefix wins
};

/// Parses CHAT_TOOL_RISK_LEVELS: comma- or blank-separated `name=low|medium|high` entries, a
/// name being a tool name or a prefix ending in '*'. Throws std::invalid_argument naming the
/// first bad entry (the plugin refuses to start with it: a typo must not loosen anything).
ToolRiskLevels parse_tool_risk_levels(const std::string& text);

/// The risk level of `tool`: the operator's entry (exact, then the longest prefix), else High
/// for a protected tool, else Medium.
RiskTier tool_risk(const jarvis::ToolInfo& tool, const ToolRiskLevels& levels);

/// One path-like argument: its JSON Pointer in the arguments and its value.
struct PathArgument {
  std::string pointer;  ///< e.g. "/path", "/files/0"
  std::string value;
};

/// The path-like string arguments of a call, found at any depth: values under a key named
/// path, paths, file, files, filename, filepath, dir, dirs, directory, folder, cwd or
/// ending in _path, _paths, _file, _files, _dir, _dirs, _directory, _folder (any case, '-' as
/// '_'), and any string value starting with "file:" — at most 256 are returned.
std::vector<PathArgument> path_arguments(const jarvis::Json& args);

/// True when absolute `path` (after removing "." segments, resolving ".." and repeated '/')
/// equals `root` or lies under it. False for a relative path or one climbing above "/".
bool path_within(const std::string& path, const std::string& root);

/// The governance decision for `bundle` calling `tool` with `args` (allowed, or the reason).
jarvis::PolicyDecision check_governance(const AgentBundle& bundle, const jarvis::ToolInfo& tool,
                                        const jarvis::Json& args, const ToolRiskLevels& levels);

/// Adds the policy `chat.bundle_governance` to host.policies(). `bundles` must outlive it.
void register_governance_policy(jarvis::Host& host, const BundleSet& bundles,
                                ToolRiskLevels levels);

}  // namespace chat

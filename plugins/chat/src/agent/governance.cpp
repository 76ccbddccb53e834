// chat/src/agent/governance.cpp — see governance.h (decision 0043).
#include "agent/governance.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace chat {
namespace {

constexpr std::size_t kMaxPathArguments = 256;

std::optional<RiskTier> parse_tier(const std::string& s) {
  if (s == "low") return RiskTier::Low;
  if (s == "medium") return RiskTier::Medium;
  if (s == "high") return RiskTier::High;
  return std::nullopt;
}

int rank(RiskTier t) { return static_cast<int>(t); }

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool path_key(std::string key) {
  for (char& c : key) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (c == '-') c = '_';
  }
  static const char* kNames[] = {"path", "paths", "file",      "files",  "filename", "filepath",
                                 "dir",  "dirs",  "directory", "folder", "cwd"};
  for (const char* n : kNames) {
    if (key == n) return true;
  }
  for (const char* s :
       {"_path", "_paths", "_file", "_files", "_dir", "_dirs", "_directory", "_folder"}) {
    if (ends_with(key, s)) return true;
  }
  return false;
}

std::string escape_pointer(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

void collect(const jarvis::Json& v, const std::string& pointer, bool under_path_key,
             std::vector<PathArgument>& out) {
  if (out.size() >= kMaxPathArguments) return;
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (under_path_key || s.rfind("file:", 0) == 0) out.push_back({pointer, s});
  } else if (v.is_array()) {
    for (std::size_t i = 0; i < v.size(); ++i) {
      collect(v[i], pointer + "/" + std::to_string(i), under_path_key, out);
    }
  } else if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      collect(it.value(), pointer + "/" + escape_pointer(it.key()),
              under_path_key || path_key(it.key()), out);
    }
  }
}

// "/a/./b//c/../d" → "/a/b/d"; nullopt for a relative path or one climbing above "/".
std::optional<std::string> normalise(const std::string& p) {
  if (p.empty() || p.front() != '/') return std::nullopt;
  std::vector<std::string> parts;
  std::size_t start = 1;
  while (start <= p.size()) {
    std::size_t slash = p.find('/', start);
    std::size_t end = slash == std::string::npos ? p.size() : slash;
    std::string seg = p.substr(start, end - start);
    if (seg == "..") {
      if (parts.empty()) return std::nullopt;
      parts.pop_back();
    } else if (!seg.empty() && seg != ".") {
      parts.push_back(std::move(seg));
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  std::string out;
  for (const auto& s : parts) out += "/" + s;
  return out.empty() ? std::string("/") : out;
}

// A file: URI's path ("file:///etc/x" → "/etc/x", "file:/etc/x" → "/etc/x"); a host part other
// than "localhost" makes it unusable (""), as does percent-encoding (no decoding guesses).
std::string file_uri_path(const std::string& v) {
  std::string rest = v.substr(5);
  if (rest.rfind("//", 0) == 0) {
    rest = rest.substr(2);
    std::size_t slash = rest.find('/');
    std::string host = slash == std::string::npos ? rest : rest.substr(0, slash);
    if (!host.empty() && host != "localhost") return "";
    rest = slash == std::string::npos ? "" : rest.substr(slash);
  }
  if (rest.find('%') != std::string::npos) return "";
  return rest;
}

}  // namespace

ToolRiskLevels parse_tool_risk_levels(const std::string& text) {
  ToolRiskLevels out;
  std::string cur;
  auto flush = [&] {
    if (cur.empty()) return;
    const std::size_t eq = cur.find('=');
    const std::string name = eq == std::string::npos ? "" : cur.substr(0, eq);
    const auto tier = eq == std::string::npos ? std::nullopt : parse_tier(cur.substr(eq + 1));
    const bool prefix = !name.empty() && name.back() == '*';
    const std::string base = prefix ? name.substr(0, name.size() - 1) : name;
    const bool name_ok = prefix ? base.empty() || valid_tool_name(base) : valid_tool_name(base);
    if (!tier || !name_ok) {
      throw std::invalid_argument("CHAT_TOOL_RISK_LEVELS: '" + cur +
                                  "' is not <tool or prefix*>=low|medium|high");
    }
    if (prefix) {
      out.prefixes.emplace_back(base, *tier);
    } else {
      out.exact[base] = *tier;
    }
    cur.clear();
  };
  for (char c : text) {
    if (c == ',' || c == ' ' || c == '\t' || c == '\n') {
      flush();
    } else {
      cur += c;
    }
  }
  flush();
  std::stable_sort(out.prefixes.begin(), out.prefixes.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  return out;
}

RiskTier tool_risk(const jarvis::ToolInfo& tool, const ToolRiskLevels& levels) {
  if (auto it = levels.exact.find(tool.name); it != levels.exact.end()) return it->second;
  for (const auto& [prefix, tier] : levels.prefixes) {
    if (tool.name.rfind(prefix, 0) == 0) return tier;
  }
  return tool.is_protected ? RiskTier::High : RiskTier::Medium;
}

std::vector<PathArgument> path_arguments(const jarvis::Json& args) {
  std::vector<PathArgument> out;
  collect(args, "", false, out);
  return out;
}

bool path_within(const std::string& path, const std::string& root) {
  auto p = normalise(path);
  auto r = normalise(root);
  if (!p || !r) return false;
  if (*r == "/") return true;
  return *p == *r ||
         (p->size() > r->size() && p->compare(0, r->size(), *r) == 0 && (*p)[r->size()] == '/');
}

jarvis::PolicyDecision check_governance(const AgentBundle& bundle, const jarvis::ToolInfo& tool,
                                        const jarvis::Json& args, const ToolRiskLevels& levels) {
  const AgentIdentity& id = bundle.identity;
  if (tool.is_protected && !id.can_request_privileged_change) {
    return {false, "privileged_change_not_allowed"};
  }
  if (rank(tool_risk(tool, levels)) > rank(id.risk_tier)) return {false, "risk_tier_exceeded"};
  for (const PathArgument& a : path_arguments(args)) {
    const std::string path = a.value.rfind("file:", 0) == 0 ? file_uri_path(a.value) : a.value;
    const bool inside =
        std::any_of(id.allowed_paths.begin(), id.allowed_paths.end(),
                    [&](const std::string& root) { return path_within(path, root); });
    if (!inside) return {false, "path_not_allowed"};
  }
  return {true, "allowed"};
}

void register_governance_policy(jarvis::Host& host, const BundleSet& bundles,
                                ToolRiskLevels levels) {
  jarvis::Host* h = &host;
  const BundleSet* set = &bundles;
  host.policies().add(
      "chat.bundle_governance",
      [h, set, levels = std::move(levels)](const jarvis::ToolCall& call) -> jarvis::PolicyDecision {
        if (call.agent_id.rfind("agent:", 0) != 0) return {true, "allowed"};
        const AgentBundle* bundle = set->find(std::string_view(call.agent_id).substr(6));
        if (!bundle) return {true, "allowed"};  // not a chat agent: the permission table decides
        for (const auto& info : h->tools().list()) {
          if (info.name == call.tool) return check_governance(*bundle, info, call.args, levels);
        }
        return {false, "unknown_tool"};
      });
}

}  // namespace chat

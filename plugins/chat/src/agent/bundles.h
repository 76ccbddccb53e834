// chat/src/agent/bundles.h — agent bundles: who an agent is, what it may use, and how it talks.
//
// A bundle is a folder `<id>/` holding `identity.md` (YAML front matter, then markdown), `soul.md`
// (persona and working rules) and an optional `tools.md` (tool etiquette). The plugin ships the
// bundles under plugins/chat/agents/ compiled in (shipped_bundle_files()); the operator may add
// more, or replace a shipped one, in AGENTS_DIR/<id>/ — an AGENTS_DIR bundle overrides the
// shipped bundle of the same id, unless it is invalid: then it is reported and the shipped one
// stays in effect (so `main` always exists).
//
//   chat::BundleSet set = chat::BundleSet::load({.agents_dir = cfg.get_string("agents_dir")});
//   for (const auto& p : set.problems()) log->warn("{}", p.describe());   // never fatal
//   const chat::AgentBundle* main = set.find("main");
//   for (const auto& g : set.grants()) grant(g.principal, g.tools);      // "agent:main", […]
//
// Bundles are read-only: the loader only opens files for reading and nothing in the plugin ever
// writes into a bundle folder (the original rewrote heartbeat.md after every step and let an LLM
// overwrite identity and soul files — inventory §11 item 35). A changed bundle takes effect at
// the next start.
//
// identity.md front matter — a strict subset of YAML, exactly these keys:
//
//   ---
//   agent_id: main                      # required; must equal the folder name; [a-z0-9][a-z0-9_-]*
//   allowed_tools: [memory.search, memory.remember]   # flow list, or a block list of "- name"
//   risk_tier: medium                   # required; low | medium | high
//   max_actions_per_step: 8             # required; 1..100 tool calls per agent step
//   allowed_paths: []                   # absolute paths (for tools that take paths); default []
//   can_request_privileged_change: false   # true | false; default false
//   ---
//
// Values are plain or quoted ('…' or "…") scalars, flow lists `[a, b]` on one line, or block
// lists of `  - item` lines; `#` starts a comment (outside quotes, after a blank). Anything else
// — an unknown or repeated key, tabs for indentation, anchors, multi-line scalars — is an error
// naming the file and the line.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jarvis/json.h"
#include "jarvis/tools.h"
#include "provider.h"

namespace jarvis {
class Host;
}

namespace chat {

/// Largest file of a bundle that is read (identity.md, soul.md, tools.md): 64 KiB.
inline constexpr std::size_t kMaxBundleFileBytes = 64 * 1024;
/// Most bundles loaded from AGENTS_DIR (the first ones by folder name).
inline constexpr std::size_t kMaxBundles = 100;
/// Largest max_actions_per_step accepted.
inline constexpr int kMaxActionsPerStepLimit = 100;
/// Most entries in allowed_tools / allowed_paths.
inline constexpr std::size_t kMaxListEntries = 256;

/// How much an agent may do without a human: shown to operators, usable by policies.
enum class RiskTier { Low, Medium, High };

/// "low", "medium" or "high".
const char* to_string(RiskTier tier);

/// The parsed front matter of identity.md.
struct AgentIdentity {
  std::string agent_id;
  std::vector<std::string> allowed_tools;  ///< tool names, as registered (e.g. "memory.search")
  RiskTier risk_tier = RiskTier::Medium;
  int max_actions_per_step = 1;            ///< tool calls per agent step, ≥ 1
  std::vector<std::string> allowed_paths;  ///< absolute paths
  bool can_request_privileged_change = false;
};

/// A file-and-line error in a bundle.
class BundleError : public std::runtime_error {
 public:
  /// `file` is the bundle-relative file name ("identity.md"); `line` is 1-based (0 = whole file).
  BundleError(std::string file, int line, std::string message);
  std::string file;
  int line = 0;
  std::string message;
};

/// Result of parse_identity(): the front matter and the markdown after it.
struct IdentityDocument {
  AgentIdentity identity;
  std::string body;  ///< markdown after the closing `---` (leading blank lines removed)
};

/// Parses identity.md. Throws BundleError naming `file` and the line for any violation of the
/// format above. Does not check that agent_id matches the folder (the loader does).
IdentityDocument parse_identity(std::string_view text, const std::string& file = "identity.md");

/// True when `id` is a valid agent id: 1–64 bytes of [a-z0-9_-], starting with [a-z0-9].
bool valid_agent_id(std::string_view id);

/// True when `name` is a valid tool name in a bundle: 1–128 bytes of [A-Za-z0-9_.-], starting
/// with a letter or digit.
bool valid_tool_name(std::string_view name);

/// One loaded, valid bundle.
struct AgentBundle {
  AgentIdentity identity;
  std::string id;                  ///< == identity.agent_id == the folder name
  std::string origin;              ///< "shipped" or "agents_dir"
  std::string location;            ///< the folder (AGENTS_DIR bundles) or "shipped:<id>"
  bool overrides_shipped = false;  ///< an AGENTS_DIR bundle replacing a shipped one
  std::string identity_text;       ///< identity.md body (after the front matter)
  std::string soul;                ///< soul.md
  std::string tools_doc;           ///< tools.md, empty when absent

  /// The permission principal the agent calls tools as: "agent:<id>".
  std::string principal() const { return "agent:" + id; }
  /// identity body, soul and tools.md joined by blank lines (empty parts skipped): the
  /// bundle's part of the system prompt.
  std::string system_text() const;
};

/// A bundle (or AGENTS_DIR itself) that could not be loaded. Never fatal.
struct BundleProblem {
  std::string id;  ///< folder name, made printable (non-printable bytes → '?'); "" = AGENTS_DIR
  std::string origin;    ///< "shipped" or "agents_dir"
  std::string location;  ///< folder path or "shipped:<id>" (operators only: a host detail)
  std::string file;      ///< "identity.md", "soul.md", "tools.md" or "" (the folder)
  int line = 0;          ///< 1-based, 0 when not about one line
  std::string message;
  /// True when a shipped bundle of the same id stays in effect instead of this one.
  bool shipped_kept = false;

  /// "agents_dir bundle 'x': identity.md:3: unknown key 'foo'" — without the location.
  std::string describe() const;
};

/// An agent's allowed tools, as permission rows to grant: principal "agent:<id>" × tools.
struct AgentGrant {
  std::string agent_id;
  std::string principal;           ///< "agent:<id>"
  std::vector<std::string> tools;  ///< as listed in allowed_tools (known or not)
};

/// A tool named in a bundle that no plugin registered (reported, never fatal).
struct UnknownTool {
  std::string agent_id;
  std::string tool;
};

/// Where bundles come from.
struct BundleSources {
  /// AGENTS_DIR; empty = only the shipped bundles. A missing or unreadable folder is a problem.
  std::string agents_dir;
  /// (path relative to agents/, content) pairs; the default is the compiled-in set.
  std::optional<std::vector<std::pair<std::string, std::string>>> shipped;
};

/// An immutable set of loaded bundles. Copyable; safe to read from any thread.
class BundleSet {
 public:
  /// Loads the shipped bundles, then AGENTS_DIR's (each sub-folder not starting with '.'; plain
  /// files are ignored). Never throws for bundle content: every failure is a problem().
  static BundleSet load(const BundleSources& sources);

  /// Valid bundles, sorted by id.
  const std::vector<AgentBundle>& agents() const { return agents_; }
  /// Invalid bundles and folder-level problems, in the order they were found.
  const std::vector<BundleProblem>& problems() const { return problems_; }
  /// The bundle `id`, or null.
  const AgentBundle* find(std::string_view id) const;
  /// The problem reported for bundle folder `id` (its last one), or null.
  const BundleProblem* problem(std::string_view id) const;
  /// Ids of the valid bundles, sorted (the agent roster).
  std::vector<std::string> ids() const;
  /// One grant per valid bundle with a non-empty allowed_tools.
  std::vector<AgentGrant> grants() const;
  /// Tools named by valid bundles that are not in `registered` (ToolRegistry::list()), in bundle
  /// then list order. Call after every plugin's setup (plugins register tools in any order).
  std::vector<UnknownTool> unknown_tools(const std::vector<jarvis::ToolInfo>& registered) const;

 private:
  std::vector<AgentBundle> agents_;
  std::vector<BundleProblem> problems_;
};

/// The tools `bundle` may call that are registered, as ToolDefs for the model (in allowed_tools
/// order; unknown names skipped).
std::vector<ToolDef> tool_defs_for(const AgentBundle& bundle,
                                   const std::vector<jarvis::ToolInfo>& registered);

/// Logs each problem (warn) and emits one `agent.bundle.invalid {id, origin, file, line, message,
/// shipped_kept}` event per problem. Call once the host's event store is usable (start()).
void report_bundle_problems(jarvis::Host& host, const BundleSet& set);

/// Logs and emits `agent.bundle.unknown_tool {agent_id, tool}` for every unknown tool, against
/// host.tools().list(). Returns them. Call from start(), after every plugin registered its tools.
std::vector<UnknownTool> report_unknown_tools(jarvis::Host& host, const BundleSet& set);

}  // namespace chat

// host/src/registry/tool_registry.h — agent tools and the deny-by-default policy engine.
//
// add(): the tool's `parameters` schema is checked (jarvis::check_json_schema); a bad one is
// refused with 400 `invalid_tool_schema` naming the tool and the schema path.
// invoke(): arguments deeper than kMaxJsonDepth → `json_too_deep`; unknown tool → deny; arguments
// not matching the schema → `invalid_args` (JSON Pointer path); restarting → deny; lockdown → deny
// protected tools; unauthenticated caller → deny; no (permission_principal(), tool) allow row in
// `tool_permissions` → deny; then plugin policies in registration order; any deny wins. Each
// decision (invalid_args included) is emitted as `policy.decision`. See decision 0017.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "jarvis/database.h"
#include "jarvis/tools.h"
#include "registry/owner.h"

namespace jarvis::host {

class EventBusImpl;

struct ToolEntry {
  Owner owner;
  jarvis::ToolSpec spec;
};

struct PolicyEntry {
  Owner owner;
  std::string name;
  jarvis::Policy policy;
};

/// Where the policy engine reads system state from (lockdown, restarting). Set by the host.
struct SystemFlags {
  std::function<bool()> lockdown = [] { return false; };
  std::function<bool()> restarting = [] { return false; };
};

class PolicyRegistryImpl {
 public:
  /// Throws jarvis::Error(409, "duplicate_policy").
  void add(Owner owner, std::string name, jarvis::Policy policy);
  std::vector<std::shared_ptr<const PolicyEntry>> all() const;
  void remove_owner(const std::string& owner_name);

 private:
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<const PolicyEntry>> items_;
};

class ToolRegistryImpl {
 public:
  ToolRegistryImpl(jarvis::Database* db, PolicyRegistryImpl& policies, EventBusImpl* events);
  /// Throws jarvis::Error(409, "duplicate_tool") naming both owners.
  void add(Owner owner, jarvis::ToolSpec spec);
  std::vector<jarvis::ToolInfo> list() const;
  /// The tool named `name`, or nullopt.
  std::optional<jarvis::ToolInfo> find(const std::string& name) const;
  /// Validated, policy-checked invocation; never throws.
  jarvis::ToolResult invoke(const jarvis::ToolCall& call) { return invoke(call, ""); }
  /// invoke() on behalf of someone outside the call (the admin of the invoke route, "cli"): their
  /// id is recorded as `requested_by` in the policy.decision event, so a call made `as` another
  /// principal stays attributable.
  jarvis::ToolResult invoke(const jarvis::ToolCall& call, const std::string& requested_by);
  void set_system_flags(SystemFlags flags) { flags_ = std::move(flags); }
  void remove_owner(const std::string& owner_name);
  /// The policy decision alone (no invocation).
  jarvis::PolicyDecision decide(const jarvis::ToolCall& call) const;
  /// jarvis::ToolRegistry::grant_agent_tools for plugin `owner` (PermissionStore::
  /// grant_agent_tools). Throws Error(503, "database_unavailable") without a database.
  void grant_agent_tools(const Owner& owner, const std::string& agent_id,
                         const std::vector<std::string>& tools);

 private:
  std::shared_ptr<const ToolEntry> entry(const std::string& name) const;
  void emit_decision(const jarvis::ToolCall& call, const jarvis::PolicyDecision& d,
                     const std::string& requested_by);

  jarvis::Database* db_;
  PolicyRegistryImpl& policies_;
  EventBusImpl* events_;
  SystemFlags flags_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const ToolEntry>> items_;
};

}  // namespace jarvis::host

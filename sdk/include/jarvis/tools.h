// jarvis/tools.h — agent tools and the policy engine (deny-by-default).
//
// A tool is a named function with a JSON-schema description, callable by an LLM agent. Every call
// goes through `ToolRegistry::invoke`: an unknown tool is denied, arguments that do not match the
// tool's `parameters` schema are refused (`invalid_args`, with a JSON Pointer to the offending
// value; see jarvis/json_schema.h for the supported keywords), then the policy engine decides:
// restart in progress, lockdown (for protected tools), a missing (principal, tool) permission or
// any plugin policy denies the call. Only then does the handler run.
//
//   host.tools().add({.name = "hello.greet", .description = "Greet a person", .handler = greet});
//   host.tools().grant_agent_tools("agent:hello", {"hello.greet"});   // SDK 1.1, in start()
//   jarvis::ToolResult r = host.tools().invoke({.caller = user, .agent_id = "agent:hello",
//                                               .tool = "hello.greet", .args = {{"name", "Ada"}}});
//   if (!r.allowed) reply("not allowed: " + r.reason);
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "jarvis/json.h"
#include "jarvis/json_schema.h"  // validate_json: the check invoke() applies to arguments
#include "jarvis/principal.h"
#include "jarvis/version.h"

namespace jarvis {

/// Context of one tool call (SDK 1.1: the caller is a Principal, plus the agent acting for it).
///
/// The (principal, tool) permission is checked against `permission_principal()`: the agent when
/// an agent calls, otherwise the caller's user id. `caller` always says whose data the call acts
/// on, so a tool scopes what it reads and changes with `call.caller.may_access(owner)` — an agent
/// holding a permission can use the tool for every user it serves, but only on that user's data.
/// A call whose caller is not authenticated is denied (`unauthenticated`).
struct ToolCall {
  /// The user the call is for (or made by, when no agent is involved); Principal::system() for
  /// host-internal work and the operator CLI.
  Principal caller;
  /// The agent making the call on `caller`'s behalf, e.g. "agent:main"; empty for a direct call.
  std::string agent_id;
  std::string tool;
  Json args = Json::object();  ///< validated against the tool's `parameters` before anything runs
  std::string thread_id;
  std::string trace_id;

  /// The key of the (principal, tool) permission: `agent_id` when set, else `caller.user_id`.
  const std::string& permission_principal() const {
    return agent_id.empty() ? caller.user_id : agent_id;
  }
};

/// Handler of a tool; returns its JSON result or throws jarvis::Error.
using ToolHandler = std::function<Json(const ToolCall&)>;

/// A tool a plugin provides.
struct ToolSpec {
  std::string name;         ///< e.g. "bugs.create"
  std::string description;  ///< shown to the LLM
  /// JSON Schema of the arguments, checked when the tool is added (a malformed schema or an
  /// unsupported keyword is refused with 400 `invalid_tool_schema`) and enforced on every call.
  Json parameters = Json{{"type", "object"}, {"properties", Json::object()}};
  bool is_protected = false;  ///< denied while the system is in lockdown
  ToolHandler handler;
};

/// Outcome of a policy check.
struct PolicyDecision {
  bool allowed = false;
  std::string reason;  ///< stable snake_case, e.g. "lockdown", "no_permission"
};

/// A policy a plugin contributes; consulted after the host's own checks, in registration order.
using Policy = std::function<PolicyDecision(const ToolCall&)>;

/// Result of ToolRegistry::invoke.
struct ToolResult {
  bool allowed = false;  ///< false when denied or refused before the policy (`invalid_args`)
  std::string reason;    ///< why it was denied ("invalid_args", "no_permission", …), or "allowed"
  bool ok = false;       ///< true when allowed and the handler returned
  Json result;  ///< handler result, or {"error":{code,message}} on failure ({code,message,path}
                ///< for invalid_args)
};

/// Summary of a registered tool (for LLM tool lists).
struct ToolInfo {
  std::string name;
  std::string description;
  Json parameters;
  bool is_protected = false;
  std::string owner;  ///< plugin that registered it
};

/// Tool registry: registration, listing and policy-checked invocation.
class JARVIS_API ToolRegistry {
 public:
  virtual ~ToolRegistry();
  /// Registers a tool. Throws Error(409, "duplicate_tool") on a duplicate name and
  /// Error(400, "invalid_tool_schema") naming the tool and the schema path on a bad schema.
  virtual void add(ToolSpec spec) = 0;
  virtual std::vector<ToolInfo> list() const = 0;
  /// Validates the arguments, checks policy and, when allowed, runs the tool. Never throws for a
  /// refused, denied or failing call.
  virtual ToolResult invoke(const ToolCall& call) = 0;

  // --- SDK 1.1 ---

  /// Grants agent `agent_id` (the principal a ToolCall's `agent_id` carries, "agent:<id>", e.g.
  /// "agent:main") the tools `tools` — declaratively, for your plugin: afterwards the host's
  /// permission table has an allow row granted by your plugin for each listed tool that nobody
  /// else decides, and your plugin's earlier rows for that agent whose tool is no longer listed
  /// are gone. Rows an administrator set (`jarvis permissions allow|deny`, PUT
  /// /api/v1/permissions/…) are never changed — an admin deny always wins over your grant, now and
  /// at every later call — and neither are rows another plugin granted. Listings show who granted
  /// each row (`granted_by`: "admin" or "plugin:<name>"). Tools need not be registered yet (a
  /// row for an unknown tool allows nothing until the tool exists). Call it from start() (one
  /// transaction; emits permission.changed / permission.removed for each row it changed).
  ///
  ///   host.tools().grant_agent_tools("agent:" + bundle.id, bundle.allowed_tools);
  ///
  /// Throws Error(403, "grant_forbidden") for a principal that is not "agent:<id>" (a plugin never
  /// grants users or the operator), Error(400, "invalid_field") for a malformed name (1-128
  /// printable ASCII characters, no spaces or '/'), Error(400, "too_many_tools") past 1000 tools,
  /// and the database's error (nothing changed then).
  virtual void grant_agent_tools(const std::string& agent_id,
                                 const std::vector<std::string>& tools) = 0;
};

/// Registry of plugin policies.
class JARVIS_API PolicyRegistry {
 public:
  virtual ~PolicyRegistry();
  /// Adds a policy named `name` (unique). Any deny wins.
  virtual void add(std::string name, Policy policy) = 0;
};

}  // namespace jarvis

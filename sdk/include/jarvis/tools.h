// jarvis/tools.h — agent tools and the policy engine (deny-by-default).
//
// A tool is a named function with a JSON-schema description, callable by an LLM agent. Every call
// goes through `ToolRegistry::invoke`, which asks the policy engine first: unknown tool, restart
// in progress, lockdown (for protected tools), a missing (principal, tool) permission or any
// plugin policy denies the call.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "jarvis/json.h"
#include "jarvis/version.h"

namespace jarvis {

/// Context of one tool call.
struct ToolCall {
  std::string principal;  ///< who calls: an agent id or a user id (the permission key)
  std::string tool;
  Json args = Json::object();
  std::string thread_id;
  std::string trace_id;
};

/// Handler of a tool; returns its JSON result or throws jarvis::Error.
using ToolHandler = std::function<Json(const ToolCall&)>;

/// A tool a plugin provides.
struct ToolSpec {
  std::string name;         ///< e.g. "bugs.create"
  std::string description;  ///< shown to the LLM
  Json parameters = Json{{"type", "object"}, {"properties", Json::object()}};  ///< JSON Schema
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
  bool allowed = false;
  std::string reason;  ///< why it was denied, or "allowed"
  bool ok = false;     ///< true when allowed and the handler returned
  Json result;         ///< handler result, or {"error":{code,message}} on failure
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
  /// Registers a tool. Throws Error(409, "duplicate_tool") on a duplicate name.
  virtual void add(ToolSpec spec) = 0;
  virtual std::vector<ToolInfo> list() const = 0;
  /// Checks policy and, when allowed, runs the tool. Never throws for a denied or failing call.
  virtual ToolResult invoke(const ToolCall& call) = 0;
};

/// Registry of plugin policies.
class JARVIS_API PolicyRegistry {
 public:
  virtual ~PolicyRegistry();
  /// Adds a policy named `name` (unique). Any deny wins.
  virtual void add(std::string name, Policy policy) = 0;
};

}  // namespace jarvis

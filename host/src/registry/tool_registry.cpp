// host/src/registry/tool_registry.cpp — tools, plugin policies and the deny-by-default engine.
#include "registry/tool_registry.h"

#include <spdlog/spdlog.h>

#include "auth/permissions.h"
#include "jarvis/error.h"
#include "jarvis/json_schema.h"
#include "registry/event_bus.h"

namespace jarvis::host {

void PolicyRegistryImpl::add(Owner owner, std::string name, jarvis::Policy policy) {
  if (name.empty() || !policy) {
    throw jarvis::Error(400, "invalid_policy", "a policy needs a name and a function");
  }
  std::lock_guard lock(mu_);
  for (const auto& p : items_) {
    if (p->name == name) {
      throw jarvis::Error(409, "duplicate_policy",
                          "policy '" + name + "' from '" + owner.name +
                              "' is already registered by '" + p->owner.name + "'");
    }
  }
  items_.push_back(std::make_shared<const PolicyEntry>(
      PolicyEntry{std::move(owner), std::move(name), std::move(policy)}));
}

std::vector<std::shared_ptr<const PolicyEntry>> PolicyRegistryImpl::all() const {
  std::lock_guard lock(mu_);
  return items_;
}

void PolicyRegistryImpl::remove_owner(const std::string& owner_name) {
  std::lock_guard lock(mu_);
  std::erase_if(items_, [&](const auto& p) { return p->owner.name == owner_name; });
}

ToolRegistryImpl::ToolRegistryImpl(jarvis::Database* db, PolicyRegistryImpl& policies,
                                   EventBusImpl* events)
    : db_(db), policies_(policies), events_(events) {}

void ToolRegistryImpl::add(Owner owner, jarvis::ToolSpec spec) {
  if (spec.name.empty() || !spec.handler) {
    throw jarvis::Error(400, "invalid_tool", "a tool needs a name and a handler");
  }
  if (!spec.parameters.is_object()) {
    throw jarvis::Error(400, "invalid_tool_schema",
                        "tool '" + spec.name + "': parameters must be a JSON schema object");
  }
  if (auto e = jarvis::check_json_schema(spec.parameters)) {
    throw jarvis::Error(400, "invalid_tool_schema",
                        "tool '" + spec.name + "' from '" + owner.name +
                            "': parameters schema at " + jarvis::to_string(*e));
  }
  std::lock_guard lock(mu_);
  auto it = items_.find(spec.name);
  if (it != items_.end()) {
    throw jarvis::Error(409, "duplicate_tool",
                        "tool '" + spec.name + "' from '" + owner.name +
                            "' is already registered by '" + it->second->owner.name + "'");
  }
  std::string name = spec.name;
  items_.emplace(name,
                 std::make_shared<const ToolEntry>(ToolEntry{std::move(owner), std::move(spec)}));
}

std::vector<jarvis::ToolInfo> ToolRegistryImpl::list() const {
  std::lock_guard lock(mu_);
  std::vector<jarvis::ToolInfo> out;
  for (const auto& [name, e] : items_) {
    out.push_back(
        {name, e->spec.description, e->spec.parameters, e->spec.is_protected, e->owner.name});
  }
  return out;
}

std::optional<jarvis::ToolInfo> ToolRegistryImpl::find(const std::string& name) const {
  auto e = entry(name);
  if (!e) return std::nullopt;
  return jarvis::ToolInfo{name, e->spec.description, e->spec.parameters, e->spec.is_protected,
                          e->owner.name};
}

void ToolRegistryImpl::remove_owner(const std::string& owner_name) {
  std::lock_guard lock(mu_);
  std::erase_if(items_, [&](const auto& kv) { return kv.second->owner.name == owner_name; });
}

std::shared_ptr<const ToolEntry> ToolRegistryImpl::entry(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = items_.find(name);
  return it == items_.end() ? nullptr : it->second;
}

void ToolRegistryImpl::grant_agent_tools(const Owner& owner, const std::string& agent_id,
                                         const std::vector<std::string>& tools) {
  if (!db_) {
    throw jarvis::Error(503, "database_unavailable", "tool grants need the host database");
  }
  PermissionStore(*db_, events_).grant_agent_tools(owner.name, agent_id, tools);
}

jarvis::PolicyDecision ToolRegistryImpl::decide(const jarvis::ToolCall& call) const {
  auto e = entry(call.tool);
  if (!e) return {false, "unknown_tool"};
  if (flags_.restarting()) return {false, "restarting"};
  if (e->spec.is_protected && flags_.lockdown()) return {false, "lockdown"};
  // Every call is for someone: an anonymous caller has no permissions, even through an agent.
  if (!call.caller.authenticated || call.caller.user_id.empty()) return {false, "unauthenticated"};
  if (!db_) return {false, "no_permission"};
  try {
    auto sql = db_->session();
    int n = 0;
    std::string principal = call.permission_principal();
    *sql << "SELECT COUNT(*) FROM tool_permissions WHERE principal = :p AND tool = :t AND effect = "
            "'allow'",
        soci::use(principal), soci::use(call.tool), soci::into(n);
    if (n == 0) return {false, "no_permission"};
  } catch (const std::exception& e) {
    spdlog::error("policy: permission lookup failed: {}", e.what());
    return {false, "permission_lookup_failed"};
  }
  for (const auto& p : policies_.all()) {
    try {
      jarvis::PolicyDecision d = p->policy(call);
      if (!d.allowed) {
        if (d.reason.empty()) d.reason = "denied_by_" + p->name;
        return d;
      }
    } catch (const std::exception& e) {
      spdlog::error("policy '{}' of '{}' threw: {}", p->name, p->owner.name, e.what());
      return {false, "policy_error:" + p->name};
    } catch (...) {
      return {false, "policy_error:" + p->name};
    }
  }
  return {true, "allowed"};
}

void ToolRegistryImpl::emit_decision(const jarvis::ToolCall& call, const jarvis::PolicyDecision& d,
                                     const std::string& requested_by) {
  if (!events_) return;
  jarvis::Json payload = {{"tool", call.tool},
                          {"principal", call.permission_principal()},
                          {"allowed", d.allowed},
                          {"reason", d.reason}};
  if (!call.agent_id.empty()) payload["on_behalf_of"] = call.caller.user_id;
  if (!requested_by.empty()) payload["requested_by"] = requested_by;
  try {
    events_->emit(Owner{}, jarvis::Event{.type = "policy.decision",
                                         .payload = std::move(payload),
                                         .thread_id = call.thread_id,
                                         .trace_id = call.trace_id,
                                         .actor_type = "principal",
                                         .actor_id = call.permission_principal()});
  } catch (const std::exception& e) {
    spdlog::error("policy.decision event failed: {}", e.what());
  }
}

jarvis::ToolResult ToolRegistryImpl::invoke(const jarvis::ToolCall& call,
                                            const std::string& requested_by) {
  if (jarvis::json_depth(call.args) > jarvis::kMaxJsonDepth) {
    // Refused before policy, events and the handler: nothing downstream copies a deep value.
    jarvis::ToolResult deep;
    deep.reason = "json_too_deep";
    deep.result = {{"error",
                    {{"code", "json_too_deep"},
                     {"message", "tool arguments nest deeper than " +
                                     std::to_string(jarvis::kMaxJsonDepth) + " levels"}}}};
    return deep;
  }
  // Arguments are checked before the policy engine, so plugin policies (and the handler) only
  // ever see arguments of the declared shape.
  if (auto known = entry(call.tool)) {
    if (auto bad = jarvis::validate_json(known->spec.parameters, call.args)) {
      jarvis::ToolResult r;
      r.reason = "invalid_args";
      r.result = {{"error",
                   {{"code", "invalid_args"},
                    {"message",
                     "invalid arguments for tool '" + call.tool + "': " + jarvis::to_string(*bad)},
                    {"path", bad->path}}}};
      emit_decision(call, {false, "invalid_args"}, requested_by);
      return r;
    }
  }
  jarvis::PolicyDecision d = decide(call);
  emit_decision(call, d, requested_by);
  jarvis::ToolResult r;
  r.allowed = d.allowed;
  r.reason = d.reason;
  if (!d.allowed) {
    r.result = {{"error", {{"code", "tool_denied"}, {"message", d.reason}}}};
    return r;
  }
  auto entry = this->entry(call.tool);
  if (!entry) {
    r.allowed = false;
    r.reason = "unknown_tool";
    return r;
  }
  try {
    r.result = entry->spec.handler(call);
    r.ok = true;
  } catch (const jarvis::Error& e) {
    r.result = {{"error", {{"code", e.code()}, {"message", e.what()}}}};
  } catch (const std::exception& e) {
    std::string id = jarvis::new_id("err");
    spdlog::error("tool '{}' of '{}' threw ({}): {}", call.tool, entry->owner.name, id, e.what());
    r.result = {{"error", {{"code", "tool_failed"}, {"message", "tool failed; error id " + id}}}};
  } catch (...) {
    std::string id = jarvis::new_id("err");
    spdlog::error("tool '{}' of '{}' threw ({}): unknown exception", call.tool, entry->owner.name,
                  id);
    r.result = {{"error", {{"code", "tool_failed"}, {"message", "tool failed; error id " + id}}}};
  }
  return r;
}

}  // namespace jarvis::host

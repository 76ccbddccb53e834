// host/src/auth/permissions.h — the (principal, tool) table of the deny-by-default policy engine
// (`tool_permissions`, migrations/002_tool_permissions.sql): admin API and operator CLI.
//
// Only an `allow` row lets a call through ToolRegistryImpl::decide(). A `deny` row is an explicit,
// recorded refusal: since (principal, tool) is the key, it replaces any allow, and it documents the
// decision so that seeding code using INSERT … ON CONFLICT DO NOTHING never re-allows it.
//
// Who set a row is `granted_by` (migrations/031): "admin" for the API and CLI, "plugin:<name>" for
// the rows a plugin grants its agents (grant_agent_tools, SDK 1.1 ToolRegistry::grant_agent_tools).
// A plugin only adds rows that do not exist and only removes its own; an admin's put() takes any
// row over (so an admin deny always wins over a plugin grant, now and at every later grant).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "jarvis/database.h"

namespace jarvis::host {

class Router;
class CommandTable;
class EventBusImpl;

/// One row of tool_permissions. `created_at` is when the current effect was set.
struct PermissionRow {
  std::string principal;
  std::string tool;
  std::string effect;  ///< "allow" or "deny"
  std::string created_at;
  std::string granted_by = "admin";  ///< "admin" or "plugin:<name>"
};

/// What PermissionStore::grant_agent_tools changed.
struct AgentGrantOutcome {
  std::vector<std::string> added;    ///< allow rows inserted for this plugin
  std::vector<std::string> removed;  ///< this plugin's rows for tools it no longer lists
  /// Listed tools whose row someone else decides (an admin's allow or deny, another plugin's
  /// grant): left as they are.
  std::vector<std::string> not_granted;
};

/// Reads and writes tool_permissions. Thread-safe.
class PermissionStore {
 public:
  /// `events` may be null; otherwise changes emit `permission.changed` / `permission.removed`.
  PermissionStore(jarvis::Database& db, EventBusImpl* events);
  /// Rows filtered by exact principal and/or tool ("" = any), ordered by principal, tool.
  std::vector<PermissionRow> list(const std::string& principal = "", const std::string& tool = "");
  /// Sets the effect ("allow" or "deny") of (principal, tool); `actor` is who did it (audit).
  /// Throws 400 `invalid_field` naming principal, tool or effect.
  PermissionRow put(const std::string& principal, const std::string& tool,
                    const std::string& effect, const std::string& actor);
  /// Deletes the row; false when there was none.
  bool remove(const std::string& principal, const std::string& tool, const std::string& actor);

  /// Declarative agent grant of plugin `plugin`: afterwards `principal` ("agent:<id>") has allow
  /// rows granted by "plugin:<plugin>" for exactly the listed tools that no one else decides; the
  /// plugin's earlier rows for tools not listed are deleted; admin rows and other plugins' rows
  /// are never changed. One transaction; emits `permission.changed` / `permission.removed` (with
  /// `granted_by`) for each row it changed, after the commit. Throws 403 `grant_forbidden` for a
  /// principal that is not "agent:<id>", 400 `invalid_field` for a malformed name, 400
  /// `too_many_tools` beyond kMaxAgentGrantTools.
  AgentGrantOutcome grant_agent_tools(const std::string& plugin, const std::string& principal,
                                      const std::vector<std::string>& tools);

  /// Most tools one grant_agent_tools call may list.
  static constexpr std::size_t kMaxAgentGrantTools = 1000;

  /// Validates a principal or tool name: 1–128 printable ASCII characters, no spaces or '/'.
  static void check_name(const std::string& value, const std::string& field);

 private:
  jarvis::Database& db_;
  EventBusImpl* events_;
};

/// GET /api/v1/permissions[?principal=&tool=], PUT and DELETE
/// /api/v1/permissions/{principal}/{tool} (all admin), owner "host".
void register_permission_routes(Router& router, jarvis::Database& db, EventBusImpl* events);

/// `jarvis permissions list [--json] [--principal P] [--tool T] | allow P T | deny P T | remove P
/// T`.
void register_permission_commands(CommandTable& commands, jarvis::Database& db,
                                  EventBusImpl* events);

}  // namespace jarvis::host

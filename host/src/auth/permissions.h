// host/src/auth/permissions.h — the (principal, tool) table of the deny-by-default policy engine
// (`tool_permissions`, migrations/002_tool_permissions.sql): admin API and operator CLI.
//
// Only an `allow` row lets a call through ToolRegistryImpl::decide(). A `deny` row is an explicit,
// recorded refusal: since (principal, tool) is the key, it replaces any allow, and it documents the
// decision so that seeding code using INSERT … ON CONFLICT DO NOTHING never re-allows it.
#pragma once

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

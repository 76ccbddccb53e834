// host/src/auth/permissions.cpp — tool_permissions store, admin routes and CLI commands.
#include "auth/permissions.h"

#include <iomanip>
#include <map>
#include <memory>
#include <set>

#include <spdlog/spdlog.h>

#include "http/router.h"
#include "jarvis/commands.h"
#include "jarvis/error.h"
#include "jarvis/http.h"
#include "jarvis/list.h"
#include "registry/command_table.h"
#include "registry/event_bus.h"

namespace jarvis::host {
namespace {

jarvis::Json row_json(const PermissionRow& r) {
  return {{"principal", r.principal},
          {"tool", r.tool},
          {"effect", r.effect},
          {"created_at", r.created_at},
          {"granted_by", r.granted_by}};
}

void emit_change(EventBusImpl* events, const std::string& type, jarvis::Json payload,
                 const std::string& actor_type, const std::string& actor) {
  if (!events) return;
  try {
    events->emit(Owner{}, jarvis::Event{.type = type,
                                        .payload = std::move(payload),
                                        .actor_type = actor_type,
                                        .actor_id = actor,
                                        .component = "policy"});
  } catch (const std::exception& e) {
    spdlog::error("{} event failed: {}", type, e.what());
  }
}

}  // namespace

PermissionStore::PermissionStore(jarvis::Database& db, EventBusImpl* events)
    : db_(db), events_(events) {}

void PermissionStore::check_name(const std::string& value, const std::string& field) {
  if (value.empty() || value.size() > 128) {
    throw jarvis::Error(400, "invalid_field", "field '" + field + "': 1 to 128 characters");
  }
  for (unsigned char c : value) {
    if (c <= 0x20 || c >= 0x7f || c == '/') {
      throw jarvis::Error(400, "invalid_field",
                          "field '" + field + "': printable ASCII without spaces or '/'");
    }
  }
}

std::vector<PermissionRow> PermissionStore::list(const std::string& principal,
                                                 const std::string& tool) {
  auto sql = db_.session();
  PermissionRow r;
  std::string p = principal, t = tool;
  soci::statement st =
      (sql->prepare
           << "SELECT principal, tool, effect, created_at, granted_by FROM tool_permissions "
              "WHERE (:p1 = '' OR principal = :p2) AND (:t1 = '' OR tool = :t2) "
              "ORDER BY principal, tool",
       soci::use(p, "p1"), soci::use(p, "p2"), soci::use(t, "t1"), soci::use(t, "t2"),
       soci::into(r.principal), soci::into(r.tool), soci::into(r.effect), soci::into(r.created_at),
       soci::into(r.granted_by));
  st.execute(false);
  std::vector<PermissionRow> out;
  while (st.fetch()) out.push_back(r);
  return out;
}

PermissionRow PermissionStore::put(const std::string& principal, const std::string& tool,
                                   const std::string& effect, const std::string& actor) {
  check_name(principal, "principal");
  check_name(tool, "tool");
  if (effect != "allow" && effect != "deny") {
    throw jarvis::Error(400, "invalid_field", "field 'effect': must be \"allow\" or \"deny\"");
  }
  // An admin's write takes the row over, whoever granted it: a plugin never changes it again.
  PermissionRow r{principal, tool, effect, jarvis::now_iso(), "admin"};
  {
    auto sql = db_.session();
    *sql << "INSERT INTO tool_permissions(principal, tool, effect, created_at, granted_by) "
            "VALUES(:p, :t, :e, :c, :g) "
            "ON CONFLICT (principal, tool) DO UPDATE SET effect = excluded.effect, "
            "created_at = excluded.created_at, granted_by = excluded.granted_by",
        soci::use(r.principal), soci::use(r.tool), soci::use(r.effect), soci::use(r.created_at),
        soci::use(r.granted_by);
  }
  emit_change(
      events_, "permission.changed",
      {{"principal", principal}, {"tool", tool}, {"effect", effect}, {"granted_by", "admin"}},
      "user", actor);
  return r;
}

bool PermissionStore::remove(const std::string& principal, const std::string& tool,
                             const std::string& actor) {
  check_name(principal, "principal");
  check_name(tool, "tool");
  long long n = 0;
  {
    auto sql = db_.session();
    soci::statement st =
        (sql->prepare << "DELETE FROM tool_permissions WHERE principal = :p AND tool = :t",
         soci::use(principal), soci::use(tool));
    st.execute(true);
    n = st.get_affected_rows();
  }
  if (n > 0) {
    emit_change(events_, "permission.removed", {{"principal", principal}, {"tool", tool}}, "user",
                actor);
  }
  return n > 0;
}

AgentGrantOutcome PermissionStore::grant_agent_tools(const std::string& plugin,
                                                     const std::string& principal,
                                                     const std::vector<std::string>& tools) {
  check_name(principal, "principal");
  if (principal.rfind("agent:", 0) != 0 || principal.size() == 6) {
    throw jarvis::Error(403, "grant_forbidden",
                        "plugin '" + plugin +
                            "' may only grant tools to agents (\"agent:<id>\"), "
                            "not to '" +
                            principal + "'");
  }
  if (tools.size() > kMaxAgentGrantTools) {
    throw jarvis::Error(400, "too_many_tools",
                        "at most " + std::to_string(kMaxAgentGrantTools) +
                            " tools per agent grant (got " + std::to_string(tools.size()) + ")");
  }
  std::set<std::string> wanted;
  for (const auto& t : tools) {
    check_name(t, "tool");
    wanted.insert(t);
  }
  const std::string source = "plugin:" + plugin;
  AgentGrantOutcome out;
  {
    jarvis::DbTransaction tx = db_.transaction();
    soci::session& sql = tx->session();
    std::map<std::string, std::string> existing;  // tool -> granted_by
    {
      std::string tool, by;
      soci::statement st = (sql.prepare << "SELECT tool, granted_by FROM tool_permissions "
                                           "WHERE principal = :p",
                            soci::use(principal), soci::into(tool), soci::into(by));
      st.execute(false);
      while (st.fetch()) existing[tool] = by;
    }
    std::string now = jarvis::now_iso();
    for (const auto& t : wanted) {
      auto it = existing.find(t);
      if (it != existing.end()) {
        if (it->second != source) out.not_granted.push_back(t);
        continue;
      }
      // DO NOTHING: a row written meanwhile (an admin, another host) is never overwritten.
      soci::statement st =
          (sql.prepare << "INSERT INTO tool_permissions(principal, tool, effect, created_at, "
                          "granted_by) VALUES(:p, :t, 'allow', :c, :g) "
                          "ON CONFLICT (principal, tool) DO NOTHING",
           soci::use(principal), soci::use(t), soci::use(now), soci::use(source));
      st.execute(true);
      if (st.get_affected_rows() > 0) {
        out.added.push_back(t);
      } else {
        out.not_granted.push_back(t);
      }
    }
    for (const auto& [t, by] : existing) {
      if (by != source || wanted.count(t)) continue;
      soci::statement st = (sql.prepare << "DELETE FROM tool_permissions WHERE principal = :p "
                                           "AND tool = :t AND granted_by = :g",
                            soci::use(principal), soci::use(t), soci::use(source));
      st.execute(true);
      if (st.get_affected_rows() > 0) out.removed.push_back(t);
    }
    tx->commit();
  }
  for (const auto& t : out.added) {
    emit_change(
        events_, "permission.changed",
        {{"principal", principal}, {"tool", t}, {"effect", "allow"}, {"granted_by", source}},
        "plugin", plugin);
  }
  for (const auto& t : out.removed) {
    emit_change(events_, "permission.removed",
                {{"principal", principal}, {"tool", t}, {"granted_by", source}}, "plugin", plugin);
  }
  if (!out.added.empty() || !out.removed.empty()) {
    spdlog::info("plugin {} granted {}: +{} -{} tool(s)", plugin, principal, out.added.size(),
                 out.removed.size());
  }
  return out;
}

void register_permission_routes(Router& router, jarvis::Database& db, EventBusImpl* events) {
  auto store = std::make_shared<PermissionStore>(db, events);

  router.add(
      Owner{},
      jarvis::RouteSpec{.method = "GET",
                        .path = "/api/v1/permissions",
                        .auth = jarvis::Auth::Admin,
                        .summary = "Tool permissions of the policy engine: "
                                   "{items:[{principal, tool, effect, created_at, granted_by}]} "
                                   "(granted_by: admin or plugin:<name>)",
                        .handler = [store](jarvis::Request& req) {
                          std::string p = req.query_param("principal").value_or("");
                          std::string t = req.query_param("tool").value_or("");
                          if (!p.empty()) PermissionStore::check_name(p, "principal");
                          if (!t.empty()) PermissionStore::check_name(t, "tool");
                          jarvis::Json items = jarvis::Json::array();
                          for (const auto& r : store->list(p, t)) items.push_back(row_json(r));
                          return jarvis::Response::json(
                              200, jarvis::list_slice(items, jarvis::page_request(req, 200, 1000)));
                        }});

  router.add(
      Owner{},
      jarvis::RouteSpec{
          .method = "PUT",
          .path = "/api/v1/permissions/{principal}/{tool}",
          .auth = jarvis::Auth::Admin,
          .summary = "Sets a tool permission; body {\"effect\":\"allow\"|\"deny\"} (default allow)",
          .handler =
              [store](jarvis::Request& req) {
                std::string effect = "allow";
                if (req.body.find_first_not_of(" \t\r\n") != std::string::npos) {
                  jarvis::Json body = req.json_body();
                  auto it = body.find("effect");
                  if (it != body.end() && !it->is_null()) {
                    if (!it->is_string())
                      throw jarvis::Error(400, "invalid_field", "field 'effect': must be a string");
                    effect = it->get<std::string>();
                  }
                }
                auto row = store->put(req.path_param("principal"), req.path_param("tool"), effect,
                                      req.principal.user_id);
                return jarvis::Response::json(200, row_json(row));
              },
          .max_body_bytes = 4096});

  router.add(Owner{},
             jarvis::RouteSpec{
                 .method = "DELETE",
                 .path = "/api/v1/permissions/{principal}/{tool}",
                 .auth = jarvis::Auth::Admin,
                 .summary = "Removes a tool permission (the tool is then denied to that principal)",
                 .handler = [store](jarvis::Request& req) {
                   if (!store->remove(req.path_param("principal"), req.path_param("tool"),
                                      req.principal.user_id)) {
                     throw jarvis::Error(404, "permission_not_found",
                                         "no permission for that principal and tool");
                   }
                   return jarvis::Response::no_content();
                 }});
}

void register_permission_commands(CommandTable& commands, jarvis::Database& db,
                                  EventBusImpl* events) {
  auto store = std::make_shared<PermissionStore>(db, events);
  auto guarded = [](jarvis::CommandContext& c, const std::function<int()>& body) {
    try {
      return body();
    } catch (const jarvis::UsageError&) {
      throw;
    } catch (const jarvis::Error& e) {
      c.err << "error: " << e.what() << " (" << e.code() << ")\n";
      return 1;
    }
  };

  commands.add(Owner{},
               jarvis::CommandSpec{
                   "permissions", "list", "List tool permissions",
                   "jarvis permissions list [--json] [--principal P] [--tool T]",
                   [store, guarded](jarvis::CommandContext& c) {
                     auto a = jarvis::Args::parse(c.args, {"--json"}, {"--principal", "--tool"});
                     return guarded(c, [&] {
                       auto rows = store->list(a.option("--principal"), a.option("--tool"));
                       if (a.flag("--json")) {
                         jarvis::Json items = jarvis::Json::array();
                         for (const auto& r : rows) items.push_back(row_json(r));
                         c.out << jarvis::Json{{"items", items}}.dump() << "\n";
                         return 0;
                       }
                       c.out << std::left << std::setw(32) << "PRINCIPAL" << std::setw(32) << "TOOL"
                             << std::setw(8) << "EFFECT" << std::setw(20) << "GRANTED BY"
                             << "SINCE\n";
                       for (const auto& r : rows) {
                         c.out << std::setw(32) << r.principal << std::setw(32) << r.tool
                               << std::setw(8) << r.effect << std::setw(20) << r.granted_by
                               << r.created_at << "\n";
                       }
                       return 0;
                     });
                   }});

  for (const char* effect : {"allow", "deny"}) {
    std::string e = effect;
    commands.add(Owner{}, jarvis::CommandSpec{
                              "permissions", e,
                              e == "allow" ? "Allow a principal to call a tool"
                                           : "Record an explicit deny of a tool for a principal",
                              "jarvis permissions " + e + " PRINCIPAL TOOL",
                              [store, guarded, e](jarvis::CommandContext& c) {
                                auto a = jarvis::Args::parse(c.args, {}, {});
                                const std::string& p = a.positional(0, "PRINCIPAL");
                                const std::string& t = a.positional(1, "TOOL");
                                return guarded(c, [&] {
                                  auto row = store->put(p, t, e, "cli");
                                  c.out << row.effect << " " << row.principal << " " << row.tool
                                        << "\n";
                                  return 0;
                                });
                              }});
  }

  commands.add(Owner{},
               jarvis::CommandSpec{"permissions", "remove",
                                   "Delete a permission row (the tool is then denied by default)",
                                   "jarvis permissions remove PRINCIPAL TOOL",
                                   [store, guarded](jarvis::CommandContext& c) {
                                     auto a = jarvis::Args::parse(c.args, {}, {});
                                     const std::string& p = a.positional(0, "PRINCIPAL");
                                     const std::string& t = a.positional(1, "TOOL");
                                     return guarded(c, [&] {
                                       if (!store->remove(p, t, "cli")) {
                                         throw jarvis::Error(404, "permission_not_found",
                                                             "no permission for " + p + " / " + t);
                                       }
                                       c.out << "removed " << p << " " << t << "\n";
                                       return 0;
                                     });
                                   }});
}

}  // namespace jarvis::host

// host/src/registry/tool_routes.h — tools from outside: the admin routes `GET /api/v1/tools` and
// `POST /api/v1/tools/{name}/invoke`, and the operator commands `jarvis tools list|invoke`
// (tool_commands.cpp). Invocations go through ToolRegistryImpl::invoke like any call: argument
// validation, then the policy engine (decision 0017).
#pragma once

#include "jarvis/database.h"
#include "jarvis/json.h"
#include "jarvis/tools.h"

namespace jarvis::host {

class Router;
class CommandTable;
class ToolRegistryImpl;

/// {name, description, parameters, protected, owner}.
jarvis::Json tool_info_json(const jarvis::ToolInfo& info);
/// {tool, allowed, reason, ok, result} — the ToolResult shape both surfaces answer with.
jarvis::Json tool_result_json(const std::string& tool, const jarvis::ToolResult& r);

/// The two admin routes, owner "host".
void register_tool_routes(Router& router, ToolRegistryImpl& tools, jarvis::Database& db);
/// `jarvis tools list [--json]`, `jarvis tools invoke NAME [--args JSON] [--as PRINCIPAL]
/// [--on-behalf-of USER] [--json]` (exit 0 ok, 1 refused/denied/failed, 2 usage).
void register_tool_commands(CommandTable& commands, ToolRegistryImpl& tools, jarvis::Database& db);

/// Both of the above (the host's one wiring call).
inline void register_tool_api(Router& router, CommandTable& commands, ToolRegistryImpl& tools,
                              jarvis::Database& db) {
  register_tool_routes(router, tools, db);
  register_tool_commands(commands, tools, db);
}

}  // namespace jarvis::host

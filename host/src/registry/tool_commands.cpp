// host/src/registry/tool_commands.cpp — `jarvis tools list|invoke` (see tool_routes.h). The CLI
// runs as Principal::system(): `--as` picks another caller (a user, or an agent "agent:NAME",
// optionally `--on-behalf-of` a user) and the call is validated and policy-checked like any other.
#include <iomanip>

#include "jarvis/commands.h"
#include "jarvis/error.h"
#include "jarvis/list.h"
#include "registry/command_table.h"
#include "registry/tool_caller.h"
#include "registry/tool_registry.h"
#include "registry/tool_routes.h"

namespace jarvis::host {

void register_tool_commands(CommandTable& commands, ToolRegistryImpl& tools, jarvis::Database& db) {
  ToolRegistryImpl* t = &tools;
  jarvis::Database* d = &db;

  commands.add(
      Owner{},
      jarvis::CommandSpec{
          "tools", "list", "List registered tools", "jarvis tools list [--json]",
          [t](jarvis::CommandContext& c) {
            auto a = jarvis::Args::parse(c.args, {"--json"}, {});
            auto list = t->list();
            if (a.flag("--json")) {
              jarvis::Json items = jarvis::Json::array();
              for (const auto& info : list) items.push_back(tool_info_json(info));
              // The list envelope (decision 0020), everything on one page.
              c.out << jarvis::list_slice(items, {.limit = 1000000, .offset = 0}).dump(2) << "\n";
              return 0;
            }
            c.out << std::left << std::setw(32) << "NAME" << std::setw(16) << "OWNER"
                  << std::setw(11) << "PROTECTED"
                  << "DESCRIPTION\n";
            for (const auto& info : list) {
              c.out << std::setw(32) << info.name << std::setw(16) << info.owner << std::setw(11)
                    << (info.is_protected ? "yes" : "no") << info.description << "\n";
            }
            return 0;
          }});

  commands.add(
      Owner{},
      jarvis::CommandSpec{
          "tools", "invoke", "Invoke a tool through validation and the policy engine",
          "jarvis tools invoke NAME [--args JSON] [--as PRINCIPAL] [--on-behalf-of USER] [--json]\n"
          "  PRINCIPAL: a username or user id, \"system\" (the default) or an agent \"agent:NAME\"",
          [t, d](jarvis::CommandContext& c) {
            auto a = jarvis::Args::parse(c.args, {"--json"}, {"--args", "--as", "--on-behalf-of"});
            const std::string& name = a.positional(0, "NAME");
            if (a.positionals().size() > 1) {
              throw jarvis::UsageError("unexpected argument '" + a.positionals()[1] + "'");
            }
            jarvis::Json args = jarvis::Json::object();
            if (a.has_option("--args")) {
              auto parsed = jarvis::try_parse_json(a.option("--args"));
              if (!parsed) {
                throw jarvis::UsageError("--args must be JSON of at most " +
                                         std::to_string(jarvis::kMaxJsonDepth) +
                                         " levels, e.g. '{\"name\":\"Ada\"}'");
              }
              args = std::move(*parsed);
            }
            try {
              if (!t->find(name)) {
                throw jarvis::Error(404, "tool_not_found", "no tool named '" + name + "'");
              }
              ToolCaller who =
                  resolve_tool_caller(*d, jarvis::Principal::system(), a.option("--as"),
                                      a.option("--on-behalf-of"), "--as", "--on-behalf-of");
              jarvis::ToolResult r = t->invoke({.caller = who.caller,
                                                .agent_id = who.agent_id,
                                                .tool = name,
                                                .args = std::move(args)},
                                               "cli");
              if (a.flag("--json")) c.out << tool_result_json(name, r).dump(2) << "\n";
              if (r.ok) {
                if (!a.flag("--json")) c.out << r.result.dump(2) << "\n";
                return 0;
              }
              const jarvis::Json& e = r.result.contains("error") ? r.result["error"] : r.result;
              if (r.reason == "invalid_args") {
                c.err << "error: " << e.value("message", "invalid arguments")
                      << " (invalid_args)\n";
              } else if (!r.allowed) {
                c.err << "error: tool '" << name << "' denied: " << r.reason << " (tool_denied)\n";
              } else {
                c.err << "error: " << e.value("message", "tool failed") << " ("
                      << e.value("code", "tool_failed") << ")\n";
              }
              return 1;
            } catch (const jarvis::Error& e) {
              c.err << "error: " << e.what() << " (" << e.code() << ")\n";
              return 1;
            }
          }});
}

}  // namespace jarvis::host

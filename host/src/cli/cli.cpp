// host/src/cli/cli.cpp — `jarvis` argument dispatch, logging set-up and the host's commands:
// serve, migrate, doctor, plugins, config, routes, version; plugin commands via CommandTable.
#include "cli/cli.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

#include "cli/db_commands.h"
#include "cli/host_commands.h"
#include "cli/ops_commands.h"
#include "config/config.h"
#include "core/app.h"
#include "jarvis/commands.h"
#include "jarvis/error.h"
#include "plugins/plugin_manager.h"
#include "registry/command_table.h"

namespace fs = std::filesystem;

namespace jarvis::host {
namespace {

const char* kUsage =
    "usage: jarvis <command> [options]\n"
    "\n"
    "Host commands:\n"
    "  serve [--no-migrate]          apply pending migrations and serve HTTP on "
    "BIND_HOST:BIND_PORT\n"
    "  migrate [--status] [--json]   apply pending migrations (or show their status)\n"
    "  doctor [--json] [--fix] [--offline]  check config, database, migrations, plugins, port,\n"
    "                                data dirs and external dependencies (outage classes)\n"
    "  plugins list [--json] [--local]  every plugin and its state (a running server's view)\n"
    "  plugins info NAME [--json]    one plugin: manifest, config keys, state and reason\n"
    "  config show [--json]          effective configuration with each value's source\n"
    "  routes [--json|--markdown]    the route table (the API reference is generated from it)\n"
    "  version [--json]              host version, SDK version and ABI tag\n"
    "  db backup|restore|list        database snapshots (jarvis db --help)\n"
    "  secrets scan [PATH...] [--json]  credential scan of the tree (never prints a secret)\n"
    "\n"
    "Commands from the host's services and plugins: run `jarvis help` to list them.\n"
    "Configuration: defaults < jarvis.yaml < .env < environment. Exit codes: 0 ok, 1 failure, 2 "
    "usage.\n";

void setup_logging(const std::string& level, bool quiet) {
  auto logger = spdlog::stderr_color_mt("jarvis");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ [%n] %v");
  auto lvl = spdlog::level::from_str(level);
  // CLI commands keep stderr quiet unless asked; `serve` logs at LOG_LEVEL.
  if (quiet && lvl < spdlog::level::warn) lvl = spdlog::level::warn;
  spdlog::set_level(lvl);
}

int print_group_help(CommandTable& table, const std::string& group, std::ostream& out) {
  out << "usage: jarvis " << group << " <command> [options]\n\n";
  for (const auto& e : table.all()) {
    if (e->spec.group != group) continue;
    out << "  " << e->spec.usage << "\n      " << e->spec.summary << "\n";
  }
  return 0;
}

}  // namespace

int run_cli(int argc, char** argv, char** envp) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? std::cerr : std::cout) << kUsage;
    return args.empty() ? 2 : 0;
  }
  const std::string cmd = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());

  std::string cwd = fs::current_path().string();
  const char* yaml_env = std::getenv("JARVIS_CONFIG_FILE");
  std::string yaml_path = yaml_env ? yaml_env : cwd + "/jarvis.yaml";

  if (cmd == "version") return cmd_version(rest, std::cout);
  if (cmd == "secrets") {  // needs no configuration: it must run even when .env is broken
    ConfigStore none;
    CliContext sctx{none, cwd, std::cout, std::cerr, std::cin};
    try {
      return cmd_secrets(sctx, rest);
    } catch (const jarvis::UsageError& e) {
      std::cerr << "jarvis secrets: " << e.what() << "\n";
      return 2;
    }
  }

  ConfigStore store;
  try {
    store = ConfigStore::load(yaml_path, cwd + "/.env", envp);
  } catch (const std::exception& e) {
    std::cerr << "jarvis: invalid configuration: " << e.what() << "\n";
    if (cmd == "doctor" && std::find(rest.begin(), rest.end(), "--json") != rest.end()) {
      // doctor --json: stdout is one JSON document whatever fails, a broken .env too.
      const jarvis::Json doc = {
          {"ok", false},
          {"checks",
           jarvis::Json::array({{{"name", "config_load"},
                                 {"passed", false},
                                 {"message", std::string("invalid configuration: ") + e.what()},
                                 {"fix_hint", "fix the line named in .env or jarvis.yaml"}}})},
          {"fixed", jarvis::Json::array()}};
      std::cout << doc.dump(2, ' ', false, jarvis::Json::error_handler_t::replace) << "\n";
    }
    return 1;
  }
  setup_logging(store.get_or("LOG_LEVEL", "info"), cmd != "serve");

  CliContext ctx{store, cwd, std::cout, std::cerr, std::cin};
  try {
    if (cmd == "serve") return cmd_serve(ctx, rest);
    if (cmd == "migrate") return cmd_migrate(ctx, rest);
    if (cmd == "doctor") return cmd_doctor(ctx, rest);
    if (cmd == "plugins") return cmd_plugins(ctx, rest);
    if (cmd == "config") return cmd_config(ctx, rest);
    if (cmd == "routes") return cmd_routes(ctx, rest);
    // Before any Application: a restore must not open the database it replaces.
    if (cmd == "db") return cmd_db(ctx, rest);

    // Registered commands (host services and plugins): jarvis <group> <name> [args…]
    Application app(store, cwd);
    app.init(AppMode::Command);
    CommandTable& table = app.commands();
    if (cmd == "help") {
      std::cout << kUsage << "\nRegistered commands:\n";
      for (const auto& e : table.all()) {
        std::cout << "  " << e->spec.usage << "\n      " << e->spec.summary << "  ["
                  << e->owner.name << "]\n";
      }
      return 0;
    }
    if (!table.has_group(cmd)) {
      // A plugin that failed to set up registered nothing: say so instead of "unknown command".
      if (auto info = app.plugins().info(cmd);
          info && (info->state == PluginState::Failed || info->state == PluginState::Refused ||
                   info->state == PluginState::Disabled)) {
        std::cerr << "jarvis: plugin '" << cmd << "' is " << to_string(info->state) << " ("
                  << info->reason_code << "), so its commands are unavailable: " << info->reason
                  << "\n";
        // Disabled is the operator's choice (the command does not exist here: usage, 2); a
        // refused or failed plugin is a failure (1).
        return info->state == PluginState::Disabled ? 2 : 1;
      }
      std::cerr << "jarvis: unknown command '" << cmd << "' (see jarvis --help)\n";
      return 2;
    }
    // A nameless command is the whole group (`jarvis ask MESSAGE…`): every argument is its own.
    auto entry = table.find(cmd, "");
    std::string label = cmd;
    std::vector<std::string> sub = rest;
    if (!entry) {
      if (rest.empty() || rest[0] == "--help" || rest[0] == "-h") {
        print_group_help(table, cmd, rest.empty() ? std::cerr : std::cout);
        return rest.empty() ? 2 : 0;
      }
      entry = table.find(cmd, rest[0]);
      if (!entry) {
        std::cerr << "jarvis: unknown command '" << cmd << " " << rest[0] << "'\n";
        print_group_help(table, cmd, std::cerr);
        return 2;
      }
      label += " " + rest[0];
      sub.erase(sub.begin());
    }
    if (!sub.empty() && (sub[0] == "--help" || sub[0] == "-h")) {
      std::cout << "usage: " << entry->spec.usage << "\n" << entry->spec.summary << "\n";
      return 0;
    }
    CommandContext cc{sub, std::cout, std::cerr, std::cin};
    try {
      return entry->spec.handler(cc);
    } catch (const jarvis::UsageError& e) {
      std::cerr << "jarvis " << label << ": " << e.what() << "\nusage: " << entry->spec.usage
                << "\n";
      return 2;
    } catch (const jarvis::Error& e) {
      std::cerr << "jarvis " << label << ": " << e.what() << " (" << e.code() << ")\n";
      return 1;
    } catch (const std::exception& e) {
      std::cerr << "jarvis " << label << " failed [" << entry->owner.name << "]: " << e.what()
                << "\n";
      return 1;
    }
  } catch (const jarvis::UsageError& e) {
    std::cerr << "jarvis " << cmd << ": " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "jarvis " << cmd << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace jarvis::host

// host/src/cli/host_commands.h — the host's built-in CLI commands.
#pragma once

#include <iostream>
#include <string>
#include <vector>

#include "config/config.h"

namespace jarvis::host {

/// What every host command receives.
struct CliContext {
  const ConfigStore& store;
  std::string cwd;
  std::ostream& out;
  std::ostream& err;
  std::istream& in;
};

int cmd_version(const std::vector<std::string>& args, std::ostream& out);
int cmd_serve(CliContext& ctx, const std::vector<std::string>& args);
int cmd_migrate(CliContext& ctx, const std::vector<std::string>& args);
int cmd_doctor(CliContext& ctx, const std::vector<std::string>& args);
int cmd_plugins(CliContext& ctx, const std::vector<std::string>& args);
int cmd_config(CliContext& ctx, const std::vector<std::string>& args);
int cmd_routes(CliContext& ctx, const std::vector<std::string>& args);

}  // namespace jarvis::host

// host/src/cli/ops_commands.h — operator commands: `jarvis secrets scan` (decision 0059) and the
// dependency checks `jarvis doctor` adds to its report (decision 0060).
//
//   if (cmd == "secrets") return cmd_secrets(ctx, rest);        // cli.cpp
//   for (auto& c : dependency_checks(ctx.store, 3000)) { … }    // host_commands.cpp, cmd_doctor
#pragma once

#include <string>
#include <vector>

#include "cli/host_commands.h"
#include "jarvis/json.h"

namespace jarvis::host {

/// `jarvis secrets scan [PATH…] [--allow FILE] [--json]`: 0 clean, 1 findings, 2 usage or a bad
/// allow-list. Findings are printed as path:line:kind fingerprint=HEX — never the secret.
int cmd_secrets(CliContext& ctx, const std::vector<std::string>& args);

/// One probed external dependency, as a doctor check.
struct DependencyCheck {
  std::string name;  ///< "dependency:<name>"
  bool passed = false;
  std::string message;   ///< redacted URL and the outcome
  std::string fix_hint;  ///< what to look at for this outage class
  /// {dependency, plugin, env, url, outage_class (null when passed), http_status, os_errno}
  jarvis::Json detail;
};

/// Probes every configured dependency (ops::configured_dependencies) in parallel, each bounded by
/// `timeout_ms`.
std::vector<DependencyCheck> dependency_checks(const ConfigStore& store, long timeout_ms);

}  // namespace jarvis::host

// host/src/cli/cli.h — the `jarvis` command line: serve, migrate, doctor, plugins, config,
// version and plugin-contributed commands. Exit codes: 0 ok, 1 failure, 2 usage.
#pragma once

namespace jarvis::host {

/// Runs the CLI; returns the process exit code.
int run_cli(int argc, char** argv, char** envp);

}  // namespace jarvis::host

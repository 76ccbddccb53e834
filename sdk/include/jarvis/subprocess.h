// jarvis/subprocess.h — run a command with a timeout that kills its whole process group, with
// bounded output capture.
//
//   ProcessResult r = run_process({.argv = {"bash", "-lc", cmd}, .cwd = dir, .timeout_ms = 60000});
//   if (r.timed_out) { /* r.exit_code == 124 */ }
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "jarvis/version.h"

namespace jarvis {

/// How to run a process.
struct ProcessOptions {
  std::vector<std::string> argv;  ///< argv[0] is looked up in PATH
  std::string cwd;                ///< empty = current directory
  long long timeout_ms = 60000;   ///< then SIGTERM to the group, SIGKILL after a grace period
  std::size_t max_output_bytes = 64 * 1024;  ///< per stream; the rest is read and discarded
  std::string stdin_data;
  std::map<std::string, std::string> extra_env;  ///< added to the inherited environment
};

/// Outcome of a process run.
struct ProcessResult {
  int exit_code = -1;  ///< 124 on timeout; 128+N when killed by signal N; 127 if not found
  bool timed_out = false;
  std::string stdout_text;  ///< at most max_output_bytes
  std::string stderr_text;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  long long duration_ms = 0;
};

/// Runs the process in its own process group and waits for it. Thread-safe.
/// Throws std::invalid_argument when argv is empty.
JARVIS_API ProcessResult run_process(const ProcessOptions& options);

}  // namespace jarvis

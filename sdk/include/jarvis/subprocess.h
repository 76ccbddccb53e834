// jarvis/subprocess.h — run a command with a timeout and a cancellation token that kill its whole
// process group, with bounded output capture, an allow-listed environment and an optional log file.
//
//   ProcessResult r = run_process({.argv = {"bash", "-lc", cmd}, .cwd = dir, .timeout_ms = 60000});
//   if (r.timed_out) { /* r.exit_code == 124 */ }
//
// A build step of a task (SDK 1.1): the child sees only PATH, HOME, … plus what is listed — never
// the host's API keys — stops when the task is asked to stop, and logs everything to a file while
// the result keeps the last 64 KiB:
//
//   ProcessOptions o{.argv = {"make", "test"}, .cwd = repo, .timeout_ms = 1800000};
//   o.inherit_env.push_back("CC");                       // copy one more host variable
//   o.extra_env = {{"CI", "1"}};                         // set explicitly
//   o.cancel = jarvis::CancelToken::when(ctx.should_stop);
//   o.output_file = log_dir + "/build.log";
//   ProcessResult r = run_process(o);                    // r.cancelled / r.timed_out / exit_code
//
// The child's environment is built from nothing: the host variables named in `inherit_env`
// (default default_inherited_env(): PATH HOME USER LOGNAME SHELL LANG LANGUAGE LC_* TZ TMPDIR
// TERM), then `extra_env` on top. A pattern ending in `*` copies every variable with that prefix
// except names that look like secrets (see looks_like_secret_env); a name listed exactly is copied
// as asked.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "jarvis/cancel.h"
#include "jarvis/version.h"

namespace jarvis {

/// The host variables a child inherits by default (SDK 1.1): PATH, HOME, USER, LOGNAME, SHELL,
/// LANG, LANGUAGE, LC_*, TZ, TMPDIR, TERM. Copy and extend it to pass more.
JARVIS_API std::vector<std::string> default_inherited_env();

/// True for variable names that look like secrets and are never copied by a `*` pattern of
/// ProcessOptions::inherit_env, case-insensitively: names containing KEY, TOKEN, SECRET, PASS
/// (PASSWORD, PASSWD), CREDENTIAL, AUTH, COOKIE, SESSION, PRIVATE or SIGNATURE; names ending in
/// _URL or _DSN (connection strings embed credentials, e.g. DATABASE_URL); and APP_DB.
JARVIS_API bool looks_like_secret_env(std::string_view name);

/// How to run a process.
struct ProcessOptions {
  std::vector<std::string> argv;  ///< argv[0] is looked up in the host's PATH
  std::string cwd;                ///< empty = current directory
  long long timeout_ms = 60000;   ///< then SIGTERM to the group, SIGKILL after a grace period
  /// Per stream: without `output_file` the first bytes are kept, with it the last bytes; the rest
  /// is read (and written to the file) and dropped from memory.
  std::size_t max_output_bytes = 64 * 1024;
  std::string stdin_data;  ///< written to the child's stdin, which is then closed
  /// Variables set in the child, on top of (and overriding) the inherited ones.
  std::map<std::string, std::string> extra_env;
  /// Names of host variables copied into the child (SDK 1.1; before, the whole environment was
  /// inherited). An entry ending in `*` is a prefix pattern that skips looks_like_secret_env()
  /// names; `{"*"}` is "everything but secrets". Empty: the child gets only `extra_env`.
  std::vector<std::string> inherit_env = default_inherited_env();
  /// Stops the process when cancelled (SDK 1.1), polled at least every 100 ms: SIGTERM to the
  /// whole process group, SIGKILL after the grace period, like the timeout. The result then has
  /// `cancelled` set and exit code 130.
  CancelToken cancel;
  /// If set, stdout and stderr are appended to this file as they arrive, without a size limit
  /// (created with mode 0600 if missing), and the result keeps only the last max_output_bytes of
  /// each stream (SDK 1.1). A relative path is relative to the host's working directory, not to
  /// `cwd`. A file that cannot be opened throws std::system_error before the process starts.
  std::string output_file;
};

/// Outcome of a process run.
struct ProcessResult {
  /// The child's exit status; 124 on timeout, 130 when cancelled, 128+N when killed by signal N,
  /// 127 if the program or working directory was not found, 126 if it could not be used.
  int exit_code = -1;
  bool timed_out = false;   ///< the timeout killed the process group
  bool cancelled = false;   ///< the cancel token killed the process group (SDK 1.1)
  std::string stdout_text;  ///< at most max_output_bytes (the head, or the tail with output_file)
  std::string stderr_text;  ///< same bound as stdout_text
  bool stdout_truncated = false;  ///< bytes of stdout were dropped from stdout_text
  bool stderr_truncated = false;  ///< bytes of stderr were dropped from stderr_text
  long long duration_ms = 0;      ///< wall time of the call
  /// Why writing `output_file` failed during the run (e.g. disk full), "" when it did not; the
  /// process keeps running and its output is still captured in memory.
  std::string output_file_error;
};

/// Runs the process in its own process group and waits for it. Thread-safe.
/// Throws std::invalid_argument when argv is empty, std::system_error when `output_file` cannot
/// be opened.
JARVIS_API ProcessResult run_process(const ProcessOptions& options);

}  // namespace jarvis

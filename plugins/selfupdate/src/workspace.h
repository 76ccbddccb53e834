// selfupdate/src/workspace.h — the subprocess side of the pipeline: git in the repository and in
// a patch's worktree, and the operator's build/test/install commands. Everything runs through
// jarvis::run_process with an argv (never a shell string), the allow-listed environment, a
// timeout and the stage's cancellation token; command output goes to the patch's log file.
//
//   Workspace ws({.repo_dir = repo, .timeout = 2min});
//   std::string head = ws.head();
//   ws.add_worktree(files.worktree(), head);
//   CommandRun r = run_command(split_command_line("sh build.sh"), wt, 10min, log, cancel);
#pragma once

#include <chrono>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "jarvis/cancel.h"
#include "jarvis/json.h"
#include "jarvis/subprocess.h"
#include "sandbox.h"

namespace selfupdate {

/// A stage step that failed; `code` is the stable reason recorded with the state.
class StageFailure : public std::runtime_error {
 public:
  StageFailure(std::string code, const std::string& message)
      : std::runtime_error(message), code_(std::move(code)) {}
  /// The stable reason code, e.g. patch_conflict, build_failed.
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

/// Splits an operator's command line into argv: blanks separate words, '…' quotes literally,
/// "…" quotes with \" and \\ escapes, a backslash outside quotes escapes the next byte. Throws
/// std::invalid_argument on an unclosed quote or an empty line.
std::vector<std::string> split_command_line(const std::string& line);

/// The outcome of one logged command.
struct CommandRun {
  std::vector<std::string> argv;
  int exit_code = -1;
  bool timed_out = false;
  bool cancelled = false;
  long long duration_ms = 0;
  /// {argv, exit_code, timed_out, cancelled, duration_ms} for artifact.json.
  jarvis::Json to_json() const;
  bool ok() const { return exit_code == 0 && !timed_out && !cancelled; }
};

/// The size a patch's log is cut back to after each command (head and tail kept).
inline constexpr std::size_t kLogCapBytes = 8u << 20;

/// Runs `argv` in `cwd` with the default allow-listed environment plus CI=1, appending a header
/// line and all output to `log_file`. Afterwards a log larger than `log_cap` keeps its first and
/// last `log_cap`/2 bytes around a "# … N bytes truncated …" line. With `box` (and `place`,
/// whose cwd is `cwd`) the command runs inside the sandbox (sandbox.h); the log shows `argv` and
/// the mode.
CommandRun run_command(const std::vector<std::string>& argv, const std::string& cwd,
                       std::chrono::milliseconds timeout, const std::string& log_file,
                       const jarvis::CancelToken& cancel, std::size_t log_cap = kLogCapBytes,
                       const Sandbox* box = nullptr, const SandboxPlace* place = nullptr);

/// Paths of the baseline tree git records as symlinks (120000) and submodules (160000).
struct TreeSpecials {
  std::set<std::string> symlinks;
  std::set<std::string> submodules;
};

/// git operations on the live repository (read-only there) and on worktrees.
class Workspace {
 public:
  /// How git runs.
  struct Options {
    std::string repo_dir;  ///< absolute
    std::chrono::milliseconds timeout{120000};
    jarvis::CancelToken cancel;
  };
  explicit Workspace(Options o) : o_(std::move(o)) {}

  /// Runs `git -C dir args…` (hooks disabled, no prompts); the result as is.
  jarvis::ProcessResult git(const std::string& dir, std::vector<std::string> args,
                            const std::string& log_file = "") const;
  /// The live repository's HEAD commit. StageFailure repo_unavailable when it is not a git
  /// repository.
  std::string head() const;
  /// True when `sha` names a commit of the repository.
  bool has_commit(const std::string& sha) const;
  /// The symlinks and submodules of `commit`'s tree.
  TreeSpecials specials(const std::string& commit) const;
  /// A fresh detached worktree of `commit` at `path` (any old one there is removed first).
  void add_worktree(const std::string& path, const std::string& commit) const;
  /// Removes the worktree at `path` (if any) and prunes git's record of it.
  void remove_worktree(const std::string& path) const;
  /// True when `path` is a worktree of the repository whose HEAD is `commit` or a descendant.
  bool worktree_ok(const std::string& path) const;

 private:
  Options o_;
};

}  // namespace selfupdate

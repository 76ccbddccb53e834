// selfupdate/src/sandbox.h — the confinement of the operator's build, test and install commands,
// which run code a patch proposed (decision 0077). With SELFUPDATE_SANDBOX=bwrap (the default)
// every command runs under bubblewrap:
//
//   - only an allow-list of the host's files, read-only (decision 0097): /usr and its merged
//     links, a few files of /etc (loader, users, name services, time, TLS roots, alternatives),
//     SELFUPDATE_SANDBOX_READ; nothing else exists inside (no /root, /home, /srv, /opt, /var, the
//     live tree). The root's capabilities dropped;
//   - the worktree writable, and the release's .partial folder for an install command;
//   - the live tree's dependency folders (SELFUPDATE_SANDBOX_DEPS, default node_modules)
//     read-only at the same place in the worktree, so the offline test step finds them;
//   - the shared repository's .git read-only (git metadata of the worktree included: no
//     `git add`, no .git/config hook);
//   - a private /tmp, an empty /run (no host Unix sockets: PostgreSQL, systemd), and empty
//     folders over the host user's HOME, the host's working directory (.env, var/: the
//     database, the unlock code) and SELFUPDATE_SANDBOX_HIDE;
//   - new namespaces: no network (--unshare-net), its own pid space (--unshare-pid: the host's
//     /proc/<pid>/environ is not there), ipc, uts, cgroup; --die-with-parent, --new-session;
//   - --clearenv, then only the allow-listed variables (PATH HOME USER … LC_* TZ TERM, CI=1,
//     TMPDIR=/tmp).
//
// SELFUPDATE_SANDBOX=none runs the commands as the host user, unconfined: an explicit operator
// choice, logged as a warning at every stage. A missing or broken bwrap refuses the stage
// (reason `sandbox_unavailable`) — never a silent fallback.
//
//   Sandbox box({.mode = SandboxMode::Bwrap, .hide = {"/etc/jarvis"}});
//   if (std::string why = box.probe(); !why.empty()) throw StageFailure("sandbox_unavailable",
//   why); std::vector<std::string> argv = box.wrap({"sh", "build.sh"},
//       {.cwd = worktree, .git_dir = repo + "/.git", .writable = {}});
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace selfupdate {

/// SELFUPDATE_SANDBOX.
enum class SandboxMode { Bwrap, None };

/// Parses "bwrap" / "none"; throws std::invalid_argument otherwise.
SandboxMode parse_sandbox_mode(const std::string& text);

/// Where one command runs.
struct SandboxPlace {
  std::string cwd;                    ///< the worktree (absolute), writable
  std::string git_dir;                ///< the shared repository's .git (absolute), read-only
  std::vector<std::string> writable;  ///< more writable folders (absolute), e.g. {prefix}
  /// Read-only binds into the worktree: {live folder, its place in the worktree} (absolute).
  std::vector<std::pair<std::string, std::string>> read_only_into;
};

/// How commands are confined (see the file comment).
class Sandbox {
 public:
  /// The configuration.
  struct Options {
    SandboxMode mode = SandboxMode::Bwrap;
    std::string bwrap = "bwrap";         ///< the program (looked up in PATH)
    std::vector<std::string> hide;       ///< SELFUPDATE_SANDBOX_HIDE (absolute paths)
    std::vector<std::string> read_only;  ///< SELFUPDATE_SANDBOX_READ (absolute paths)
    std::string host_cwd;                ///< the host's working directory (hidden); "" = current
  };
  explicit Sandbox(Options o);

  /// The mode.
  SandboxMode mode() const { return o_.mode; }
  /// "" when the sandbox can run (mode none, or bwrap that starts a confined `true`), else why it
  /// cannot — the text of the `sandbox_unavailable` refusal.
  std::string probe() const;
  /// `argv` wrapped for the sandbox (mode none: `argv` itself).
  std::vector<std::string> wrap(const std::vector<std::string>& argv,
                                const SandboxPlace& place) const;
  /// The environment inside the sandbox: the allow-listed host variables, CI=1, TMPDIR=/tmp.
  static std::vector<std::pair<std::string, std::string>> inner_env();

 private:
  std::vector<std::string> hidden_paths() const;
  /// The read-only system allow-list, /dev, /proc and the private /tmp and /run (bwrap options).
  std::vector<std::string> system_binds() const;
  /// SELFUPDATE_SANDBOX_READ as bwrap options (bound after /tmp and the hidden folders).
  std::vector<std::string> read_only_binds() const;
  Options o_;
};

}  // namespace selfupdate

// selfupdate/src/apply_guards.cpp — what surrounds the operator's commands and the switch: the
// sandbox they run in (decision 0077), the check that the host's restart will run the switched
// release (0078) and the pruning of old releases when a patch ends (0079).
#include <filesystem>
#include <fstream>
#include <set>

#include "installs.h"
#include "pipeline.h"
#include "workspace.h"

namespace selfupdate {
namespace fs = std::filesystem;

std::string invoked_executable_path() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string argv0;
  if (!in || !std::getline(in, argv0, '\0') || argv0.find('/') == std::string::npos) return "";
  std::error_code ec;
  return fs::absolute(argv0, ec).lexically_normal().string();
}

Sandbox Pipeline::sandbox() const {
  return Sandbox({.mode = parse_sandbox_mode(s_.sandbox),
                  .bwrap = s_.sandbox_program,
                  .hide = s_.sandbox_hide,
                  .read_only = s_.sandbox_read});
}

SandboxPlace Pipeline::sandbox_place(const std::string& worktree, std::vector<std::string> writable,
                                     const jarvis::CancelToken& cancel) const {
  Workspace ws({.repo_dir = s_.repo_dir, .timeout = s_.git_timeout, .cancel = cancel});
  auto r = ws.git(s_.repo_dir, {"rev-parse", "--path-format=absolute", "--git-common-dir"});
  std::string git_dir = r.stdout_text;
  while (!git_dir.empty() && (git_dir.back() == '\n' || git_dir.back() == '\r')) git_dir.pop_back();
  if (r.exit_code != 0 || git_dir.empty() || git_dir[0] != '/') {
    throw StageFailure("repo_unavailable", "cannot find the repository's .git for the sandbox");
  }
  SandboxPlace place{.cwd = worktree, .git_dir = git_dir, .writable = std::move(writable)};
  // The live tree's dependency folders, read-only at their place in the worktree (decision
  // 0097: the default test step, whose node_deps fixture finds node_modules current, runs
  // without the network the sandbox removes). Symlinks are not followed out of the tree.
  std::error_code ec;
  const fs::path live = fs::absolute(s_.repo_dir, ec).lexically_normal();
  for (const std::string& d : s_.sandbox_deps) {
    const fs::path from = live / d;
    if (fs::is_symlink(fs::symlink_status(from, ec)) || !fs::is_directory(from, ec)) continue;
    place.read_only_into.emplace_back(from.string(), (fs::path(worktree) / d).string());
  }
  return place;
}

void Pipeline::confirm_sandbox(const Sandbox& box, const std::string& id,
                               const std::string& log) const {
  if (box.mode() == SandboxMode::None) {
    // The operator's explicit choice; said loudly, every time.
    if (d_.log) {
      d_.log->warn(
          "selfupdate {}: SELFUPDATE_SANDBOX=none: the proposed code's build, test and install "
          "run UNCONFINED as the host user (it can read the host's environment and files)",
          id);
    }
    std::ofstream(log, std::ios::app)
        << "\n# WARNING: SELFUPDATE_SANDBOX=none — the commands below run unconfined as the "
           "host user\n";
    return;
  }
  if (const std::string why = box.probe(); !why.empty()) {
    throw StageFailure("sandbox_unavailable", "the sandbox cannot run: " + why);
  }
}

void Pipeline::check_restart_runs_current() const {
  if (!s_.require_current_executable) return;
  const std::string exe =
      d_.invoked_executable ? d_.invoked_executable() : invoked_executable_path();
  const std::string current = (fs::path(s_.install_dir) / "current").lexically_normal().string();
  const std::string normal = exe.empty() ? "" : fs::path(exe).lexically_normal().string();
  if (!normal.empty() && normal.rfind(current + "/", 0) == 0) return;
  throw StageFailure(
      "restart_not_current",
      "this host was started as " + (exe.empty() ? std::string("(unknown)") : exe) + ", not from " +
          current + "/: its restart would run the old build again. Start the service as " +
          current +
          "/bin/jarvis (README, 'Install layout'), or set "
          "SELFUPDATE_REQUIRE_CURRENT_EXECUTABLE=false when RESTART_COMMAND starts the new "
          "release another way");
}

std::vector<std::string> Pipeline::prune_releases() {
  Installs in(s_.install_dir);
  std::string current;
  try {
    current = in.current();
  } catch (const std::exception&) {
    return {};  // an install layout the pipeline does not understand: leave it alone
  }
  if (current.empty()) return {};
  std::set<std::string> protect = {current};
  // The rollback target of the patch that runs, and the release of any patch not yet ended.
  for (const auto& row : store_.with_states({"approved", "applying", "applied", "verifying",
                                             "verified", "applied_unverified", "rollback_requested",
                                             "rolling_back", "interrupted"})) {
    const std::string name = row.value("release_name", "");
    if (name == current || row["trace_id"] == current) {
      const std::string prev = row.value("previous_release", "");
      if (!prev.empty()) protect.insert(prev);
    }
    if (!is_terminal_state(row.value("state", ""))) protect.insert(row["trace_id"]);
  }
  std::vector<std::string> removed = in.prune(s_.keep_releases, protect);
  if (!removed.empty() && d_.log) {
    std::string names;
    for (const auto& n : removed) names += (names.empty() ? "" : ", ") + n;
    d_.log->info("selfupdate: pruned {} old release(s): {}", removed.size(), names);
  }
  return removed;
}

}  // namespace selfupdate

// selfupdate/src/workspace.cpp — git and the operator's commands (see workspace.h).
#include "workspace.h"

#include <filesystem>
#include <fstream>

#include "jarvis/database.h"

namespace selfupdate {

std::vector<std::string> split_command_line(const std::string& line) {
  std::vector<std::string> argv;
  std::string cur;
  bool in_word = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c == ' ' || c == '\t') {
      if (in_word) argv.push_back(cur);
      cur.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\'') {
      std::size_t end = line.find('\'', i + 1);
      if (end == std::string::npos) throw std::invalid_argument("unclosed ' in: " + line);
      cur += line.substr(i + 1, end - i - 1);
      i = end;
    } else if (c == '"') {
      std::size_t j = i + 1;
      for (; j < line.size() && line[j] != '"'; ++j) {
        if (line[j] == '\\' && j + 1 < line.size() && (line[j + 1] == '"' || line[j + 1] == '\\')) {
          ++j;
        }
        cur += line[j];
      }
      if (j >= line.size()) throw std::invalid_argument("unclosed \" in: " + line);
      i = j;
    } else if (c == '\\' && i + 1 < line.size()) {
      cur += line[++i];
    } else {
      cur += c;
    }
  }
  if (in_word) argv.push_back(cur);
  if (argv.empty()) throw std::invalid_argument("an empty command");
  return argv;
}

jarvis::Json CommandRun::to_json() const {
  return {{"argv", argv},
          {"exit_code", exit_code},
          {"timed_out", timed_out},
          {"cancelled", cancelled},
          {"duration_ms", duration_ms}};
}

namespace workspace_log {

// Cuts `path` back to its head and tail when it is larger than `cap`.
void cap_log_file(const std::string& path, std::size_t cap) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || size <= cap) return;
  const std::size_t half = cap / 2;
  std::string head(half, '\0'), tail(half, '\0');
  {
    std::ifstream in(path, std::ios::binary);
    in.read(head.data(), static_cast<std::streamsize>(half));
    in.seekg(static_cast<std::streamoff>(size - half));
    in.read(tail.data(), static_cast<std::streamsize>(half));
    if (!in) return;
  }
  const std::string tmp = path + ".cap";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << head << "\n# ... " << (size - 2 * half) << " bytes truncated (log cap " << cap
        << ") ...\n"
        << tail;
    if (!out) return;
  }
  std::filesystem::rename(tmp, path, ec);
}

}  // namespace workspace_log

CommandRun run_command(const std::vector<std::string>& argv, const std::string& cwd,
                       std::chrono::milliseconds timeout, const std::string& log_file,
                       const jarvis::CancelToken& cancel, std::size_t log_cap, const Sandbox* box,
                       const SandboxPlace* place) {
  const bool sandboxed = box && place && box->mode() == SandboxMode::Bwrap;
  {
    std::ofstream log(log_file, std::ios::app);
    log << "\n$";
    for (const auto& a : argv) log << " " << a;
    log << "    # " << jarvis::now_iso() << " in " << cwd
        << (sandboxed ? " (sandbox: bwrap)"
            : box     ? " (sandbox: none, unconfined)"
                      : "")
        << "\n";
  }
  jarvis::ProcessOptions o{.argv = sandboxed ? box->wrap(argv, *place) : argv,
                           .cwd = cwd,
                           .timeout_ms = timeout.count()};
  o.extra_env = {{"CI", "1"}};
  o.cancel = cancel;
  o.output_file = log_file;
  o.max_output_bytes = 4096;
  jarvis::ProcessResult r = jarvis::run_process(o);
  {
    std::ofstream log(log_file, std::ios::app);
    log << "# exit " << r.exit_code << (r.timed_out ? " (timed out)" : "")
        << (r.cancelled ? " (cancelled)" : "") << " after " << r.duration_ms << " ms\n";
  }
  workspace_log::cap_log_file(log_file, log_cap);
  return {.argv = argv,
          .exit_code = r.exit_code,
          .timed_out = r.timed_out,
          .cancelled = r.cancelled,
          .duration_ms = r.duration_ms};
}

jarvis::ProcessResult Workspace::git(const std::string& dir, std::vector<std::string> args,
                                     const std::string& log_file) const {
  std::vector<std::string> argv = {"git", "-C", dir, "-c", "core.hooksPath=/dev/null"};
  argv.insert(argv.end(), args.begin(), args.end());
  jarvis::ProcessOptions o{.argv = argv, .timeout_ms = o_.timeout.count()};
  o.max_output_bytes = 4 << 20;
  o.extra_env = {{"GIT_TERMINAL_PROMPT", "0"}, {"GIT_OPTIONAL_LOCKS", "0"}};
  o.cancel = o_.cancel;
  if (!log_file.empty()) {
    std::ofstream log(log_file, std::ios::app);
    log << "\n$";
    for (const auto& a : argv) log << " " << a;
    log << "\n";
  }
  jarvis::ProcessResult r = jarvis::run_process(o);
  if (!log_file.empty()) {
    std::ofstream log(log_file, std::ios::app);
    log << r.stdout_text.substr(0, 4096) << r.stderr_text.substr(0, 4096) << "# exit "
        << r.exit_code << "\n";
  }
  if (r.cancelled) throw StageFailure("cancelled", "git was stopped (the host is shutting down)");
  if (r.timed_out) throw StageFailure("git_timeout", "git " + args.front() + " timed out");
  return r;
}

namespace workspace_impl {
std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}
}  // namespace workspace_impl

std::string Workspace::head() const {
  auto r = git(o_.repo_dir, {"rev-parse", "--verify", "HEAD^{commit}"});
  if (r.exit_code != 0) {
    throw StageFailure("repo_unavailable", "SELFUPDATE_REPO_DIR " + o_.repo_dir +
                                               " is not a git repository with a commit: " +
                                               workspace_impl::trimmed(r.stderr_text));
  }
  return workspace_impl::trimmed(r.stdout_text);
}

bool Workspace::has_commit(const std::string& sha) const {
  return git(o_.repo_dir, {"cat-file", "-e", sha + "^{commit}"}).exit_code == 0;
}

TreeSpecials Workspace::specials(const std::string& commit) const {
  auto r = git(o_.repo_dir, {"ls-tree", "-r", "-z", "--full-tree", commit});
  if (r.exit_code != 0 || r.stdout_truncated) {
    throw StageFailure("repo_unavailable", "cannot list the baseline tree");
  }
  TreeSpecials out;
  std::size_t start = 0;
  const std::string& s = r.stdout_text;
  while (start < s.size()) {
    std::size_t end = s.find('\0', start);
    if (end == std::string::npos) end = s.size();
    std::string entry = s.substr(start, end - start);
    start = end + 1;
    std::size_t tab = entry.find('\t');
    if (tab == std::string::npos) continue;
    std::string mode = entry.substr(0, entry.find(' '));
    std::string path = entry.substr(tab + 1);
    if (mode == "120000") out.symlinks.insert(path);
    if (mode == "160000") out.submodules.insert(path);
  }
  return out;
}

void Workspace::remove_worktree(const std::string& path) const {
  if (std::filesystem::exists(path)) git(o_.repo_dir, {"worktree", "remove", "--force", path});
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  git(o_.repo_dir, {"worktree", "prune"});
}

void Workspace::add_worktree(const std::string& path, const std::string& commit) const {
  remove_worktree(path);
  auto r = git(o_.repo_dir, {"worktree", "add", "--detach", path, commit});
  if (r.exit_code != 0) {
    throw StageFailure("worktree_failed",
                       "git worktree add failed: " + workspace_impl::trimmed(r.stderr_text));
  }
}

bool Workspace::worktree_ok(const std::string& path) const {
  if (!std::filesystem::exists(path + "/.git")) return false;
  auto r = git(path, {"rev-parse", "--verify", "HEAD^{commit}"});
  return r.exit_code == 0;
}

}  // namespace selfupdate

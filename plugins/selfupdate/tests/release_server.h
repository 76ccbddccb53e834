// selfupdate/tests/release_server.h — a `jarvis serve` started as an install's
// current/bin/jarvis (tests/support's ServerProcess always starts the build's binary), and the
// runnable release folders it needs: a copy of the build's jarvis, lib/ and the migrations
// linked from the build, and share/jarvis/commit — what `cmake --install` lays out. The host's
// re-exec restart runs the path it was started as, so after a switch of `current` the restarted
// process is the new release, and its /readyz reports that release's commit.
//
//   make_runnable_release(install + "/releases/initial", repo_head);
//   ReleaseServer s(install + "/current/bin/jarvis", tmp.path(), env);   // waits for /healthz
//   s.kill9();
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>

#include "support/support.h"

namespace selfupdate_test {

/// The build folder (parent of bin/jarvis).
inline std::string build_root() {
  return std::filesystem::path(JARVIS_BIN).parent_path().parent_path().string();
}

/// Lays out a runnable release at `dir` reporting `commit` (see the file comment).
inline void make_runnable_release(const std::string& dir, const std::string& commit) {
  namespace fs = std::filesystem;
  fs::create_directories(dir + "/bin");
  fs::create_directories(dir + "/share/jarvis");
  fs::copy_file(JARVIS_BIN, dir + "/bin/jarvis", fs::copy_options::overwrite_existing);
  fs::create_directory_symlink(build_root() + "/lib", dir + "/lib");
  fs::create_directory_symlink(build_root() + "/share/jarvis/migrations",
                               dir + "/share/jarvis/migrations");
  jarvis::test::write_file(dir + "/share/jarvis/commit", commit + "\n");
}

/// The same layout as a line of install.sh (run in the worktree with the release as $1): the
/// commit recorded is the worktree's HEAD — the commit that was built.
inline std::string install_runnable_release_script() {
  const std::string b = build_root();
  return "set -e\nmkdir -p \"$1/bin\" \"$1/share/jarvis\"\ncp out/app.txt \"$1/app.txt\"\ncp '" +
         b + "/bin/jarvis' \"$1/bin/jarvis\"\nln -s '" + b + "/lib' \"$1/lib\"\nln -s '" + b +
         "/share/jarvis/migrations' \"$1/share/jarvis/migrations\"\n"
         "git rev-parse HEAD > \"$1/share/jarvis/commit\"\n";
}

/// `executable serve` in `cwd` with `env`; stdout and stderr to cwd/server-<port>.log.
class ReleaseServer {
 public:
  ReleaseServer(const std::string& executable, const std::string& cwd,
                const std::map<std::string, std::string>& env)
      : port_(std::stoi(env.at("BIND_PORT"))),
        log_(cwd + "/server-" + std::to_string(port_) + ".log") {
    pid_ = ::fork();
    if (pid_ == 0) {
      if (::chdir(cwd.c_str()) != 0) ::_exit(126);
      for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
      if (!env.count("BIND_HOST")) ::setenv("BIND_HOST", "127.0.0.1", 1);
      int in = ::open("/dev/null", O_RDONLY);
      int out = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(in, 0);
      ::dup2(out, 1);
      ::dup2(out, 2);
      std::string exe = executable, serve = "serve";
      char* argv[] = {exe.data(), serve.data(), nullptr};
      ::execv(exe.c_str(), argv);
      ::_exit(127);
    }
    ready_ = jarvis::test::eventually(
        [&] {
          int status = 0;
          if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return true;
          }
          return jarvis::test::http("GET", url("/healthz")).status == 200;
        },
        std::chrono::seconds(20));
    ready_ = ready_ && pid_ > 0;
  }
  ~ReleaseServer() { terminate(); }
  ReleaseServer(const ReleaseServer&) = delete;
  ReleaseServer& operator=(const ReleaseServer&) = delete;

  /// True once /healthz answered.
  bool ready() const { return ready_; }
  /// The server's process id (the same across a re-exec restart).
  int pid() const { return pid_; }
  /// http://127.0.0.1:<port><path>.
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  /// Everything the server wrote so far.
  std::string output() const { return jarvis::test::read_file(log_); }
  /// SIGTERM, then SIGKILL if it is still there after 20 s; reaps it.
  void terminate() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 400 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (::waitpid(pid_, &status, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }
  /// A real kill -9; reaps it.
  void kill9() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  int pid_ = -1;
  int port_;
  std::string log_;
  bool ready_ = false;
};

}  // namespace selfupdate_test

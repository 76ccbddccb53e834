// tests/deploy/deploy_fixture.h — helpers of the deploy tests: the scripts run as real
// subprocesses with a fake `systemctl` first on PATH (it logs its arguments and, for
// start/restart/stop, runs or kills the "service" named by the test), and a static HTTP server
// (python3 -m http.server) standing in for a ready host's /readyz.
//
//   DeployDir d;                                     // throwaway directory + fake systemctl
//   auto r = d.run({d.script("install-systemd.sh"), "--port", "18123"});
//   EXPECT_THAT(d.systemctl_log(), HasSubstr("daemon-reload"));
#pragma once

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "jarvis/subprocess.h"
#include "support/support.h"

namespace deploy_test {

/// deploy/<name> in the source tree.
inline std::string deploy_script(const std::string& name) {
  return std::string(JARVIS_SOURCE_DIR) + "/deploy/" + name;
}

/// Writes `content` to `path` with mode 0755.
inline void write_executable(const std::string& path, const std::string& content) {
  jarvis::test::write_file(path, content);
  ::chmod(path.c_str(), 0755);
}

/// A throwaway directory with bin/systemctl (fake) first on the PATH of every run().
class DeployDir {
 public:
  DeployDir() {
    // The fake: logs "systemctl ARGS" lines; start/restart (re)launch $FAKE_SERVICE_CMD in the
    // background (its pid in state/service.pid), stop kills it.
    write_executable(bin() + "/systemctl", R"(#!/usr/bin/env bash
echo "$*" >> "$FAKE_SYSTEMCTL_LOG"
pidfile="$FAKE_STATE_DIR/service.pid"
# Like systemd: stop returns once the service's processes are gone.
stop_service() {
  [ -f "$pidfile" ] || return 0
  local pg; pg=$(cat "$pidfile")
  kill -TERM -- "-$pg" 2>/dev/null
  for _ in $(seq 400); do kill -0 -- "-$pg" 2>/dev/null || break; sleep 0.05; done
  rm -f "$pidfile"
}
case "$1" in
  start|restart)
    stop_service
    if [ -n "${FAKE_SERVICE_CMD:-}" ]; then
      setsid bash -c "$FAKE_SERVICE_CMD" </dev/null >>"$FAKE_STATE_DIR/service.log" 2>&1 &
      echo $! > "$pidfile"
    fi ;;
  stop) stop_service ;;
esac
exit 0
)");
    // Guards: the scripts under test run as root in CI, so chown, chmod and mkdir on PATH refuse
    // (and log) any path outside this directory. A script whose own refusal regressed then fails
    // the test through the guard log instead of taking over the machine (an unguarded run of
    // `install-systemd.sh --data-dir /` once did chown -R /).
    for (const char* tool : {"chown", "chmod", "mkdir"}) {
      write_executable(bin() + "/" + tool, R"SH(#!/usr/bin/env bash
name=$(basename "$0")
skip=0
case $name in chown|chmod) skip=1 ;; esac
for a in "$@"; do
  case $a in -*) continue ;; esac
  if [ "$skip" -eq 1 ]; then skip=0; continue; fi
  p=$(realpath -m -- "$a")
  case $p in
    "$FAKE_SANDBOX"|"$FAKE_SANDBOX"/*) ;;
    *) echo "$name $* (outside $FAKE_SANDBOX)" >> "$FAKE_GUARD_LOG"; exit 1 ;;
  esac
done
exec "/usr/bin/$name" "$@"
)SH");
    }
    std::filesystem::create_directories(state());
    std::filesystem::create_directories(dir_.file("tmp"));
  }
  ~DeployDir() {
    std::string guard = jarvis::test::read_file(state() + "/guard.log");
    EXPECT_EQ(guard, "") << "a deploy script tried to change files outside its test directory";
    // A service left running by the fake: its whole session.
    std::string pid = jarvis::test::read_file(state() + "/service.pid");
    if (!pid.empty()) ::kill(-std::stoi(pid), SIGKILL);
  }
  DeployDir(const DeployDir&) = delete;
  DeployDir& operator=(const DeployDir&) = delete;

  const std::string& path() const { return dir_.path(); }
  std::string file(const std::string& name) const { return dir_.file(name); }
  std::string bin() const { return dir_.file("bin"); }
  std::string state() const { return dir_.file("state"); }
  std::string systemctl_log() const { return jarvis::test::read_file(state() + "/systemctl.log"); }

  /// Runs argv with the fake systemctl first on PATH and `env` on top of this environment.
  jarvis::ProcessResult run(const std::vector<std::string>& argv,
                            std::map<std::string, std::string> env = {}) const {
    const char* path = std::getenv("PATH");
    env["PATH"] = bin() + ":" + (path ? path : "/usr/bin:/bin");
    env["FAKE_SYSTEMCTL_LOG"] = state() + "/systemctl.log";
    env["FAKE_STATE_DIR"] = state();
    env["FAKE_SANDBOX"] = std::filesystem::canonical(dir_.path()).string();
    env["FAKE_GUARD_LOG"] = state() + "/guard.log";
    if (!env.count("TMPDIR")) env["TMPDIR"] = dir_.file("tmp");
    return jarvis::run_process({.argv = argv,
                                .cwd = path_or_cwd(),
                                .timeout_ms = 240000,
                                .max_output_bytes = 1 << 20,
                                .extra_env = env,
                                .inherit_env = {"*"}});
  }

 private:
  std::string path_or_cwd() const { return dir_.path(); }
  jarvis::test::TempDir dir_;
};

/// `python3 -m http.server` serving `root` on a free port (a ready /readyz when root/readyz
/// exists).
class StaticServer {
 public:
  explicit StaticServer(const std::string& root) : port_(jarvis::test::free_port()) {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setsid();
      std::string port = std::to_string(port_);
      ::execlp("python3", "python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory",
               root.c_str(), port.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ready_ =
        jarvis::test::eventually([&] { return jarvis::test::http("GET", url("/")).status != 0; });
  }
  ~StaticServer() {
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  StaticServer(const StaticServer&) = delete;
  StaticServer& operator=(const StaticServer&) = delete;

  bool ready() const { return ready_; }
  int port() const { return port_; }
  std::string url(const std::string& p) const {
    return "http://127.0.0.1:" + std::to_string(port_) + p;
  }

 private:
  int port_;
  pid_t pid_ = -1;
  bool ready_ = false;
};

}  // namespace deploy_test

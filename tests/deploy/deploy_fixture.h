// tests/deploy/deploy_fixture.h — helpers of the deploy tests: the scripts run as real
// subprocesses with a fake `systemctl` first on PATH (it logs its arguments and, for
// start/restart/stop, runs or kills the "service" named by the test), and a static HTTP server
// (python3 -m http.server) standing in for a ready host's /readyz; and the database helpers the
// script tests and the backup tests share (sqlite3 queries, gunzip, a writer killed -9 in WAL
// mode, counting files by name).
//
//   DeployDir d;                                     // throwaway directory + fake systemctl
//   auto r = d.run({d.script("install-systemd.sh"), "--port", "18123"});
//   EXPECT_THAT(d.systemctl_log(), HasSubstr("daemon-reload"));
//   EXPECT_EQ(deploy_test::sqlite_query(db, "SELECT v FROM t"), "current");
#pragma once

#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <zlib.h>

#include "jarvis/subprocess.h"
#include "support/support.h"

namespace deploy_test {

/// `sqlite3 DB SQL`'s output without the trailing newline (a failure is a test failure).
inline std::string sqlite_query(const std::string& db, const std::string& sql) {
  auto r = jarvis::run_process({.argv = {"sqlite3", db, sql}, .timeout_ms = 60000});
  EXPECT_EQ(r.exit_code, 0) << sql << ": " << r.stderr_text;
  std::string out = r.stdout_text;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

/// The decompressed content of the gzip file `path` ("" when it cannot be opened).
inline std::string gunzip_file(const std::string& path) {
  gzFile in = gzopen(path.c_str(), "rb");
  if (!in) return "";
  std::string out;
  char buf[65536];
  int n = 0;
  while ((n = gzread(in, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  gzclose(in);
  return out;
}

/// Writes `content` gzip-compressed to `path`.
inline void gzip_to(const std::string& path, const std::string& content) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, content.data(), static_cast<unsigned>(content.size()));
  gzclose(f);
}

/// A writer that switches `db` to WAL mode, commits a table `crashed` and dies by SIGKILL: its
/// committed rows are left in `<db>-wal` only.
inline void crash_writer_in_wal_mode(const std::string& db) {
  [[maybe_unused]] auto r = jarvis::run_process({.argv = {"python3", "-c",
                                                          "import os, sqlite3, sys\n"
                                                          "c = sqlite3.connect(sys.argv[1])\n"
                                                          "c.execute('PRAGMA journal_mode=WAL')\n"
                                                          "c.execute('CREATE TABLE crashed(x)')\n"
                                                          "c.commit()\n"
                                                          "os.kill(os.getpid(), 9)",
                                                          db},
                                                 .timeout_ms = 60000});
}

/// Entries of `dir` whose name contains `part`.
inline int count_files(const std::string& dir, const std::string& part) {
  int n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); ++it) {
    n += it->path().filename().string().find(part) != std::string::npos ? 1 : 0;
  }
  return n;
}

/// The account the scripts under test install the host for: never root (install-systemd.sh
/// refuses it), so `nobody` when the tests run as root.
inline std::string service_user() {
  if (::geteuid() == 0) return "nobody";
  const passwd* pw = ::getpwuid(::geteuid());
  return pw ? pw->pw_name : "nobody";
}

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
    // background (its pid in state/service.pid), stop kills it; `cat UNIT` prints
    // $FAKE_UNIT_FILE (fails when it is unset or missing, like an unknown unit).
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
  cat) [ -n "${FAKE_UNIT_FILE:-}" ] && [ -f "$FAKE_UNIT_FILE" ] || exit 1
       cat "$FAKE_UNIT_FILE" ;;
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
    // Restores keep 1 MiB free, not the default 256 MiB, unless the test sets its own limit:
    // the scripts' results must not depend on this machine's free disk (CI machines have had
    // less than 256 MiB); the limit itself is tested with an explicit value.
    if (!env.count("RESTORE_MIN_FREE_BYTES")) env["RESTORE_MIN_FREE_BYTES"] = "1048576";
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

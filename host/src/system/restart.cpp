// host/src/system/restart.cpp — the controlled restart: drain, stop, re-exec of the process image
// (see system_state.h and docs/decisions/0008-lockdown-and-restart.md).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "db/sql_database.h"
#include "jarvis/subprocess.h"
#include "observability/metrics.h"
#include "registry/event_bus.h"
#include "system/system_state.h"

namespace jarvis::host {
namespace {

// The process's own argv, from /proc/self/cmdline (NUL-separated).
std::vector<std::string> current_argv() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> argv;
  std::string cur;
  for (char c : all) {
    if (c == '\0') {
      argv.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) argv.push_back(cur);
  return argv;
}

template <typename F>
void guarded(const char* what, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    spdlog::error("restart: {} failed: {}", what, e.what());
  } catch (...) {
    spdlog::error("restart: {} failed with a non-standard exception", what);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Process image replacement

std::string exec_image(const std::string& path, const std::vector<std::string>& argv) {
  if (argv.empty()) return "empty argv";
  // Descriptors: only stdin/stdout/stderr survive (sockets, database files, log files do not).
  std::vector<int> fds;
  if (auto* dir = ::opendir("/proc/self/fd")) {
    while (auto* ent = ::readdir(dir)) {
      int fd = std::atoi(ent->d_name);
      if (fd > 2) fds.push_back(fd);
    }
    ::closedir(dir);
  }
  for (int fd : fds) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
  // Signals: the mask and ignored dispositions survive exec; the new process expects neither.
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    struct sigaction current {};
    if (::sigaction(sig, nullptr, &current) == 0 && current.sa_handler == SIG_IGN) {
      ::signal(sig, SIG_DFL);
    }
  }
  sigset_t none;
  sigemptyset(&none);
  ::pthread_sigmask(SIG_SETMASK, &none, nullptr);

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::fflush(nullptr);
  ::execv(path.c_str(), args.data());
  return "execv " + path + ": " + std::strerror(errno);
}

std::string restart_image(const std::vector<std::string>& argv, const std::string& cwd) {
  if (!argv.empty() && argv[0].find('/') != std::string::npos) {
    std::string path = argv[0][0] == '/' || cwd.empty() ? argv[0] : cwd + "/" + argv[0];
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0)
      return path;
  }
  return "/proc/self/exe";
}

namespace {
std::string restart_cwd() {
  std::error_code ec;
  std::string cwd = std::filesystem::current_path(ec).string();
  return ec ? "" : cwd;
}
}  // namespace

std::string exec_self() {
  std::vector<std::string> argv = current_argv();
  return exec_image(restart_image(argv, restart_cwd()), argv);
}

// --- controlled restart -----------------------------------------------------------------------

void SystemState::set_restart_hooks(RestartHooks hooks) {
  std::lock_guard lk(mu_);
  hooks_ = std::move(hooks);
}

void SystemState::request_restart(const std::string& actor, const std::string& trace_id) {
  begin_restart(actor, trace_id);
}

bool SystemState::begin_restart(const std::string& actor, const std::string& trace_id) {
  std::lock_guard lk(mu_);
  if (restarting_.load()) return false;
  if (restart_thread_.joinable()) restart_thread_.join();  // a finished earlier restart (tests)
  restarting_ = true;
  std::string trace = trace_id.empty() ? jarvis::new_id("trc") : trace_id;
  restart_thread_ = std::thread([this, actor, trace] { run_restart(actor, trace); });
  return true;
}

void SystemState::wait_restart() {
  std::thread t;
  {
    std::lock_guard lk(mu_);
    t.swap(restart_thread_);
  }
  if (t.joinable()) t.join();
}

void SystemState::run_restart(std::string actor, std::string trace) {
  RestartHooks hooks;
  {
    std::lock_guard lk(mu_);
    hooks = hooks_;
  }
  auto started = std::chrono::steady_clock::now();
  std::string now = jarvis::now_iso();
  guarded("recording the restart flag", [&] {
    auto sql = db_.session();
    *sql << "UPDATE system_state SET restarting = 1, restart_requested_by = :a, "
            "restart_requested_at = :t, restart_trace_id = :tr, updated_at = :t2 WHERE id = 1",
        soci::use(actor), soci::use(now), soci::use(trace), soci::use(now);
  });
  {
    std::lock_guard lk(mu_);
    snapshot_.restarting = true;
    snapshot_.restart_requested_by = actor;
    snapshot_.restart_requested_at = now;
  }
  if (metrics_)
    metrics_->gauge_set("jarvis_system_restarting", "1 while a controlled restart runs.", {}, 1);
  spdlog::warn("controlled restart requested by {} (trace {}): draining", actor, trace);
  long long task_ms = options_.task_drain_timeout.count();
  emit("system.restart.start",
       {{"status", "draining"}, {"requested_by", actor}, {"drain_timeout_s", task_ms / 1000}},
       actor, trace);

  bool tasks_drained = true, http_drained = true;
  if (hooks.drain_tasks) {
    tasks_drained = false;
    guarded("draining tasks",
            [&] { tasks_drained = hooks.drain_tasks(options_.task_drain_timeout); });
  }
  if (hooks.stop_accepting) guarded("closing the listener", [&] { hooks.stop_accepting(); });
  if (hooks.drain_http) {
    http_drained = false;
    guarded("draining HTTP", [&] { http_drained = hooks.drain_http(options_.http_drain_timeout); });
  }
  long long waited = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - started)
                         .count();
  emit("system.restart.drain",
       {{"tasks_drained", tasks_drained},
        {"http_drained", http_drained},
        {"waited_ms", waited},
        {"timeout_s", task_ms / 1000}},
       actor, trace);

  auto exit_process = hooks.exit_process ? hooks.exit_process : [](int code) {
    std::fflush(nullptr);
    std::exit(code);
  };

  if (!options_.restart_command.empty()) {
    jarvis::ProcessResult r;
    guarded("running RESTART_COMMAND", [&] {
      r = jarvis::run_process({.argv = {"/bin/sh", "-c", options_.restart_command},
                               .timeout_ms = options_.restart_command_timeout.count() * 1000,
                               .max_output_bytes = 2048});
    });
    emit("system.restart.exec",
         {{"mode", "command"},
          {"command", options_.restart_command},
          {"exit_status", r.exit_code},
          {"timed_out", r.timed_out},
          {"stdout", r.stdout_text},
          {"stderr", r.stderr_text}},
         actor, trace);
    if (r.exit_code == 0) {
      spdlog::warn("restart: RESTART_COMMAND succeeded; this process exits");
      if (hooks.before_exec) guarded("before_exec", [&] { hooks.before_exec(); });
      exit_process(0);
      return;
    }
    spdlog::error("restart: RESTART_COMMAND failed (exit {}); re-executing in place instead",
                  r.exit_code);
  }

  std::vector<std::string> argv = current_argv();
  const std::string image = restart_image(argv, restart_cwd());
  emit("system.restart.exec", {{"mode", "reexec"}, {"argv", argv}, {"image", image}}, actor, trace);
  if (hooks.before_exec) guarded("before_exec", [&] { hooks.before_exec(); });
  std::string error = hooks.exec ? hooks.exec(argv) : exec_image(image, argv);
  // Only reached when the exec failed (or a test seam returned).
  if (!error.empty()) {
    spdlog::critical("restart: re-exec failed: {}", error);
    emit("system.restart.exec", {{"mode", "reexec"}, {"result", "failed"}, {"error", error}}, actor,
         trace);
    exit_process(1);
  }
}

}  // namespace jarvis::host

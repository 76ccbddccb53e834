// jarvis::run_process — spawns a command in its own process group with an allow-listed
// environment, feeds stdin, captures stdout and stderr concurrently (bounded; the excess is read
// and discarded, or appended to an output file), and enforces a timeout and a cancellation token
// that kill the whole group (SIGTERM, then SIGKILL after a grace period).
// Decisions: docs/decisions/0004-… (spawning) and 0016-… (environment, cancellation, output file).
//
// Design notes (see also docs/decisions/0004-outbound-http-and-ssrf.md for the sibling client):
// - posix_spawnp (vfork-based in glibc): exec and chdir failures come back as an errno in the
//   parent, so no half-initialised child ever runs user code.
// - No signal handlers are installed and no global state is touched; the child is waited for by
//   pid. Its exit is detected without reaping (waitid + WNOWAIT), so the pid — and with it the
//   process-group id — stays reserved until every kill() aimed at the group has been sent.
// - SIGPIPE from writing stdin to a child that exited is blocked in the calling thread only and
//   the pending signal is consumed, so the host's disposition of SIGPIPE does not matter.
#include "jarvis/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

extern char** environ;

namespace jarvis {
namespace {

using Clock = std::chrono::steady_clock;

/// Time between SIGTERM and SIGKILL on timeout.
constexpr auto kKillGrace = std::chrono::seconds(2);
/// After the main process exits, how long descendants may keep our pipes open before the group is
/// killed so that the call can return.
constexpr auto kDrainGrace = std::chrono::seconds(2);
/// Longest wait between two checks of a cancellation token.
constexpr int kCancelPollMs = 100;
/// Exit code reported for a cancelled run (128 + SIGINT, what a shell reports for Ctrl-C).
constexpr int kCancelledExitCode = 130;

/// Closes a file descriptor once.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

/// A pipe whose both ends are close-on-exec (the child gets its end through dup2, which clears it).
struct Pipe {
  Fd read;
  Fd write;
  void open() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      throw std::runtime_error(std::string("run_process: pipe2 failed: ") + std::strerror(errno));
    }
    read.reset(fds[0]);
    write.reset(fds[1]);
  }
};

void set_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/// True when host variable `name` is selected by the allow-list `inherit`.
bool inherited(const std::string& name, const std::vector<std::string>& inherit) {
  for (const auto& entry : inherit) {
    if (!entry.empty() && entry.back() == '*') {
      std::string_view prefix(entry.data(), entry.size() - 1);
      if (std::string_view(name).starts_with(prefix) && !looks_like_secret_env(name)) return true;
    } else if (entry == name) {
      return true;
    }
  }
  return false;
}

/// Environment for the child: the allow-listed host variables, then `extra` (overriding).
std::vector<std::string> build_environment(const std::map<std::string, std::string>& extra,
                                           const std::vector<std::string>& inherit) {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    std::string name = entry.substr(0, eq);
    if (extra.count(name) || !inherited(name, inherit)) continue;
    out.push_back(std::move(entry));
  }
  for (const auto& [k, v] : extra) out.push_back(k + "=" + v);
  return out;
}

/// Appends to the optional output file; remembers the first write error and stops writing.
struct OutputFile {
  Fd fd;
  std::string error;

  void write(const char* data, std::size_t len) {
    while (fd.valid() && len > 0) {
      ssize_t n = ::write(fd.get(), data, len);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        error = std::string("cannot write output file: ") + std::strerror(errno);
        fd.reset();
        return;
      }
      data += n;
      len -= static_cast<std::size_t>(n);
    }
  }
};

std::vector<char*> c_array(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

/// Shell convention: 127 when something was not found, 126 when it exists but cannot be used.
int exit_code_for_errno(int err) { return err == ENOENT ? 127 : 126; }

/// Checks `cwd` before spawning so that a chdir failure gets its own message.
bool check_cwd(const std::string& cwd, ProcessResult& result) {
  if (cwd.empty()) return true;
  struct stat st {};
  int err = 0;
  if (::stat(cwd.c_str(), &st) != 0) {
    err = errno;
  } else if (!S_ISDIR(st.st_mode)) {
    err = ENOTDIR;
  } else if (::access(cwd.c_str(), X_OK) != 0) {
    err = errno;
  }
  if (err == 0) return true;
  result.exit_code = exit_code_for_errno(err);
  result.stderr_text =
      "run_process: cannot use working directory '" + cwd + "': " + std::strerror(err);
  return false;
}

/// Blocks SIGPIPE in this thread for the object's lifetime and consumes any SIGPIPE our own writes
/// raised, restoring the previous mask afterwards.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigset_t pending;
    sigemptyset(&pending);
    ::sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &block, &old_);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;
  /// Call after a write failed with EPIPE: removes the SIGPIPE it generated.
  void consume() {
    if (was_pending_) return;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    timespec zero{0, 0};
    while (::sigtimedwait(&set, nullptr, &zero) == SIGPIPE) {
    }
  }
  ~SigpipeGuard() { ::pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

 private:
  sigset_t old_{};
  bool was_pending_ = false;
};

/// One captured output stream: keeps at most `cap` bytes — the first ones, or the last ones
/// when `keep_tail` — and discards the rest; everything read also goes to `file` when set.
struct Capture {
  Fd fd;
  std::string* text = nullptr;
  bool* truncated = nullptr;
  std::size_t cap = 0;
  bool keep_tail = false;
  OutputFile* file = nullptr;

  void keep(const char* data, std::size_t n) {
    if (!keep_tail) {
      std::size_t room = cap > text->size() ? cap - text->size() : 0;
      std::size_t take = std::min(room, n);
      text->append(data, take);
      if (take < n) *truncated = true;
      return;
    }
    if (n >= cap) {
      if (n > cap || !text->empty()) *truncated = true;
      text->assign(data + (n - cap), cap);
      return;
    }
    text->append(data, n);
    if (text->size() > cap) {
      text->erase(0, text->size() - cap);
      *truncated = true;
    }
  }

  /// Reads what is available; returns false at EOF or on a hard error (fd closed).
  bool drain() {
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n > 0) {
        if (file) file->write(buf, static_cast<std::size_t>(n));
        keep(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
      fd.reset();  // EOF or error
      return false;
    }
  }
};

/// Opens a pidfd for `pid` (Linux >= 5.3); -1 when unavailable.
int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  long fd = ::syscall(SYS_pidfd_open, pid, 0);
  return fd >= 0 ? static_cast<int>(fd) : -1;
#else
  (void)pid;
  return -1;
#endif
}

/// True once `pid` has terminated; does not reap it (the zombie keeps the pid reserved).
bool has_exited(pid_t pid) {
  siginfo_t info{};
  for (;;) {
    int rc = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
    if (rc == 0) return info.si_pid == pid;
    if (errno == EINTR) continue;
    return true;  // ECHILD: already reaped elsewhere; nothing to wait for
  }
}

/// Reaps `pid` and returns its raw wait status (or -1 if it cannot be reaped).
int reap(pid_t pid) {
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, 0);
    if (r == pid) return status;
    if (r < 0 && errno == EINTR) continue;
    return -1;
  }
}

int poll_timeout_ms(Clock::time_point now, Clock::time_point until) {
  if (until <= now) return 0;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count() + 1;
  return static_cast<int>(std::min<long long>(ms, 60'000));
}

bool contains_ci(const std::string& upper, std::string_view word) {
  return upper.find(word) != std::string::npos;
}

}  // namespace

std::vector<std::string> default_inherited_env() {
  return {"PATH",     "HOME", "USER", "LOGNAME", "SHELL", "LANG",
          "LANGUAGE", "LC_*", "TZ",   "TMPDIR",  "TERM"};
}

bool looks_like_secret_env(std::string_view name) {
  std::string upper(name);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  for (std::string_view word : {"KEY", "TOKEN", "SECRET", "PASS", "CREDENTIAL", "AUTH", "COOKIE",
                                "SESSION", "PRIVATE", "SIGNATURE"}) {
    if (contains_ci(upper, word)) return true;
  }
  std::string_view u = upper;
  return u.ends_with("_URL") || u.ends_with("_DSN") || u == "APP_DB";
}

ProcessResult run_process(const ProcessOptions& options) {
  if (options.argv.empty()) throw std::invalid_argument("run_process: argv is empty");
  const auto started = Clock::now();
  ProcessResult result;
  auto finish = [&]() -> ProcessResult {
    result.duration_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
    return result;
  };
  OutputFile output_file;
  if (!options.output_file.empty()) {
    int fd = ::open(options.output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
      throw std::system_error(errno, std::generic_category(),
                              "run_process: cannot open output file '" + options.output_file + "'");
    }
    output_file.fd.reset(fd);
  }
  if (options.cancel.cancelled()) {
    result.cancelled = true;
    result.exit_code = kCancelledExitCode;
    result.stderr_text = "run_process: cancelled before start";
    return finish();
  }
  if (!check_cwd(options.cwd, result)) return finish();

  std::vector<std::string> argv_strings = options.argv;
  std::vector<char*> argv = c_array(argv_strings);
  std::vector<std::string> env_strings = build_environment(options.extra_env, options.inherit_env);
  std::vector<char*> envp = c_array(env_strings);

  Pipe in, out, err;
  in.open();
  out.open();
  err.open();

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.read.get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out.write.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err.write.get(), STDERR_FILENO);
  // Nothing but stdin/stdout/stderr reaches the child: descriptors the host opened without
  // O_CLOEXEC (Asio's listening socket and connections, database files) would otherwise keep
  // the port bound by a child that outlives the host, and a restarted host could not listen.
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  if (!options.cwd.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());
  }

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Own process group (pgid = child pid); default dispositions for every signal the host may
  // ignore (an ignored SIGPIPE would otherwise be inherited by `yes | head`); empty signal mask.
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int s = 1; s < 32; ++s) {
    if (s != SIGKILL && s != SIGSTOP) sigaddset(&defaults, s);
  }
  sigset_t empty_mask;
  sigemptyset(&empty_mask);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &empty_mask);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  pid_t pid = -1;
  int spawn_err = ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  in.read.reset();
  out.write.reset();
  err.write.reset();
  if (spawn_err != 0) {
    result.exit_code = exit_code_for_errno(spawn_err);
    result.stderr_text =
        "run_process: cannot execute '" + options.argv[0] + "': " + std::strerror(spawn_err);
    return finish();
  }

  SigpipeGuard sigpipe_guard;
  Fd pidfd(open_pidfd(pid));
  const bool to_file = output_file.fd.valid();
  Capture cap_out{std::move(out.read),
                  &result.stdout_text,
                  &result.stdout_truncated,
                  options.max_output_bytes,
                  to_file,
                  to_file ? &output_file : nullptr};
  Capture cap_err{std::move(err.read),
                  &result.stderr_text,
                  &result.stderr_truncated,
                  options.max_output_bytes,
                  to_file,
                  to_file ? &output_file : nullptr};
  set_nonblocking(cap_out.fd.get());
  set_nonblocking(cap_err.fd.get());
  Fd stdin_fd(std::move(in.write));
  std::size_t stdin_off = 0;
  if (options.stdin_data.empty()) {
    stdin_fd.reset();
  } else {
    set_nonblocking(stdin_fd.get());
  }

  const auto deadline = started + std::chrono::milliseconds(std::max(0LL, options.timeout_ms));
  Clock::time_point kill_at{};      // when SIGKILL follows SIGTERM (timeout or cancel path)
  Clock::time_point drain_until{};  // after the leader exited
  bool exited = false;
  bool killed = false;
  bool stopping = false;  // timed out or cancelled: SIGTERM sent
  const bool can_cancel = options.cancel.can_cancel();

  for (;;) {
    auto now = Clock::now();
    if (!exited && has_exited(pid)) {
      exited = true;
      drain_until = now + kDrainGrace;
      pidfd.reset();
      stdin_fd.reset();
    }
    if (exited && !cap_out.fd.valid() && !cap_err.fd.valid()) break;

    if (!stopping && !exited) {
      if (now >= deadline) {
        result.timed_out = true;
      } else if (can_cancel && options.cancel.cancelled()) {
        result.cancelled = true;
      }
      if (result.timed_out || result.cancelled) {
        stopping = true;
        ::kill(-pid, SIGTERM);
        kill_at = now + kKillGrace;
      }
    }
    if (exited && can_cancel && !killed && options.cancel.cancelled()) {
      // Cancelled while descendants still hold the pipes: end them now rather than after the
      // drain grace; the leader's exit code stands.
      ::kill(-pid, SIGKILL);
      killed = true;
      break;
    }
    if (stopping && !killed && now >= kill_at) {
      ::kill(-pid, SIGKILL);
      killed = true;
    }
    if (exited && now >= drain_until) {
      // Descendants still hold our pipes open after the main process ended: end them.
      ::kill(-pid, SIGKILL);
      killed = true;
      break;
    }

    Clock::time_point wake = deadline;
    if (stopping) wake = killed ? now + std::chrono::milliseconds(50) : kill_at;
    if (exited) wake = std::min(wake, drain_until);
    int timeout = poll_timeout_ms(now, wake);
    // Without a pidfd, the leader's exit is noticed by polling.
    if (!pidfd.valid() && !exited) timeout = std::min(timeout, 20);
    if (can_cancel && !stopping) timeout = std::min(timeout, kCancelPollMs);

    pollfd fds[4];
    int n = 0;
    int i_out = -1, i_err = -1, i_in = -1, i_pid = -1;
    if (cap_out.fd.valid()) {
      i_out = n;
      fds[n++] = {cap_out.fd.get(), POLLIN, 0};
    }
    if (cap_err.fd.valid()) {
      i_err = n;
      fds[n++] = {cap_err.fd.get(), POLLIN, 0};
    }
    if (stdin_fd.valid()) {
      i_in = n;
      fds[n++] = {stdin_fd.get(), POLLOUT, 0};
    }
    if (pidfd.valid()) {
      i_pid = n;
      fds[n++] = {pidfd.get(), POLLIN, 0};
    }
    int rc = ::poll(fds, static_cast<nfds_t>(n), timeout);
    if (rc < 0) {
      if (errno == EINTR) continue;
      break;  // cannot happen with valid fds; fall through to kill-and-reap below
    }
    (void)i_pid;
    if (i_out >= 0 && fds[i_out].revents) cap_out.drain();
    if (i_err >= 0 && fds[i_err].revents) cap_err.drain();
    if (i_in >= 0 && fds[i_in].revents) {
      if (fds[i_in].revents & (POLLERR | POLLHUP)) {
        stdin_fd.reset();
      } else {
        const std::string& data = options.stdin_data;
        ssize_t w = ::write(stdin_fd.get(), data.data() + stdin_off, data.size() - stdin_off);
        if (w > 0) {
          stdin_off += static_cast<std::size_t>(w);
          if (stdin_off >= data.size()) stdin_fd.reset();
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
          if (errno == EPIPE) sigpipe_guard.consume();
          stdin_fd.reset();  // the child closed its stdin; it does not want the rest
        }
      }
    }
  }

  if (!exited) {
    ::kill(-pid, SIGKILL);
    killed = true;
  } else if (stopping && !killed) {
    // Timed out or cancelled and the leader went down on SIGTERM: no straggler survives.
    ::kill(-pid, SIGKILL);
  }
  int status = reap(pid);
  result.output_file_error = output_file.error;
  if (result.timed_out) {
    result.exit_code = 124;
  } else if (result.cancelled) {
    result.exit_code = kCancelledExitCode;
  } else if (status < 0) {
    result.exit_code = -1;
  } else if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.exit_code = 128 + WTERMSIG(status);
  }
  return finish();
}

}  // namespace jarvis

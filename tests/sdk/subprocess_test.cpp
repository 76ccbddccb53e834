// Tests of jarvis::run_process against real processes: exit codes, capture, stdin, cwd, the
// allow-listed environment, exec failures, timeouts and cancellation that kill a whole process
// group, bounded output, the output file, concurrency.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <atomic>
#include <cstdlib>

#include <gtest/gtest.h>

#include "jarvis/cancel.h"
#include "jarvis/subprocess.h"
#include "support/support.h"

namespace {

using jarvis::ProcessOptions;
using jarvis::ProcessResult;
using jarvis::run_process;

ProcessResult sh(const std::string& script, long long timeout_ms = 30000) {
  ProcessOptions o;
  o.argv = {"bash", "-c", script};
  o.timeout_ms = timeout_ms;
  return run_process(o);
}

/// True when `pid` no longer runs: gone, or a zombie waiting for its (re)parent to reap it.
bool process_gone(int pid) {
  if (::kill(pid, 0) != 0) return errno == ESRCH;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

/// Waits (bounded) for a process to disappear; SIGKILL delivery is asynchronous.
bool wait_gone(int pid) {
  for (int i = 0; i < 500; ++i) {
    if (process_gone(pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(RunProcess, EmptyArgvThrows) {
  EXPECT_THROW(run_process(ProcessOptions{}), std::invalid_argument);
}

TEST(RunProcess, ExitCodes) {
  EXPECT_EQ(sh("exit 0").exit_code, 0);
  EXPECT_EQ(sh("exit 3").exit_code, 3);
  EXPECT_EQ(sh("exit 255").exit_code, 255);
  ProcessResult r = sh("kill -TERM $$");
  EXPECT_EQ(r.exit_code, 128 + SIGTERM);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(sh("kill -KILL $$").exit_code, 128 + SIGKILL);
  EXPECT_GE(r.duration_ms, 0);
}

TEST(RunProcess, CapturesStdoutAndStderrSeparately) {
  ProcessResult r = sh("echo out-line; echo err-line >&2; printf 'x%.0s' {1..10}");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stdout_text, "out-line\nxxxxxxxxxx");
  EXPECT_EQ(r.stderr_text, "err-line\n");
  EXPECT_FALSE(r.stdout_truncated);
  EXPECT_FALSE(r.stderr_truncated);
}

TEST(RunProcess, ArgumentsArePassedVerbatim) {
  ProcessOptions o;
  o.argv = {"printf", "%s|", "a b", "$HOME", "'quoted'", ""};
  ProcessResult r = run_process(o);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stdout_text, "a b|$HOME|'quoted'||");
}

TEST(RunProcess, FeedsStdinThenCloses) {
  ProcessOptions o;
  o.argv = {"cat"};
  o.stdin_data = "hello\nworld\n";
  ProcessResult r = run_process(o);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stdout_text, "hello\nworld\n");

  // No stdin data: the child sees EOF at once instead of hanging.
  o.stdin_data.clear();
  r = run_process(o);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stdout_text, "");
  EXPECT_FALSE(r.timed_out);
}

TEST(RunProcess, LargeStdinWhileOutputIsProduced) {
  // Bigger than any pipe buffer in both directions: deadlocks unless both are pumped together.
  ProcessOptions o;
  o.argv = {"cat"};
  o.stdin_data = std::string(4 << 20, 'a');
  o.max_output_bytes = 8 << 20;
  ProcessResult r = run_process(o);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stdout_text.size(), o.stdin_data.size());
  EXPECT_FALSE(r.stdout_truncated);
}

TEST(RunProcess, ChildThatIgnoresStdinDoesNotBreakTheCaller) {
  // The child exits without reading; writing the rest must not raise SIGPIPE in this process.
  ProcessOptions o;
  o.argv = {"true"};
  o.stdin_data = std::string(4 << 20, 'a');
  ProcessResult r = run_process(o);
  EXPECT_EQ(r.exit_code, 0);
}

TEST(RunProcess, HonoursCwd) {
  jarvis::test::TempDir dir;
  ProcessOptions o;
  o.argv = {"pwd", "-P"};
  o.cwd = dir.path();
  ProcessResult r = run_process(o);
  EXPECT_EQ(r.exit_code, 0);
  char real[4096];
  ASSERT_NE(::realpath(dir.path().c_str(), real), nullptr);
  EXPECT_EQ(r.stdout_text, std::string(real) + "\n");
}

TEST(RunProcess, MissingCwdIsAClearError) {
  ProcessOptions o;
  o.argv = {"true"};
  o.cwd = "/nonexistent/jarvis-test-dir";
  ProcessResult r = run_process(o);
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.stderr_text.find("/nonexistent/jarvis-test-dir"), std::string::npos) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("working directory"), std::string::npos) << r.stderr_text;

  jarvis::test::TempDir dir;
  jarvis::test::write_file(dir.file("plain"), "x");
  o.cwd = dir.file("plain");
  r = run_process(o);
  EXPECT_EQ(r.exit_code, 126);
  EXPECT_NE(r.stderr_text.find("Not a directory"), std::string::npos) << r.stderr_text;
}

TEST(RunProcess, ExtraEnvIsAddedAndOverrides) {
  ::setenv("JARVIS_SUBPROCESS_TEST_INHERITED", "inherited", 1);
  ::setenv("HOME", "/home/jarvis-test", 1);
  ProcessOptions o;
  o.argv = {"bash", "-c", "echo \"$JARVIS_A|$JARVIS_SUBPROCESS_TEST_INHERITED|$HOME\""};
  o.extra_env = {{"JARVIS_A", "value with spaces"}};
  ProcessResult r = run_process(o);
  // Not on the allow-list: not inherited. HOME is on the default list.
  EXPECT_EQ(r.stdout_text, "value with spaces||/home/jarvis-test\n");

  o.extra_env = {{"JARVIS_SUBPROCESS_TEST_INHERITED", "overridden"}, {"HOME", "/elsewhere"}};
  r = run_process(o);
  EXPECT_EQ(r.stdout_text, "|overridden|/elsewhere\n");
}

/// The child's environment as name -> value, read with `env -0`.
std::map<std::string, std::string> child_env(ProcessOptions o) {
  o.argv = {"env", "-0"};
  ProcessResult r = run_process(o);
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  std::map<std::string, std::string> out;
  std::size_t pos = 0;
  while (pos < r.stdout_text.size()) {
    std::size_t end = r.stdout_text.find('\0', pos);
    if (end == std::string::npos) end = r.stdout_text.size();
    std::string entry = r.stdout_text.substr(pos, end - pos);
    auto eq = entry.find('=');
    out[entry.substr(0, eq)] = eq == std::string::npos ? "" : entry.substr(eq + 1);
    pos = end + 1;
  }
  return out;
}

TEST(RunProcessEnv, HostSecretsAreNotInheritedByDefault) {
  ::setenv("JARVIS_TEST_SECRET", "s3cr3t", 1);
  ::setenv("OPENAI_API_KEY", "sk-test", 1);
  ::setenv("DATABASE_URL", "postgresql://u:p@db/x", 1);
  ::setenv("PATH", "/usr/local/bin:/usr/bin:/bin", 1);
  ::setenv("LC_TIME", "C.UTF-8", 1);
  auto env = child_env({});
  EXPECT_EQ(env.count("JARVIS_TEST_SECRET"), 0u);
  EXPECT_EQ(env.count("OPENAI_API_KEY"), 0u);
  EXPECT_EQ(env.count("DATABASE_URL"), 0u);
  EXPECT_EQ(env["PATH"], "/usr/local/bin:/usr/bin:/bin");
  EXPECT_EQ(env["LC_TIME"], "C.UTF-8");  // LC_* is on the default list
  for (const auto& [name, value] : env) {
    EXPECT_NE(value, "s3cr3t") << name;
    bool allowed = false;
    for (const auto& entry : jarvis::default_inherited_env()) {
      allowed = allowed || entry == name ||
                (entry.back() == '*' && name.rfind(entry.substr(0, entry.size() - 1), 0) == 0);
    }
    EXPECT_TRUE(allowed) << "unexpected variable in the child: " << name;
  }
}

TEST(RunProcessEnv, AllowListedAndExplicitVariablesArePassed) {
  ::setenv("JARVIS_TEST_SECRET", "s3cr3t", 1);
  ::setenv("JARVIS_TEST_ALLOWED", "yes", 1);
  ::setenv("JARVIS_TEST_API_KEY", "k", 1);
  ::setenv("JARVIS_TEST_OTHER", "o", 1);
  ProcessOptions o;
  o.inherit_env = {"JARVIS_TEST_ALLOWED"};
  o.extra_env = {{"CI", "1"}};
  auto env = child_env(o);
  EXPECT_EQ(env["JARVIS_TEST_ALLOWED"], "yes");
  EXPECT_EQ(env["CI"], "1");
  EXPECT_EQ(env.count("JARVIS_TEST_OTHER"), 0u);
  EXPECT_EQ(env.count("PATH"), 0u);  // the caller replaced the default list

  // A prefix pattern copies the matching variables, but never secret-looking ones.
  o.inherit_env = {"JARVIS_TEST_*"};
  env = child_env(o);
  EXPECT_EQ(env["JARVIS_TEST_ALLOWED"], "yes");
  EXPECT_EQ(env["JARVIS_TEST_OTHER"], "o");
  EXPECT_EQ(env.count("JARVIS_TEST_SECRET"), 0u);
  EXPECT_EQ(env.count("JARVIS_TEST_API_KEY"), 0u);

  // Naming a variable exactly is an explicit decision and is honoured.
  o.inherit_env = {"JARVIS_TEST_SECRET"};
  env = child_env(o);
  EXPECT_EQ(env["JARVIS_TEST_SECRET"], "s3cr3t");

  // Nothing inherited: the child sees exactly extra_env.
  o.inherit_env = {};
  o.extra_env = {{"ONLY", "this"}};
  env = child_env(o);
  EXPECT_EQ(env, (std::map<std::string, std::string>{{"ONLY", "this"}}));
}

TEST(RunProcessEnv, SecretLookingNames) {
  using jarvis::looks_like_secret_env;
  for (std::string n : {"OPENAI_API_KEY", "GITHUB_TOKEN", "WEBHOOK_SECRET", "DB_PASSWORD",
                        "PGPASSWORD", "AWS_SECRET_ACCESS_KEY", "DATABASE_URL", "SENTRY_DSN",
                        "APP_DB", "ssh_auth_sock", "JARVIS_SESSION_COOKIE", "GPG_PRIVATE"}) {
    EXPECT_TRUE(looks_like_secret_env(n)) << n;
  }
  for (std::string n : {"PATH", "HOME", "LANG", "LC_ALL", "TZ", "TERM", "CC", "MAKEFLAGS"}) {
    EXPECT_FALSE(looks_like_secret_env(n)) << n;
  }
}

TEST(RunProcess, BinaryNotFound) {
  ProcessOptions o;
  o.argv = {"jarvis-no-such-binary-xyz", "arg"};
  ProcessResult r = run_process(o);
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_FALSE(r.timed_out);
  EXPECT_NE(r.stderr_text.find("jarvis-no-such-binary-xyz"), std::string::npos) << r.stderr_text;
}

TEST(RunProcess, NotExecutableIs126) {
  jarvis::test::TempDir dir;
  jarvis::test::write_file(dir.file("script.sh"), "#!/bin/sh\necho hi\n");
  ProcessOptions o;
  o.argv = {dir.file("script.sh")};
  ProcessResult r = run_process(o);
  EXPECT_EQ(r.exit_code, 126);
  EXPECT_NE(r.stderr_text.find("script.sh"), std::string::npos);
}

TEST(RunProcess, TimeoutKillsTheWholeProcessGroup) {
  jarvis::test::TempDir dir;
  std::string pids = dir.file("pids");
  ProcessOptions o;
  o.argv = {"bash", "-c",
            "sleep 100 & echo $! >> '" + pids + "'; sleep 100 & echo $! >> '" + pids +
                "'; echo started; wait"};
  o.timeout_ms = 500;
  ProcessResult r = run_process(o);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, 124);
  EXPECT_EQ(r.stdout_text, "started\n");

  std::istringstream in(jarvis::test::read_file(pids));
  std::vector<int> children;
  for (int pid; in >> pid;) children.push_back(pid);
  ASSERT_EQ(children.size(), 2u);
  for (int pid : children) EXPECT_TRUE(wait_gone(pid)) << "grandchild " << pid << " survived";
}

TEST(RunProcess, TimeoutEscalatesToSigkill) {
  // The shell ignores SIGTERM; only SIGKILL after the grace period ends it.
  ProcessResult r = sh("trap '' TERM; echo ready; while :; do sleep 0.05; done", 300);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, 124);
  EXPECT_EQ(r.stdout_text, "ready\n");
}

TEST(RunProcess, DescendantHoldingThePipeDoesNotHangTheCall) {
  // The main process exits at once; a background child keeps stdout open. The call returns with
  // the main process's exit code and the straggler is killed.
  jarvis::test::TempDir dir;
  std::string pidfile = dir.file("pid");
  ProcessResult r = sh("sleep 100 & echo $! > '" + pidfile + "'; exit 5", 60000);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 5);
  int pid = std::stoi(jarvis::test::read_file(pidfile));
  EXPECT_TRUE(wait_gone(pid));
}

TEST(RunProcess, HugeOutputIsBoundedAndDrained) {
  ProcessOptions o;
  o.argv = {"bash", "-c", "yes | head -c 50000000; echo tail >&2"};
  o.max_output_bytes = 1000;
  o.timeout_ms = 120000;
  ProcessResult r = run_process(o);
  EXPECT_FALSE(r.timed_out);  // the child was never blocked on a full pipe
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stdout_text.size(), 1000u);
  EXPECT_TRUE(r.stdout_truncated);
  EXPECT_EQ(r.stdout_text.substr(0, 4), "y\ny\n");
  EXPECT_EQ(r.stderr_text, "tail\n");
  EXPECT_FALSE(r.stderr_truncated);
}

TEST(RunProcess, StderrIsBoundedIndependently) {
  ProcessOptions o;
  o.argv = {"bash", "-c", "head -c 100000 /dev/zero >&2; echo ok"};
  o.max_output_bytes = 10;
  ProcessResult r = run_process(o);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stderr_text.size(), 10u);
  EXPECT_TRUE(r.stderr_truncated);
  EXPECT_EQ(r.stdout_text, "ok\n");
  EXPECT_FALSE(r.stdout_truncated);
}

TEST(RunProcessOutputFile, LargeOutputGoesToTheFileAndMemoryKeepsTheTail) {
  jarvis::test::TempDir dir;
  std::string log = dir.file("build.log");
  jarvis::test::write_file(log, "previous run\n");
  ProcessOptions o;
  o.argv = {"bash", "-c", "yes | head -c 3000000; echo END; echo err-line >&2"};
  o.max_output_bytes = 1000;
  o.output_file = log;
  ProcessResult r = run_process(o);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output_file_error, "");
  EXPECT_EQ(r.stdout_text.size(), 1000u);
  EXPECT_TRUE(r.stdout_truncated);
  EXPECT_EQ(r.stdout_text.substr(r.stdout_text.size() - 6), "y\nEND\n");  // the tail
  EXPECT_EQ(r.stderr_text, "err-line\n");
  EXPECT_FALSE(r.stderr_truncated);

  std::string content = jarvis::test::read_file(log);
  EXPECT_EQ(content.size(), 13u + 3000000u + 4u + 9u);  // appended, nothing lost
  EXPECT_EQ(content.substr(0, 15), "previous run\ny\n");
  EXPECT_NE(content.find("END\n"), std::string::npos);
  EXPECT_NE(content.find("err-line\n"), std::string::npos);
}

TEST(RunProcessOutputFile, NewFileIsPrivateAndUnopenableFileThrows) {
  jarvis::test::TempDir dir;
  ProcessOptions o;
  o.argv = {"echo", "hi"};
  o.output_file = dir.file("new.log");
  ProcessResult r = run_process(o);
  EXPECT_EQ(r.stdout_text, "hi\n");
  EXPECT_FALSE(r.stdout_truncated);
  EXPECT_EQ(jarvis::test::read_file(o.output_file), "hi\n");
  EXPECT_EQ(std::filesystem::status(o.output_file).permissions() & std::filesystem::perms::mask,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

  std::string marker = dir.file("ran");
  o.argv = {"touch", marker};
  o.output_file = "/nonexistent-dir-xyz/out.log";
  EXPECT_THROW(run_process(o), std::system_error);
  EXPECT_FALSE(std::filesystem::exists(marker));  // nothing was started
}

/// Pids a child script wrote, one per line.
std::vector<int> read_pids(const std::string& file) {
  std::vector<int> out;
  std::ifstream in(file);
  for (int pid; in >> pid;) out.push_back(pid);
  return out;
}

/// Waits (bounded) until `file` lists `n` pids.
bool wait_pids(const std::string& file, std::size_t n) {
  for (int i = 0; i < 2000; ++i) {
    if (read_pids(file).size() >= n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::string two_sleepers(const std::string& pids) {
  return "sleep 100 & echo $! >> '" + pids + "'; sleep 100 & echo $! >> '" + pids +
         "'; echo started; wait";
}

TEST(RunProcessCancel, CancelKillsTheWholeProcessGroup) {
  jarvis::test::TempDir dir;
  std::string pids = dir.file("pids");
  jarvis::CancelSource source;
  std::thread canceller([&] {
    wait_pids(pids, 2);
    source.cancel();
  });
  ProcessOptions o;
  o.argv = {"bash", "-c", two_sleepers(pids)};
  o.timeout_ms = 600000;
  o.cancel = source.token();
  ProcessResult r = run_process(o);
  canceller.join();
  EXPECT_TRUE(r.cancelled);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 130);
  EXPECT_EQ(r.stdout_text, "started\n");
  std::vector<int> children = read_pids(pids);
  ASSERT_EQ(children.size(), 2u);
  for (int pid : children) EXPECT_TRUE(wait_gone(pid)) << "grandchild " << pid << " survived";
}

TEST(RunProcessCancel, PredicateTokenAndSigtermIgnoringChild) {
  // CancelToken::when is how a task passes TaskContext::should_stop; the shell ignores SIGTERM,
  // so only the SIGKILL after the grace period ends it.
  jarvis::test::TempDir dir;
  std::string pids = dir.file("pids");
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    wait_pids(pids, 1);
    stop = true;
  });
  ProcessOptions o;
  o.argv = {"bash", "-c",
            "trap '' TERM; sleep 100 & echo $! >> '" + pids + "'; while :; do sleep 0.05; done"};
  o.timeout_ms = 600000;
  o.cancel = jarvis::CancelToken::when([&] { return stop.load(); });
  ProcessResult r = run_process(o);
  stopper.join();
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(r.exit_code, 130);
  std::vector<int> children = read_pids(pids);
  ASSERT_EQ(children.size(), 1u);
  EXPECT_TRUE(wait_gone(children[0]));
}

TEST(RunProcessCancel, AlreadyCancelledTokenStartsNothing) {
  jarvis::test::TempDir dir;
  jarvis::CancelSource source;
  source.cancel();
  ProcessOptions o;
  o.argv = {"touch", dir.file("ran")};
  o.cancel = source.token();
  ProcessResult r = run_process(o);
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(r.exit_code, 130);
  EXPECT_FALSE(std::filesystem::exists(dir.file("ran")));
}

TEST(RunProcessCancel, UncancelledTokenChangesNothing) {
  jarvis::CancelSource source;
  ProcessOptions o;
  o.argv = {"bash", "-c", "echo ok; exit 4"};
  o.cancel = source.token();
  ProcessResult r = run_process(o);
  EXPECT_FALSE(r.cancelled);
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(r.stdout_text, "ok\n");
}

TEST(RunProcess, ConcurrentRunsFromSeveralThreads) {
  constexpr int kThreads = 8;
  std::vector<ProcessResult> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([i, &results] {
      ProcessOptions o;
      o.argv = {"bash", "-c", "read x; echo \"$x-$JARVIS_N\"; exit $JARVIS_N"};
      o.stdin_data = "in" + std::to_string(i) + "\n";
      o.extra_env = {{"JARVIS_N", std::to_string(i)}};
      results[i] = run_process(o);
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) {
    EXPECT_EQ(results[i].exit_code, i);
    EXPECT_EQ(results[i].stdout_text, "in" + std::to_string(i) + "-" + std::to_string(i) + "\n");
  }
}

TEST(RunProcess, DoesNotLeakItsPipesToTheChild) {
  // The child may hold 0, 1, 2 and whatever this test process itself inherited without
  // close-on-exec (from the harness) — but none of run_process's own pipe ends.
  std::set<int> inheritable = {0, 1, 2};
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    int fd = std::stoi(entry.path().filename().string());
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC)) inheritable.insert(fd);
  }
  ProcessResult r = sh("for f in /proc/$$/fd/*; do [ -e \"$f\" ] && echo ${f##*/}; done; true");
  ASSERT_EQ(r.exit_code, 0);
  std::istringstream in(r.stdout_text);
  for (int fd; in >> fd;) EXPECT_TRUE(inheritable.count(fd)) << "unexpected fd " << fd;
}

TEST(RunProcess, ChildRunsInItsOwnProcessGroup) {
  ProcessResult r = sh("ps -o pgid= -p $$; echo $$");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  std::istringstream in(r.stdout_text);
  int pgid = 0, pid = 0;
  in >> pgid >> pid;
  EXPECT_EQ(pgid, pid);
  EXPECT_NE(pgid, static_cast<int>(::getpgrp()));
}

}  // namespace

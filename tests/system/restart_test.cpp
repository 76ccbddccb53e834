// tests/system/restart_test.cpp — the controlled restart: stale flag at start-up, 503 +
// Retry-After for webhooks while restarting (real HTTP server), draining an in-flight request and
// a running task (real TaskService), RESTART_COMMAND, and the exec that replaces the process.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdint>
#include <future>
#include <sstream>
#include <string>

#include "http/dispatcher.h"
#include "http/router.h"
#include "http/server.h"
#include "observability/metrics.h"
#include "system_fixture.h"
#include "tasks/task_service.h"

namespace jarvis::host::systest {
namespace {

using namespace std::chrono_literals;

/// A one-shot gate a handler waits on.
class Gate {
 public:
  void open() {
    std::lock_guard l(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock l(mu_);
    cv_.wait_for(l, 60s, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

/// Records what the final step of a restart did instead of replacing the test process.
struct ExecRecorder {
  std::atomic<int> execs{0};
  std::atomic<int> exit_code{-1};
  std::vector<std::string> argv;
  std::function<bool()> check_at_exec = [] { return true; };
  std::atomic<bool> check_result{false};

  void install(RestartHooks& h) {
    h.exec = [this](const std::vector<std::string>& a) {
      argv = a;
      check_result = check_at_exec();
      ++execs;
      return std::string();  // "succeeded"
    };
    h.exit_process = [this](int code) {
      check_result = check_at_exec();
      exit_code = code;
    };
  }
};

class RestartTest : public SystemTest {};

TEST_P(RestartTest, StaleRestartingFlagIsClearedAtStartup) {
  exec(
      "UPDATE system_state SET restarting = 1, restart_requested_by = 'user:usr_a', "
      "restart_trace_id = 'trc_x'");
  auto s = make_state();
  EXPECT_TRUE(s->restarting());  // as left behind by the previous process
  s->start([] { return true; });
  s->stop();
  EXPECT_FALSE(s->restarting());
  EXPECT_EQ(integer("SELECT restarting FROM system_state WHERE id = 1"), 0);
  auto done = events("system.restart.complete");
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].payload["result"], "ok");
  EXPECT_EQ(done[0].payload["requested_by"], "user:usr_a");
  EXPECT_EQ(done[0].trace_id, "trc_x");

  // Not ready after the restart: cleared all the same, and the result says so.
  exec("UPDATE system_state SET restarting = 1");
  auto again = make_state();
  again->start([] { return false; });
  again->stop();
  EXPECT_FALSE(again->restarting());
  auto all = events("system.restart.complete");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].payload["result"], "not_ready");

  // A clean start emits nothing.
  auto third = make_state();
  third->start(nullptr);
  EXPECT_EQ(events("system.restart.complete").size(), 2u);
}

TEST_P(RestartTest, WebhooksAnswer503WithRetryAfterWhileRestarting) {
  options_.retry_after_seconds = 17;
  auto s = make_state();
  Router router;
  MetricsRegistry metrics;
  router.add(Owner{}, {.method = "POST",
                       .path = "/webhooks/test",
                       .auth = jarvis::Auth::Webhook,
                       .handler = [](jarvis::Request&) {
                         return jarvis::Response::json(200, {{"accepted", true}});
                       }});
  router.add(Owner{}, {.method = "GET",
                       .path = "/api/v1/thing",
                       .auth = jarvis::Auth::Public,
                       .handler = [](jarvis::Request&) {
                         return jarvis::Response::json(200, {{"ok", true}});
                       }});
  DispatchHooks dh;
  dh.authorize = [&](jarvis::Request& req, const RouteEntry& route) {
    return s->guard_webhook(req, route);
  };
  Dispatcher dispatcher(router, metrics, dh);
  HttpServer server(ServerOptions{.host = "127.0.0.1", .port = 0, .threads = 2}, dispatcher);
  server.start();
  std::string base = "http://127.0.0.1:" + std::to_string(server.port());

  EXPECT_EQ(jarvis::test::http("POST", base + "/webhooks/test", "{}").status, 200);

  Gate gate;
  RestartHooks hooks;
  hooks.drain_tasks = [&](std::chrono::milliseconds) {
    gate.wait();  // hold the restart in its draining phase
    return true;
  };
  ExecRecorder rec;
  rec.install(hooks);
  s->set_restart_hooks(hooks);
  ASSERT_TRUE(s->begin_restart("user:usr_admin", "trc_1"));
  EXPECT_FALSE(s->begin_restart("user:usr_admin", "trc_2"));  // one at a time
  EXPECT_TRUE(s->restarting());
  EXPECT_TRUE(s->flags().restarting());

  auto r = jarvis::test::http("POST", base + "/webhooks/test", "{}");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.headers["retry-after"], "17");
  EXPECT_NE(r.body.find("\"restarting\""), std::string::npos) << r.body;
  EXPECT_EQ(jarvis::test::http("GET", base + "/api/v1/thing").status, 200);  // not a webhook

  gate.open();
  s->wait_restart();
  server.shutdown(1s);
  EXPECT_EQ(rec.execs.load(), 1);
  auto start = events("system.restart.start");
  ASSERT_EQ(start.size(), 1u);
  EXPECT_EQ(start[0].trace_id, "trc_1");
  EXPECT_EQ(start[0].payload["requested_by"], "user:usr_admin");
  EXPECT_EQ(integer("SELECT restarting FROM system_state WHERE id = 1"),
            1);  // cleared by the next start
}

TEST_P(RestartTest, RestartWaitsForAnInFlightRequestBeforeExec) {
  auto s = make_state();
  Router router;
  MetricsRegistry metrics;
  Gate release;
  std::atomic<bool> request_finished{false};
  router.add(Owner{}, {.method = "GET",
                       .path = "/slow",
                       .auth = jarvis::Auth::Public,
                       .handler = [&](jarvis::Request&) {
                         release.wait();
                         request_finished = true;
                         return jarvis::Response::json(200, {{"done", true}});
                       }});
  Dispatcher dispatcher(router, metrics);
  HttpServer server(ServerOptions{.host = "127.0.0.1", .port = 0, .threads = 2}, dispatcher);
  server.start();
  auto pending = std::async(std::launch::async, [&] {
    return jarvis::test::http("GET", "http://127.0.0.1:" + std::to_string(server.port()) + "/slow");
  });
  ASSERT_TRUE(eventually([&] { return server.in_flight() == 1; }));

  RestartHooks hooks;
  hooks.stop_accepting = [&] { server.stop_accepting(); };
  hooks.drain_http = [&](std::chrono::milliseconds grace) {
    server.shutdown(grace);
    return server.in_flight() == 0;
  };
  ExecRecorder rec;
  rec.check_at_exec = [&] { return request_finished.load(); };
  rec.install(hooks);
  s->set_restart_hooks(hooks);
  ASSERT_TRUE(s->begin_restart("user:usr_admin", ""));
  ASSERT_TRUE(eventually([&] { return events("system.restart.start").size() == 1; }));
  EXPECT_EQ(rec.execs.load(), 0);
  release.open();
  auto r = pending.get();
  EXPECT_EQ(r.status, 200);  // answered, not cut off
  s->wait_restart();
  EXPECT_EQ(rec.execs.load(), 1);
  EXPECT_TRUE(rec.check_result.load()) << "exec ran before the in-flight request finished";
  auto drain = events("system.restart.drain");
  ASSERT_EQ(drain.size(), 1u);
  EXPECT_EQ(drain[0].payload["http_drained"], true);
  auto exec_events = events("system.restart.exec");
  ASSERT_EQ(exec_events.size(), 1u);
  EXPECT_EQ(exec_events[0].payload["mode"], "reexec");
  EXPECT_EQ(exec_events[0].payload["argv"].get<std::vector<std::string>>(), rec.argv);
  ASSERT_FALSE(rec.argv.empty());
  EXPECT_NE(rec.argv[0].find("test_system"), std::string::npos);  // the same program, same args
}

TEST_P(RestartTest, RestartDrainsARunningTaskAndLeavesQueuedOnesQueued) {
  auto s = make_state();
  TaskService tasks(*db_, bus_.get(), nullptr);
  Gate release;
  std::atomic<bool> started{false}, finished{false};
  tasks.add(Owner{}, {.name = "test.slow", .handler = [&](jarvis::TaskContext&) {
                        started = true;
                        release.wait();
                        finished = true;
                        return jarvis::Json{{"ok", true}};
                      }});
  tasks.add(Owner{},
            {.name = "test.later", .handler = [](jarvis::TaskContext&) { return jarvis::Json{}; }});
  std::string slow_id = tasks.enqueue("test.slow", {});
  RunnerOptions ro;
  ro.run_scheduler = false;
  ro.poll_interval = 20ms;
  tasks.start(ro);
  ASSERT_TRUE(eventually([&] { return started.load(); }));

  RestartHooks hooks;
  std::atomic<bool> claiming_stopped{false};
  hooks.drain_tasks = [&](std::chrono::milliseconds t) {
    tasks.stop_claiming();
    claiming_stopped = true;
    return tasks.drain(t);
  };
  ExecRecorder rec;
  rec.check_at_exec = [&] { return finished.load(); };
  rec.install(hooks);
  s->set_restart_hooks(hooks);
  ASSERT_TRUE(s->begin_restart("user:usr_admin", "trc_t"));
  ASSERT_TRUE(eventually([&] { return claiming_stopped.load(); }));
  EXPECT_EQ(events("system.restart.start").size(), 1u);
  std::string later_id = tasks.enqueue("test.later", {});  // arrives during the restart
  release.open();
  s->wait_restart();
  EXPECT_TRUE(rec.check_result.load()) << "exec ran before the task finished";
  auto drain = events("system.restart.drain");
  ASSERT_EQ(drain.size(), 1u);
  EXPECT_EQ(drain[0].payload["tasks_drained"], true);
  EXPECT_EQ(text("SELECT status FROM tasks WHERE id = '" + slow_id + "'"), "succeeded");
  EXPECT_EQ(text("SELECT status FROM tasks WHERE id = '" + later_id + "'"), "queued");
}

TEST_P(RestartTest, DrainTimeoutIsReportedAndTheRestartProceeds) {
  options_.task_drain_timeout = 200ms;
  auto s = make_state();
  TaskService tasks(*db_, bus_.get(), nullptr);
  Gate release;
  std::atomic<bool> started{false};
  tasks.add(Owner{}, {.name = "test.stuck", .handler = [&](jarvis::TaskContext&) {
                        started = true;
                        release.wait();
                        return jarvis::Json{};
                      }});
  tasks.enqueue("test.stuck", {});
  RunnerOptions ro;
  ro.run_scheduler = false;
  ro.poll_interval = 20ms;
  tasks.start(ro);
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  RestartHooks hooks;
  hooks.drain_tasks = [&](std::chrono::milliseconds t) {
    tasks.stop_claiming();
    return tasks.drain(t);
  };
  ExecRecorder rec;
  rec.install(hooks);
  s->set_restart_hooks(hooks);
  ASSERT_TRUE(s->begin_restart("user:usr_admin", ""));
  s->wait_restart();
  release.open();
  EXPECT_EQ(rec.execs.load(), 1);
  auto drain = events("system.restart.drain");
  ASSERT_EQ(drain.size(), 1u);
  EXPECT_EQ(drain[0].payload["tasks_drained"], false);
  tasks.drain(10s);
}

TEST_P(RestartTest, RestartCommandRunsThenTheProcessExits) {
  std::string marker = tmp_.file("restarted");
  options_.restart_command = "echo via-command; echo restarted > '" + marker + "'";
  auto s = make_state();
  RestartHooks hooks;
  ExecRecorder rec;
  rec.install(hooks);
  s->set_restart_hooks(hooks);
  ASSERT_TRUE(s->begin_restart("user:usr_admin", ""));
  s->wait_restart();
  EXPECT_EQ(jarvis::test::read_file(marker), "restarted\n");
  EXPECT_EQ(rec.exit_code.load(), 0);
  EXPECT_EQ(rec.execs.load(), 0);
  auto ex = events("system.restart.exec");
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_EQ(ex[0].payload["mode"], "command");
  EXPECT_EQ(ex[0].payload["exit_status"], 0);
  EXPECT_EQ(ex[0].payload["stdout"], "via-command\n");
}

TEST_P(RestartTest, FailingRestartCommandFallsBackToReexec) {
  options_.restart_command = "echo nope >&2; exit 3";
  auto s = make_state();
  RestartHooks hooks;
  ExecRecorder rec;
  rec.install(hooks);
  s->set_restart_hooks(hooks);
  ASSERT_TRUE(s->begin_restart("user:usr_admin", ""));
  s->wait_restart();
  EXPECT_EQ(rec.execs.load(), 1);
  auto ex = events("system.restart.exec");
  ASSERT_EQ(ex.size(), 2u);
  EXPECT_EQ(ex[0].payload["exit_status"], 3);
  EXPECT_EQ(ex[0].payload["stderr"], "nope\n");
  EXPECT_EQ(ex[1].payload["mode"], "reexec");
}

INSTANTIATE_TEST_SUITE_P(Db, RestartTest, testing::Values(Backend::Sqlite, Backend::Postgresql),
                         backend_name);

// exec_image() in a forked child: descriptors above 2 are closed and no signal stays blocked or
// ignored in the new image (the restart runs on a thread whose mask blocks SIGTERM/SIGINT).
// Signals 32..SIGRTMIN-1 are reserved by glibc (thread cancellation, setxid broadcast): a process
// cannot change them through sigaction, a parent (CI runners do) may have left them ignored, and
// glibc installs its own handlers for them when it needs them, so they are not judged here.
TEST(ExecImage, NewImageGetsNoStrayDescriptorsAndNoBlockedSignals) {
  jarvis::test::TempDir tmp;
  const std::string report = tmp.file("status");
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int fd = ::open(tmp.file("leak").c_str(), O_CREAT | O_WRONLY, 0600);  // no O_CLOEXEC
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
    ::signal(SIGHUP, SIG_IGN);
    // Shell builtins only (no fork under a loaded machine): the new image copies its SigBlk and
    // SigIgn lines for the parent to judge.
    std::string script = "[ -e /proc/$$/fd/" + std::to_string(fd) +
                         " ] && exit 10; "
                         "while read k v; do "
                         "case \"$k\" in SigBlk:|SigIgn:) echo \"$k $v\";; esac; "
                         "done < /proc/$$/status > " +
                         report + "; exit 0";
    exec_image("/bin/sh", {"sh", "-c", script});
    ::_exit(99);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "10 = descriptor leaked";

  uint64_t reserved = 0;  // bit (sig - 1) for the glibc-reserved signals
  for (int sig = 32; sig < SIGRTMIN; ++sig) reserved |= uint64_t{1} << (sig - 1);
  std::istringstream lines(jarvis::test::read_file(report));
  std::string key, hex;
  int seen = 0;
  while (lines >> key >> hex) {
    uint64_t bits = std::stoull(hex, nullptr, 16) & ~reserved;
    EXPECT_EQ(bits, 0u) << key << " " << hex;
    ++seen;
  }
  EXPECT_EQ(seen, 2) << jarvis::test::read_file(report);
}

TEST(ExecImage, FailureIsReported) {
  EXPECT_EQ(exec_image("/bin/true", {}), "empty argv");
  pid_t pid = ::fork();  // a failed exec_image has already reset signal dispositions: not here
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::string err = exec_image("/nonexistent/binary", {"x"});
    ::_exit(err.rfind("execv /nonexistent/binary: ", 0) == 0 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace jarvis::host::systest

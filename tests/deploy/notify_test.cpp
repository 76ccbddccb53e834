// tests/deploy/notify_test.cpp — the systemd notify protocol of a real `jarvis serve`: a unix
// datagram socket stands in for NOTIFY_SOCKET and receives READY=1 (once /readyz answers),
// WATCHDOG=1 at half of WATCHDOG_USEC, RELOADING=1 and a new READY=1 around the controlled
// restart (re-exec, same pid), and STOPPING=1 on SIGTERM; no WATCHDOG=1 when the watchdog is
// meant for another process; no WATCHDOG=1 while the HTTP server's event loop is stuck (the
// pinger's no-op on the io_context has not run).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <future>
#include <string>
#include <vector>

#include "http/dispatcher.h"
#include "http/server.h"
#include "support/support.h"
#include "system/service_notify.h"

using jarvis::test::bearer;
using jarvis::test::eventually;
using jarvis::test::http;
using jarvis::test::ServerProcess;
using ::testing::HasSubstr;

namespace notify_test {

/// A bound AF_UNIX datagram socket: what systemd listens on.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~NotifySocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  bool bound() const { return bound_; }
  /// Every datagram received so far (in order).
  const std::vector<std::string>& messages() {
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
      received_.emplace_back(buf, static_cast<std::size_t>(n));
    }
    return received_;
  }
  /// Index of the first message at or after `from` containing `needle`, or -1.
  int find(const std::string& needle, int from = 0) {
    const auto& m = messages();
    for (int i = from; i < static_cast<int>(m.size()); ++i) {
      if (m[static_cast<std::size_t>(i)].find(needle) != std::string::npos) return i;
    }
    return -1;
  }
  int count(const std::string& needle) {
    int n = 0;
    for (const auto& m : messages()) n += m.find(needle) != std::string::npos ? 1 : 0;
    return n;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
  std::vector<std::string> received_;
};

}  // namespace notify_test

using notify_test::NotifySocket;

TEST(SystemdNotify, ReadyWatchdogReloadingAndStopping) {
  jarvis::test::TempDir dir;
  NotifySocket sock(dir.file("notify.sock"));
  ASSERT_TRUE(sock.bound());
  std::map<std::string, std::string> env{{"APP_DB", dir.file("j.db")},
                                         {"NOTIFY_SOCKET", dir.file("notify.sock")},
                                         {"WATCHDOG_USEC", "300000"}};
  ASSERT_EQ(jarvis::test::run_jarvis({"migrate"}, dir.path(), env).exit_code, 0);
  std::string admin = jarvis::test::create_user_token(dir.path(), env, "root", true);
  ServerProcess server(dir.path(), env);
  ASSERT_TRUE(server.ready()) << server.output();

  ASSERT_TRUE(eventually([&] { return sock.find("READY=1") >= 0; })) << server.output();
  const int ready = sock.find("READY=1");
  const std::string& ready_msg = sock.messages()[static_cast<std::size_t>(ready)];
  EXPECT_THAT(ready_msg, HasSubstr("MAINPID=" + std::to_string(server.pid())));
  EXPECT_THAT(ready_msg, HasSubstr("STATUS=serving on 127.0.0.1:" + std::to_string(server.port())));
  // READY=1 means serving: /readyz answers at once.
  EXPECT_EQ(http("GET", server.url("/readyz")).status, 200);
  // Pings at half of WATCHDOG_USEC, from start-up on (the first precedes READY=1).
  EXPECT_GE(sock.find("WATCHDOG=1"), 0);
  EXPECT_LT(sock.find("WATCHDOG=1"), ready);
  ASSERT_TRUE(eventually([&] { return sock.count("WATCHDOG=1") >= 4; }));

  auto r = http("POST", server.url("/api/v1/system/restart"), "{}",
                {bearer(admin), "Content-Type: application/json"});
  ASSERT_EQ(r.status, 202) << r.body;
  ASSERT_TRUE(eventually([&] { return sock.find("RELOADING=1") >= 0; })) << server.output();
  const int reloading = sock.find("RELOADING=1");
  EXPECT_THAT(sock.messages()[static_cast<std::size_t>(reloading)], HasSubstr("MONOTONIC_USEC="));
  // The re-executed image (same pid) is ready again, and keeps pinging.
  ASSERT_TRUE(eventually([&] { return sock.find("READY=1", reloading) > reloading; }))
      << server.output();
  const int ready_again = sock.find("READY=1", reloading);
  EXPECT_THAT(sock.messages()[static_cast<std::size_t>(ready_again)],
              HasSubstr("MAINPID=" + std::to_string(server.pid())));
  ASSERT_TRUE(eventually([&] { return sock.find("WATCHDOG=1", ready_again) > ready_again; }));
  EXPECT_EQ(sock.find("STOPPING=1"), -1);  // a controlled restart is no stop

  EXPECT_EQ(server.terminate(), 0) << server.output();
  EXPECT_GT(sock.find("STOPPING=1", ready_again), ready_again);
}

TEST(SystemdNotify, NoWatchdogPingsWhenTheWatchdogIsForAnotherProcess) {
  jarvis::test::TempDir dir;
  NotifySocket sock(dir.file("notify.sock"));
  ASSERT_TRUE(sock.bound());
  // WATCHDOG_PID names another process (pid 1): this one must not ping; READY and STOPPING still.
  std::map<std::string, std::string> env{{"APP_DB", dir.file("j.db")},
                                         {"NOTIFY_SOCKET", dir.file("notify.sock")},
                                         {"WATCHDOG_USEC", "300000"},
                                         {"WATCHDOG_PID", "1"}};
  ServerProcess server(dir.path(), env);
  ASSERT_TRUE(server.ready()) << server.output();
  ASSERT_TRUE(eventually([&] { return sock.find("READY=1") >= 0; })) << server.output();
  EXPECT_EQ(server.terminate(), 0);
  EXPECT_GE(sock.find("STOPPING=1"), 0);
  EXPECT_EQ(sock.count("WATCHDOG=1"), 0);  // a pinger would have pinged before READY=1
}

TEST(SystemdNotify, ServesWithoutANotifySocket) {
  jarvis::test::TempDir dir;
  // NOTIFY_SOCKET naming nothing (no listener): sending fails quietly, serving goes on.
  ServerProcess server(dir.path(), {{"APP_DB", dir.file("j.db")},
                                    {"NOTIFY_SOCKET", dir.file("nobody-listens.sock")}});
  ASSERT_TRUE(server.ready()) << server.output();
  EXPECT_EQ(http("GET", server.url("/readyz")).status, 200);
  EXPECT_EQ(server.terminate(), 0);
}

namespace notify_test {

/// NOTIFY_SOCKET of this test process for the scope (the pinger under test sends to it).
class NotifyEnv {
 public:
  explicit NotifyEnv(const std::string& socket) {
    ::setenv("NOTIFY_SOCKET", socket.c_str(), 1);
    ::setenv("WATCHDOG_USEC", "60000000", 1);
  }
  ~NotifyEnv() {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
  }
  NotifyEnv(const NotifyEnv&) = delete;
  NotifyEnv& operator=(const NotifyEnv&) = delete;
};

/// Runs `fn` on the server's I/O loop and waits until it ran (the loop is FIFO with one thread).
void run_on_loop(
    jarvis::host::HttpServer& server, std::function<void()> fn = [] {}) {
  auto done = std::make_shared<std::promise<void>>();
  auto ran = done->get_future();
  server.post_to_io([done, fn = std::move(fn)] {
    fn();
    done->set_value();
  });
  ran.wait();
}

}  // namespace notify_test

// The pinger's ticks driven by hand against a real HttpServer with one I/O thread: a handler
// blocking that thread (a stuck event loop) withholds WATCHDOG=1 until the loop runs again.
TEST(SystemdNotify, AStuckEventLoopGetsNoWatchdogPings) {
  jarvis::test::TempDir dir;
  NotifySocket sock(dir.file("notify.sock"));
  ASSERT_TRUE(sock.bound());
  notify_test::NotifyEnv env(dir.file("notify.sock"));
  jarvis::host::Router router;
  jarvis::host::MetricsRegistry metrics;
  jarvis::host::Dispatcher dispatcher(router, metrics);
  jarvis::host::ServerOptions options;
  options.port = 0;
  options.threads = 1;
  jarvis::host::HttpServer server(options, dispatcher);
  server.start();

  jarvis::host::WatchdogPinger pinger;
  EXPECT_TRUE(pinger.tick());  // nothing watched yet (start-up, migrations): pings
  pinger.watch([&server](std::function<void()> f) { server.post_to_io(std::move(f)); });
  notify_test::run_on_loop(server);  // the no-op watch() posted has run
  EXPECT_TRUE(pinger.tick());
  EXPECT_EQ(sock.count("WATCHDOG=1"), 2);

  // The loop's only thread blocks in a handler.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> blocked;
  server.post_to_io([&blocked, released] {
    blocked.set_value();
    released.wait();
  });
  blocked.get_future().wait();
  // The no-op of the last tick was queued before the block and ran: one more ping. The next one is
  // stuck behind the blocking handler: no ping, however many ticks.
  EXPECT_TRUE(pinger.tick());
  EXPECT_FALSE(pinger.tick());
  EXPECT_FALSE(pinger.tick());
  EXPECT_FALSE(pinger.tick());
  EXPECT_EQ(pinger.stalled_ticks(), 3u);
  EXPECT_EQ(sock.count("WATCHDOG=1"), 3);

  // The loop runs again: pings again.
  release.set_value();
  notify_test::run_on_loop(server);
  EXPECT_TRUE(pinger.tick());
  EXPECT_EQ(sock.count("WATCHDOG=1"), 4);

  // A stopped loop (shutdown) runs nothing: no pings while it is watched; the host un-watches it
  // for the drain (watch(nullptr)) and pings unconditionally again.
  notify_test::run_on_loop(server);  // the last tick's no-op ran before the stop
  server.shutdown(std::chrono::milliseconds(0));
  EXPECT_TRUE(pinger.tick());
  EXPECT_FALSE(pinger.tick());
  pinger.watch(nullptr);
  EXPECT_TRUE(pinger.tick());
  EXPECT_EQ(sock.count("WATCHDOG=1"), 6);
}

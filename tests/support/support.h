// tests/support/support.h — shared test helpers: temp dirs, the test PostgreSQL, an HTTP client,
// and a launcher for the real `jarvis` binary (end-to-end tests).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace jarvis::test {

/// A fresh directory under /tmp, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// The two database backends every storage test runs on.
enum class Backend { Sqlite, Postgresql };

/// "sqlite" / "postgresql": the suffix of parameterized test names.
inline std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::Sqlite ? "sqlite" : "postgresql";
}

/// A fresh, empty database for one test: a SQLite file under `dir`, or a new database on the test
/// PostgreSQL ("" and a test failure when it is not running).
std::string fresh_database_url(Backend backend, const TempDir& dir);

/// URL of the throwaway PostgreSQL started by the ctest fixture `pg`. Fails the current test
/// (ADD_FAILURE + returns "") when the fixture is not running.
std::string pg_test_url();
/// Creates a fresh, empty database on the test server and returns its URL (isolation per test).
std::string pg_fresh_database();

void write_file(const std::string& path, const std::string& content);
std::string read_file(const std::string& path);

/// A free TCP port on 127.0.0.1 (bound and released).
int free_port();

/// Polls `cond` every 10 ms until it holds (true) or `deadline` passes (false, after one last
/// check). The deadline only bounds a hung test; no test asserts on how long anything took.
///   ASSERT_TRUE(eventually([&] { return server.requests().size() == 2; }));
template <class Cond>
bool eventually(Cond cond, std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return static_cast<bool>(cond());
}

/// Result of an HTTP call made with libcurl.
struct HttpResult {
  int status = 0;  ///< 0 if the connection failed
  std::string body;
  std::map<std::string, std::string> headers;  ///< lower-cased names, last value wins
};

/// Makes one HTTP request (fresh connection). `headers` are "Name: value" lines.
HttpResult http(const std::string& method, const std::string& url, const std::string& body = "",
                const std::vector<std::string>& headers = {});

/// Output of a finished process.
struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs the built `jarvis` binary with `args` in `cwd` with extra environment; waits for it.
RunResult run_jarvis(const std::vector<std::string>& args, const std::string& cwd,
                     const std::map<std::string, std::string>& env = {},
                     const std::string& stdin_data = "");

/// Creates a user with the CLI (`jarvis users add`) and returns a fresh API token for it
/// (`jarvis tokens create --json`). Fails the current test on error and returns "".
std::string create_user_token(const std::string& cwd, const std::map<std::string, std::string>& env,
                              const std::string& username, bool admin,
                              const std::string& password = "correct horse battery staple");

/// "Authorization: Bearer <token>" for http().
inline std::string bearer(const std::string& token) { return "Authorization: Bearer " + token; }

/// A `jarvis serve` child process on a free port. The destructor sends SIGTERM and waits.
class ServerProcess {
 public:
  /// Starts `jarvis serve` in `cwd` with `env` (+ BIND_PORT) and waits until GET /healthz
  /// answers (up to `wait`). Extra `args` follow `serve`.
  ServerProcess(const std::string& cwd, std::map<std::string, std::string> env,
                std::vector<std::string> args = {},
                std::chrono::milliseconds wait = std::chrono::seconds(20));
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  int pid() const { return pid_; }
  std::string url(const std::string& path) const;
  bool ready() const { return ready_; }
  /// Sends SIGTERM and waits; returns the exit code (128+sig if killed by a signal).
  int terminate(std::chrono::milliseconds wait = std::chrono::seconds(20));
  /// Sends SIGKILL and waits.
  void kill9();
  /// Everything the server wrote to stdout+stderr so far.
  std::string output() const;

 private:
  int pid_ = -1;
  int port_ = 0;
  bool ready_ = false;
  std::string log_path_;
};

}  // namespace jarvis::test

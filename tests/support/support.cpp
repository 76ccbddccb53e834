// tests/support/support.cpp — implementation of the shared test helpers.
#include "support/support.h"

#include "jarvis/database.h"
#include "jarvis/testing.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;

namespace jarvis::test {

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "jarvis-test-XXXXXX").string();
  char* p = ::mkdtemp(tmpl.data());
  if (!p) throw std::runtime_error("mkdtemp failed");
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void write_file(const std::string& path, const std::string& content) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << content;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string pg_test_url() {
  std::string url = read_file(JARVIS_PG_URL_FILE);
  while (!url.empty() && (url.back() == '\n' || url.back() == ' ')) url.pop_back();
  if (url.empty()) {
    ADD_FAILURE() << "test PostgreSQL is not running (" << JARVIS_PG_URL_FILE
                  << " missing); run the tests with ctest, which starts it";
  }
  return url;
}

std::string pg_fresh_database() {
  std::string base = pg_test_url();
  if (base.empty()) return "";
  // Random suffix: ctest runs each test in its own process and pids can be reused within a run.
  std::string name = "t_" + jarvis::new_id("db").substr(3, 16);
  // base is postgresql://user@host:port/dbname — swap the database name.
  auto slash = base.rfind('/');
  std::string admin = base;
  std::string cmd = "psql -q -v ON_ERROR_STOP=1 '" + admin + "' -c 'CREATE DATABASE " + name +
                    "' >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    ADD_FAILURE() << "could not create test database " << name;
    return "";
  }
  return base.substr(0, slash + 1) + name;
}

std::string fresh_database_url(Backend backend, const TempDir& dir) {
  return backend == Backend::Sqlite ? dir.file("var/jarvis.db") : pg_fresh_database();
}

int free_port() { return jarvis::testing::free_port(); }

HttpResult http(const std::string& method, const std::string& url, const std::string& body,
                const std::vector<std::string>& headers) {
  // One HTTP client for the whole suite: the one jarvis::testing ships (Jarvis::testing).
  jarvis::testing::Headers pairs;
  for (const auto& h : headers) {
    auto colon = h.find(':');
    std::string name = h.substr(0, colon);
    std::string value = colon == std::string::npos ? "" : h.substr(colon + 1);
    auto b = value.find_first_not_of(" \t");
    pairs.emplace_back(name, b == std::string::npos ? "" : value.substr(b));
  }
  jarvis::testing::HttpResponse r = jarvis::testing::request(method, url, body, pairs);
  return {r.status, std::move(r.body), std::move(r.headers)};
}

namespace {

// Forks and execs the jarvis binary; stdout/stderr go to files; returns the pid.
int spawn_jarvis(const std::vector<std::string>& args, const std::string& cwd,
                 const std::map<std::string, std::string>& env, const std::string& out_path,
                 const std::string& err_path, const std::string& stdin_path) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    int in = ::open(stdin_path.empty() ? "/dev/null" : stdin_path.c_str(), O_RDONLY);
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err =
        err_path == out_path ? out : ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    std::vector<char*> argv;
    std::string bin = JARVIS_BIN;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

int wait_exit(int pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

RunResult run_jarvis(const std::vector<std::string>& args, const std::string& cwd,
                     const std::map<std::string, std::string>& env, const std::string& stdin_data) {
  TempDir tmp;
  std::string in_path;
  if (!stdin_data.empty()) {
    in_path = tmp.file("stdin");
    write_file(in_path, stdin_data);
  }
  int pid = spawn_jarvis(args, cwd, env, tmp.file("out"), tmp.file("err"), in_path);
  RunResult r;
  r.exit_code = wait_exit(pid);
  r.out = read_file(tmp.file("out"));
  r.err = read_file(tmp.file("err"));
  return r;
}

std::string create_user_token(const std::string& cwd, const std::map<std::string, std::string>& env,
                              const std::string& username, bool admin,
                              const std::string& password) {
  std::vector<std::string> add{"users", "add", username, "--password-stdin"};
  if (admin) add.push_back("--admin");
  RunResult a = run_jarvis(add, cwd, env, password + "\n");
  if (a.exit_code != 0) {
    ADD_FAILURE() << "jarvis users add " << username << " failed: " << a.out << a.err;
    return "";
  }
  RunResult t = run_jarvis({"tokens", "create", "--user", username, "--json"}, cwd, env);
  auto pos = t.out.find("\"token\":\"");
  if (t.exit_code != 0 || pos == std::string::npos) {
    ADD_FAILURE() << "jarvis tokens create failed: " << t.out << t.err;
    return "";
  }
  pos += 9;
  return t.out.substr(pos, t.out.find('"', pos) - pos);
}

ServerProcess::ServerProcess(const std::string& cwd, std::map<std::string, std::string> env,
                             std::vector<std::string> args, std::chrono::milliseconds wait) {
  if (env.count("BIND_PORT")) {
    port_ = std::stoi(env["BIND_PORT"]);
  } else {
    port_ = free_port();
    env["BIND_PORT"] = std::to_string(port_);
  }
  if (!env.count("BIND_HOST")) env["BIND_HOST"] = "127.0.0.1";
  log_path_ = cwd + "/server-" + std::to_string(port_) + ".log";
  std::vector<std::string> full{"serve"};
  full.insert(full.end(), args.begin(), args.end());
  pid_ = spawn_jarvis(full, cwd, env, log_path_, log_path_, "");
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      break;
    }
    if (http("GET", url("/healthz")).status == 200) {
      ready_ = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) terminate();
}

std::string ServerProcess::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

int ServerProcess::terminate(std::chrono::milliseconds wait) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + wait;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  wait_exit(pid_);
  pid_ = -1;
  return 137;
}

void ServerProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  wait_exit(pid_);
  pid_ = -1;
}

std::string ServerProcess::output() const { return read_file(log_path_); }

}  // namespace jarvis::test

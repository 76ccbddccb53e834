// sdk/testing/src/testing.cpp — jarvis/testing.h: a `jarvis` child process in a temp directory,
// libcurl for HTTP, the host's CLI for users and tokens.
#include "jarvis/testing.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace fs = std::filesystem;

namespace jarvis::testing {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_all(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  if (!f) throw std::runtime_error("jarvis::testing: cannot write " + path);
}

/// A free TCP port on 127.0.0.1 (bound and released; the host binds it right after).
int pick_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("jarvis::testing: socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("jarvis::testing: cannot find a free port");
  }
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

/// <dir of this library>/../bin/jarvis (install prefix or build tree), or "" if unknown.
std::string jarvis_next_to_library() {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&free_port), &info) == 0 || !info.dli_fname) return "";
  std::error_code ec;
  fs::path lib = fs::canonical(info.dli_fname, ec);
  if (ec) return "";
  // <prefix>/lib/libjarvis_testing.so or <prefix>/lib/<multiarch>/libjarvis_testing.so.
  for (fs::path dir = lib.parent_path(); !dir.empty() && dir != dir.root_path();
       dir = dir.parent_path()) {
    fs::path candidate = dir.parent_path() / "bin" / "jarvis";
    if (fs::exists(candidate, ec)) return candidate.string();
    if (dir.filename() == "lib") break;
  }
  return "";
}

std::string find_jarvis(const std::string& configured) {
  if (!configured.empty()) return configured;
  if (const char* env = std::getenv("JARVIS_BIN"); env && *env) return env;
  std::string found = jarvis_next_to_library();
  if (found.empty()) {
    throw std::runtime_error(
        "jarvis::testing: no jarvis binary found next to libjarvis_testing (<prefix>/bin/jarvis); "
        "set JARVIS_BIN or TestHostOptions::jarvis_binary");
  }
  return found;
}

// ------------------------------------------------------------------------------------- HTTP --

size_t on_body(char* ptr, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(ptr, size * n);
  return size * n;
}

size_t on_header(char* ptr, size_t size, size_t n, void* user) {
  std::string line(ptr, size * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = lower(line.substr(0, colon));
    std::string value = line.substr(colon + 1);
    auto b = value.find_first_not_of(" \t");
    auto e = value.find_last_not_of(" \t\r\n");
    value = b == std::string::npos ? "" : value.substr(b, e - b + 1);
    (*static_cast<std::map<std::string, std::string>*>(user))[name] = value;
  }
  return size * n;
}

HttpResponse http(const std::string& method, const std::string& url, const std::string& body,
                  const Headers& headers) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  HttpResponse r;
  CURL* c = curl_easy_init();
  if (!c) throw std::runtime_error("jarvis::testing: curl_easy_init failed");
  curl_slist* hs = nullptr;
  for (const auto& [name, value] : headers) {
    hs = curl_slist_append(hs, (name + ": " + value).c_str());
  }
  hs = curl_slist_append(hs, "Expect:");  // no 100-continue round trip
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "HEAD") curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  if (curl_easy_perform(c) == CURLE_OK) {
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    r.status = static_cast<int>(code);
  }
  curl_slist_free_all(hs);
  curl_easy_cleanup(c);
  return r;
}

Headers with_json(Headers h) {
  for (const auto& [name, value] : h) {
    if (lower(name) == "content-type") return h;
  }
  h.emplace_back("Content-Type", "application/json");
  return h;
}

// ---------------------------------------------------------------------------------- process --

/// Settings of the caller's environment that would point the host elsewhere.
const std::set<std::string>& dropped_keys() {
  static const std::set<std::string> keys{"DATABASE_URL",
                                          "APP_DB",
                                          "JARVIS_CONFIG_FILE",
                                          "JARVIS_PLUGIN_DIRS",
                                          "JARVIS_PLUGINS_DISABLED",
                                          "JARVIS_PLUGINS_REQUIRED",
                                          "BIND_HOST",
                                          "BIND_PORT"};
  return keys;
}

/// fork + execve of `bin args…` in `cwd` with `env` on top of the inherited environment; stdout
/// and stderr to the files (the same file for both when equal); stdin from `in_path` or
/// /dev/null. Everything the child needs is prepared before fork().
pid_t spawn(const std::string& bin, const std::vector<std::string>& args, const std::string& cwd,
            const std::map<std::string, std::string>& env, const std::string& out_path,
            const std::string& err_path, const std::string& in_path) {
  std::vector<std::string> env_strings;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    std::string key = kv.substr(0, kv.find('='));
    if (dropped_keys().count(key) || env.count(key)) continue;
    env_strings.push_back(std::move(kv));
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings{bin};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  int in = ::open(in_path.empty() ? "/dev/null" : in_path.c_str(), O_RDONLY | O_CLOEXEC);
  int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err = err_path == out_path
                ? out
                : ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (in < 0 || out < 0 || err < 0) throw std::runtime_error("jarvis::testing: cannot open files");
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execve(bin.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(in);
  if (err != out) ::close(err);
  ::close(out);
  if (pid < 0) throw std::runtime_error("jarvis::testing: fork failed");
  return pid;
}

/// Whether process `pid` holds the socket listening on 127.0.0.1:`port` (/proc/net/tcp → inode →
/// /proc/<pid>/fd), so that another process answering on that port is never taken for ours.
bool listens(pid_t pid, int port) {
  std::ifstream tcp("/proc/net/tcp");
  std::string line;
  std::getline(tcp, line);  // header
  std::set<std::string> inodes;
  char want[16];
  std::snprintf(want, sizeof want, ":%04X", port);
  while (std::getline(tcp, line)) {
    std::istringstream in(line);
    std::string sl, local, remote, state, queues, timer, retr, uid, timeout, inode;
    in >> sl >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >> inode;
    if (state == "0A" && local.size() > 5 && local.substr(local.size() - 5) == want) {
      inodes.insert("socket:[" + inode + "]");
    }
  }
  if (inodes.empty()) return false;
  std::error_code ec;
  for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code link_ec;
    auto target = fs::read_symlink(fd.path(), link_ec);
    if (!link_ec && inodes.count(target.string())) return true;
  }
  return false;
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

int wait_exit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return exit_code(status);
}

}  // namespace

// ----------------------------------------------------------------------------- HttpResponse --

Json HttpResponse::json() const {
  auto v = try_parse_json(body);
  if (!v) {
    throw std::runtime_error("jarvis::testing: HTTP " + std::to_string(status) +
                             " body is not JSON: " + body.substr(0, 500));
  }
  return *v;
}

std::string HttpResponse::header(const std::string& name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? "" : it->second;
}

Json CommandResult::json() const {
  auto v = try_parse_json(out);
  if (!v) {
    throw std::runtime_error("jarvis::testing: command output (exit " + std::to_string(exit_code) +
                             ") is not JSON: " + out.substr(0, 500) + err.substr(0, 500));
  }
  return *v;
}

// ----------------------------------------------------------------------------------- Client --

Client::Client(std::string base_url, std::string token)
    : base_url_(std::move(base_url)), token_(std::move(token)) {}

HttpResponse Client::request(const std::string& method, const std::string& path,
                             const std::string& body, const Headers& headers) const {
  if (base_url_.empty()) throw std::runtime_error("jarvis::testing: the host is not started");
  Headers h = headers;
  if (!token_.empty()) h.emplace_back("Authorization", "Bearer " + token_);
  return http(method, base_url_ + path, body, h);
}

HttpResponse Client::get(const std::string& path, const Headers& headers) const {
  return request("GET", path, "", headers);
}
HttpResponse Client::post(const std::string& path, const Json& body, const Headers& headers) const {
  return request("POST", path, body.dump(), with_json(headers));
}
HttpResponse Client::patch(const std::string& path, const Json& body,
                           const Headers& headers) const {
  return request("PATCH", path, body.dump(), with_json(headers));
}
HttpResponse Client::put(const std::string& path, const Json& body, const Headers& headers) const {
  return request("PUT", path, body.dump(), with_json(headers));
}
HttpResponse Client::del(const std::string& path, const Headers& headers) const {
  return request("DELETE", path, "", headers);
}

// --------------------------------------------------------------------------------- TestHost --

struct TestHost::State {
  TestHostOptions options;
  std::string bin;
  std::string dir;
  std::map<std::string, std::string> env;
  std::set<std::string> created;  // users this host created
  pid_t server = -1;
  int port = 0;
  std::string log;
};

TestHost::TestHost(TestHostOptions options) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.options = std::move(options);
  s.bin = find_jarvis(s.options.jarvis_binary);
  std::string tmpl = (fs::temp_directory_path() / "jarvis-testhost-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("jarvis::testing: mkdtemp failed");
  s.dir = tmpl;
  try {
    fs::create_directories(fs::path(s.dir) / "plugins");
    fs::create_directories(fs::path(s.dir) / "var");
    std::vector<std::string> names;
    for (const auto& folder : s.options.plugins) {
      fs::path p = fs::absolute(folder);
      if (!fs::exists(p / "plugin.yaml")) {
        throw std::runtime_error("jarvis::testing: " + p.string() +
                                 " is not a plugin folder (no plugin.yaml)");
      }
      std::string name = p.filename().string();
      fs::create_directory_symlink(p, fs::path(s.dir) / "plugins" / name);
      names.push_back(name);
    }
    const auto& required = s.options.required.empty() ? names : s.options.required;
    std::string req;
    for (const auto& n : required) req += (req.empty() ? "" : ",") + n;
    // One port for the CLI and the server: CLI commands that look for a running server
    // (`plugins list`, `doctor`) find this host's, never another one on the default port.
    s.port = pick_free_port();
    s.env = {{"APP_DB", s.dir + "/var/jarvis.db"},
             {"JARVIS_PLUGIN_DIRS", s.dir + "/plugins"},
             {"BIND_HOST", "127.0.0.1"},
             {"BIND_PORT", std::to_string(s.port)},
             {"LOG_LEVEL", s.options.log_level}};
    if (!req.empty()) s.env["JARVIS_PLUGINS_REQUIRED"] = req;
    for (const auto& [k, v] : s.options.env) s.env[k] = v;
    if (s.options.migrate) {
      CommandResult m = run({"migrate"});
      if (m.exit_code != 0) {
        throw std::runtime_error(
            "jarvis::testing: `" + s.bin + " migrate` exited " + std::to_string(m.exit_code) +
            (m.exit_code == 127 ? " (could not execute it)" : "") + ":\n" + m.out + m.err);
      }
    }
  } catch (...) {
    std::error_code ec;
    fs::remove_all(s.dir, ec);
    throw;
  }
}

TestHost::~TestHost() {
  stop();
  std::error_code ec;
  fs::remove_all(state_->dir, ec);
}

void TestHost::start(const std::map<std::string, std::string>& env,
                     const std::vector<std::string>& args) {
  State& s = *state_;
  if (s.server > 0) throw std::runtime_error("jarvis::testing: the host is already started");
  std::vector<std::string> full{"serve"};
  full.insert(full.end(), args.begin(), args.end());
  // A port is only known free when it is checked; another process may take it before the host
  // binds. The host then exits with "address already in use": take a fresh port and try again.
  // Readiness is the child's own listening socket plus /healthz, never /healthz alone.
  for (int attempt = 1;; ++attempt) {
    s.port = pick_free_port();
    s.env["BIND_PORT"] = std::to_string(s.port);  // the CLI asks this server from now on
    auto e = s.env;
    for (const auto& [k, v] : env) e[k] = v;
    e["BIND_HOST"] = "127.0.0.1";
    e["BIND_PORT"] = std::to_string(s.port);
    s.log = s.dir + "/server-" + std::to_string(s.port) + ".log";
    s.server = spawn(s.bin, full, s.dir, e, s.log, s.log, "");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    bool exited = false;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(s.server, &status, WNOHANG) == s.server) {
        exited = true;
        break;
      }
      // Ours, and serving: a process that took the port first may answer /healthz too.
      if (listens(s.server, s.port) && http("GET", url("/healthz"), "", {}).status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!exited) {
      stop();
      throw std::runtime_error("jarvis::testing: `jarvis serve` did not answer /healthz:\n" +
                               read_all(s.log));
    }
    s.server = -1;
    std::string log = read_all(s.log);
    if (attempt < 5 && log.find("address already in use") != std::string::npos) continue;
    throw std::runtime_error("jarvis::testing: `jarvis serve` exited " +
                             std::to_string(exit_code(status)) + ":\n" + log);
  }
}

int TestHost::stop() {
  State& s = *state_;
  if (s.server <= 0) return -1;
  ::kill(s.server, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(s.server, &status, WNOHANG) == s.server) {
      s.server = -1;
      return exit_code(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(s.server, SIGKILL);
  int code = wait_exit(s.server);
  s.server = -1;
  return code;
}

bool TestHost::running() const { return state_->server > 0; }
int TestHost::port() const { return state_->port; }

std::string TestHost::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(state_->port) + path;
}

std::string TestHost::server_output() const {
  return state_->log.empty() ? "" : read_all(state_->log);
}

CommandResult TestHost::run(const std::vector<std::string>& args, const std::string& input,
                            const std::map<std::string, std::string>& env) const {
  const State& s = *state_;
  auto e = s.env;
  for (const auto& [k, v] : env) e[k] = v;
  // Unique file names: run() may be called while a server writes its log into the same dir.
  static int counter = 0;
  std::string base = s.dir + "/run-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
  std::string in_path;
  if (!input.empty()) {
    in_path = base + ".in";
    write_all(in_path, input);
  }
  pid_t pid = spawn(s.bin, args, s.dir, e, base + ".out", base + ".err", in_path);
  CommandResult r;
  r.exit_code = wait_exit(pid);
  r.out = read_all(base + ".out");
  r.err = read_all(base + ".err");
  std::error_code ec;
  for (const char* ext : {".in", ".out", ".err"}) fs::remove(base + ext, ec);
  return r;
}

Client TestHost::client() const { return Client(url(), ""); }

HttpResponse TestHost::get(const std::string& path, const Headers& headers) const {
  return client().get(path, headers);
}
HttpResponse TestHost::post(const std::string& path, const Json& body,
                            const Headers& headers) const {
  return client().post(path, body, headers);
}
HttpResponse TestHost::patch(const std::string& path, const Json& body,
                             const Headers& headers) const {
  return client().patch(path, body, headers);
}
HttpResponse TestHost::put(const std::string& path, const Json& body,
                           const Headers& headers) const {
  return client().put(path, body, headers);
}
HttpResponse TestHost::del(const std::string& path, const Headers& headers) const {
  return client().del(path, headers);
}
HttpResponse TestHost::request(const std::string& method, const std::string& path,
                               const std::string& body, const Headers& headers) const {
  return client().request(method, path, body, headers);
}

void TestHost::create_user(const std::string& username, bool admin, const std::string& password) {
  std::vector<std::string> args{"users", "add", username, "--password-stdin"};
  if (admin) args.push_back("--admin");
  CommandResult r = run(args, password + "\n");
  if (r.exit_code != 0) {
    throw std::runtime_error("jarvis::testing: `jarvis users add " + username + "` exited " +
                             std::to_string(r.exit_code) + ": " + r.out + r.err);
  }
  state_->created.insert(username);
}

std::string TestHost::create_token(const std::string& username) {
  CommandResult r = run({"tokens", "create", "--user", username, "--json"});
  auto doc = r.exit_code == 0 ? try_parse_json(r.out) : std::nullopt;
  if (!doc || !doc->contains("token") || !(*doc)["token"].is_string()) {
    throw std::runtime_error("jarvis::testing: `jarvis tokens create --user " + username +
                             "` exited " + std::to_string(r.exit_code) + ": " + r.out + r.err);
  }
  return (*doc)["token"].get<std::string>();
}

Client TestHost::login(const std::string& username, const std::string& password) {
  HttpResponse r = post("/api/v1/auth/login", {{"username", username}, {"password", password}});
  auto doc = try_parse_json(r.body);
  if (r.status != 200 || !doc || !doc->contains("token") || !(*doc)["token"].is_string()) {
    throw std::runtime_error("jarvis::testing: login as " + username + " answered " +
                             std::to_string(r.status) + ": " + r.body);
  }
  return Client(url(), (*doc)["token"].get<std::string>());
}

Client TestHost::login_user(const std::string& username) {
  if (!state_->created.count(username)) create_user(username, false);
  return login(username);
}

Client TestHost::login_admin(const std::string& username) {
  if (!state_->created.count(username)) create_user(username, true);
  return login(username);
}

const std::string& TestHost::dir() const { return state_->dir; }
std::map<std::string, std::string> TestHost::environment() const { return state_->env; }
const std::string& TestHost::jarvis_binary() const { return state_->bin; }

HttpResponse request(const std::string& method, const std::string& url, const std::string& body,
                     const Headers& headers) {
  return http(method, url, body, headers);
}

int free_port() { return pick_free_port(); }

}  // namespace jarvis::testing

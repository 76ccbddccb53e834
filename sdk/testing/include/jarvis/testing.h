// jarvis/testing.h — test a plugin end to end against a real host, in tree or out of tree.
//
// For TESTS only (link `Jarvis::testing`); a plugin's own code includes jarvis/jarvis.h and links
// only `Jarvis::sdk`. No test framework is assumed: failures throw std::runtime_error with the
// host's output, results are plain values, so GoogleTest, Catch2 or a main() all work.
//
// A TestHost runs the installed (or built) `jarvis` binary as a child process in a fresh temporary
// directory, with a private SQLite database and a private plugin directory holding the plugin
// folders under test (linked, not copied), each marked required so that a plugin that fails to
// load fails the test instead of being skipped:
//
//   jarvis::testing::TestHost host({.plugins = {HELLO_PLUGIN_DIR}});   // runs `jarvis migrate`
//   auto greet = host.run({"hello", "greet", "Ada", "--json"});         // a CLI command
//   EXPECT_EQ(greet.json()["greeting"], "Hello, Ada!");
//   host.start();                                                      // `jarvis serve`, free port
//   auto ada = host.login_user("ada");                                 // created if needed
//   auto r = ada.get("/api/v1/hello/Ada");
//   EXPECT_EQ(r.status, 200);
//   EXPECT_EQ(r.json()["greeting"], "Hello, Ada!");
//   EXPECT_EQ(host.get("/api/v1/hello/Ada").status, 401);              // anonymous
//
// Which `jarvis`: TestHostOptions::jarvis_binary, else $JARVIS_BIN, else <dir>/../bin/jarvis where
// <dir> holds libjarvis_testing.so (an install prefix or the Jarvis build tree — the same layout).
// The host also loads its own default plugins (<prefix>/lib/jarvis/plugins), as in production.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jarvis/json.h"
#include "jarvis/version.h"

namespace jarvis::testing {

/// Extra request headers, in order: {"X-Hub-Signature-256", "sha256=…"}.
using Headers = std::vector<std::pair<std::string, std::string>>;

/// One HTTP response.
struct JARVIS_API HttpResponse {
  int status = 0;                              ///< 0 when the connection failed
  std::map<std::string, std::string> headers;  ///< lower-cased names; a repeated header: last value
  std::string body;
  /// The body parsed as JSON; throws std::runtime_error naming the body when it is not JSON.
  Json json() const;
  /// A header by case-insensitive name, "" when absent.
  std::string header(const std::string& name) const;
};

/// One finished `jarvis <args>` process.
struct JARVIS_API CommandResult {
  int exit_code = -1;  ///< 128+signal when killed by a signal
  std::string out;     ///< stdout
  std::string err;     ///< stderr
  /// stdout parsed as JSON (for `--json` commands); throws std::runtime_error when it is not.
  Json json() const;
};

/// One HTTP request to any URL — a fake upstream server, a second host — with the client every
/// TestHost call uses (libcurl, no proxy, no `Expect: 100-continue`, 60 s timeout). A body is
/// sent as given; pass `{"Content-Type", "application/json"}` for JSON. status 0 when the
/// connection failed.
JARVIS_API HttpResponse request(const std::string& method, const std::string& url,
                                const std::string& body = "", const Headers& headers = {});

/// A TCP port on 127.0.0.1 free at the time of the call (bound, read and released).
JARVIS_API int free_port();

/// A client bound to one running host and, optionally, one credential (sent as a bearer token).
/// Cheap to copy. Paths are absolute ("/api/v1/…"); bodies of post/patch are sent as JSON.
class JARVIS_API Client {
 public:
  Client(std::string base_url, std::string token);
  HttpResponse get(const std::string& path, const Headers& headers = {}) const;
  HttpResponse post(const std::string& path, const Json& body = Json::object(),
                    const Headers& headers = {}) const;
  HttpResponse patch(const std::string& path, const Json& body, const Headers& headers = {}) const;
  HttpResponse put(const std::string& path, const Json& body, const Headers& headers = {}) const;
  HttpResponse del(const std::string& path, const Headers& headers = {}) const;
  /// Any method with an exact body (webhooks sign the raw bytes); no Content-Type is added.
  HttpResponse request(const std::string& method, const std::string& path, const std::string& body,
                       const Headers& headers = {}) const;
  /// The bearer token this client sends ("" for an anonymous client).
  const std::string& token() const { return token_; }
  const std::string& base_url() const { return base_url_; }

 private:
  std::string base_url_;
  std::string token_;
};

/// How to run the host under test.
struct TestHostOptions {
  /// Plugin folders under test (each holds plugin.yaml and lib<name>.so), e.g. the folder
  /// jarvis_add_plugin lays out. Each is linked into the host's private plugin directory.
  std::vector<std::string> plugins;
  /// Marked required (JARVIS_PLUGINS_REQUIRED): a failure to load fails the host. Default: the
  /// names of every folder in `plugins`.
  std::vector<std::string> required;
  /// Extra environment for every host process (config keys: HELLO_GREETING=…). Overrides the
  /// defaults below; the caller's own environment is inherited except keys that would point the
  /// host elsewhere (DATABASE_URL, APP_DB, JARVIS_CONFIG_FILE, JARVIS_PLUGIN_DIRS,
  /// JARVIS_PLUGINS_DISABLED, JARVIS_PLUGINS_REQUIRED, BIND_HOST, BIND_PORT).
  std::map<std::string, std::string> env;
  /// The host binary; default $JARVIS_BIN, else <dir of libjarvis_testing.so>/../bin/jarvis.
  std::string jarvis_binary;
  /// Run `jarvis migrate` in the constructor.
  bool migrate = true;
  /// LOG_LEVEL of the host processes.
  std::string log_level = "warn";
};

/// A host in a temporary directory. The constructor prepares it (and migrates); start() serves.
/// The destructor stops a running server (SIGTERM, then SIGKILL) and removes the directory.
/// Not thread-safe; one TestHost per test.
class JARVIS_API TestHost {
 public:
  /// Creates the directory and plugin dir and runs `jarvis migrate` (unless options.migrate is
  /// false). Throws std::runtime_error with the host's output when that fails.
  explicit TestHost(TestHostOptions options = {});
  ~TestHost();
  TestHost(const TestHost&) = delete;
  TestHost& operator=(const TestHost&) = delete;

  /// `jarvis serve` on a free 127.0.0.1 port; returns when GET /healthz answers 200. `env` is
  /// added to the options' environment for this server only. Throws std::runtime_error with the
  /// server's output when it exits or does not answer within 60 s.
  void start(const std::map<std::string, std::string>& env = {},
             const std::vector<std::string>& args = {});
  /// SIGTERM and wait (SIGKILL after 30 s); returns the exit code (128+signal), -1 if not running.
  int stop();
  bool running() const;
  /// The port: a free one from construction, a fresh free one from each start(). The CLI
  /// processes get it as BIND_PORT too, so commands that ask a running server (`plugins list`)
  /// ask this one, never another host on the default port.
  int port() const;
  /// "http://127.0.0.1:<port><path>" (the server answers only between start() and stop()).
  std::string url(const std::string& path = "") const;
  /// What the server wrote to stdout and stderr so far.
  std::string server_output() const;

  /// `jarvis <args>` with the same directory and environment as the server, plus `env`; `input`
  /// is its stdin. Works whether or not the server is running.
  CommandResult run(const std::vector<std::string>& args, const std::string& input = "",
                    const std::map<std::string, std::string>& env = {}) const;

  /// An anonymous client of the running server; get/post/patch/put/del/request below use it.
  Client client() const;
  HttpResponse get(const std::string& path, const Headers& headers = {}) const;
  HttpResponse post(const std::string& path, const Json& body = Json::object(),
                    const Headers& headers = {}) const;
  HttpResponse patch(const std::string& path, const Json& body, const Headers& headers = {}) const;
  HttpResponse put(const std::string& path, const Json& body, const Headers& headers = {}) const;
  HttpResponse del(const std::string& path, const Headers& headers = {}) const;
  HttpResponse request(const std::string& method, const std::string& path, const std::string& body,
                       const Headers& headers = {}) const;

  /// Creates a user with `jarvis users add NAME [--admin] --password-stdin`. Throws on failure
  /// (an existing name included).
  void create_user(const std::string& username, bool admin = false,
                   const std::string& password = default_password());
  /// An API token for `username` (`jarvis tokens create --user NAME --json`); no server needed.
  std::string create_token(const std::string& username);
  /// POST /api/v1/auth/login; returns a client sending the session token. Throws when the host
  /// does not answer 200.
  Client login(const std::string& username, const std::string& password = default_password());
  /// login() as a user (role `user`) or an admin, created first if this TestHost has not created
  /// it yet.
  Client login_user(const std::string& username = "user");
  Client login_admin(const std::string& username = "admin");

  /// The temporary directory: the host's working directory, holding var/jarvis.db and plugins/.
  const std::string& dir() const;
  /// The environment every host process gets (on top of the inherited one).
  std::map<std::string, std::string> environment() const;
  /// The `jarvis` binary in use.
  const std::string& jarvis_binary() const;

  static std::string default_password() { return "correct horse battery staple"; }

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace jarvis::testing

// tests/support/plugin_host.h — one real `jarvis serve` for a plugin's end-to-end tests: a temp
// directory, SQLite or a fresh PostgreSQL database (or one shared with another host), only the
// plugins the test names (every other installed plugin disabled, so a new plugin never joins an
// old test), fixture plugins linked from the test plugin directory, migrations, the users root
// (admin), alice and bob with API tokens, then the server. A plugin's test host (ChatHost,
// GitHubHost, …) holds one and adds its fakes and helpers.
//
//   jarvis::test::PluginHost h(Backend::Sqlite, {.plugins = {"chat"}, .fixtures = {"chat_fixture"},
//                                               .env = {{"OPENAI_MODEL", "fake-model"}}});
//   auto r = h.call("POST", "/api/v1/threads", h.alice, {{"title", "t"}});
//   EXPECT_EQ(jarvis::test::api::error_code(h.call("GET", "/api/v1/threads/x", h.bob)),
//   "not_found");
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/support.h"

namespace jarvis::test {

/// What one PluginHost loads and how it starts.
struct PluginHostOptions {
  std::vector<std::string> plugins;        ///< installed plugins to load (JARVIS_PLUGINS_REQUIRED)
  std::vector<std::string> fixtures;       ///< test plugins (JARVIS_TEST_PLUGIN_DIR), also required
  std::map<std::string, std::string> env;  ///< more configuration (wins over the defaults)
  std::string database_url;  ///< PostgreSQL only: share this database (a second host); no users
  bool users = true;         ///< create root (admin), alice and bob with tokens
  bool start = true;         ///< start the server in the constructor (else call start())
  /// Runs after the directory and `env` exist, before migrations: write files, adjust env.
  std::function<void(class PluginHost&)> prepare;
  /// Runs after migrations and users, before the server starts: e.g. `jarvis permissions …`.
  std::function<void(class PluginHost&)> after_migrate;
};

/// One server under test (see the file comment).
class PluginHost {
 public:
  PluginHost(Backend backend, PluginHostOptions options);
  PluginHost(const PluginHost&) = delete;
  PluginHost& operator=(const PluginHost&) = delete;

  /// Starts (or restarts) `jarvis serve` with `env` plus `extra`; fails the test when not ready.
  void start(const std::map<std::string, std::string>& extra = {});
  /// One JSON call with a bearer token ("" = none); `headers` are more "Name: value" lines.
  HttpResult call(const std::string& method, const std::string& path, const std::string& token,
                  const nlohmann::json& body = nullptr,
                  std::vector<std::string> headers = {}) const;
  /// GET `path` parsed (discarded JSON when the body is not JSON).
  nlohmann::json get_json(const std::string& path, const std::string& token) const;
  /// The user id behind `token` (GET /api/v1/auth/me).
  std::string whoami(const std::string& token) const;
  /// `jarvis <args>` in the host's directory with its configuration.
  RunResult cli(const std::vector<std::string>& args, const std::string& stdin_text = "") const;

  Backend backend;
  TempDir dir;
  std::map<std::string, std::string> env;
  /// The database: the SQLite file path, or the PostgreSQL URL.
  std::string database;
  std::string admin, alice, bob;  ///< API tokens (empty when `users` was false)
  std::string alice_id, bob_id;   ///< user ids (after start)
  std::unique_ptr<ServerProcess> server;
};

/// The names of the installed plugins (directories of the build's plugin directory).
std::vector<std::string> installed_plugins();

/// Helpers on API answers. In their own namespace so that argument-dependent lookup on
/// HttpResult (namespace jarvis::test) never finds them: a test header brings them in with
/// `using jarvis::test::api::error_code;`.
namespace api {
/// The error code of an `{"error":{"code",…}}` answer ("" when there is none).
std::string error_code(const HttpResult& r);
}  // namespace api

}  // namespace jarvis::test

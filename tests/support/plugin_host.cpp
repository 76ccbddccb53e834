// tests/support/plugin_host.cpp — see plugin_host.h.
#include "support/plugin_host.h"

#include <algorithm>
#include <filesystem>

namespace jarvis::test {

using nlohmann::json;

std::vector<std::string> installed_plugins() {
  namespace fs = std::filesystem;
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e :
       fs::directory_iterator(std::string(JARVIS_BUILD_DIR) + "/lib/jarvis/plugins", ec)) {
    if (e.is_directory()) names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

PluginHost::PluginHost(Backend b, PluginHostOptions o) : backend(b) {
  namespace fs = std::filesystem;
  auto join = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
    return out;
  };
  std::vector<std::string> required = o.plugins;
  required.insert(required.end(), o.fixtures.begin(), o.fixtures.end());
  std::vector<std::string> disabled;
  for (const auto& name : installed_plugins()) {
    if (std::find(o.plugins.begin(), o.plugins.end(), name) == o.plugins.end())
      disabled.push_back(name);
  }
  fs::create_directories(dir.file("plugins"));
  for (const auto& f : o.fixtures) {
    fs::create_directory_symlink(std::string(JARVIS_TEST_PLUGIN_DIR) + "/" + f,
                                 dir.file("plugins/" + f));
  }
  env = {{"LOG_LEVEL", "warn"},
         {"JARVIS_PLUGIN_DIRS", dir.file("plugins")},
         {"JARVIS_PLUGINS_REQUIRED", join(required)},
         {"JARVIS_PLUGINS_DISABLED", join(disabled)}};
  if (backend == Backend::Sqlite) {
    database = dir.file("jarvis.db");
    env["APP_DB"] = database;
  } else {
    database = o.database_url.empty() ? pg_fresh_database() : o.database_url;
    env["DATABASE_URL"] = database;
  }
  for (const auto& [k, v] : o.env) env[k] = v;
  if (o.prepare) o.prepare(*this);
  RunResult m = cli({"migrate"});
  EXPECT_EQ(m.exit_code, 0) << m.out << m.err;
  if (o.users && o.database_url.empty()) {
    admin = create_user_token(dir.path(), env, "root", true);
    alice = create_user_token(dir.path(), env, "alice", false);
    bob = create_user_token(dir.path(), env, "bob", false);
  }
  if (o.after_migrate) o.after_migrate(*this);
  if (o.start) start();
}

void PluginHost::start(const std::map<std::string, std::string>& extra) {
  auto e = env;
  for (const auto& [k, v] : extra) e[k] = v;
  server.reset();  // a restart: the old process stops (SIGTERM, waited for) before the new one
  server = std::make_unique<ServerProcess>(dir.path(), e);
  EXPECT_TRUE(server->ready()) << server->output();
  if (server->ready() && !alice.empty() && alice_id.empty()) {
    alice_id = whoami(alice);
    bob_id = whoami(bob);
  }
}

HttpResult PluginHost::call(const std::string& method, const std::string& path,
                            const std::string& token, const json& body,
                            std::vector<std::string> headers) const {
  headers.push_back("Content-Type: application/json");
  if (!token.empty()) headers.push_back(bearer(token));
  return http(method, server->url(path), body.is_null() ? "" : body.dump(), headers);
}

json PluginHost::get_json(const std::string& path, const std::string& token) const {
  return json::parse(call("GET", path, token).body, nullptr, false);
}

std::string PluginHost::whoami(const std::string& token) const {
  json j = get_json("/api/v1/auth/me", token);
  if (j.contains("user") && j["user"].is_object()) return j["user"].value("id", "");
  return j.is_object() ? j.value("id", j.value("user_id", "")) : "";
}

RunResult PluginHost::cli(const std::vector<std::string>& args,
                          const std::string& stdin_text) const {
  return run_jarvis(args, dir.path(), env, stdin_text);
}

std::string api::error_code(const HttpResult& r) {
  json j = json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("error") && j["error"].is_object()
             ? j["error"].value("code", "")
             : "";
}

}  // namespace jarvis::test

// memory/tests/memory_host_support.h — a real `jarvis serve` with the memory plugin and the
// memory_fixture plugin (emits chat-like events, claims threads), on SQLite or the test
// PostgreSQL; users alice, bob (role user) and root (admin).
//
//   MemoryHost h(Backend::Sqlite);
//   std::string t = h.thread_for(h.alice_id);
//   h.emit({{"type", "message.new"}, {"thread_id", t}, {"payload", {{"role", "user"}, …}}});
//   auto r = h.call("GET", "/api/v1/memory?q=car", h.alice);
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <optional>
#include <sstream>
#include <memory>

#include "db/sql_database.h"
#include "jarvis/sql.h"
#include "support/support.h"

namespace memory_test {

using jarvis::test::Backend;
using nlohmann::json;

/// Options of one test host.
struct MemoryHostOptions {
  std::map<std::string, std::string> env;  ///< extra config
  std::string database_url;                ///< share a database (second host); empty = fresh
};

/// One server under test (see the file comment).
class MemoryHost {
 public:
  explicit MemoryHost(Backend backend, MemoryHostOptions o = {}) : backend_(backend) {
    namespace fs = std::filesystem;
    fs::create_directories(dir.file("plugins"));
    fs::create_directory_symlink(std::string(JARVIS_TEST_PLUGIN_DIR) + "/memory_fixture",
                                 dir.file("plugins/memory_fixture"));
    env = {{"LOG_LEVEL", "warn"},
           {"JARVIS_PLUGIN_DIRS", dir.file("plugins")},
           {"JARVIS_PLUGINS_REQUIRED", "memory,memory_fixture"},
           {"MEMORY_INDEX_SYNC_SECONDS", "1"}};
    if (backend == Backend::Sqlite) {
      env["APP_DB"] = dir.file("jarvis.db");
      url = dir.file("jarvis.db");
    } else {
      url = o.database_url.empty() ? jarvis::test::pg_fresh_database() : o.database_url;
      env["DATABASE_URL"] = url;
      env["MEMORY_INDEX_DIR"] = dir.file("index");
    }
    for (auto& [k, v] : o.env) env[k] = v;
    auto m = jarvis::test::run_jarvis({"migrate"}, dir.path(), env);
    EXPECT_EQ(m.exit_code, 0) << m.out << m.err;
    const bool first = o.database_url.empty();
    if (first) {
      admin = jarvis::test::create_user_token(dir.path(), env, "root", true);
      alice = jarvis::test::create_user_token(dir.path(), env, "alice", false);
      bob = jarvis::test::create_user_token(dir.path(), env, "bob", false);
    }
    server = std::make_unique<jarvis::test::ServerProcess>(dir.path(), env);
    EXPECT_TRUE(server->ready()) << server->output();
    if (first) {
      alice_id = whoami(alice);
      bob_id = whoami(bob);
    }
  }

  /// One JSON call with a bearer token.
  jarvis::test::HttpResult call(const std::string& method, const std::string& path,
                                const std::string& token, const json& body = nullptr) const {
    std::vector<std::string> h = {"Content-Type: application/json"};
    if (!token.empty()) h.push_back(jarvis::test::bearer(token));
    return jarvis::test::http(method, server->url(path), body.is_null() ? "" : body.dump(), h);
  }
  /// The JSON body of a call (null when not JSON).
  json get_json(const std::string& path, const std::string& token) const {
    return json::parse(call("GET", path, token).body, nullptr, false);
  }
  /// The user id behind a token.
  std::string whoami(const std::string& token) const {
    json j = get_json("/api/v1/auth/me", token);
    if (j.contains("user") && j["user"].is_object()) return j["user"].value("id", "");
    return j.value("id", j.value("user_id", ""));
  }
  /// A thread claimed for `user_id` (through the fixture).
  std::string thread_for(const std::string& user_id) const {
    auto r = call("POST", "/api/v1/memory-fixture/threads", admin, {{"user_id", user_id}});
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body, nullptr, false).value("id", "");
  }
  /// Emits an event through the fixture; returns its id.
  std::string emit(const json& event) const {
    auto r = call("POST", "/api/v1/memory-fixture/emit", admin, event);
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body, nullptr, false).value("id", "");
  }
  /// Runs the CLI against this host's database.
  jarvis::test::RunResult cli(const std::vector<std::string>& args) const {
    return jarvis::test::run_jarvis(args, dir.path(), env);
  }
  /// A direct connection to the database (counting rows).
  std::unique_ptr<jarvis::host::SqlDatabase> open_db() const {
    return jarvis::host::SqlDatabase::open(backend_ == Backend::Sqlite ? "sqlite://" + url : url,
                                           1);
  }
  /// Rows in every table whose name starts with memory_ (the FTS shadow tables excluded).
  long long memory_rows() const {
    auto db = open_db();
    auto sql = db->session();
    json tables = backend_ == Backend::Sqlite
                      ? jarvis::sql::all_rows(*sql,
                                              "SELECT name FROM sqlite_master WHERE type = 'table' "
                                              "AND name LIKE 'memory_%' AND name NOT LIKE "
                                              "'memory_items_fts%'")
                      : jarvis::sql::all_rows(*sql,
                                              "SELECT table_name AS name FROM "
                                              "information_schema.tables WHERE table_schema = "
                                              "'public' AND table_name LIKE 'memory_%'");
    long long n = 0;
    for (const auto& t : tables) {
      n += jarvis::sql::scalar_int(*sql, "SELECT COUNT(*) FROM " + t["name"].get<std::string>());
    }
    return n;
  }
  /// The /metrics line value of `name` (exact series name), or nullopt when absent.
  std::optional<double> metric(const std::string& name) const {
    auto r = jarvis::test::http("GET", server->url("/metrics"));
    std::istringstream in(r.body);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
    }
    return std::nullopt;
  }

  jarvis::test::TempDir dir;
  std::map<std::string, std::string> env;
  std::string url;
  std::string admin, alice, bob, alice_id, bob_id;
  std::unique_ptr<jarvis::test::ServerProcess> server;

 private:
  Backend backend_;
};

/// Polls `check` (every 50 ms, up to 30 s).
inline bool eventually(const std::function<bool()>& check) {
  return jarvis::test::eventually(check, std::chrono::seconds(30));
}

/// The error code of an error envelope ("" when none).
inline std::string error_code(const jarvis::test::HttpResult& r) {
  json j = json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "";
}

}  // namespace memory_test

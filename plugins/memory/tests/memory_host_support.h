// memory/tests/memory_host_support.h — a real `jarvis serve` (jarvis::test::PluginHost) with the
// memory plugin and the memory_fixture plugin (emits chat-like events, claims threads), on SQLite
// or the test PostgreSQL; users alice, bob (role user) and root (admin).
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
#include "support/plugin_host.h"
#include "support/support.h"

namespace memory_test {

using jarvis::test::Backend;
using nlohmann::json;

/// Options of one test host.
struct MemoryHostOptions {
  std::map<std::string, std::string> env;  ///< extra config
  std::string database_url;                ///< share a database (second host); empty = fresh
};

/// One server under test (see the file comment): a jarvis::test::PluginHost with memory and
/// memory_fixture (every other installed plugin disabled) and memory's helpers.
class MemoryHost : public jarvis::test::PluginHost {
 public:
  explicit MemoryHost(Backend backend, MemoryHostOptions o = {})
      : PluginHost(backend, host_options(std::move(o))), url(database) {}

  /// The database (SQLite file path or PostgreSQL URL).
  const std::string& url;

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
  /// A direct connection to the database (counting rows).
  std::unique_ptr<jarvis::host::SqlDatabase> open_db() const {
    return jarvis::host::SqlDatabase::open(backend == Backend::Sqlite ? "sqlite://" + url : url, 1);
  }
  /// Rows in every table whose name starts with memory_ (the FTS shadow tables excluded).
  long long memory_rows() const {
    auto db = open_db();
    auto sql = db->session();
    json tables = backend == Backend::Sqlite
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

 private:
  static jarvis::test::PluginHostOptions host_options(MemoryHostOptions o) {
    std::map<std::string, std::string> env = {{"MEMORY_INDEX_SYNC_SECONDS", "1"}};
    for (auto& [k, v] : o.env) env[k] = v;
    return {.plugins = {"memory"},
            .fixtures = {"memory_fixture"},
            .env = std::move(env),
            .database_url = std::move(o.database_url),
            .prepare = [](jarvis::test::PluginHost& h) {
              // Each host its own index file (two hosts may share one PostgreSQL database).
              if (h.backend == Backend::Postgresql && h.env.count("MEMORY_INDEX_DIR") == 0)
                h.env["MEMORY_INDEX_DIR"] = h.dir.file("index");
            }};
  }
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

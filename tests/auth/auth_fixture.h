// tests/auth/auth_fixture.h — a migrated database (SQLite file or fresh PostgreSQL database) with
// the real AuthService, Router and Dispatcher wired as the application wires them (hooks
// before_route = preflight, authorize, decorate), so tests drive the HTTP pipeline in-process.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "auth/auth_service.h"
#include "auth/permissions.h"
#include "auth/thread_owners.h"
#include "config/config.h"
#include "db/migrations.h"
#include "db/sql_database.h"
#include "events/event_query.h"
#include "http/dispatcher.h"
#include "http/router.h"
#include "jarvis/commands.h"
#include "observability/metrics.h"
#include "registry/command_table.h"
#include "registry/event_bus.h"
#include "support/support.h"

namespace jarvis::host::authtest {

using jarvis::test::Backend;
using jarvis::test::backend_name;

/// Opens and migrates a fresh database of the given backend.
inline std::unique_ptr<SqlDatabase> fresh_db(Backend b, const jarvis::test::TempDir& tmp) {
  std::string url = jarvis::test::fresh_database_url(b, tmp);
  if (url.empty()) return nullptr;
  auto db = SqlDatabase::open(url, 4);
  MigrationRunner(*db).apply({{"host", std::string(JARVIS_SOURCE_DIR) + "/migrations"}});
  return db;
}

/// A request as the server would build it.
struct Call {
  std::string method = "GET";
  std::string target = "/";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string remote = "127.0.0.1";
};

class AuthTest : public testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    db_ = fresh_db(GetParam(), tmp_);
    ASSERT_TRUE(db_) << "no test PostgreSQL";
    events_ = std::make_unique<EventBusImpl>(db_.get(), nullptr);
  }

  /// (Re)builds the service and the pipeline with config `values` (e.g. WEB_CORS_ORIGINS).
  void start(const std::map<std::string, std::string>& values = {}) {
    ConfigStore store;
    for (const auto& [k, v] : values) store.set(k, v, ConfigSource::Environment, "test");
    dispatcher_.reset();
    router_ = std::make_unique<Router>();
    auth_ = std::make_unique<AuthService>(*db_, events_.get(), AuthSettings::from(store));
    register_auth_routes(*router_, *auth_);
    register_event_routes(*router_, *db_);
    register_permission_routes(*router_, *db_, events_.get());
    DispatchHooks hooks;
    hooks.authorize = [this](jarvis::Request& r, const RouteEntry& e) {
      return auth_->authorize(r, e);
    };
    hooks.before_route = [this](jarvis::Request& r) { return auth_->preflight(r); };
    hooks.decorate = [this](const jarvis::Request& r, jarvis::Response& res) {
      auth_->decorate(r, res);
    };
    dispatcher_ = std::make_unique<Dispatcher>(*router_, metrics_, hooks);
  }

  /// One request through the dispatcher.
  jarvis::Response call(const Call& c) {
    jarvis::Request req;
    req.method = c.method;
    req.target = c.target;
    req.body = c.body;
    req.remote_address = c.remote;
    if (std::none_of(c.headers.begin(), c.headers.end(),
                     [](const auto& h) { return h.first == "Host"; })) {
      req.headers.set("Host", "jarvis.test:8000");
    }
    for (const auto& [k, v] : c.headers) req.headers.add(k, v);
    return dispatcher_->dispatch(req);
  }

  /// Parses a JSON body (null when not JSON).
  static jarvis::Json body(const jarvis::Response& r) {
    return jarvis::Json::parse(r.body, nullptr, false);
  }
  static std::string code(const jarvis::Response& r) {
    auto j = body(r);
    return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "";
  }

  /// Logs in and returns the response.
  jarvis::Response login(const std::string& user, const std::string& password,
                         const std::string& remote = "127.0.0.1") {
    return call({.method = "POST",
                 .target = "/api/v1/auth/login",
                 .body = jarvis::Json{{"username", user}, {"password", password}}.dump(),
                 .headers = {{"Content-Type", "application/json"}},
                 .remote = remote});
  }

  /// An API token for a new user (bypasses the password hash cost of a login).
  std::string token_for(const std::string& user, jarvis::Role role) {
    auth_->add_user(user, "password-" + user, role);
    return auth_->create_api_token(user, 1, "test").token;
  }

  static std::pair<std::string, std::string> bearer(const std::string& token) {
    return {"Authorization", "Bearer " + token};
  }

  /// Runs a registered CLI command in-process.
  int run_command(CommandTable& table, const std::string& group, const std::string& name,
                  std::vector<std::string> args, const std::string& stdin_data, std::string& out,
                  std::string& err) {
    auto entry = table.find(group, name);
    EXPECT_TRUE(entry) << group << " " << name;
    if (!entry) return -1;
    std::ostringstream o, e;
    std::istringstream in(stdin_data);
    jarvis::CommandContext ctx{std::move(args), o, e, in};
    int rc = entry->spec.handler(ctx);
    out = o.str();
    err = e.str();
    return rc;
  }

  int count(const std::string& query) {
    auto s = db_->session();
    int n = -1;
    *s << query, soci::into(n);
    return n;
  }

  jarvis::test::TempDir tmp_;
  std::unique_ptr<SqlDatabase> db_;
  std::unique_ptr<EventBusImpl> events_;
  MetricsRegistry metrics_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<AuthService> auth_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

}  // namespace jarvis::host::authtest

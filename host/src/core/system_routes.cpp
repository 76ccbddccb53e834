// host/src/core/system_routes.cpp — health, readiness, metrics and system status routes.
#include "core/system_routes.h"

#include <chrono>

#include "core/app.h"
#include "db/sql_database.h"
#include "http/router.h"
#include "jarvis/list.h"
#include "observability/metrics.h"
#include "core/plugin_report.h"
#include "plugins/plugin_manager.h"
#include "system/build_commit.h"
#include "system/system_state.h"
#include "tasks/task_service.h"

namespace jarvis::host {

jarvis::Json system_status(Application& app) {
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                                 app.started_at())
                    .count();
  jarvis::Json plugins = jarvis::Json::object();
  for (const auto& info : app.plugins().list()) plugins[info.name] = to_string(info.state);
  jarvis::Json health = jarvis::Json::object();
  for (const auto& h : app.plugins().health()) {
    if (h.state != PluginState::Started) continue;
    health[h.name] = plugin_health_json(h.health);
  }
  jarvis::Json body = {{"version", JARVIS_VERSION}, {"commit", running_commit()},
                       {"uptime_seconds", uptime},  {"time", jarvis::now_iso()},
                       {"plugins", plugins},        {"plugin_health", health}};
  if (app.services().tasks) {
    jarvis::Json q = app.services().tasks->queue_status();
    for (auto it = q.begin(); it != q.end(); ++it) body[it.key()] = it.value();
  }
  body["system"] = app.system_state().status_json();
  return body;
}

void register_system_routes(Application& app) {
  Router& r = app.router();

  r.add(Owner{},
        {.method = "GET",
         .path = "/healthz",
         .auth = jarvis::Auth::Public,
         .summary = "Liveness: always {\"ok\":true} while the process serves",
         .handler =
             [](jarvis::Request&) {
               jarvis::Response res;
               res.status = 200;
               res.headers.set("Content-Type", "application/json");
               res.body = "{\"ok\":true}";
               return res;
             }},
        RouteExecution::IoThread);

  r.add(Owner{},
        {.method = "GET",
         .path = "/readyz",
         .auth = jarvis::Auth::Public,
         .summary =
             "Readiness: database, migrations, every plugin's state and health, and the running "
             "commit (200 or 503)",
         .handler =
             [&app](jarvis::Request&) {
               jarvis::Json body = app.readiness();
               // What a self-update's verify compares with the commit it installed (0076).
               body["commit"] = running_commit();
               return jarvis::Response::json(body["ok"].get<bool>() ? 200 : 503, body);
             }},
        RouteExecution::System);  // waits for the database: never on an I/O thread

  MetricsRegistry* metrics = app.services().metrics;
  r.add(Owner{},
        {.method = "GET",
         .path = "/metrics",
         .auth = jarvis::Auth::Public,
         .summary = "Prometheus text exposition: process, HTTP, plugins, tasks",
         .handler =
             [metrics](jarvis::Request&) {
               return jarvis::Response::text(200, metrics->render(),
                                             "text/plain; version=0.0.4; charset=utf-8");
             }},
        RouteExecution::System);

  r.add(Owner{},
        {.method = "GET",
         .path = "/api/v1/system/status",
         .auth = jarvis::Auth::User,
         .summary = "Version, uptime, plugin states and health, queue depths and scheduler "
                    "backlog",
         .handler = [&app](jarvis::Request&) {
           return jarvis::Response::json(200, system_status(app));
         }});

  r.add(Owner{}, {.method = "GET",
                  .path = "/api/v1/plugins",
                  .auth = jarvis::Auth::Admin,
                  .summary = "Every discovered plugin with version, state and reason",
                  .handler = [&app](jarvis::Request& req) {
                    jarvis::Json items = jarvis::Json::array();
                    for (const auto& info : app.plugins().list())
                      items.push_back(plugin_info_json(info));
                    return jarvis::Response::json(
                        200, jarvis::list_slice(items, jarvis::page_request(req, 200, 1000)));
                  }});
}

}  // namespace jarvis::host

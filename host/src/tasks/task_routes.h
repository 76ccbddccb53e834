// host/src/tasks/task_routes.h — HTTP API of the queue and the scheduler (owner "host"):
//
//   GET    /api/v1/schedules                  user   own schedules (admin: all; ?owner= filters)
//   POST   /api/v1/schedules                  user   create {"cron_expr","task","payload",…}
//   PATCH  /api/v1/schedules/{id}             user   owner or admin
//   DELETE /api/v1/schedules/{id}             user   owner or admin
//   GET    /api/v1/schedules/{id}/dispatches  user   owner or admin
//   GET    /api/v1/tasks?status=&name=&limit=&offset=   admin
//   GET    /api/v1/tasks/{id}                 admin
//   POST   /api/v1/tasks/{id}/retry           admin  failed/dead → queued
//
// Error codes: invalid_cron, unknown_task, invalid_field, missing_field, invalid_query,
// schedule_not_found, task_not_found, task_not_retryable, idempotency_conflict. A schedule the
// caller may not access answers 404 (its existence is not disclosed).
#pragma once

#include <string>

#include "jarvis/json.h"
#include "tasks/task_commands.h"  // register_task_commands, registered next to the routes

namespace jarvis::host {

class Router;
class TaskService;
class SqlDatabase;

/// Registers the routes above on `router` with Owner{"host"}.
void register_task_routes(Router& router, TaskService& tasks, SqlDatabase& db);

/// Queue depths and scheduler backlog for GET /api/v1/system/status, computed without writing:
/// {tasks:{queued,running,succeeded,failed,dead}, oldest_queued_at, scheduler:{dispatchable_total,
/// deferred_total, schedule_count, invalid_count, schedules:[{schedule_id, dispatchable, deferred,
/// max_catchup}]}}. `default_max_catchup`/`tz` should be SCHEDULER_MAX_CATCHUP/SCHEDULER_TZ
/// (TaskService::queue_status() passes the service's own settings).
jarvis::Json queue_status(SqlDatabase& db, int default_max_catchup = 10,
                          const std::string& tz = "UTC");

}  // namespace jarvis::host

// host/src/tasks/task_routes.cpp — the schedules and tasks routes (see task_routes.h).
#include "tasks/task_routes.h"

#include <memory>

#include "auth/thread_owners.h"
#include "http/router.h"
#include "jarvis/error.h"
#include "jarvis/http.h"
#include "jarvis/list.h"
#include "tasks/scheduler.h"
#include "tasks/task_queue.h"
#include "tasks/task_service.h"

namespace jarvis::host {
namespace {

using jarvis::Json;
using jarvis::Request;
using jarvis::Response;

// The schedule `id` if the caller may access it; 404 otherwise (no existence oracle).
ScheduleRecord accessible_schedule(TaskService& tasks, const Request& req) {
  const std::string& id = req.path_param("id");
  auto s = tasks.scheduler().get(id);
  if (!s || !req.principal.may_access(s->owner)) {
    throw jarvis::Error(404, "schedule_not_found", "schedule " + id + " does not exist");
  }
  return *s;
}

// The owner a new schedule gets: the caller's user id ("system" for the system principal).
std::string owner_of(const Request& req) {
  if (req.principal.user_id.empty()) {
    throw jarvis::Error(401, "unauthenticated", "sign in to manage schedules");
  }
  return req.principal.user_id;
}

}  // namespace

void register_task_routes(Router& router, TaskService& tasks, SqlDatabase& db) {
  TaskService* t = &tasks;
  const Owner host{"host", {}};
  // A thread a caller attaches to a schedule (where its events go) must be one they may use.
  auto owners = std::make_shared<ThreadOwners>(db);
  tasks.scheduler().set_thread_check(
      [owners](const jarvis::Principal& who, const std::string& thread_id) {
        return owners->may_access(who, thread_id);
      });

  router.add(host,
             {.method = "GET",
              .path = "/api/v1/schedules",
              .auth = jarvis::Auth::User,
              .summary = "List schedules (own; admins see all, ?owner= filters)",
              .handler = [t](Request& req) {
                auto page = jarvis::page_request(req, 100, 1000);
                std::string owner = req.principal.user_id;
                if (req.principal.is_admin()) owner = req.query_param("owner").value_or("");
                long long total = 0;
                Json items = Json::array();
                for (const auto& s : t->scheduler().list(owner, static_cast<int>(page.limit),
                                                         static_cast<int>(page.offset), &total)) {
                  items.push_back(s.to_json());
                }
                return Response::json(200, jarvis::list_page(std::move(items), total, page));
              }});

  router.add(host, {.method = "POST",
                    .path = "/api/v1/schedules",
                    .auth = jarvis::Auth::User,
                    .summary = "Create a schedule {cron_expr, task, payload, thread_id, "
                               "max_catchup, enabled}",
                    .handler = [t](Request& req) {
                      auto fields = ScheduleFields::from_json(req.json_body());
                      auto s = t->scheduler().create(owner_of(req), fields, req.principal);
                      return Response::json(201, s.to_json());
                    }});

  router.add(host, {.method = "PATCH",
                    .path = "/api/v1/schedules/{id}",
                    .auth = jarvis::Auth::User,
                    .summary = "Change a schedule (owner or admin)",
                    .handler = [t](Request& req) {
                      auto fields = ScheduleFields::from_json(req.json_body());
                      auto current = accessible_schedule(*t, req);
                      auto s = t->scheduler().update(current.id, fields, req.principal);
                      return Response::json(200, s.to_json());
                    }});

  router.add(host, {.method = "DELETE",
                    .path = "/api/v1/schedules/{id}",
                    .auth = jarvis::Auth::User,
                    .summary = "Delete a schedule and its dispatch records (owner or admin)",
                    .handler = [t](Request& req) {
                      auto current = accessible_schedule(*t, req);
                      t->scheduler().remove(current.id);
                      return Response::no_content();
                    }});

  router.add(host, {.method = "GET",
                    .path = "/api/v1/schedules/{id}/dispatches",
                    .auth = jarvis::Auth::User,
                    .summary = "Dispatched slots of a schedule, newest first (owner or admin)",
                    .handler = [t](Request& req) {
                      auto current = accessible_schedule(*t, req);
                      auto page = jarvis::page_request(req, 100, 1000);
                      // A schedule's dispatch log only grows: the log envelope, no count.
                      Json body = jarvis::log_page(
                          t->scheduler().dispatches(current.id, static_cast<int>(page.limit) + 1,
                                                    static_cast<int>(page.offset)),
                          page);
                      body["schedule_id"] = current.id;
                      return Response::json(200, body);
                    }});

  router.add(host, {.method = "GET",
                    .path = "/api/v1/task-catalog",
                    .auth = jarvis::Auth::User,
                    .summary = "Task types the caller may schedule {items:[{name, description, "
                               "access, owner}], total}",
                    .handler = [t](Request& req) {
                      Json items = Json::array();
                      for (const auto& e : t->catalog(req.principal)) {
                        items.push_back({{"name", e.name},
                                         {"description", e.description},
                                         {"access", jarvis::to_string(e.access)},
                                         {"owner", e.owner}});
                      }
                      return Response::json(
                          200, jarvis::list_slice(items, jarvis::page_request(req, 200, 1000)));
                    }});

  router.add(host, {.method = "GET",
                    .path = "/api/v1/tasks",
                    .auth = jarvis::Auth::Admin,
                    .summary = "List tasks, newest first (?status=&name=&limit=&offset=)",
                    .handler = [t](Request& req) {
                      TaskListFilter f;
                      f.status = req.query_param("status").value_or("");
                      if (!f.status.empty() && !is_task_status(f.status)) {
                        throw jarvis::Error(400, "invalid_query",
                                            "query parameter 'status' must be one of queued, "
                                            "running, succeeded, failed, dead");
                      }
                      f.name = req.query_param("name").value_or("");
                      auto page = jarvis::page_request(req, 50, 1000);
                      f.limit = static_cast<int>(page.limit);
                      f.offset = static_cast<int>(page.offset);
                      long long total = 0;
                      Json items = Json::array();
                      for (const auto& r : t->queue().list(f, &total)) items.push_back(r.to_json());
                      return Response::json(200, jarvis::list_page(std::move(items), total, page));
                    }});

  router.add(host, {.method = "GET",
                    .path = "/api/v1/tasks/{id}",
                    .auth = jarvis::Auth::Admin,
                    .summary = "One task with its payload, result and last error",
                    .handler = [t](Request& req) {
                      const std::string& id = req.path_param("id");
                      auto r = t->queue().get(id);
                      if (!r)
                        throw jarvis::Error(404, "task_not_found",
                                            "task " + id + " does not exist");
                      return Response::json(200, r->to_json());
                    }});

  router.add(host, {.method = "POST",
                    .path = "/api/v1/tasks/{id}/retry",
                    .auth = jarvis::Auth::Admin,
                    .summary = "Queue a failed or dead task again (attempts reset)",
                    .handler = [t](Request& req) {
                      // Re-queueing is starting: an internal task is not an admin's to run.
                      if (auto existing = t->queue().get(req.path_param("id"))) {
                        t->require_may_start(existing->name, req.principal);
                      }
                      auto r = t->queue().retry(req.path_param("id"));
                      return Response::json(200, r.to_json());
                    }});
}

}  // namespace jarvis::host

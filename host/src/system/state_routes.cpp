// host/src/system/state_routes.cpp — the admin routes of the safety state:
// POST /api/v1/system/lockdown and POST /api/v1/system/restart.
#include "http/router.h"
#include "jarvis/error.h"
#include "system/system_state.h"

namespace jarvis::host {

namespace {

std::string actor_of(const jarvis::Request& req) {
  return "user:" + (req.principal.user_id.empty() ? std::string("unknown") : req.principal.user_id);
}

}  // namespace

void add_system_state_routes(Router& router, SystemState& system) {
  router.add(
      Owner{},
      jarvis::RouteSpec{
          .method = "POST",
          .path = "/api/v1/system/lockdown",
          .auth = jarvis::Auth::Admin,
          .summary = "Set or clear the lockdown: {lockdown: bool, reason?: string}",
          .handler =
              [&system](jarvis::Request& req) {
                jarvis::Json body = req.json_body();
                auto lock = body.find("lockdown");
                if (lock == body.end() || !lock->is_boolean()) {
                  throw jarvis::bad_request("field 'lockdown' must be a boolean", "invalid_field");
                }
                std::string reason;
                if (auto r = body.find("reason"); r != body.end() && !r->is_null()) {
                  if (!r->is_string())
                    throw jarvis::bad_request("field 'reason' must be a string", "invalid_field");
                  reason = r->get<std::string>();
                  if (reason.size() > 200) {
                    throw jarvis::bad_request("field 'reason' must be at most 200 characters",
                                              "invalid_field");
                  }
                }
                bool changed =
                    system.set_lockdown(lock->get<bool>(), reason, actor_of(req), req.request_id);
                jarvis::Json out = system.status_json();
                out["changed"] = changed;
                return jarvis::Response::json(200, out);
              },
          .max_body_bytes = 4096});

  router.add(
      Owner{},
      jarvis::RouteSpec{
          .method = "POST",
          .path = "/api/v1/system/restart",
          .auth = jarvis::Auth::Admin,
          .summary = "Controlled restart: drain requests and tasks, then restart the process "
                     "(body: none or {})",
          .handler =
              [&system](jarvis::Request& req) {
                // No body, or an empty JSON object: a malformed or unexpected body never restarts
                // the process.
                if (!req.body.empty()) {
                  jarvis::Json body = req.json_body();
                  if (!body.empty()) {
                    throw jarvis::bad_request(
                        "unknown field '" + body.begin().key() + "' (the body must be {} or empty)",
                        "invalid_field");
                  }
                }
                if (!system.begin_restart(actor_of(req), req.request_id)) {
                  throw jarvis::conflict("a restart is already in progress", "restart_in_progress");
                }
                return jarvis::Response::json(202,
                                              {{"restarting", true}, {"trace_id", req.request_id}});
              },
          .max_body_bytes = 4096});
}

}  // namespace jarvis::host

// host/src/registry/tool_routes.cpp — GET /api/v1/tools and POST /api/v1/tools/{name}/invoke
// (see tool_routes.h).
#include "registry/tool_routes.h"

#include "http/router.h"
#include "jarvis/error.h"
#include "jarvis/http.h"
#include "jarvis/list.h"
#include "registry/tool_caller.h"
#include "registry/tool_registry.h"

namespace jarvis::host {

using jarvis::Json;

Json tool_info_json(const jarvis::ToolInfo& info) {
  return {{"name", info.name},
          {"description", info.description},
          {"parameters", info.parameters},
          {"protected", info.is_protected},
          {"owner", info.owner}};
}

Json tool_result_json(const std::string& tool, const jarvis::ToolResult& r) {
  return {{"tool", tool},
          {"allowed", r.allowed},
          {"reason", r.reason},
          {"ok", r.ok},
          {"result", r.result.is_null() ? Json::object() : r.result}};
}

namespace {

// The optional string field `key` of the invoke body ("" when absent or null).
std::string string_field(const Json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return "";
  if (!it->is_string()) {
    throw jarvis::Error(400, "invalid_field", std::string("field '") + key + "': must be a string");
  }
  return it->get<std::string>();
}

// The ToolResult shape plus the standard error object, for refused and denied calls.
jarvis::Response refused(int status, const std::string& tool, const jarvis::ToolResult& r,
                         const jarvis::Request& req) {
  Json body = tool_result_json(tool, r);
  Json error = {{"code", r.reason == "invalid_args" ? "invalid_args" : "tool_denied"},
                {"request_id", req.request_id}};
  if (r.reason == "invalid_args") {
    error["message"] = r.result["error"].value("message", "invalid arguments");
    error["path"] = r.result["error"].value("path", "");
  } else {
    error["message"] = "tool '" + tool + "' denied: " + r.reason;
    error["reason"] = r.reason;
  }
  body["error"] = std::move(error);
  return jarvis::Response::json(status, body);
}

}  // namespace

void register_tool_routes(Router& router, ToolRegistryImpl& tools, jarvis::Database& db) {
  ToolRegistryImpl* t = &tools;
  jarvis::Database* d = &db;
  const Owner host{"host", {}};

  router.add(host, {.method = "GET",
                    .path = "/api/v1/tools",
                    .auth = jarvis::Auth::Admin,
                    .summary = "Registered tools, by name (?limit=&offset=) {items:[{name, "
                               "description, parameters, protected, owner}], total, limit, offset, "
                               "has_more}",
                    .handler = [t](jarvis::Request& req) {
                      // The list envelope of decision 0020, paged in memory.
                      Json items = Json::array();
                      for (const auto& info : t->list()) items.push_back(tool_info_json(info));
                      return jarvis::Response::json(
                          200, jarvis::list_slice(items, jarvis::page_request(req, 50, 200)));
                    }});

  router.add(
      host,
      {.method = "POST",
       .path = "/api/v1/tools/{name}/invoke",
       .auth = jarvis::Auth::Admin,
       .summary = "Invoke a tool through validation and the policy engine; body {args, as?, "
                  "on_behalf_of?} → {tool, allowed, reason, ok, result}; 422 invalid_args, 403 "
                  "tool_denied, 404 tool_not_found",
       .handler = [t, d](jarvis::Request& req) {
         const std::string& name = req.path_param("name");
         if (!t->find(name)) {
           throw jarvis::Error(404, "tool_not_found", "no tool named '" + name + "'");
         }
         Json body = Json::object();
         // json_body(): 400 invalid_json unless a JSON object (depth-bounded); empty = {}.
         if (req.body.find_first_not_of(" \t\r\n") != std::string::npos) body = req.json_body();
         for (auto it = body.begin(); it != body.end(); ++it) {
           if (it.key() != "args" && it.key() != "as" && it.key() != "on_behalf_of") {
             throw jarvis::Error(
                 400, "invalid_field",
                 "field '" + it.key() + "': unknown (expected args, as, on_behalf_of)");
           }
         }
         Json args = body.contains("args") ? body["args"] : Json::object();
         ToolCaller who = resolve_tool_caller(*d, req.principal, string_field(body, "as"),
                                              string_field(body, "on_behalf_of"));
         jarvis::ToolResult r = t->invoke({.caller = who.caller,
                                           .agent_id = who.agent_id,
                                           .tool = name,
                                           .args = std::move(args),
                                           .trace_id = req.request_id},
                                          req.principal.user_id);
         if (r.reason == "invalid_args") return refused(422, name, r, req);
         if (r.reason == "json_too_deep") {
           throw jarvis::Error(400, "json_too_deep", r.result["error"].value("message", ""));
         }
         if (!r.allowed) return refused(403, name, r, req);
         // The tool ran: 200 whether it succeeded or not; `ok` and `result.error` say which.
         return jarvis::Response::json(200, tool_result_json(name, r));
       }});
}

}  // namespace jarvis::host

// selfupdate/src/routes.cpp — the admin API and the agent tool (see routes.h).
#include "routes.h"

#include "jarvis/list.h"

namespace selfupdate {
namespace routes_impl {

std::string actor_of(const jarvis::Principal& p) { return "user:" + p.user_id; }

// {diff, rationale} with nothing else.
ProposeInput proposal_from(const jarvis::Json& body) {
  if (!body.is_object()) throw jarvis::bad_request("expected a JSON object", "invalid_body");
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() != "diff" && it.key() != "rationale") {
      throw jarvis::bad_request("unknown field '" + it.key() + "'", "invalid_field");
    }
  }
  if (!body.contains("diff") || !body["diff"].is_string()) {
    throw jarvis::bad_request("diff (string, a unified diff) is required", "invalid_field");
  }
  if (!body.contains("rationale") || !body["rationale"].is_string()) {
    throw jarvis::bad_request("rationale (string) is required", "invalid_field");
  }
  return {.diff = body["diff"], .rationale = body["rationale"]};
}

}  // namespace routes_impl

using namespace routes_impl;

void register_routes(jarvis::Host& host, Pipeline& pipeline) {
  Pipeline* p = &pipeline;
  auto& r = host.routes();
  const std::string base = "/api/v1/selfupdate/patches";
  r.add({.method = "POST",
         .path = base,
         .auth = jarvis::Auth::Admin,
         .summary = "Propose a patch {diff, rationale} → 201 {trace_id, state: proposed, "
                    "baseline}; validation and tests run as tasks. 409 lockdown / "
                    "update_in_progress, 413 patch_too_large",
         .handler = [p](jarvis::Request& req) {
           ProposeInput in = proposal_from(req.json_body());
           in.actor = actor_of(req.principal);
           in.source = "api";
           return jarvis::Response::json(201, p->propose(in));
         }});
  r.add({.method = "GET",
         .path = base,
         .auth = jarvis::Auth::Admin,
         .summary = "List patches, newest first (?state&limit≤200&offset) → {items, total, "
                    "limit, offset, has_more}",
         .handler = [p](jarvis::Request& req) {
           std::string state = req.query_param("state").value_or("");
           if (state.size() > 40) throw jarvis::bad_request("state is too long", "invalid_query");
           jarvis::PageRequest page = jarvis::page_request(req, 50, 200);
           return jarvis::Response::json(
               200, p->list(state, static_cast<int>(page.limit), static_cast<int>(page.offset)));
         }});
  r.add({.method = "GET",
         .path = base + "/{id}",
         .auth = jarvis::Auth::Admin,
         .summary = "One patch: state, explanation, transitions (timeline), test and apply log "
                    "tails, artifact, install",
         .handler = [p](jarvis::Request& req) {
           return jarvis::Response::json(200, p->show(req.path_param("id")));
         }});
  struct Action {
    const char* name;
    const char* summary;
  };
  for (const Action& a :
       {Action{"approve",
               "Approve a tested patch (expires after APPROVAL_TTL_MINUTES); queues "
               "the apply. 409 lockdown / invalid_state / update_in_progress"},
        Action{"allow-test",
               "Allow the build and tests of an agent's patch waiting in "
               "awaiting_test_approval; queues the test. 409 lockdown / invalid_state / "
               "update_in_progress"},
        Action{"reject", "Reject a tested patch {reason?}"},
        Action{"resume", "Run an interrupted stage again"},
        Action{"abandon",
               "Give up an interrupted or waiting patch (rolls back first when the "
               "install runs it)"},
        Action{"rollback",
               "Roll the current applied or verified patch back to the previous "
               "release (409 not_current)"}}) {
    std::string name = a.name;
    r.add({.method = "POST",
           .path = base + "/{id}/" + name,
           .auth = jarvis::Auth::Admin,
           .summary = a.summary,
           .handler = [p, name](jarvis::Request& req) {
             const std::string id = req.path_param("id");
             const std::string actor = actor_of(req.principal);
             if (name == "approve") return jarvis::Response::json(200, p->approve(id, actor));
             if (name == "allow-test") {
               return jarvis::Response::json(200, p->allow_test(id, actor));
             }
             if (name == "reject") {
               std::string reason;
               if (!req.body.empty()) {
                 jarvis::Json b = req.json_body();
                 if (b.is_object() && b.contains("reason") && b["reason"].is_string()) {
                   reason = b["reason"].get<std::string>().substr(0, 500);
                 }
               }
               return jarvis::Response::json(200, p->reject(id, actor, reason));
             }
             if (name == "resume") return jarvis::Response::json(200, p->resume(id, actor));
             if (name == "abandon") return jarvis::Response::json(200, p->abandon(id, actor));
             return jarvis::Response::json(202, p->rollback(id, actor));
           }});
  }
}

void register_tool(jarvis::Host& host, Pipeline& pipeline) {
  Pipeline* p = &pipeline;
  host.tools().add(
      {.name = "selfupdate.propose",
       .description = "Propose a change to Jarvis's own code as a unified diff with a rationale. "
                      "It is validated and tested; an administrator decides whether it is "
                      "applied. Returns the trace id.",
       .parameters = {{"type", "object"},
                      {"properties",
                       {{"diff", {{"type", "string"}, {"minLength", 1}}},
                        {"rationale", {{"type", "string"}, {"minLength", 1}}}}},
                      {"required", {"diff", "rationale"}},
                      {"additionalProperties", false}},
       .is_protected = true,
       .handler = [p](const jarvis::ToolCall& call) {
         ProposeInput in{.diff = call.args["diff"], .rationale = call.args["rationale"]};
         in.actor = (call.agent_id.empty() ? std::string("tool") : call.agent_id) +
                    " for user:" + call.caller.user_id;
         in.source = "tool";
         return p->propose(in);
       }});
}

}  // namespace selfupdate

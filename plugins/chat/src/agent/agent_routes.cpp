// chat/src/agent/agent_routes.cpp — the agent roster over HTTP.
#include "agent/agent_routes.h"

#include <set>

#include "jarvis/error.h"
#include "jarvis/host.h"
#include "jarvis/list.h"

namespace chat {
namespace {

jarvis::Json problem_json(const BundleProblem& p, bool admin) {
  jarvis::Json j = {{"origin", p.origin},
                    {"file", p.file},
                    {"line", p.line},
                    {"message", p.message},
                    {"shipped_kept", p.shipped_kept}};
  if (admin) j["location"] = p.location;
  if (p.id.empty()) j["scope"] = "agents_dir";
  return j;
}

/// Problems reported for bundle folder `id`.
jarvis::Json problems_of(const BundleSet& set, const std::string& id, bool admin) {
  jarvis::Json out = jarvis::Json::array();
  for (const auto& p : set.problems()) {
    if (p.id == id) out.push_back(problem_json(p, admin));
  }
  return out;
}

jarvis::Json valid_agent_json(const BundleSet& set, const AgentBundle& b,
                              const std::set<std::string, std::less<>>& known, bool admin,
                              bool detail) {
  jarvis::Json tools = jarvis::Json::array();
  jarvis::Json unknown = jarvis::Json::array();
  for (const auto& t : b.identity.allowed_tools) {
    const bool k = known.count(t) > 0;
    tools.push_back({{"name", t}, {"known", k}});
    if (!k) unknown.push_back(t);
  }
  jarvis::Json j = {{"id", b.id},
                    {"valid", true},
                    {"origin", b.origin},
                    {"overrides_shipped", b.overrides_shipped},
                    {"principal", b.principal()},
                    {"risk_tier", to_string(b.identity.risk_tier)},
                    {"max_actions_per_step", b.identity.max_actions_per_step},
                    {"can_request_privileged_change", b.identity.can_request_privileged_change},
                    {"allowed_tools", std::move(tools)},
                    {"unknown_tools", std::move(unknown)},
                    {"has_tools_doc", !b.tools_doc.empty()},
                    {"problems", problems_of(set, b.id, admin)}};
  if (admin) {
    j["location"] = b.location;
    j["allowed_paths"] = b.identity.allowed_paths;
    if (detail) {
      j["identity"] = b.identity_text;
      j["soul"] = b.soul;
      j["tools_doc"] = b.tools_doc;
    }
  }
  return j;
}

jarvis::Json invalid_agent_json(const BundleSet& set, const std::string& id, bool admin) {
  return {{"id", id},
          {"valid", false},
          {"origin", set.problem(id) ? set.problem(id)->origin : ""},
          {"problems", problems_of(set, id, admin)}};
}

std::set<std::string, std::less<>> known_names(const std::vector<jarvis::ToolInfo>& registered) {
  std::set<std::string, std::less<>> known;
  for (const auto& t : registered) known.insert(t.name);
  return known;
}

/// Ids of bundle folders that failed and have no valid bundle in effect, in problem order.
std::vector<std::string> invalid_only_ids(const BundleSet& set) {
  std::vector<std::string> ids;
  std::set<std::string> seen;
  for (const auto& p : set.problems()) {
    if (p.id.empty() || set.find(p.id) || !seen.insert(p.id).second) continue;
    ids.push_back(p.id);
  }
  return ids;
}

}  // namespace

jarvis::Json agents_list_json(const BundleSet& bundles,
                              const std::vector<jarvis::ToolInfo>& registered,
                              const jarvis::Principal& who, long long limit, long long offset) {
  const bool admin = who.is_admin();
  const auto known = known_names(registered);
  jarvis::Json all = jarvis::Json::array();
  for (const auto& b : bundles.agents())
    all.push_back(valid_agent_json(bundles, b, known, admin, false));
  for (const auto& id : invalid_only_ids(bundles))
    all.push_back(invalid_agent_json(bundles, id, admin));
  jarvis::Json body = jarvis::list_slice(all, {limit, offset});
  if (admin) {
    jarvis::Json problems = jarvis::Json::array();
    for (const auto& p : bundles.problems()) {
      jarvis::Json j = problem_json(p, true);
      j["id"] = p.id;
      problems.push_back(std::move(j));
    }
    body["problems"] = std::move(problems);
  }
  return body;
}

jarvis::Json agent_detail_json(const BundleSet& bundles,
                               const std::vector<jarvis::ToolInfo>& registered,
                               const jarvis::Principal& who, const std::string& id) {
  const bool admin = who.is_admin();
  if (valid_agent_id(id)) {
    if (const AgentBundle* b = bundles.find(id))
      return valid_agent_json(bundles, *b, known_names(registered), admin, true);
    if (bundles.problem(id)) return invalid_agent_json(bundles, id, admin);
  }
  std::string shown;
  for (char c : id.substr(0, 64)) {
    auto u = static_cast<unsigned char>(c);
    shown.push_back(u >= 0x20 && u < 0x7F ? c : '?');
  }
  throw jarvis::not_found("no agent '" + shown + "'", "agent_not_found");
}

void register_agent_routes(jarvis::Host& host, const BundleSet& bundles) {
  const BundleSet* set = &bundles;
  jarvis::ToolRegistry* tools = &host.tools();
  host.routes().add(
      {.method = "GET",
       .path = "/api/v1/agents",
       .auth = jarvis::Auth::User,
       .summary = "Agent bundles (?limit≤200&offset) → {items, total, limit, offset, has_more}: "
                  "id, valid, risk tier, max actions, allowed tools (known/unknown); admins also "
                  "folder, allowed_paths and every load problem",
       .handler = [set, tools](jarvis::Request& req) {
         auto page = jarvis::page_request(req);
         return jarvis::Response::json(
             200, agents_list_json(*set, tools->list(), req.principal, page.limit, page.offset));
       }});
  host.routes().add(
      {.method = "GET",
       .path = "/api/v1/agents/{id}",
       .auth = jarvis::Auth::User,
       .summary = "One agent bundle (404 agent_not_found); admins also see its identity, soul "
                  "and tools.md texts",
       .handler = [set, tools](jarvis::Request& req) {
         return jarvis::Response::json(
             200, agent_detail_json(*set, tools->list(), req.principal, req.path_param("id")));
       }});
}

}  // namespace chat

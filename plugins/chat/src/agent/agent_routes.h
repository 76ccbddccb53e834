// chat/src/agent/agent_routes.h — GET /api/v1/agents and GET /api/v1/agents/{id}.
//
//   chat::register_agent_routes(host, bundles);   // in setup(); `bundles` outlives the plugin's
//                                                  // routes (keep it in the plugin object)
//
// Both routes need a signed-in user (Auth::User). Everyone sees each agent's id, validity,
// origin, risk tier, max actions, whether it may request privileged changes and its allowed tools
// — each marked known or unknown against the tool registry at the time of the request (plugins
// register tools in any order, so this is never decided once at start-up). Only administrators
// see host details and the persona: the bundle's folder, allowed_paths, AGENTS_DIR-level problems
// and, on GET /agents/{id}, the identity, soul and tools.md texts. A user has no need for the
// system prompt, and handing it out makes crafting a prompt injection against it easier.
#pragma once

#include <vector>

#include "agent/bundles.h"
#include "jarvis/json.h"
#include "jarvis/principal.h"
#include "jarvis/tools.h"

namespace jarvis {
class Host;
}

namespace chat {

/// Registers the two routes on `host`. `bundles` must stay alive (and unchanged) while the
/// plugin is loaded.
void register_agent_routes(jarvis::Host& host, const BundleSet& bundles);

/// The list body: the envelope {items, total, limit, offset, has_more} over the valid agents (by
/// id) followed by the invalid bundles that no valid one of the same id replaced; admins also get
/// "problems" (every problem, including AGENTS_DIR-level ones) beside the envelope.
jarvis::Json agents_list_json(const BundleSet& bundles,
                              const std::vector<jarvis::ToolInfo>& registered,
                              const jarvis::Principal& who, long long limit, long long offset);

/// One agent as GET /api/v1/agents/{id} answers it; throws jarvis::Error 404 `agent_not_found`
/// when there is neither a bundle nor a reported problem of that id.
jarvis::Json agent_detail_json(const BundleSet& bundles,
                               const std::vector<jarvis::ToolInfo>& registered,
                               const jarvis::Principal& who, const std::string& id);

}  // namespace chat

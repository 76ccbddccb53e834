// selfupdate/src/routes.h — /api/v1/selfupdate/patches (admins only) and the agent tool
// selfupdate.propose (propose only; deny-by-default like every tool).
//
//   register_routes(host, pipeline);
//   register_tool(host, pipeline);
#pragma once

#include "jarvis/jarvis.h"
#include "pipeline.h"

namespace selfupdate {

/// The HTTP routes.
void register_routes(jarvis::Host& host, Pipeline& pipeline);
/// The agent tool selfupdate.propose {diff, rationale}.
void register_tool(jarvis::Host& host, Pipeline& pipeline);
/// The CLI: jarvis selfupdate propose|list|show|approve|reject|rollback|resume|abandon.
void register_commands(jarvis::Host& host, Pipeline& pipeline);

}  // namespace selfupdate

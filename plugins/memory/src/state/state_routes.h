// memory/state/state_routes.h — the structured-state HTTP API under /api/v1/memory/state/
// (README "Structured state", runbook "Memory Governance Ops"): search with time travel, the
// review queue and its resolution (admin), stats, failures, the graph, consistency reports.
// Users see what they own; admins see everything; system items are admin-only.
//
//   register_state_routes(host, engine, kpis_refresh);
#pragma once

#include <functional>
#include <memory>

#include "jarvis/host.h"
#include "state/state_engine.h"

namespace jarvis::memory::state {

/// Registers every /api/v1/memory/state/… route. `after_write` runs after a route changed
/// state (to refresh the KPIs); they keep `engine` alive.
void register_state_routes(jarvis::Host& host, std::shared_ptr<StateEngine> engine,
                           std::function<void()> after_write);

/// A uid as the routes accept it: one lower-case letter, '_', 12 lower-case hex digits.
bool plausible_uid(const std::string& uid);

}  // namespace jarvis::memory::state

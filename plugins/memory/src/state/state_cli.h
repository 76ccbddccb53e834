// memory/state/state_cli.h — `jarvis memory review` (runbook "Memory Conflict Resolution Operator
// Flow"): list the open conflicts, or resolve one with a note. Works on the database directly,
// as the operator (no server needed); prints text or --json.
//
//   jarvis memory review --conflicts --limit 50 [--json]
//   jarvis memory review --resolve d_0123456789ab --note "checked with the team"
//                        [--decision keep_both|supersede|retract|unsupported] [--json]
#pragma once

#include <memory>

#include "jarvis/host.h"
#include "state/state_engine.h"

namespace jarvis::memory::state {

/// Registers `jarvis memory review`; it keeps `engine` alive.
void register_state_cli(jarvis::Host& host, std::shared_ptr<StateEngine> engine);

}  // namespace jarvis::memory::state

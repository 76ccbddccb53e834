// memory/src/state/state_module.h — entry of the structured-state half of the memory plugin
// (decisions 0030-0033, README "Structured state").
//
//   // in MemoryPlugin::setup, after the core registered its routes and tasks:
//   jarvis::memory::StateIntake intake = jarvis::memory::state::register_state(host, ctx);
//   jarvis::memory::register_learning(host, core, intake);  // the learner hands messages over
//
// It registers, honouring STATE_EXTRACTION_ENABLED, MEMORY_REVIEW_QUEUE_ENABLED,
// MEMORY_FAILURE_BRIDGE_ENABLED, MEMORY_GRAPH_ENABLED and the core's MEMORY_WRITES_ENABLED:
//   tasks   memory.state.extract (debounced per thread: STATE_EXTRACTION_DEBOUNCE_SECONDS) (model
//   through the chat.complete tool when registered, else
//           rules; then merge / supersede / conflict), memory.state.failure (durable on
//           task.failed, task.dead_letter, model.run.error, agent.tool.result),
//           memory.state.consistency (daily reports; admins may enqueue it),
//           memory.state.kpis (every minute: the /metrics gauges), memory.state.sweep (every
//           minute: threads whose pending messages waited), memory.state.on_message (drains
//           tasks queued before decision 0047)
//   routes  /api/v1/memory/state/{search, items/{uid}, review/conflicts, review/{uid}/resolve,
//           stats, failures, graph/{uid}, consistency/report, consistency/report/{id}}
//   CLI     jarvis memory review --conflicts | --resolve UID --note TEXT
//   KPIs    jarvis_plugin_memory_reconciliation_rate, jarvis_plugin_memory_hallucination_incidents
#pragma once

#include "jarvis/host.h"
#include "learn.h"
#include "memory_context.h"

namespace jarvis::memory::state {

/// Registers everything of the structured-state half on `host`. Called once from setup() (also in
/// CLI processes, so commands exist there); `ctx` outlives every handler it registers. The
/// state's own objects live as long as the handlers that use them. Returns the intake through
/// which the learner queues messages for extraction (in its own transaction); empty when
/// extraction may not write (STATE_EXTRACTION_ENABLED=0 or MEMORY_WRITES_ENABLED=0).
jarvis::memory::StateIntake register_state(jarvis::Host& host,
                                           const jarvis::memory::MemoryContext& ctx);

}  // namespace jarvis::memory::state

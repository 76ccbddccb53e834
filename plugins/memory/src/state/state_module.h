// memory/src/state/state_module.h — entry of the structured-state half of the memory plugin
// (decisions 0030-0033, README "Structured state").
//
//   // in MemoryPlugin::setup, after the core registered its routes and tasks:
//   jarvis::memory::state::register_state(host, ctx);
//
// It registers, honouring STATE_EXTRACTION_ENABLED, MEMORY_REVIEW_QUEUE_ENABLED,
// MEMORY_FAILURE_BRIDGE_ENABLED, MEMORY_GRAPH_ENABLED and the core's MEMORY_WRITES_ENABLED:
//   tasks   memory.state.on_message (durable on message.new: queues the text for extraction),
//           memory.state.extract (model through the chat.complete tool when registered, else
//           rules; then merge / supersede / conflict), memory.state.failure (durable on
//           task.failed, task.dead_letter, model.run.error, agent.tool.result),
//           memory.state.consistency (daily reports; admins may enqueue it),
//           memory.state.kpis (every minute: the /metrics gauges)
//   routes  /api/v1/memory/state/{search, items/{uid}, review/conflicts, review/{uid}/resolve,
//           stats, failures, graph/{uid}, consistency/report, consistency/report/{id}}
//   CLI     jarvis memory review --conflicts | --resolve UID --note TEXT
//   KPIs    jarvis_plugin_memory_reconciliation_rate, jarvis_plugin_memory_hallucination_incidents
#pragma once

#include "jarvis/host.h"
#include "memory_context.h"

namespace jarvis::memory::state {

/// Registers everything of the structured-state half on `host`. Called once from setup() (also in
/// CLI processes, so commands exist there); `ctx` outlives every handler it registers. The
/// state's own objects live as long as the handlers that use them.
void register_state(jarvis::Host& host, const jarvis::memory::MemoryContext& ctx);

}  // namespace jarvis::memory::state

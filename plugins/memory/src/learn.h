// memory/src/learn.h — learning from chat's events in batches, off the chat step's way (decision
// 0047).
//
//   // plugin setup(): the state half first, so the learner can hand it messages
//   jarvis::memory::StateIntake intake = jarvis::memory::state::register_state(host, *core->ctx);
//   jarvis::memory::register_learning(host, *core, intake);
//   // the core's background loop, every second:  if (core->flush_learning) core->flush_learning();
//
// One durable subscription (message.new → memory.learn_message). Its task learns, in ONE
// transaction, every message.new of the event's trace not learned yet (the user's message and the
// assistant's reply of one step usually share a trace) and records the trace's prompt.build
// measurements: a sibling task that finds its message learned already only reads. prompt.build
// has no task of its own: an in-process subscriber notes the trace and the background loop
// learns it within a second; after a restart the next message of that trace picks it up.
// memory_message_tokens doubles as the "learned" marker (primary key = message id): a duplicate
// delivery, or a task run again after a crash between commit and completion, writes nothing.
#pragma once

#include <functional>
#include <string>

#include "jarvis/database.h"

namespace jarvis::memory {

/// A message the learner hands to the structured-state half: its text already redacted (never
/// denied), not yet cut to MEMORY_MAX_ITEM_BYTES.
struct LearnedMessage {
  std::string message_id;  ///< chat's message id (the event id when the event has none)
  std::string owner_id;
  std::string thread_id;
  std::string agent_id;  ///< the agent that wrote it ("" for users)
  std::string role;      ///< user | assistant (others are not handed over)
  std::string text;
  std::string message_at;  ///< the event's created_at
  std::string trace_id;
};

/// Queues a learned message for state extraction in the learner's transaction; returns false
/// when the state half does not take it (toggle off, a slash command, …). Empty = no state half.
using StateIntake = std::function<bool(Transaction&, const LearnedMessage&)>;

}  // namespace jarvis::memory

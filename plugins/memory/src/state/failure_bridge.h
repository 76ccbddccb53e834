// memory/state/failure_bridge.h — failures become `failure` state items (decision 0032): task
// failures (task.failed, task.dead_letter), provider errors (model.run.error), agent tool errors
// (agent.tool.result that is not ok) and unsupported claims (a failed evidence check, a
// reviewer's verdict). Each is linked to its trace and deduplicated by a signature: the same
// failure again bumps `occurrences` of one item instead of adding another.
//
//   if (auto f = failure_from_event(stored_event)) {
//     FailureWrite w = record_failure(tx->session(), *f, owner_id);   // w.item, w.created
//   }
#pragma once

#include <optional>
#include <string>

#include <soci/soci.h>

#include "jarvis/json.h"
#include "state/state_store.h"

namespace jarvis::memory::state {

/// One failure, ready to be recorded.
struct FailureRecord {
  std::string phase;    ///< task | model | tool | claim
  std::string kind;     ///< failed, dead_letter, timeout, http_5xx, denied, unsupported_claim, …
  std::string key;      ///< what identifies "the same failure" (normalised; see signature)
  std::string summary;  ///< the item text
  Json tags = Json::array();
  Json ref = Json::object();  ///< evidence: {event_id, event_type, trace_id, thread_id, at, …}
  std::string thread_id;
  std::string trace_id;
  std::string at;            ///< when it happened (the event's created_at)
  bool unsupported = false;  ///< an unsupported claim (memory_hallucination_incidents)
};

/// The failure an event stored by the host describes (the payload of a durable subscription's
/// task: {id, type, created_at, thread_id, trace_id, payload, …}); nullopt for events that are
/// no failure (a tool result that is ok) and for failures of the memory plugin's own tasks
/// (which would otherwise feed themselves).
std::optional<FailureRecord> failure_from_event(const Json& event);

/// A claim whose evidence did not hold, as a failure record (`reason`: no_refs, unknown_ref,
/// not_in_evidence, or "review" for a reviewer's verdict).
FailureRecord unsupported_claim(const std::string& type, const std::string& text,
                                const std::string& reason, const Json& refs,
                                const std::string& thread_id);

/// Digits → '#', id-like words (8+ characters mixing letters and digits) → '<id>', blanks
/// collapsed, lower case, at most 160 characters: "timeout after 30000 ms on tsk_9f…" and
/// "timeout after 15000 ms on tsk_0a…" are the same failure.
std::string normalize_failure_text(const std::string& text);

/// sha256 hex of "owner|phase|kind|key": the dedupe key of a failure item.
std::string failure_signature(const std::string& owner_id, const FailureRecord& f);

/// What record_failure did.
struct FailureWrite {
  StateItem item;
  bool created = false;    ///< a new item (else an occurrence of a known one)
  bool duplicate = false;  ///< the event was already recorded (a redelivery): nothing changed
};

/// Inserts the failure item of `f` for `owner_id` ('' = system), or adds an occurrence to the
/// item with the same signature: occurrences + 1, the trace appended to refs (the last 20 are
/// kept), trace_id = the latest, a resolved failure reopened. An event already among the refs
/// (same event_id: a redelivery) changes nothing. Uid "f_" + 12 hex of the signature.
FailureWrite record_failure(soci::session& sql, const FailureRecord& f,
                            const std::string& owner_id);

}  // namespace jarvis::memory::state

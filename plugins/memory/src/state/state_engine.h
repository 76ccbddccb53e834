// memory/state/state_engine.h — the structured-state work units, each one transaction: queue a
// message for extraction, run an extraction over a thread's pending messages (model or rules,
// then reconcile), record a failure event, resolve a review, store a consistency report. The
// module's tasks, routes and CLI call these; the unit tests call them directly on a real
// database with a fake model and an event sink that collects.
//
//   StateEngine engine{db, settings, &redactor, [&](jarvis::Event e, jarvis::Transaction& tx) {
//     host.events().emit(std::move(e), tx); }};
//   engine.add_pending(*tx, message);                        // in the caller's transaction
//   Json r = engine.run_extraction(thread_id, model_call);  // {"method": "model", "counts": …}
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "jarvis/database.h"
#include "jarvis/events.h"
#include "jarvis/json.h"
#include "redactor.h"
#include "state/consistency.h"
#include "state/state_queries.h"
#include "state/state_settings.h"
#include "state/state_store.h"

namespace jarvis::memory::state {

/// Emits one event as part of a transaction (the host's EventBus::emit(e, tx) in production).
using EventSink = std::function<void(jarvis::Event, jarvis::Transaction&)>;

/// Asks a model: (system, prompt) → the answer text, or nullopt with `why` set (no model, denied,
/// failed). Called outside any transaction.
using ModelCall = std::function<std::optional<std::string>(
    const std::string& system, const std::string& prompt, std::string& why)>;

/// See the file comment. Holds references only: everything must outlive it.
class StateEngine {
 public:
  StateEngine(jarvis::Database& db, const StateSettings& settings, const Redactor* redactor,
              EventSink emit)
      : db_(db), settings_(settings), redactor_(redactor), emit_(std::move(emit)) {}

  /// Redacts the message and adds it to the thread's pending messages in `tx`; returns false
  /// (nothing stored but the redaction audit) when the redactor denies it, or when extraction
  /// may not write.
  bool add_pending(jarvis::Transaction& tx, PendingMessage message);

  /// Extracts state from the thread's pending messages (at most max_messages, oldest first):
  /// through `model` when it is set and answers a valid array (claims failing the evidence
  /// check become unsupported-claim failure items), otherwise by rules; then reconciles, records
  /// the run and deletes the consumed messages — one transaction. Returns {"method", "note",
  /// "counts", "outcomes"}, or {"skipped": reason}.
  Json run_extraction(const std::string& thread_id, const ModelCall& model);

  /// Records the failure a stored event describes (failure_from_event) for `owner_id`; returns
  /// {"uid", "created", "occurrences"} or {"skipped": reason}.
  Json record_failure_event(const Json& event, const std::string& owner_id);

  /// resolve_review in a transaction, with its events. 409 `memory_writes_disabled` when
  /// MEMORY_WRITES_ENABLED=0.
  Json resolve(const Resolution& r);

  /// Computes and stores a report; returns the stored report (as get_report shows it).
  Json create_report(const ReportScope& scope, const std::string& created_by);

  /// The settings the engine honours (toggles, thresholds).
  const StateSettings& settings() const { return settings_; }

 private:
  std::string redacted(soci::session& sql, const std::string& text, const std::string& owner,
                       const std::string& thread, bool& denied);

  jarvis::Database& db_;
  const StateSettings& settings_;
  const Redactor* redactor_;
  EventSink emit_;
};

}  // namespace jarvis::memory::state

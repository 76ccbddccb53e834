// memory/state/state_settings.h — the structured-state keys of plugins/memory/plugin.yaml, read
// once (decisions 0030-0033; README "Structured state").
//
//   StateSettings s = StateSettings::from(host.config());
//   if (s.review_queue_enabled) queue(pair);
#pragma once

#include <string>

#include "jarvis/config.h"

namespace jarvis::memory::state {

/// Structured-state configuration (see plugin.yaml for meanings, defaults and bounds).
struct StateSettings {
  bool writes_enabled = true;              ///< MEMORY_WRITES_ENABLED (the core's master switch)
  bool extraction_enabled = true;          ///< STATE_EXTRACTION_ENABLED
  std::string extraction_mode = "auto";    ///< STATE_EXTRACTION_MODE: auto (model if any) | rules
  long long max_messages = 20;             ///< STATE_EXTRACTION_MAX_MESSAGES per run
  double merge_threshold = 0.90;           ///< STATE_EXTRACTION_MERGE_THRESHOLD
  double conflict_threshold = 0.50;        ///< STATE_EXTRACTION_CONFLICT_THRESHOLD
  long long max_active_items = 40;         ///< STATE_MAX_ACTIVE_ITEMS shown to the model
  long long extraction_max_tokens = 1200;  ///< STATE_EXTRACTION_MAX_TOKENS of the model's answer
  long long extraction_timeout_seconds = 15;  ///< STATE_EXTRACTION_TIMEOUT_SECONDS: then rules
  long long debounce_seconds = 10;          ///< STATE_EXTRACTION_DEBOUNCE_SECONDS: a burst, one run
  bool review_queue_enabled = true;         ///< MEMORY_REVIEW_QUEUE_ENABLED
  bool failure_bridge_enabled = true;       ///< MEMORY_FAILURE_BRIDGE_ENABLED
  bool graph_enabled = true;                ///< MEMORY_GRAPH_ENABLED
  std::string consistency_cron = "@daily";  ///< MEMORY_STATE_CONSISTENCY_CRON

  /// Extraction may write (items, runs, pending messages).
  bool extraction_writes() const { return writes_enabled && extraction_enabled; }
  /// The failure bridge may write.
  bool bridge_writes() const { return writes_enabled && failure_bridge_enabled; }
  /// New review-queue rows may be written.
  bool queue_writes() const { return writes_enabled && review_queue_enabled; }
  /// New relations may be written.
  bool graph_writes() const { return writes_enabled && graph_enabled; }

  /// Reads the keys; a key the manifest does not declare keeps its default (so the state half
  /// also runs under a manifest without them, e.g. in unit tests).
  static StateSettings from(const PluginConfig& config);
};

}  // namespace jarvis::memory::state

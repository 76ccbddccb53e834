// memory/state/state_settings.cpp — reads the structured-state keys of plugin.yaml.
#include "state/state_settings.h"

#include <stdexcept>

namespace jarvis::memory::state {

namespace {

template <class T, class F>
void read_key(T& into, F&& get) {
  try {
    into = get();
  } catch (const std::out_of_range&) {
    // Not declared in this manifest (a unit test's config): keep the default.
  }
}

}  // namespace

StateSettings StateSettings::from(const PluginConfig& c) {
  StateSettings s;
  read_key(s.writes_enabled, [&] { return c.get_bool("writes_enabled"); });
  read_key(s.extraction_enabled, [&] { return c.get_bool("state_extraction_enabled"); });
  read_key(s.extraction_mode, [&] { return c.get_string("state_extraction_mode"); });
  read_key(s.max_messages, [&] { return c.get_int("state_extraction_max_messages"); });
  read_key(s.merge_threshold, [&] { return c.get_double("state_extraction_merge_threshold"); });
  read_key(s.conflict_threshold,
           [&] { return c.get_double("state_extraction_conflict_threshold"); });
  read_key(s.max_active_items, [&] { return c.get_int("state_max_active_items"); });
  read_key(s.extraction_max_tokens, [&] { return c.get_int("state_extraction_max_tokens"); });
  read_key(s.extraction_timeout_seconds,
           [&] { return c.get_int("state_extraction_timeout_seconds"); });
  read_key(s.debounce_seconds, [&] { return c.get_int("state_extraction_debounce_seconds"); });
  read_key(s.review_queue_enabled, [&] { return c.get_bool("review_queue_enabled"); });
  read_key(s.failure_bridge_enabled, [&] { return c.get_bool("failure_bridge_enabled"); });
  read_key(s.graph_enabled, [&] { return c.get_bool("graph_enabled"); });
  read_key(s.consistency_cron, [&] { return c.get_string("state_consistency_cron"); });
  // A conflict band needs conflict < merge; an operator who crossed them gets no band.
  if (s.conflict_threshold > s.merge_threshold) s.conflict_threshold = s.merge_threshold;
  return s;
}

}  // namespace jarvis::memory::state

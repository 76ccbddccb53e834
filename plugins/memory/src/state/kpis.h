// memory/state/kpis.h — the two state KPIs on /metrics (decision 0033), computed from the tables,
// never invented: memory_reconciliation_rate (share of extracted candidates of the last 7 days
// that were merged into or superseded an existing item) and memory_hallucination_incidents
// (failure items recording an unsupported claim). No data = the gauge is absent (or NaN once it
// had a value), never a fake 0.
//
//   StateKpis k = compute_kpis(sql);
//   publisher.publish(host.metrics(), k);   // jarvis_plugin_memory_reconciliation_rate, …
#pragma once

#include <mutex>
#include <optional>

#include <soci/soci.h>

#include "jarvis/metrics.h"

namespace jarvis::memory::state {

/// The KPI values; nullopt = no data.
struct StateKpis {
  std::optional<double> reconciliation_rate;
  std::optional<double> hallucination_incidents;
  long long window_candidates = 0;  ///< denominator of the rate (last 7 days)
};

/// Reads the KPIs. The rate needs at least one extracted candidate in the last 7 days; the
/// incident count needs evidence to have been checked at all — a model extraction run, a
/// resolved review, or an incident — else it is "no data".
StateKpis compute_kpis(soci::session& sql);

/// Sets the gauges `reconciliation_rate` and `hallucination_incidents` (the host prefixes them
/// `jarvis_plugin_memory_`). A value that goes from known to unknown becomes NaN; one never
/// known is never set. Thread-safe.
class KpiPublisher {
 public:
  void publish(Metrics& metrics, const StateKpis& k);

 private:
  std::mutex mu_;
  bool rate_set_ = false;
  bool incidents_set_ = false;
};

}  // namespace jarvis::memory::state

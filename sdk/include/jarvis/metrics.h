// jarvis/metrics.h — per-plugin metrics exported on GET /metrics (Prometheus text format).
#pragma once

#include <map>
#include <string>

#include "jarvis/version.h"

namespace jarvis {

/// Label set of one time series, e.g. {{"result", "ok"}}.
using MetricLabels = std::map<std::string, std::string>;

/// Counters and gauges owned by one plugin. Names are prefixed with `jarvis_plugin_<plugin>_`.
/// Thread-safe.
class JARVIS_API Metrics {
 public:
  virtual ~Metrics();
  /// Adds `by` (≥ 0) to a counter; creates it at 0 first.
  virtual void increment(const std::string& name, double by = 1,
                         const MetricLabels& labels = {}) = 0;
  /// Sets a gauge.
  virtual void set_gauge(const std::string& name, double value,
                         const MetricLabels& labels = {}) = 0;
};

}  // namespace jarvis

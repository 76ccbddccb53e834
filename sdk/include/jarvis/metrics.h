// jarvis/metrics.h — per-plugin metrics exported on GET /metrics (Prometheus text format).
//
//   auto& m = host.metrics();
//   m.increment("greetings_total", 1, {{"result", "ok"}});   // jarvis_plugin_hello_greetings_total
//   m.set_gauge("queue_depth", 3);
//   m.declare_histogram("reply_tokens", jarvis::exponential_buckets(16, 2, 8));  // once, in setup
//   m.observe("reply_tokens", 412);
//   m.observe("provider_seconds", 0.84);        // undeclared: default latency buckets (seconds)
//
// Names are prefixed `jarvis_plugin_<plugin>_`; characters outside [a-zA-Z0-9_] become '_'.
// One name is one type: using it as another throws jarvis::Error(409, "metric_type_conflict"), and
// a histogram `x` also owns `x_bucket`, `x_sum` and `x_count`. Health is not a metric you set:
// return it from Plugin::health() (see jarvis/plugin.h); the host exports it as
// `jarvis_plugin_health{plugin,status}` and `jarvis_plugin_health_reason{plugin,status,reason}`.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "jarvis/version.h"

namespace jarvis {

/// Label set of one time series, e.g. {{"result", "ok"}}.
using MetricLabels = std::map<std::string, std::string>;

/// Counters, gauges and histograms owned by one plugin. Names are prefixed with
/// `jarvis_plugin_<plugin>_`. Thread-safe.
class JARVIS_API Metrics {
 public:
  virtual ~Metrics();
  /// Adds `by` (≥ 0) to a counter; creates it at 0 first. A negative or NaN `by` throws
  /// jarvis::Error(400, "invalid_metric_value").
  virtual void increment(const std::string& name, double by = 1,
                         const MetricLabels& labels = {}) = 0;
  /// Sets a gauge.
  virtual void set_gauge(const std::string& name, double value,
                         const MetricLabels& labels = {}) = 0;

  // SDK 1.1 additions (kept at the end of the class).

  /// Fixes the bucket upper bounds of histogram `name` — strictly increasing, finite, at most 64;
  /// `+Inf` is implicit; empty = the default latency buckets (0.0005 … 10 seconds). Call it once
  /// in setup(), before the first observe(). Bad bounds throw jarvis::Error(400,
  /// "invalid_metric_buckets"); other bounds than an earlier declaration (or than the ones the
  /// histogram already observed with) throw jarvis::Error(409, "metric_buckets_conflict").
  virtual void declare_histogram(const std::string& name, std::vector<double> buckets) = 0;
  /// Records one observation in histogram `name` (latencies in seconds, sizes, token counts).
  /// Exposed as `_bucket{le="…"}` (cumulative), `_sum` and `_count`. NaN throws
  /// jarvis::Error(400, "invalid_metric_value").
  virtual void observe(const std::string& name, double value, const MetricLabels& labels = {}) = 0;
};

/// `count` bucket bounds `start, start*factor, start*factor², …` (e.g. token counts:
/// exponential_buckets(16, 2, 8) → 16 … 2048). Requires start > 0, factor > 1, count ≥ 1
/// (otherwise returns an empty list, which declare_histogram reads as "default buckets").
inline std::vector<double> exponential_buckets(double start, double factor, int count) {
  std::vector<double> out;
  if (!(start > 0) || !(factor > 1) || count < 1) return out;
  for (double b = start; static_cast<int>(out.size()) < count; b *= factor) out.push_back(b);
  return out;
}

/// `count` bucket bounds `start, start+width, …`. Requires width > 0, count ≥ 1 (else empty).
inline std::vector<double> linear_buckets(double start, double width, int count) {
  std::vector<double> out;
  if (!(width > 0) || count < 1) return out;
  for (int i = 0; i < count; ++i) out.push_back(start + width * i);
  return out;
}

}  // namespace jarvis

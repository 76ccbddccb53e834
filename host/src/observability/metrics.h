// host/src/observability/metrics.h — the host's metrics registry, rendered as Prometheus text
// exposition (format 0.0.4) on GET /metrics.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "jarvis/metrics.h"

namespace jarvis::host {

/// Counters, gauges and histograms keyed by (name, labels). Thread-safe.
class MetricsRegistry {
 public:
  MetricsRegistry();
  void counter_add(const std::string& name, const std::string& help,
                   const jarvis::MetricLabels& labels = {}, double by = 1);
  void gauge_set(const std::string& name, const std::string& help,
                 const jarvis::MetricLabels& labels, double value);
  /// Observes a value (seconds for latencies) in a histogram with the default buckets
  /// (0.0005 … 10 s).
  void histogram_observe(const std::string& name, const std::string& help,
                         const jarvis::MetricLabels& labels, double value);
  /// Current value of a counter or gauge series (0 if absent) — for tests and status pages.
  double value(const std::string& name, const jarvis::MetricLabels& labels = {}) const;
  /// Registers a callback run at the start of every render() to refresh gauges (process RSS,
  /// plugin states, queue depths).
  void add_collector(std::function<void(MetricsRegistry&)> collector);
  /// Prometheus text exposition of everything, families sorted by name.
  std::string render();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

/// The jarvis::Metrics view a plugin receives: names prefixed `jarvis_plugin_<plugin>_`.
class PluginMetrics : public jarvis::Metrics {
 public:
  PluginMetrics(MetricsRegistry& registry, std::string plugin);
  void increment(const std::string& name, double by, const jarvis::MetricLabels& labels) override;
  void set_gauge(const std::string& name, double value, const jarvis::MetricLabels& labels) override;

 private:
  MetricsRegistry& registry_;
  std::string prefix_;
};

}  // namespace jarvis::host

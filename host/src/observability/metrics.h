// host/src/observability/metrics.h — the host's metrics registry, rendered as Prometheus text
// exposition (format 0.0.4) on GET /metrics.
//
// Names and label names are sanitized to the Prometheus alphabet ([a-zA-Z_:][a-zA-Z0-9_:]*, label
// names without ':'). Using one name as two types (counter_add then gauge_set) throws
// jarvis::Error(409, "metric_type_conflict"); a negative or NaN counter increment throws
// jarvis::Error(400, "invalid_metric_value").
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "jarvis/metrics.h"

namespace jarvis::host {

/// Counters, gauges and histograms keyed by (name, labels). Thread-safe.
class MetricsRegistry {
 public:
  MetricsRegistry();
  /// Adds `by` (≥ 0) to a counter series, creating it at 0 first.
  void counter_add(const std::string& name, const std::string& help,
                   const jarvis::MetricLabels& labels = {}, double by = 1);
  /// Sets a gauge series.
  void gauge_set(const std::string& name, const std::string& help,
                 const jarvis::MetricLabels& labels, double value);
  /// Sets a counter to an absolute value — for collectors mirroring a counter kept elsewhere
  /// (e.g. process CPU seconds read from /proc). Normal code uses counter_add.
  void counter_set(const std::string& name, const std::string& help,
                   const jarvis::MetricLabels& labels, double value);
  /// Fixes a histogram's bucket upper bounds (strictly increasing, finite, 1–64; +Inf is implicit;
  /// empty = default_buckets()). Repeating the same bounds is fine; other bounds once the family
  /// has them or has observations throw jarvis::Error(409, "metric_buckets_conflict"); bad
  /// bounds throw jarvis::Error(400, "invalid_metric_buckets").
  void histogram_declare(const std::string& name, const std::string& help,
                         std::vector<double> bounds);
  /// Observes a value in a histogram (its declared buckets, or default_buckets() — seconds, for
  /// latencies). NaN throws jarvis::Error(400, "invalid_metric_value"). Rendered as
  /// `<name>_bucket{le="…"}` (cumulative, ending with le="+Inf"), `<name>_sum`, `<name>_count`;
  /// those three names are reserved: no other family may take them (409 metric_type_conflict).
  void histogram_observe(const std::string& name, const std::string& help,
                         const jarvis::MetricLabels& labels, double value);
  /// Drops every series of a gauge (keeps the family) — for collectors whose label values change
  /// (a health reason), so a stale series does not linger.
  void gauge_reset(const std::string& name);
  /// The default buckets: 0.0005, 0.001, 0.0025, … 5, 10 (seconds).
  static const std::vector<double>& default_buckets();
  /// "" when `bounds` are valid histogram buckets, otherwise why not.
  static std::string check_buckets(const std::vector<double>& bounds);
  /// Current value of a counter or gauge series (0 if absent; a histogram series gives its
  /// observation count) — for tests and status pages.
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

/// Registers a collector that refreshes the standard process metrics from /proc on every render:
/// process_resident_memory_bytes, process_virtual_memory_bytes, process_cpu_seconds_total,
/// process_start_time_seconds, process_open_fds, process_max_fds.
void register_process_collector(MetricsRegistry& registry);

/// Returns `name` with every character outside [a-zA-Z0-9_:] replaced by '_' (and a leading digit
/// prefixed with '_'), so it is a valid Prometheus metric name.
std::string sanitize_metric_name(const std::string& name);

/// The jarvis::Metrics view a plugin receives: names prefixed `jarvis_plugin_<plugin>_`.
class PluginMetrics : public jarvis::Metrics {
 public:
  /// A view writing into `registry`; `plugin` is sanitized into the prefix.
  PluginMetrics(MetricsRegistry& registry, std::string plugin);
  /// Adds to counter `jarvis_plugin_<plugin>_<name>` (name sanitized).
  void increment(const std::string& name, double by, const jarvis::MetricLabels& labels) override;
  /// Sets gauge `jarvis_plugin_<plugin>_<name>` (name sanitized).
  void set_gauge(const std::string& name, double value,
                 const jarvis::MetricLabels& labels) override;
  /// Fixes the buckets of histogram `jarvis_plugin_<plugin>_<name>` (name sanitized).
  void declare_histogram(const std::string& name, std::vector<double> buckets) override;
  /// Observes `value` in histogram `jarvis_plugin_<plugin>_<name>` (name sanitized).
  void observe(const std::string& name, double value, const jarvis::MetricLabels& labels) override;

 private:
  MetricsRegistry& registry_;
  std::string prefix_;
};

}  // namespace jarvis::host

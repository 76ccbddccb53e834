// host/src/observability/metrics.cpp — the metrics registry, its Prometheus text rendering
// (exposition format 0.0.4), the /proc process collector and the per-plugin metrics view.
#include "observability/metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "jarvis/error.h"

namespace jarvis::host {

namespace {

enum class Type { Counter, Gauge, Histogram };

const char* type_name(Type t) {
  switch (t) {
    case Type::Counter:
      return "counter";
    case Type::Gauge:
      return "gauge";
    case Type::Histogram:
      return "histogram";
  }
  return "untyped";
}

struct Histogram {
  std::vector<std::uint64_t> buckets;  // non-cumulative counts per bucket (size = bounds)
  double sum = 0;
  std::uint64_t count = 0;
};

struct Family {
  Type type = Type::Counter;
  std::string help;
  std::map<jarvis::MetricLabels, double> values;         // counters and gauges
  std::map<jarvis::MetricLabels, Histogram> histograms;  // histograms
  std::vector<double> bounds;                            // histograms: bucket upper bounds
  bool declared = false;  // histograms: bounds set by histogram_declare
};

// The suffixes a histogram's series use; no other family may take those names.
constexpr const char* kHistogramSuffixes[] = {"_bucket", "_sum", "_count"};

bool metric_char(char c, bool first, bool allow_colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         (allow_colon && c == ':') || (!first && c >= '0' && c <= '9');
}

bool valid_name(const std::string& name, bool allow_colon) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!metric_char(name[i], i == 0, allow_colon)) return false;
  }
  return true;
}

std::string sanitize(const std::string& name, bool allow_colon) {
  if (valid_name(name, allow_colon)) return name;
  std::string out;
  out.reserve(name.size() + 1);
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) out.push_back('_');
  for (char c : name) out.push_back(metric_char(c, false, allow_colon) ? c : '_');
  return out;
}

jarvis::MetricLabels sanitize_labels(const jarvis::MetricLabels& labels) {
  bool clean = true;
  for (const auto& [k, v] : labels) clean = clean && valid_name(k, false);
  if (clean) return labels;
  jarvis::MetricLabels out;
  for (const auto& [k, v] : labels) out[sanitize(k, false)] = v;
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{:.0f}", v);
  return fmt::format("{}", v);
}

void append_escaped(std::string& out, const std::string& s, bool quote) {
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (quote && c == '"')
      out += "\\\"";
    else
      out.push_back(c);
  }
}

// `{a="1",b="2"}` with an optional extra label (used for `le`), or "" when there are none.
void append_labels(std::string& out, const jarvis::MetricLabels& labels,
                   const char* extra_name = nullptr, const std::string& extra_value = {}) {
  if (labels.empty() && !extra_name) return;
  out.push_back('{');
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out.push_back(',');
    first = false;
    out += k;
    out += "=\"";
    append_escaped(out, v, true);
    out.push_back('"');
  }
  if (extra_name) {
    if (!first) out.push_back(',');
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out.push_back('"');
  }
  out.push_back('}');
}

}  // namespace

struct MetricsRegistry::Impl {
  mutable std::mutex mu;
  std::map<std::string, Family, std::less<>> families;
  std::vector<std::function<void(MetricsRegistry&)>> collectors;

  // Throws when `name` (about to be created as type `t`) would collide with a histogram's
  // series: a histogram `x` owns `x_bucket`, `x_sum` and `x_count`. Caller holds `mu`.
  void check_suffix_clash(const std::string& name, Type t) const {
    for (const char* suffix : kHistogramSuffixes) {
      const std::string sfx = suffix;
      if (t == Type::Histogram) {
        if (families.count(name + sfx)) {
          throw jarvis::Error(409, "metric_type_conflict",
                              "histogram '" + name + "' would expose '" + name + sfx +
                                  "', which is already a " +
                                  type_name(families.find(name + sfx)->second.type));
        }
      } else if (name.size() > sfx.size() && name.ends_with(sfx)) {
        auto base = families.find(name.substr(0, name.size() - sfx.size()));
        if (base != families.end() && base->second.type == Type::Histogram) {
          throw jarvis::Error(
              409, "metric_type_conflict",
              "metric '" + name + "' is a series of histogram '" + base->first + "'");
        }
      }
    }
  }

  // Finds or creates a family of type `t`; throws on a type conflict. Caller holds `mu`.
  Family& family(const std::string& raw_name, const std::string& help, Type t) {
    auto it = families.find(raw_name);
    if (it == families.end()) {
      std::string name = sanitize(raw_name, true);
      it = families.find(name);
      if (it == families.end()) {
        check_suffix_clash(name, t);
        it = families.emplace(name, Family{}).first;
        it->second.type = t;
        it->second.help = help;
        if (t == Type::Histogram) it->second.bounds = MetricsRegistry::default_buckets();
      }
    }
    if (it->second.type != t) {
      throw jarvis::Error(409, "metric_type_conflict",
                          "metric '" + it->first + "' is a " + type_name(it->second.type) +
                              ", not a " + type_name(t));
    }
    return it->second;
  }
};

MetricsRegistry::MetricsRegistry() : impl_(std::make_shared<Impl>()) {}

void MetricsRegistry::counter_add(const std::string& name, const std::string& help,
                                  const jarvis::MetricLabels& labels, double by) {
  if (!(by >= 0)) {
    throw jarvis::Error(400, "invalid_metric_value",
                        "counter '" + name + "' can only increase (got " + format_value(by) + ")");
  }
  std::lock_guard lock(impl_->mu);
  Family& f = impl_->family(name, help, Type::Counter);
  auto it = f.values.find(labels);
  if (it != f.values.end()) {
    it->second += by;
  } else {
    f.values[sanitize_labels(labels)] += by;
  }
}

void MetricsRegistry::counter_set(const std::string& name, const std::string& help,
                                  const jarvis::MetricLabels& labels, double value) {
  std::lock_guard lock(impl_->mu);
  impl_->family(name, help, Type::Counter).values[sanitize_labels(labels)] = value;
}

void MetricsRegistry::gauge_set(const std::string& name, const std::string& help,
                                const jarvis::MetricLabels& labels, double value) {
  std::lock_guard lock(impl_->mu);
  impl_->family(name, help, Type::Gauge).values[sanitize_labels(labels)] = value;
}

const std::vector<double>& MetricsRegistry::default_buckets() {
  // Latency in seconds, 0.5 ms … 10 s (upper bounds; +Inf is implicit).
  static const std::vector<double> buckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                              0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return buckets;
}

std::string MetricsRegistry::check_buckets(const std::vector<double>& bounds) {
  if (bounds.empty()) return "at least one bucket bound is needed";
  if (bounds.size() > 64) return "at most 64 bucket bounds (each one is a time series)";
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i])) return "bucket bounds must be finite (+Inf is implicit)";
    if (i > 0 && !(bounds[i] > bounds[i - 1])) {
      return "bucket bounds must be strictly increasing (" + format_value(bounds[i - 1]) +
             " then " + format_value(bounds[i]) + ")";
    }
  }
  return "";
}

void MetricsRegistry::histogram_declare(const std::string& name, const std::string& help,
                                        std::vector<double> bounds) {
  if (bounds.empty()) bounds = default_buckets();
  if (std::string problem = check_buckets(bounds); !problem.empty()) {
    throw jarvis::Error(400, "invalid_metric_buckets", "histogram '" + name + "': " + problem);
  }
  std::lock_guard lock(impl_->mu);
  Family& f = impl_->family(name, help, Type::Histogram);
  if (f.bounds == bounds) {
    f.declared = true;
    return;
  }
  if (f.declared || !f.histograms.empty()) {
    throw jarvis::Error(409, "metric_buckets_conflict",
                        "histogram '" + name + "' already has other buckets");
  }
  f.bounds = std::move(bounds);
  f.declared = true;
}

void MetricsRegistry::histogram_observe(const std::string& name, const std::string& help,
                                        const jarvis::MetricLabels& labels, double value) {
  if (std::isnan(value)) {
    throw jarvis::Error(400, "invalid_metric_value", "histogram '" + name + "' cannot observe NaN");
  }
  std::lock_guard lock(impl_->mu);
  Family& f = impl_->family(name, help, Type::Histogram);
  auto it = f.histograms.find(labels);
  if (it == f.histograms.end()) {
    it = f.histograms.emplace(sanitize_labels(labels), Histogram{}).first;
    it->second.buckets.assign(f.bounds.size(), 0);
  }
  Histogram& h = it->second;
  std::size_t bucket = 0;
  while (bucket < f.bounds.size() && value > f.bounds[bucket]) ++bucket;
  if (bucket < h.buckets.size()) ++h.buckets[bucket];
  h.sum += value;
  ++h.count;
}

void MetricsRegistry::gauge_reset(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->families.find(sanitize(name, true));
  if (it != impl_->families.end() && it->second.type == Type::Gauge) it->second.values.clear();
}

double MetricsRegistry::value(const std::string& name, const jarvis::MetricLabels& labels) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->families.find(sanitize(name, true));
  if (it == impl_->families.end()) return 0;
  jarvis::MetricLabels key = sanitize_labels(labels);
  if (it->second.type == Type::Histogram) {
    auto h = it->second.histograms.find(key);
    return h == it->second.histograms.end() ? 0 : static_cast<double>(h->second.count);
  }
  auto v = it->second.values.find(key);
  return v == it->second.values.end() ? 0 : v->second;
}

void MetricsRegistry::add_collector(std::function<void(MetricsRegistry&)> collector) {
  std::lock_guard lock(impl_->mu);
  impl_->collectors.push_back(std::move(collector));
}

std::string MetricsRegistry::render() {
  std::vector<std::function<void(MetricsRegistry&)>> collectors;
  {
    std::lock_guard lock(impl_->mu);
    collectors = impl_->collectors;
  }
  for (auto& c : collectors) {
    try {
      c(*this);
    } catch (const std::exception& e) {
      spdlog::warn("metrics collector failed: {}", e.what());
    } catch (...) {
      spdlog::warn("metrics collector failed with a non-standard exception");
    }
  }

  std::string out;
  std::lock_guard lock(impl_->mu);
  for (const auto& [name, f] : impl_->families) {
    out += "# HELP ";
    out += name;
    out.push_back(' ');
    append_escaped(out, f.help, false);
    out += "\n# TYPE ";
    out += name;
    out.push_back(' ');
    out += type_name(f.type);
    out.push_back('\n');
    if (f.type != Type::Histogram) {
      for (const auto& [labels, v] : f.values) {
        out += name;
        append_labels(out, labels);
        out.push_back(' ');
        out += format_value(v);
        out.push_back('\n');
      }
      continue;
    }
    for (const auto& [labels, h] : f.histograms) {
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < f.bounds.size() && i < h.buckets.size(); ++i) {
        cumulative += h.buckets[i];
        out += name;
        out += "_bucket";
        append_labels(out, labels, "le", format_value(f.bounds[i]));
        out.push_back(' ');
        out += std::to_string(cumulative);
        out.push_back('\n');
      }
      out += name;
      out += "_bucket";
      append_labels(out, labels, "le", "+Inf");
      out += ' ' + std::to_string(h.count) + '\n';
      out += name;
      out += "_sum";
      append_labels(out, labels);
      out += ' ' + format_value(h.sum) + '\n';
      out += name;
      out += "_count";
      append_labels(out, labels);
      out += ' ' + std::to_string(h.count) + '\n';
    }
  }
  return out;
}

std::string sanitize_metric_name(const std::string& name) { return sanitize(name, true); }

void register_process_collector(MetricsRegistry& registry) {
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  double boot_time = 0;
  {
    std::ifstream stat("/proc/stat");
    std::string key;
    while (stat >> key) {
      if (key == "btime") {
        stat >> boot_time;
        break;
      }
      stat.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
  }
  registry.add_collector([ticks, page, boot_time](MetricsRegistry& r) {
    std::ifstream in("/proc/self/stat");
    std::string line;
    std::getline(in, line);
    // Fields after the command name "(…)", which may itself contain spaces or ')'.
    auto close = line.rfind(')');
    if (close == std::string::npos) throw std::runtime_error("cannot parse /proc/self/stat");
    std::istringstream fields(line.substr(close + 2));
    std::vector<std::string> f;
    for (std::string s; fields >> s;) f.push_back(s);
    if (f.size() < 22) throw std::runtime_error("short /proc/self/stat");
    // f[0] is field 3 (state): utime=14, stime=15, starttime=22, vsize=23, rss=24.
    double utime = std::stod(f[11]), stime = std::stod(f[12]);
    double start = std::stod(f[19]), vsize = std::stod(f[20]), rss = std::stod(f[21]);
    r.counter_set("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                  {}, (utime + stime) / ticks);
    r.gauge_set("process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.", {},
                boot_time + start / ticks);
    r.gauge_set("process_virtual_memory_bytes", "Virtual memory size in bytes.", {}, vsize);
    r.gauge_set("process_resident_memory_bytes", "Resident memory size in bytes.", {}, rss * page);

    std::size_t fds = 0;
    std::error_code ec;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
         it.increment(ec)) {
      ++fds;
    }
    // The iterator's own descriptor is listed too.
    r.gauge_set("process_open_fds", "Number of open file descriptors.", {},
                static_cast<double>(fds > 0 ? fds - 1 : 0));
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0) {
      r.gauge_set("process_max_fds", "Maximum number of open file descriptors.", {},
                  lim.rlim_cur == RLIM_INFINITY ? -1.0 : static_cast<double>(lim.rlim_cur));
    }
  });
}

PluginMetrics::PluginMetrics(MetricsRegistry& registry, std::string plugin)
    : registry_(registry), prefix_("jarvis_plugin_" + sanitize(plugin, false) + "_") {}

void PluginMetrics::increment(const std::string& name, double by,
                              const jarvis::MetricLabels& labels) {
  std::string full = prefix_ + sanitize(name, false);
  registry_.counter_add(full, "Plugin counter " + name + ".", labels, by);
}

void PluginMetrics::set_gauge(const std::string& name, double value,
                              const jarvis::MetricLabels& labels) {
  std::string full = prefix_ + sanitize(name, false);
  registry_.gauge_set(full, "Plugin gauge " + name + ".", labels, value);
}

void PluginMetrics::declare_histogram(const std::string& name, std::vector<double> buckets) {
  std::string full = prefix_ + sanitize(name, false);
  registry_.histogram_declare(full, "Plugin histogram " + name + ".", std::move(buckets));
}

void PluginMetrics::observe(const std::string& name, double value,
                            const jarvis::MetricLabels& labels) {
  std::string full = prefix_ + sanitize(name, false);
  registry_.histogram_observe(full, "Plugin histogram " + name + ".", labels, value);
}

}  // namespace jarvis::host

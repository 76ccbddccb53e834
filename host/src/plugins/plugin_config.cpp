// host/src/plugins/plugin_config.cpp — a plugin's typed, validated configuration (see
// plugin_config.h).
#include "plugins/plugin_config.h"

#include <charconv>
#include <cstdlib>
#include <stdexcept>

namespace jarvis::host {

std::string describe_config_source(ConfigSource source, const std::string& origin,
                                   const std::string& env) {
  switch (source) {
    case ConfigSource::Default:
      return origin.empty() || origin == "default" ? "default" : "default (" + origin + ")";
    case ConfigSource::Yaml:
      return "jarvis.yaml file " + origin;
    case ConfigSource::DotEnv:
      return ".env file " + origin;
    case ConfigSource::Environment:
      return "environment variable " + env;
  }
  return origin;
}

PluginConfigImpl::PluginConfigImpl(std::string plugin, std::vector<ConfigKeySpec> keys,
                                   const ConfigStore* store)
    : plugin_(std::move(plugin)) {
  for (auto& spec : keys) {
    Resolved r;
    std::optional<ConfigValue> found;
    if (store) found = store->get(spec.env);
    if (found) {
      r.value = found->value;
      r.source = found->source;
      r.origin = found->origin;
      r.is_set = true;
    } else {
      r.value = spec.default_value.value_or("");
      r.source = ConfigSource::Default;
      r.origin = "plugin.yaml";
    }
    r.spec = std::move(spec);
    index_[r.spec.key] = order_.size();
    order_.push_back(std::move(r));
  }
}

std::vector<std::string> PluginConfigImpl::validate() const {
  std::vector<std::string> problems;
  for (const Resolved& r : order_) {
    const std::string problem = r.spec.check(r.value);
    if (problem.empty()) continue;
    std::string line =
        "plugin '" + plugin_ + "': config key '" + r.spec.key + "' (env " + r.spec.env + ") ";
    if (r.value.empty() && r.spec.required && !r.is_set) {
      line += "is required but not set (no default; not in jarvis.yaml, .env or the environment)";
      line += ": expected " + std::string(to_string(r.spec.type)) + ", set " + r.spec.env;
      problems.push_back(std::move(line));
      continue;
    }
    if (r.spec.secret) {
      line += "has an invalid value (secret, not shown)";
    } else if (r.value.find('@') != std::string::npos) {
      // "user:password@host" (a URL without its scheme): the value may hold credentials.
      line += "has an invalid value (contains '@', may hold credentials: not shown)";
    } else {
      line += "has invalid value \"" + r.value + "\"";
    }
    line += " from " + describe_config_source(r.source, r.origin, r.spec.env) + ": " + problem;
    problems.push_back(std::move(line));
  }
  return problems;
}

std::vector<ConfigKeyReport> PluginConfigImpl::describe() const {
  std::vector<ConfigKeyReport> out;
  for (const Resolved& r : order_) {
    ConfigKeyReport rep;
    rep.key = r.spec.key;
    rep.env = r.spec.env;
    rep.type = to_string(r.spec.type);
    rep.value = (r.spec.secret && !r.value.empty()) ? "[REDACTED]" : r.value;
    rep.source = to_string(r.source);
    rep.origin = r.origin;
    rep.secret = r.spec.secret;
    rep.is_set = r.is_set;
    rep.description = r.spec.description;
    rep.required = r.spec.required;
    rep.constraints = r.spec.constraints();
    if (r.spec.type == ConfigType::Duration && !r.spec.secret) {
      if (auto d = parse_duration(r.value)) rep.value_ms = d->count();
    }
    out.push_back(std::move(rep));
  }
  return out;
}

const PluginConfigImpl::Resolved& PluginConfigImpl::entry(const std::string& key,
                                                          ConfigType want) const {
  auto it = index_.find(key);
  if (it == index_.end()) {
    throw std::out_of_range("plugin '" + plugin_ + "': config key '" + key +
                            "' is not declared in plugin.yaml");
  }
  const Resolved& r = order_[it->second];
  if (r.spec.secret) {
    throw std::invalid_argument("plugin '" + plugin_ + "': config key '" + key +
                                "' is secret: read it with get_secret()");
  }
  if (r.spec.type != want) {
    throw std::invalid_argument("plugin '" + plugin_ + "': config key '" + key +
                                "' is declared as " + to_string(r.spec.type) + ", read as " +
                                to_string(want));
  }
  return r;
}

std::string PluginConfigImpl::get_string(const std::string& key) const {
  auto it = index_.find(key);
  if (it == index_.end()) return entry(key, ConfigType::String).value;  // throws out_of_range
  const Resolved& r = order_[it->second];
  if (r.spec.secret) {
    throw std::invalid_argument("plugin '" + plugin_ + "': config key '" + key +
                                "' is secret: read it with get_secret()");
  }
  // Any type may be read as its text; typed getters are preferred.
  return r.value;
}

std::chrono::milliseconds PluginConfigImpl::get_duration(const std::string& key) const {
  const Resolved& r = entry(key, ConfigType::Duration);
  auto d = parse_duration(r.value);
  if (!d) {
    throw std::invalid_argument("plugin '" + plugin_ + "': config key '" + key +
                                "' is not a valid duration (validate() was not run)");
  }
  return *d;
}

jarvis::Secret PluginConfigImpl::get_secret(const std::string& key) const {
  auto it = index_.find(key);
  if (it == index_.end()) {
    throw std::out_of_range("plugin '" + plugin_ + "': config key '" + key +
                            "' is not declared in plugin.yaml");
  }
  const Resolved& r = order_[it->second];
  if (!r.spec.secret) {
    throw std::invalid_argument("plugin '" + plugin_ + "': config key '" + key +
                                "' is not declared secret: true; read it with get_string()");
  }
  return jarvis::Secret(r.value);
}

long long PluginConfigImpl::get_int(const std::string& key) const {
  const Resolved& r = entry(key, ConfigType::Int);
  long long out = 0;
  auto [p, ec] = std::from_chars(r.value.data(), r.value.data() + r.value.size(), out);
  if (r.value.empty() || ec != std::errc() || p != r.value.data() + r.value.size()) {
    throw std::invalid_argument("plugin '" + plugin_ + "': config key '" + key +
                                "' is not a valid int (validate() was not run)");
  }
  return out;
}

double PluginConfigImpl::get_double(const std::string& key) const {
  const Resolved& r = entry(key, ConfigType::Float);
  char* end = nullptr;
  double out = std::strtod(r.value.c_str(), &end);
  if (r.value.empty() || end != r.value.c_str() + r.value.size()) {
    throw std::invalid_argument("plugin '" + plugin_ + "': config key '" + key +
                                "' is not a valid float (validate() was not run)");
  }
  return out;
}

bool PluginConfigImpl::get_bool(const std::string& key) const {
  const Resolved& r = entry(key, ConfigType::Bool);
  auto b = parse_bool(r.value);
  if (!b) {
    throw std::invalid_argument("plugin '" + plugin_ + "': config key '" + key +
                                "' is not a valid bool (validate() was not run)");
  }
  return *b;
}

std::vector<std::string> PluginConfigImpl::get_list(const std::string& key) const {
  const Resolved& r = entry(key, ConfigType::List);
  std::vector<std::string> items;
  std::string cur;
  auto flush = [&] {
    while (!cur.empty() && (cur.back() == '\r' || cur.back() == ' ' || cur.back() == '\t')) {
      cur.pop_back();
    }
    std::size_t start = cur.find_first_not_of(" \t");
    if (start != std::string::npos) items.push_back(cur.substr(start));
    cur.clear();
  };
  for (char c : r.value) {
    if (c == '\n') {
      flush();
    } else {
      cur += c;
    }
  }
  flush();
  return items;
}

bool PluginConfigImpl::is_set(const std::string& key) const {
  auto it = index_.find(key);
  if (it == index_.end()) {
    throw std::out_of_range("plugin '" + plugin_ + "': config key '" + key +
                            "' is not declared in plugin.yaml");
  }
  return order_[it->second].is_set;
}

}  // namespace jarvis::host

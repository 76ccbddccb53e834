// host/src/config/config.cpp — layered config store, .env parsing and typed value checks.
#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include "jarvis/strings.h"
#include <limits>
#include <sstream>
#include <stdexcept>

namespace jarvis::host {

const char* to_string(ConfigSource s) {
  switch (s) {
    case ConfigSource::Default:
      return "default";
    case ConfigSource::Yaml:
      return "jarvis.yaml";
    case ConfigSource::DotEnv:
      return ".env";
    case ConfigSource::Environment:
      return "environment";
  }
  return "unknown";
}

const char* to_string(ConfigType t) {
  switch (t) {
    case ConfigType::String:
      return "string";
    case ConfigType::Int:
      return "int";
    case ConfigType::Float:
      return "float";
    case ConfigType::Bool:
      return "bool";
    case ConfigType::List:
      return "list";
    case ConfigType::Url:
      return "url";
    case ConfigType::Duration:
      return "duration";
  }
  return "unknown";
}

std::optional<ConfigType> parse_config_type(const std::string& name) {
  if (name == "string") return ConfigType::String;
  if (name == "int") return ConfigType::Int;
  if (name == "float") return ConfigType::Float;
  if (name == "bool") return ConfigType::Bool;
  if (name == "list") return ConfigType::List;
  if (name == "url") return ConfigType::Url;
  if (name == "duration") return ConfigType::Duration;
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> parse_duration(const std::string& text) {
  if (text == "0") return std::chrono::milliseconds(0);
  // Units largest first; each may appear once, in this order.
  struct Unit {
    const char* name;
    long long ms;
  };
  static constexpr Unit kUnits[] = {
      {"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}};
  constexpr long long kMax = std::numeric_limits<long long>::max();
  long long total = 0;
  std::size_t i = 0;
  std::size_t next_unit = 0;  // index of the smallest unit still allowed
  if (text.empty()) return std::nullopt;
  while (i < text.size()) {
    std::size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == start || i - start > 15) return std::nullopt;
    long long n = std::stoll(text.substr(start, i - start));
    std::size_t ustart = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    const std::string unit = text.substr(ustart, i - ustart);
    std::size_t u = next_unit;
    while (u < std::size(kUnits) && unit != kUnits[u].name) ++u;
    if (u == std::size(kUnits)) return std::nullopt;  // unknown, missing or out-of-order unit
    if (n > (kMax - total) / kUnits[u].ms) return std::nullopt;
    total += n * kUnits[u].ms;
    next_unit = u + 1;
  }
  return std::chrono::milliseconds(total);
}

std::string format_duration(std::chrono::milliseconds d) {
  long long ms = d.count();
  if (ms <= 0) return "0s";
  static constexpr std::pair<const char*, long long> kUnits[] = {
      {"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}};
  std::string out;
  for (const auto& [name, size] : kUnits) {
    if (ms >= size) {
      out += std::to_string(ms / size) + name;
      ms %= size;
    }
  }
  return out;
}

std::string check_url(const std::string& value) {
  const std::string expected = "expected an http:// or https:// URL with a host";
  std::string rest;
  std::string lower(value.size(), '\0');
  std::transform(value.begin(), value.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.rfind("http://", 0) == 0) {
    rest = value.substr(7);
  } else if (lower.rfind("https://", 0) == 0) {
    rest = value.substr(8);
  } else {
    return expected;
  }
  for (unsigned char c : value) {
    if (c <= ' ' || c == 0x7f) return expected + " (no spaces or control characters)";
  }
  std::string authority = rest.substr(0, rest.find_first_of("/?#"));
  auto at = authority.rfind('@');
  if (at != std::string::npos) authority = authority.substr(at + 1);
  std::string host = authority;
  std::string port;
  if (!authority.empty() && authority[0] == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos) return expected + " (unclosed '[' in the host)";
    host = authority.substr(1, close - 1);
    std::string after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return expected;
      port = after.substr(1);
      if (port.empty()) return expected + " (empty port)";
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) return expected + " (empty port)";
  }
  if (host.empty()) return expected + " (the host is missing)";
  if (!port.empty()) {
    int p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535) {
      return expected + " (port must be 1-65535)";
    }
  }
  return "";
}

std::optional<bool> parse_bool(const std::string& value) {
  std::string v(value.size(), '\0');
  std::transform(value.begin(), value.end(), v.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  return std::nullopt;
}

std::string check_config_value(ConfigType type, const std::string& value) {
  switch (type) {
    case ConfigType::String:
    case ConfigType::List:
      return "";
    case ConfigType::Url:
      return check_url(value);
    case ConfigType::Duration:
      return parse_duration(value) ? ""
                                   : "expected a duration such as 250ms, 30s, 5m, 2h or 1h30m "
                                     "(units ms, s, m, h, d; a unit is required)";
    case ConfigType::Int: {
      long long out = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
      if (value.empty() || ec != std::errc() || p != value.data() + value.size()) {
        return "expected int";
      }
      return "";
    }
    case ConfigType::Float: {
      if (value.empty()) return "expected float";
      char* end = nullptr;
      std::strtod(value.c_str(), &end);
      if (end != value.c_str() + value.size()) return "expected float";
      return "";
    }
    case ConfigType::Bool:
      return parse_bool(value) ? "" : "expected bool (1/0, true/false, yes/no, on/off)";
  }
  return "unknown type";
}

namespace {

std::string unescape_newlines(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size() && v[i + 1] == 'n') {
      out.push_back('\n');
      ++i;
    } else {
      out.push_back(v[i]);
    }
  }
  return out;
}

bool valid_key(const std::string& k) {
  if (k.empty() || std::isdigit(static_cast<unsigned char>(k[0]))) return false;
  return std::all_of(k.begin(), k.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '_'; });
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

// Flattens a YAML tree: nested maps join keys with '_', sequences become comma lists.
void flatten_yaml(const YAML::Node& node, const std::string& prefix,
                  std::map<std::string, std::string>& out, const std::string& path) {
  if (node.IsMap()) {
    for (const auto& kv : node) {
      std::string key = kv.first.as<std::string>();
      std::string full = prefix.empty() ? upper(key) : prefix + "_" + upper(key);
      flatten_yaml(kv.second, full, out, path);
    }
  } else if (node.IsSequence()) {
    std::string joined;
    for (const auto& item : node) {
      if (!item.IsScalar()) {
        throw std::runtime_error(path + ": " + prefix + " must be a list of scalars");
      }
      if (!joined.empty()) joined += ",";
      joined += item.as<std::string>();
    }
    out[prefix] = joined;
  } else if (node.IsScalar()) {
    out[prefix] = node.as<std::string>();
  } else if (node.IsNull()) {
    out[prefix] = "";
  }
}

}  // namespace

std::map<std::string, std::string> parse_dotenv(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::string t = jarvis::trimmed(line);
    if (t.empty() || t[0] == '#') continue;
    if (t.rfind("export ", 0) == 0) t = jarvis::trimmed(t.substr(7));
    auto eq = t.find('=');
    if (eq == std::string::npos) {
      throw std::runtime_error(".env line " + std::to_string(lineno) + ": expected KEY=VALUE");
    }
    std::string key = jarvis::trimmed(t.substr(0, eq));
    if (!valid_key(key)) {
      throw std::runtime_error(".env line " + std::to_string(lineno) + ": invalid key '" + key +
                               "'");
    }
    std::string value = jarvis::trimmed(t.substr(eq + 1));
    if (!value.empty() && (value[0] == '"' || value[0] == '\'')) {
      char q = value[0];
      auto close = value.find(q, 1);
      if (close == std::string::npos) {
        throw std::runtime_error(".env line " + std::to_string(lineno) + ": unterminated quote");
      }
      std::string rest = jarvis::trimmed(value.substr(close + 1));
      if (!rest.empty() && rest[0] != '#') {
        throw std::runtime_error(".env line " + std::to_string(lineno) +
                                 ": unexpected text after closing quote");
      }
      value = value.substr(1, close - 1);
    } else {
      auto hash = value.find(" #");
      if (hash != std::string::npos) value = jarvis::trimmed(value.substr(0, hash));
    }
    out[key] = unescape_newlines(value);
  }
  return out;
}

void ConfigStore::set(const std::string& key, std::string value, ConfigSource source,
                      std::string origin) {
  if (origin.empty()) origin = to_string(source);
  values_[key] = ConfigValue{std::move(value), source, std::move(origin)};
}

std::optional<ConfigValue> ConfigStore::get(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string ConfigStore::get_or(const std::string& key, const std::string& fallback) const {
  auto v = get(key);
  return v ? v->value : fallback;
}

long long ConfigStore::get_int(const std::string& key, long long fallback, long long min,
                               long long max) const {
  auto v = get(key);
  if (!v || v->value.empty()) return fallback;
  long long out = 0;
  const std::string& s = v->value;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || p != s.data() + s.size() || out < min || out > max) {
    throw std::runtime_error("invalid " + key + "=" + s + " (from " + v->origin +
                             "): expected an integer between " + std::to_string(min) + " and " +
                             std::to_string(max));
  }
  return out;
}

ConfigStore ConfigStore::load(const std::string& yaml_path, const std::string& dotenv_path,
                              char** envp) {
  ConfigStore store;
  namespace fs = std::filesystem;
  if (!yaml_path.empty() && fs::exists(yaml_path)) {
    YAML::Node root;
    try {
      root = YAML::LoadFile(yaml_path);
    } catch (const YAML::Exception& e) {
      throw std::runtime_error(yaml_path + ": " + e.what());
    }
    if (!root.IsNull() && !root.IsMap()) {
      throw std::runtime_error(yaml_path + ": top level must be a mapping");
    }
    std::map<std::string, std::string> flat;
    if (root.IsMap()) flatten_yaml(root, "", flat, yaml_path);
    for (auto& [k, v] : flat) store.set(k, v, ConfigSource::Yaml, yaml_path);
  }
  if (!dotenv_path.empty() && fs::exists(dotenv_path)) {
    std::ifstream f(dotenv_path);
    std::stringstream ss;
    ss << f.rdbuf();
    std::map<std::string, std::string> kv;
    try {
      kv = parse_dotenv(ss.str());
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(dotenv_path + ": " + e.what());
    }
    for (auto& [k, v] : kv) store.set(k, v, ConfigSource::DotEnv, dotenv_path);
  }
  for (char** e = envp; e && *e; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (!eq) continue;
    std::string key(*e, eq - *e);
    if (!valid_key(key)) continue;
    store.set(key, unescape_newlines(eq + 1), ConfigSource::Environment, "environment");
  }
  return store;
}

}  // namespace jarvis::host

// host/src/config/config.cpp — layered config store, .env parsing and typed value checks.
#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
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
  }
  return "unknown";
}

std::optional<ConfigType> parse_config_type(const std::string& name) {
  if (name == "string") return ConfigType::String;
  if (name == "int") return ConfigType::Int;
  if (name == "float") return ConfigType::Float;
  if (name == "bool") return ConfigType::Bool;
  if (name == "list") return ConfigType::List;
  return std::nullopt;
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

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

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
    std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    if (t.rfind("export ", 0) == 0) t = trim(t.substr(7));
    auto eq = t.find('=');
    if (eq == std::string::npos) {
      throw std::runtime_error(".env line " + std::to_string(lineno) + ": expected KEY=VALUE");
    }
    std::string key = trim(t.substr(0, eq));
    if (!valid_key(key)) {
      throw std::runtime_error(".env line " + std::to_string(lineno) + ": invalid key '" + key +
                               "'");
    }
    std::string value = trim(t.substr(eq + 1));
    if (!value.empty() && (value[0] == '"' || value[0] == '\'')) {
      char q = value[0];
      auto close = value.find(q, 1);
      if (close == std::string::npos) {
        throw std::runtime_error(".env line " + std::to_string(lineno) + ": unterminated quote");
      }
      std::string rest = trim(value.substr(close + 1));
      if (!rest.empty() && rest[0] != '#') {
        throw std::runtime_error(".env line " + std::to_string(lineno) +
                                 ": unexpected text after closing quote");
      }
      value = value.substr(1, close - 1);
    } else {
      auto hash = value.find(" #");
      if (hash != std::string::npos) value = trim(value.substr(0, hash));
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

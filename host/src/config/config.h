// host/src/config/config.h — layered configuration: defaults < jarvis.yaml < .env < environment.
//
// The store holds raw string values with the layer each came from. Typed, validated views are
// built on top: the host's own settings (HostSettings) and each plugin's declared keys
// (PluginConfigImpl, from its manifest). Secrets are flagged so `jarvis config show` redacts them.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace jarvis::host {

/// Where a configuration value came from (later layers win).
enum class ConfigSource { Default, Yaml, DotEnv, Environment };
const char* to_string(ConfigSource s);

/// A raw value and its source.
struct ConfigValue {
  std::string value;
  ConfigSource source = ConfigSource::Default;
  std::string origin;  ///< file path for Yaml/DotEnv, "environment" or "default"
};

/// Raw layered key/value store. Keys are environment-style names (APP_DB, BIND_PORT, …).
class ConfigStore {
 public:
  /// Loads `yaml_path` (if it exists), `dotenv_path` (if it exists) and the process environment.
  /// jarvis.yaml keys are flattened: `{plugins: {disabled: [a, b]}}` → PLUGINS_DISABLED="a,b";
  /// top-level scalars keep their upper-cased name. Throws std::runtime_error on a malformed file.
  static ConfigStore load(const std::string& yaml_path, const std::string& dotenv_path,
                          char** envp);
  /// A store with no layers (tests); use set() to fill it.
  ConfigStore() = default;

  void set(const std::string& key, std::string value, ConfigSource source, std::string origin = "");
  std::optional<ConfigValue> get(const std::string& key) const;
  /// The value or `fallback`.
  std::string get_or(const std::string& key, const std::string& fallback) const;
  /// The integer value, or `fallback` when unset or empty. Throws std::runtime_error naming the
  /// key, the value, its origin and the range when it is not an integer within [min, max].
  long long get_int(const std::string& key, long long fallback, long long min, long long max) const;
  const std::map<std::string, ConfigValue>& all() const { return values_; }

 private:
  std::map<std::string, ConfigValue> values_;
};

/// Parses a .env file's text: KEY=VALUE lines, `#` comments, optional `export `, single or double
/// quotes; `\n` inside a value (quoted or not) becomes a newline. Throws std::runtime_error naming
/// the line on a malformed line.
std::map<std::string, std::string> parse_dotenv(const std::string& text);

/// Declared type of a config key.
enum class ConfigType { String, Int, Float, Bool, List, Url, Duration };
const char* to_string(ConfigType t);
/// Parses a type name from a manifest ("string", "int", "float", "bool", "list", "url",
/// "duration").
std::optional<ConfigType> parse_config_type(const std::string& name);

/// Parses a duration: one or more `<digits><unit>` parts, units `ms`, `s`, `m`, `h`, `d`, largest
/// first and each at most once ("250ms", "30s", "5m", "2h", "1h30m", "1d"), or a bare "0". A
/// number without a unit is refused (is "30" seconds or milliseconds?). nullopt when malformed or
/// beyond ~292 million years.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text);
/// "1h30m", "250ms", "0s": the shortest spelling parse_duration() reads back to `d` (d >= 0).
std::string format_duration(std::chrono::milliseconds d);
/// Checks an http(s) URL with a host: "" when valid, otherwise why not ("expected an http:// or
/// https:// URL with a host").
std::string check_url(const std::string& value);

/// Checks that `value` is a valid `type`; returns an error text ("expected int") or empty.
std::string check_config_value(ConfigType type, const std::string& value);
/// Parses a bool spelling (1/0, true/false, yes/no, on/off; case-insensitive).
std::optional<bool> parse_bool(const std::string& value);

}  // namespace jarvis::host

// host/src/plugins/plugin_config.h — a plugin's typed configuration: the keys its manifest
// declares, resolved through the layered ConfigStore (default < jarvis.yaml < .env < environment),
// validated once at start-up, then read by the plugin as typed values.
//
//   PluginConfigImpl cfg("hello", manifest.config, &store);
//   for (const auto& problem : cfg.validate()) log->error("{}", problem);  // before plugin code
//   cfg.get_int("interval_seconds");
//
// Secret values never appear in error messages or in describe(); get_string() refuses secret keys,
// get_secret() wraps them in jarvis::Secret.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "jarvis/config.h"
#include "plugins/manifest.h"

namespace jarvis::host {

/// One key as `jarvis config show` / `jarvis plugins info` print it.
struct ConfigKeyReport {
  std::string key;
  std::string env;
  std::string type;    ///< "string", "int", …
  std::string value;   ///< "[REDACTED]" for a set secret; raw text otherwise
  std::string source;  ///< "default", "yaml", "dotenv" or "environment" (to_string(ConfigSource))
  std::string origin;  ///< file path, "environment" or "default"
  bool secret = false;
  bool is_set = false;  ///< set by the operator (not the manifest default)
  std::string description;
  bool required = false;
  std::string constraints;  ///< "required, 1s..1h", "one of a|b" (ConfigKeySpec::constraints)
  std::optional<long long> value_ms;  ///< a duration's value in milliseconds
};

/// Implements jarvis::PluginConfig for one plugin.
class PluginConfigImpl : public jarvis::PluginConfig {
 public:
  /// Resolves every declared key from `store` (may be null: defaults only). Does not validate.
  PluginConfigImpl(std::string plugin, std::vector<ConfigKeySpec> keys, const ConfigStore* store);

  /// Checks every value against its type and constraints (ConfigKeySpec::check); returns one line
  /// per problem (empty = valid). Each line names the plugin, key, env name, the value's source
  /// and what was expected; a secret's value is never included.
  std::vector<std::string> validate() const;
  /// Every key with its (redacted) value and source, in manifest order.
  std::vector<ConfigKeyReport> describe() const;

  std::string get_string(const std::string& key) const override;
  long long get_int(const std::string& key) const override;
  double get_double(const std::string& key) const override;
  bool get_bool(const std::string& key) const override;
  std::vector<std::string> get_list(const std::string& key) const override;
  bool is_set(const std::string& key) const override;
  std::chrono::milliseconds get_duration(const std::string& key) const override;
  jarvis::Secret get_secret(const std::string& key) const override;

 private:
  struct Resolved {
    ConfigKeySpec spec;
    std::string value;
    ConfigSource source = ConfigSource::Default;
    std::string origin;
    bool is_set = false;
  };
  /// The key's entry; throws std::out_of_range for an undeclared key and std::invalid_argument
  /// when `want` is not its declared type.
  const Resolved& entry(const std::string& key, ConfigType want) const;

  std::string plugin_;
  std::vector<Resolved> order_;
  std::map<std::string, std::size_t> index_;
};

/// Describes where a value came from, e.g. ".env file /srv/jarvis/.env" or "environment variable
/// X".
std::string describe_config_source(ConfigSource source, const std::string& origin,
                                   const std::string& env);

}  // namespace jarvis::host

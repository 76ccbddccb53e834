// jarvis/config.h — a plugin's typed configuration, validated by the host before the plugin runs.
//
// Keys are declared in the plugin's manifest (`plugin.yaml`):
//
//   config:
//     interval_seconds: {type: int, default: 0, env: MAINTENANCE_INTERVAL_SECONDS}
//     api_key:          {type: string, env: EXAMPLE_API_KEY, secret: true}
//
// The host resolves each key (default < jarvis.yaml < .env < environment), checks its type and
// stops start-up on a bad value, naming the key, the value's source and the expected type. The
// plugin reads already-typed values and never parses raw operator input.
#pragma once

#include <string>
#include <vector>

#include "jarvis/version.h"

namespace jarvis {

/// Read-only, validated configuration of one plugin.
class JARVIS_API PluginConfig {
 public:
  virtual ~PluginConfig();
  /// Value of a `string` key. Throws std::out_of_range for an undeclared key.
  virtual std::string get_string(const std::string& key) const = 0;
  /// Value of an `int` key.
  virtual long long get_int(const std::string& key) const = 0;
  /// Value of a `float` key.
  virtual double get_double(const std::string& key) const = 0;
  /// Value of a `bool` key (accepted spellings: 1/0, true/false, yes/no, on/off).
  virtual bool get_bool(const std::string& key) const = 0;
  /// Value of a `list` key: one item per line (blank lines dropped; `\n` in .env is a newline).
  virtual std::vector<std::string> get_list(const std::string& key) const = 0;
  /// True when the operator set the key (not left at its default).
  virtual bool is_set(const std::string& key) const = 0;
};

}  // namespace jarvis

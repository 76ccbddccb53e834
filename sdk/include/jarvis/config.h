// jarvis/config.h — a plugin's typed configuration, validated by the host before the plugin runs.
//
// Keys are declared in the plugin's manifest (`plugin.yaml`):
//
//   config:
//     max_items: {type: int, default: 10, min: 1, max: 1000, env: EXAMPLE_MAX_ITEMS}
//     mode:      {type: string, default: fast, choices: [fast, thorough]}
//     poll:      {type: duration, default: 30s, min: 1s, max: 1h}
//     endpoint:  {type: url, required: true, env: EXAMPLE_ENDPOINT}
//     api_key:   {type: string, env: EXAMPLE_API_KEY, secret: true, required: true}
//
//   auto poll = host.config().get_duration("poll");       // std::chrono::milliseconds
//   jarvis::Secret key = host.config().get_secret("api_key");  // prints as [REDACTED]
//
// The host resolves each key (default < jarvis.yaml < .env < environment), checks its type and
// constraints (required, min/max, choices, url, duration) and stops start-up on a bad value,
// naming the key, the value's source and what was expected — a secret's value is never shown.
// The plugin reads already-typed values and never parses raw operator input. The full schema is
// in docs/plugin-sdk.md ("The manifest").
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "jarvis/secret.h"
#include "jarvis/version.h"

namespace jarvis {

/// Read-only, validated configuration of one plugin.
class JARVIS_API PluginConfig {
 public:
  virtual ~PluginConfig();
  /// Value of a `string` or `url` key (any non-secret key may be read as its text). Throws
  /// std::out_of_range for an undeclared key and std::invalid_argument for a `secret: true` key
  /// (read it with get_secret()).
  virtual std::string get_string(const std::string& key) const = 0;
  /// Value of an `int` key. Every typed getter throws std::invalid_argument for a key of another
  /// type and for a `secret: true` key (only get_secret() reads those).
  virtual long long get_int(const std::string& key) const = 0;
  /// Value of a `float` key.
  virtual double get_double(const std::string& key) const = 0;
  /// Value of a `bool` key (accepted spellings: 1/0, true/false, yes/no, on/off).
  virtual bool get_bool(const std::string& key) const = 0;
  /// Value of a `list` key: one item per line (blank lines dropped; `\n` in .env is a newline).
  virtual std::vector<std::string> get_list(const std::string& key) const = 0;
  /// True when the operator set the key (not left at its default).
  virtual bool is_set(const std::string& key) const = 0;

  // SDK 1.1 additions (kept at the end of the class).

  /// Value of a `duration` key ("250ms", "30s", "5m", "2h", "1h30m", "1d"). Throws
  /// std::out_of_range for an undeclared key and std::invalid_argument for another type.
  virtual std::chrono::milliseconds get_duration(const std::string& key) const = 0;
  /// Value of a `secret: true` key of any type, as text wrapped so it never prints (see
  /// jarvis/secret.h); empty when unset. Throws std::out_of_range for an undeclared key and
  /// std::invalid_argument for a key not declared secret (so a secret is never read by accident
  /// through a non-secret key).
  virtual Secret get_secret(const std::string& key) const = 0;
};

}  // namespace jarvis

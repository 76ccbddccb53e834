// host/src/plugins/manifest.h — a plugin's `plugin.yaml`: parsing, validation and version ranges.
//
//   name: hello                      # required, [a-z][a-z0-9_]*
//   version: 1.2.0                   # required, MAJOR.MINOR.PATCH
//   sdk: ">=1.0 <2.0"                # required: SDK API versions the plugin was built for
//   description: Greets people
//   library: libhello.so             # default lib<name>.so, relative to the plugin folder
//   requires: {bugs: ">=1.0"}        # or a list: [{bugs: ">=1.0"}, memory]
//   config:
//     greeting: {type: string, default: hi, env: HELLO_GREETING, description: "…"}
//     api_key:  {type: string, secret: true}      # env defaults to API_KEY
//     mode:     {type: string, default: fast, choices: [fast, thorough]}
//     limit:    {type: int, default: 10, min: 1, max: 100}
//     poll:     {type: duration, default: 30s, min: 1s}
//     endpoint: {type: url, required: true}
//   migrations: migrations/          # default; when written, the folder must exist
//
// Every malformed, missing or unknown field is a ManifestError naming the file and the field, so a
// typo never passes silently.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.h"

namespace jarvis::host {

/// A manifest (or version range) that cannot be accepted. what() names the file and the field.
class ManifestError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A MAJOR.MINOR.PATCH version (missing parts of a range bound count as 0).
struct Version {
  int major = 0;
  int minor = 0;
  int patch = 0;
  /// Parses exactly "MAJOR.MINOR.PATCH" (digits only); nullopt otherwise.
  static std::optional<Version> parse_full(const std::string& text);
  /// Parses "MAJOR", "MAJOR.MINOR" or "MAJOR.MINOR.PATCH"; nullopt otherwise.
  static std::optional<Version> parse_partial(const std::string& text);
  /// "1.2.3".
  std::string str() const;
  friend auto operator<=>(const Version&, const Version&) = default;
};

/// A version range: space-separated bounds that must all hold, e.g. ">=1.0 <2.0", "=1.2.0",
/// "1.2" (exact), "*" or "" (any). Operators: >=, >, <=, <, = (or none: exact).
class VersionRange {
 public:
  /// The range that accepts every version.
  VersionRange() = default;
  /// Parses `text`; throws ManifestError("invalid version range …") on a malformed bound.
  static VersionRange parse(const std::string& text);
  /// True when `v` satisfies every bound.
  bool contains(const Version& v) const;
  /// The text as written ("*" for the empty range).
  const std::string& text() const { return text_; }

 private:
  enum class Op { Eq, Gt, Ge, Lt, Le };
  struct Bound {
    Op op;
    Version version;
  };
  std::vector<Bound> bounds_;
  std::string text_ = "*";
};

/// One declared config key.
struct ConfigKeySpec {
  std::string key;  ///< manifest key, [a-z][a-z0-9_]*
  ConfigType type = ConfigType::String;
  std::optional<std::string> default_value;  ///< list defaults are newline-joined
  std::string env;                           ///< the ConfigStore key (environment-style name)
  bool secret = false;
  std::string description;
  bool required = false;      ///< the effective value must be set and non-empty (no default then)
  std::optional<double> min;  ///< int/float: the number; duration: milliseconds
  std::optional<double> max;
  std::string min_text;  ///< min/max as written in the manifest ("1s", "10"), for messages
  std::string max_text;
  std::vector<std::string> choices;  ///< string: the accepted values (empty = any)

  /// Checks `value` against the type and constraints; "" when valid, otherwise what was expected
  /// ("expected int", "must be at least 1 (min)", "expected one of: fast, thorough"). An empty
  /// string/url/list value is valid unless `required` (unset optional key).
  std::string check(const std::string& value) const;
  /// One line of the constraints for `plugins info`: "required, 1s..1h", "one of: a, b", "".
  std::string constraints() const;
};

/// One entry of `requires`.
struct Requirement {
  std::string name;
  VersionRange range;
};

/// A parsed, validated manifest.
struct Manifest {
  std::string file;  ///< path of plugin.yaml
  std::string dir;   ///< the plugin folder
  std::string name;
  Version version;
  VersionRange sdk;
  std::string description;
  std::string library;  ///< relative to dir
  std::vector<Requirement> requires_;
  std::vector<ConfigKeySpec> config;  ///< in manifest order
  std::string migrations = "migrations/";
  /// True when the manifest names `migrations:` itself: the folder must then exist (a missing one
  /// refuses the plugin, code `migrations_missing`); by default a missing folder means "no tables".
  bool migrations_declared = false;

  /// Absolute path of the shared library.
  std::string library_path() const;
  /// Absolute path of the migrations folder.
  std::string migrations_path() const;
};

/// Parses manifest text; `file` is used in error messages and to derive `dir`.
Manifest parse_manifest(const std::string& text, const std::string& file);
/// Reads and parses `<dir>/plugin.yaml`. Throws ManifestError (also when unreadable).
Manifest load_manifest(const std::string& dir);

/// True for a valid plugin or config-key name: [a-z][a-z0-9_]*, at most 64 characters.
bool is_valid_plugin_name(const std::string& name);

}  // namespace jarvis::host

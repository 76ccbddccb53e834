// host/src/plugins/manifest.cpp — plugin.yaml parsing and version ranges (see manifest.h).
#include "plugins/manifest.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace jarvis::host {

namespace {

namespace fs = std::filesystem;

bool parse_number(const std::string& text, int& out) {
  if (text.empty() || text.size() > 9) return false;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && p == text.data() + text.size();
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : text) {
    if (c == sep) {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  parts.push_back(cur);
  return parts;
}

/// Builds errors of the form "<file>: field '<field>': <message>".
struct Ctx {
  const std::string& file;
  [[noreturn]] void fail(const std::string& field, const std::string& message) const {
    throw ManifestError(file + ": field '" + field + "': " + message);
  }
};

const char* node_kind(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    default:
      return "undefined";
  }
}

std::string scalar(const Ctx& ctx, const YAML::Node& n, const std::string& field) {
  if (!n.IsScalar()) ctx.fail(field, std::string("expected a string, found ") + node_kind(n));
  return n.Scalar();
}

bool boolean(const Ctx& ctx, const YAML::Node& n, const std::string& field) {
  const std::string s = scalar(ctx, n, field);
  auto b = parse_bool(s);
  if (!b) ctx.fail(field, "expected true or false, found \"" + s + "\"");
  return *b;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

bool is_env_name(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!(std::isupper(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '_')) {
      return false;
    }
  }
  return true;
}

VersionRange range_field(const Ctx& ctx, const YAML::Node& n, const std::string& field) {
  std::string text;
  if (n.IsNull()) {
    text = "";
  } else {
    text = scalar(ctx, n, field);
  }
  try {
    return VersionRange::parse(text);
  } catch (const ManifestError& e) {
    ctx.fail(field, e.what());
  }
}

void parse_requirement(const Ctx& ctx, const std::string& name, const YAML::Node& range,
                       const std::string& field, Manifest& m, std::set<std::string>& seen) {
  if (!is_valid_plugin_name(name)) {
    ctx.fail(field, "\"" + name + "\" is not a valid plugin name ([a-z][a-z0-9_]*)");
  }
  if (name == m.name) ctx.fail(field, "a plugin cannot require itself");
  if (!seen.insert(name).second) ctx.fail(field, "plugin '" + name + "' listed twice");
  m.requires_.push_back({name, range_field(ctx, range, field + "." + name)});
}

void parse_requires(const Ctx& ctx, const YAML::Node& n, Manifest& m) {
  std::set<std::string> seen;
  if (n.IsNull()) return;
  if (n.IsMap()) {
    for (const auto& kv : n) {
      parse_requirement(ctx, kv.first.Scalar(), kv.second, "requires", m, seen);
    }
    return;
  }
  if (!n.IsSequence()) {
    ctx.fail("requires", std::string("expected a map or a list, found ") + node_kind(n));
  }
  for (std::size_t i = 0; i < n.size(); ++i) {
    const YAML::Node item = n[i];
    const std::string field = "requires[" + std::to_string(i) + "]";
    if (item.IsScalar()) {
      parse_requirement(ctx, item.Scalar(), YAML::Node(YAML::NodeType::Null), field, m, seen);
    } else if (item.IsMap() && item.size() == 1) {
      auto kv = item.begin();
      parse_requirement(ctx, kv->first.Scalar(), kv->second, field, m, seen);
    } else {
      ctx.fail(field, "expected a plugin name or {name: range}");
    }
  }
}

std::optional<double> parse_bound(ConfigType type, const std::string& text) {
  if (type == ConfigType::Duration) {
    auto d = parse_duration(text);
    if (!d) return std::nullopt;
    return static_cast<double>(d->count());
  }
  if (!check_config_value(type, text).empty()) return std::nullopt;
  return std::strtod(text.c_str(), nullptr);
}

ConfigKeySpec parse_config_key(const Ctx& ctx, const std::string& key, const YAML::Node& n) {
  const std::string field = "config." + key;
  if (!is_valid_plugin_name(key)) {
    ctx.fail(field, "invalid key name (expected [a-z][a-z0-9_]*)");
  }
  if (!n.IsMap()) ctx.fail(field, std::string("expected a map {type: …}, found ") + node_kind(n));
  static const std::set<std::string> known = {"type",     "default", "env", "secret", "description",
                                              "required", "min",     "max", "choices"};
  for (const auto& kv : n) {
    const std::string k = kv.first.Scalar();
    if (!known.count(k)) {
      ctx.fail(field + "." + k,
               "unknown field (expected type, default, env, secret, required, min, max, choices, "
               "description)");
    }
  }
  static const char* kTypes = "string, int, float, bool, list, url or duration";
  ConfigKeySpec spec;
  spec.key = key;
  if (!n["type"]) ctx.fail(field + ".type", std::string("missing (") + kTypes + ")");
  const std::string type_name = scalar(ctx, n["type"], field + ".type");
  auto type = parse_config_type(type_name);
  if (!type) {
    ctx.fail(field + ".type", "unknown type \"" + type_name + "\" (" + kTypes + ")");
  }
  spec.type = *type;
  spec.env = upper(key);
  if (n["env"]) {
    spec.env = scalar(ctx, n["env"], field + ".env");
    if (!is_env_name(spec.env)) {
      ctx.fail(field + ".env",
               "\"" + spec.env + "\" is not an environment name ([A-Z_][A-Z0-9_]*)");
    }
  }
  if (n["secret"]) spec.secret = boolean(ctx, n["secret"], field + ".secret");
  if (n["required"]) spec.required = boolean(ctx, n["required"], field + ".required");
  if (n["description"]) spec.description = scalar(ctx, n["description"], field + ".description");

  const bool numeric = spec.type == ConfigType::Int || spec.type == ConfigType::Float ||
                       spec.type == ConfigType::Duration;
  for (const char* bound : {"min", "max"}) {
    if (!n[bound]) continue;
    const std::string f = field + "." + bound;
    if (!numeric) {
      ctx.fail(f, std::string("only int, float and duration keys have a ") + bound + ", not " +
                      to_string(spec.type));
    }
    const std::string text = scalar(ctx, n[bound], f);
    auto v = parse_bound(spec.type, text);
    if (!v) {
      ctx.fail(f, "\"" + text + "\" is not a valid " + to_string(spec.type) +
                      (spec.type == ConfigType::Duration ? " (e.g. 250ms, 30s, 5m, 2h)" : ""));
    }
    (std::string(bound) == "min" ? spec.min : spec.max) = *v;
    (std::string(bound) == "min" ? spec.min_text : spec.max_text) = text;
  }
  if (spec.min && spec.max && *spec.min > *spec.max) {
    ctx.fail(field + ".min", "min " + spec.min_text + " is greater than max " + spec.max_text);
  }
  if (n["choices"]) {
    const std::string f = field + ".choices";
    if (spec.type != ConfigType::String) {
      ctx.fail(f, std::string("only string keys have choices, not ") + to_string(spec.type));
    }
    const YAML::Node c = n["choices"];
    if (!c.IsSequence() || c.size() == 0) {
      ctx.fail(f, std::string("expected a non-empty list, found ") + node_kind(c));
    }
    std::set<std::string> seen;
    for (std::size_t i = 0; i < c.size(); ++i) {
      std::string choice = scalar(ctx, c[i], f + "[" + std::to_string(i) + "]");
      if (!seen.insert(choice).second) ctx.fail(f, "\"" + choice + "\" listed twice");
      spec.choices.push_back(std::move(choice));
    }
  }
  if (n["default"] && !n["default"].IsNull()) {
    if (spec.required) {
      ctx.fail(field + ".default", "a required key has no default (the operator must set " +
                                       spec.env + "); drop one of required and default");
    }
    const YAML::Node d = n["default"];
    if (spec.type == ConfigType::List && d.IsSequence()) {
      std::string joined;
      for (std::size_t i = 0; i < d.size(); ++i) {
        if (i) joined += '\n';
        joined += scalar(ctx, d[i], field + ".default[" + std::to_string(i) + "]");
      }
      spec.default_value = joined;
    } else {
      spec.default_value = scalar(ctx, d, field + ".default");
    }
    const std::string problem = spec.check(*spec.default_value);
    if (!problem.empty()) {
      ctx.fail(field + ".default", "\"" + *spec.default_value + "\" is not valid: " + problem);
    }
  } else if (!spec.required &&
             (spec.type == ConfigType::Int || spec.type == ConfigType::Float ||
              spec.type == ConfigType::Bool || spec.type == ConfigType::Duration)) {
    ctx.fail(field + ".default",
             std::string("required for type ") + to_string(spec.type) + " (or required: true)");
  }
  return spec;
}

// The end offset (one past the closing quote) of the quoted scalar that starts at `pos`, or npos.
std::size_t quoted_end(const std::string& text, std::size_t pos) {
  const char q = text[pos];
  for (std::size_t i = pos + 1; i < text.size(); ++i) {
    if (q == '"' && text[i] == '\\') {
      ++i;
    } else if (text[i] == q) {
      if (q == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
        ++i;  // '' is an escaped quote
        continue;
      }
      return i + 1;
    }
  }
  return std::string::npos;
}

// " (the quote opened on line N is not closed on that line)" for the first line up to
// `error_line` (0-based) with an odd number of unescaped double quotes, or of single quotes outside
// double-quoted text; "" when there is none. YAML reports an unclosed quote where the parser gives
// up, often lines later.
std::string unclosed_quote_hint(const std::string& text, int error_line) {
  std::istringstream in(text);
  std::string line;
  for (int n = 0; n <= error_line && std::getline(in, line); ++n) {
    char open = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (!open && c == '#' && (i == 0 || line[i - 1] == ' ')) break;  // a comment
      if (open == '"' && c == '\\') {
        ++i;
      } else if (open && c == open) {
        if (open == '\'' && i + 1 < line.size() && line[i + 1] == '\'') {
          ++i;
        } else {
          open = 0;
        }
      } else if (!open && (c == '"' || c == '\'') &&
                 (i == 0 || line[i - 1] == ' ' || line[i - 1] == ':' || line[i - 1] == '[' ||
                  line[i - 1] == '{' || line[i - 1] == ',')) {
        open = c;
      }
    }
    if (open) {
      return " (the quote opened on line " + std::to_string(n + 1) + " is not closed on that line)";
    }
  }
  return "";
}

// Refuses a quoted value that runs over several lines. YAML allows it, but in a manifest it is
// almost always an unclosed quote that silently swallowed the following fields into one value.
void check_multiline_quotes(const Ctx& ctx, const std::string& text, const YAML::Node& n,
                            const std::string& field) {
  if (n.IsMap()) {
    for (const auto& kv : n) {
      const std::string k = kv.first.IsScalar() ? kv.first.Scalar() : "?";
      check_multiline_quotes(ctx, text, kv.second, field.empty() ? k : field + "." + k);
    }
  } else if (n.IsSequence()) {
    for (std::size_t i = 0; i < n.size(); ++i) {
      check_multiline_quotes(ctx, text, n[i], field + "[" + std::to_string(i) + "]");
    }
  } else if (n.IsScalar() && n.Tag() == "!") {
    const YAML::Mark m = n.Mark();
    if (m.pos < 0 || static_cast<std::size_t>(m.pos) >= text.size()) return;
    const auto start = static_cast<std::size_t>(m.pos);
    if (text[start] != '"' && text[start] != '\'') return;
    const std::size_t end = quoted_end(text, start);
    if (end == std::string::npos) return;
    const auto lines = std::count(text.begin() + static_cast<std::ptrdiff_t>(start),
                                  text.begin() + static_cast<std::ptrdiff_t>(end), '\n');
    if (lines == 0) return;
    throw ManifestError(ctx.file + ": line " + std::to_string(m.line + 1) + ", field '" + field +
                        "': the quote opened here is not closed on its line (it closes on line " +
                        std::to_string(m.line + 1 + lines) +
                        ", swallowing the lines between into this value); close the quote");
  }
}

bool escapes_dir(const std::string& rel) {
  if (rel.empty() || rel.front() == '/') return true;
  for (const auto& part : split(rel, '/')) {
    if (part == "..") return true;
  }
  return false;
}

}  // namespace

std::optional<Version> Version::parse_full(const std::string& text) {
  auto parts = split(text, '.');
  if (parts.size() != 3) return std::nullopt;
  Version v;
  if (!parse_number(parts[0], v.major) || !parse_number(parts[1], v.minor) ||
      !parse_number(parts[2], v.patch)) {
    return std::nullopt;
  }
  return v;
}

std::optional<Version> Version::parse_partial(const std::string& text) {
  auto parts = split(text, '.');
  if (parts.empty() || parts.size() > 3) return std::nullopt;
  int nums[3] = {0, 0, 0};
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (!parse_number(parts[i], nums[i])) return std::nullopt;
  }
  return Version{nums[0], nums[1], nums[2]};
}

std::string Version::str() const {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

VersionRange VersionRange::parse(const std::string& text) {
  VersionRange r;
  std::istringstream in(text);
  std::vector<std::string> tokens;
  for (std::string tok; in >> tok;) tokens.push_back(tok);
  // Allow ">= 1.0": an operator token followed by a separate version token.
  std::vector<std::string> merged;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string& t = tokens[i];
    bool op_only = t == ">=" || t == ">" || t == "<=" || t == "<" || t == "=" || t == "==";
    if (op_only && i + 1 < tokens.size()) {
      merged.push_back(t + tokens[++i]);
    } else {
      merged.push_back(t);
    }
  }
  if (merged.empty() || (merged.size() == 1 && merged[0] == "*")) {
    r.text_ = "*";
    return r;
  }
  for (const std::string& tok : merged) {
    std::size_t n = 0;
    Op op = Op::Eq;
    if (tok.rfind(">=", 0) == 0) {
      op = Op::Ge, n = 2;
    } else if (tok.rfind("<=", 0) == 0) {
      op = Op::Le, n = 2;
    } else if (tok.rfind("==", 0) == 0) {
      op = Op::Eq, n = 2;
    } else if (tok.rfind(">", 0) == 0) {
      op = Op::Gt, n = 1;
    } else if (tok.rfind("<", 0) == 0) {
      op = Op::Lt, n = 1;
    } else if (tok.rfind("=", 0) == 0) {
      op = Op::Eq, n = 1;
    }
    auto v = Version::parse_partial(tok.substr(n));
    if (!v) {
      throw ManifestError("invalid version range \"" + text + "\": bad bound \"" + tok +
                          "\" (expected e.g. \">=1.0 <2.0\")");
    }
    r.bounds_.push_back({op, *v});
  }
  r.text_ = text;
  return r;
}

bool VersionRange::contains(const Version& v) const {
  for (const Bound& b : bounds_) {
    bool ok = false;
    switch (b.op) {
      case Op::Eq:
        ok = v == b.version;
        break;
      case Op::Gt:
        ok = v > b.version;
        break;
      case Op::Ge:
        ok = v >= b.version;
        break;
      case Op::Lt:
        ok = v < b.version;
        break;
      case Op::Le:
        ok = v <= b.version;
        break;
    }
    if (!ok) return false;
  }
  return true;
}

std::string ConfigKeySpec::check(const std::string& value) const {
  if (value.empty() &&
      (type == ConfigType::String || type == ConfigType::Url || type == ConfigType::List)) {
    return required ? "required: set " + env + " (it has no default)" : "";
  }
  if (std::string problem = check_config_value(type, value); !problem.empty()) return problem;
  if (min || max) {
    const double v = type == ConfigType::Duration
                         ? static_cast<double>(parse_duration(value)->count())
                         : std::strtod(value.c_str(), nullptr);
    if (min && v < *min) return "must be at least " + min_text + " (min)";
    if (max && v > *max) return "must be at most " + max_text + " (max)";
  }
  if (!choices.empty() && std::find(choices.begin(), choices.end(), value) == choices.end()) {
    std::string all;
    for (const auto& c : choices) all += (all.empty() ? "" : ", ") + c;
    return "expected one of: " + all;
  }
  return "";
}

std::string ConfigKeySpec::constraints() const {
  std::vector<std::string> parts;
  if (required) parts.push_back("required");
  if (secret) parts.push_back("secret");
  if (min && max) {
    parts.push_back(min_text + ".." + max_text);
  } else if (min) {
    parts.push_back(">= " + min_text);
  } else if (max) {
    parts.push_back("<= " + max_text);
  }
  if (!choices.empty()) {
    std::string all;
    for (const auto& c : choices) all += (all.empty() ? "" : "|") + c;
    parts.push_back("one of " + all);
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

std::string Manifest::library_path() const {
  return (fs::path(dir) / library).lexically_normal().string();
}

std::string Manifest::migrations_path() const {
  std::string p = (fs::path(dir) / migrations).lexically_normal().string();
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

bool is_valid_plugin_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  if (!(name[0] >= 'a' && name[0] <= 'z')) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

Manifest parse_manifest(const std::string& text, const std::string& file) {
  Ctx ctx{file};
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ManifestError(file + ": invalid YAML at line " + std::to_string(e.mark.line + 1) +
                        ", column " + std::to_string(e.mark.column + 1) + ": " + e.msg +
                        unclosed_quote_hint(text, e.mark.line));
  }
  if (!root.IsMap()) {
    throw ManifestError(file + ": expected a map of fields (name, version, sdk, …), found " +
                        node_kind(root));
  }
  check_multiline_quotes(ctx, text, root, "");
  static const std::set<std::string> known = {"name",    "version",  "sdk",    "description",
                                              "library", "requires", "config", "migrations"};
  for (const auto& kv : root) {
    const std::string k = kv.first.IsScalar() ? kv.first.Scalar() : "?";
    if (!known.count(k)) {
      ctx.fail(k,
               "unknown field (expected name, version, sdk, description, library, requires, "
               "config, migrations)");
    }
  }
  Manifest m;
  m.file = file;
  m.dir = fs::path(file).parent_path().string();

  if (!root["name"]) ctx.fail("name", "missing");
  m.name = scalar(ctx, root["name"], "name");
  if (!is_valid_plugin_name(m.name)) {
    ctx.fail("name", "\"" + m.name + "\" is not a valid plugin name ([a-z][a-z0-9_]*, ≤ 64 chars)");
  }

  if (!root["version"]) ctx.fail("version", "missing");
  const std::string version = scalar(ctx, root["version"], "version");
  auto v = Version::parse_full(version);
  if (!v) ctx.fail("version", "\"" + version + "\" is not MAJOR.MINOR.PATCH");
  m.version = *v;

  if (!root["sdk"]) ctx.fail("sdk", "missing (e.g. sdk: \">=1.0 <2.0\")");
  if (root["sdk"].IsNull()) ctx.fail("sdk", "empty (e.g. sdk: \">=1.0 <2.0\")");
  m.sdk = range_field(ctx, root["sdk"], "sdk");

  if (root["description"]) m.description = scalar(ctx, root["description"], "description");

  m.library = "lib" + m.name + ".so";
  if (root["library"]) {
    m.library = scalar(ctx, root["library"], "library");
    if (escapes_dir(m.library)) {
      ctx.fail("library", "\"" + m.library + "\" must be a relative path inside the plugin folder");
    }
  }

  if (root["requires"]) parse_requires(ctx, root["requires"], m);

  if (root["config"] && !root["config"].IsNull()) {
    const YAML::Node cfg = root["config"];
    if (!cfg.IsMap()) ctx.fail("config", std::string("expected a map, found ") + node_kind(cfg));
    std::set<std::string> envs;
    for (const auto& kv : cfg) {
      ConfigKeySpec spec = parse_config_key(ctx, kv.first.Scalar(), kv.second);
      if (!envs.insert(spec.env).second) {
        ctx.fail("config." + spec.key + ".env", "env name " + spec.env + " used by two keys");
      }
      m.config.push_back(std::move(spec));
    }
  }

  if (root["migrations"]) {
    m.migrations_declared = true;
    m.migrations = scalar(ctx, root["migrations"], "migrations");
    if (escapes_dir(m.migrations)) {
      ctx.fail("migrations",
               "\"" + m.migrations + "\" must be a relative path inside the plugin folder");
    }
  }
  return m;
}

Manifest load_manifest(const std::string& dir) {
  const std::string file = (fs::path(dir) / "plugin.yaml").string();
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ManifestError(file + ": cannot read the manifest");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_manifest(text.str(), file);
}

}  // namespace jarvis::host

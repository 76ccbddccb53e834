// SDK JSON Schema subset: schema checking and validation (see jarvis/json_schema.h).
#include "jarvis/json_schema.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <set>
#include <string_view>

namespace jarvis {
namespace {

constexpr std::array<std::string_view, 11> kAnnotations = {
    "title",    "description", "default",    "examples", "$schema",  "$id",
    "$comment", "format",      "deprecated", "readOnly", "writeOnly"};
constexpr std::array<std::string_view, 7> kTypes = {"null",   "boolean", "object", "array",
                                                    "number", "integer", "string"};

bool is_annotation(std::string_view k) {
  return std::find(kAnnotations.begin(), kAnnotations.end(), k) != kAnnotations.end();
}

bool is_type_name(std::string_view k) {
  return std::find(kTypes.begin(), kTypes.end(), k) != kTypes.end();
}

// RFC 6901 reference token: '~' → "~0", '/' → "~1".
std::string escape_token(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

// Appends "/token" to a path for the lifetime of the object.
class PathPush {
 public:
  PathPush(std::string& path, std::string_view token) : path_(path), size_(path.size()) {
    path_ += '/';
    path_ += escape_token(token);
  }
  PathPush(std::string& path, std::size_t index) : path_(path), size_(path.size()) {
    path_ += '/';
    path_ += std::to_string(index);
  }
  ~PathPush() { path_.resize(size_); }
  PathPush(const PathPush&) = delete;
  PathPush& operator=(const PathPush&) = delete;

 private:
  std::string& path_;
  std::size_t size_;
};

// A number with no fractional part is an integer, whatever its JSON spelling (1.0 included).
bool is_integral(const Json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  double d = v.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

// long double holds every int64, uint64 and double exactly on the platforms the SDK targets.
long double number_of(const Json& v) {
  if (v.is_number_unsigned()) return static_cast<long double>(v.get<std::uint64_t>());
  if (v.is_number_integer()) return static_cast<long double>(v.get<std::int64_t>());
  return static_cast<long double>(v.get<double>());
}

bool is_count(const Json& v) { return is_integral(v) && number_of(v) >= 0; }

const char* type_of(const Json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "boolean";
  if (v.is_object()) return "object";
  if (v.is_array()) return "array";
  if (v.is_string()) return "string";
  return is_integral(v) ? "integer" : "number";
}

bool has_type(const Json& v, std::string_view t) {
  if (t == "integer") return v.is_number() && is_integral(v);
  if (t == "number") return v.is_number();
  return t == type_of(v);
}

// Unicode code points of a UTF-8 string: every byte that is not a continuation byte starts one.
std::size_t code_points(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string shorten(std::string s, std::size_t max = 120) {
  if (s.size() > max) s = s.substr(0, max) + "…";
  return s;
}

std::optional<JsonSchemaError> schema_error(const std::string& path, std::string message) {
  return JsonSchemaError{path, std::move(message), true};
}

std::optional<JsonSchemaError> value_error(const std::string& path, std::string message) {
  return JsonSchemaError{path, std::move(message), false};
}

// ---- schema checking ----------------------------------------------------------------------

std::optional<JsonSchemaError> check_schema(const Json& s, std::string& path);

std::optional<JsonSchemaError> check_schema_array(const Json& a, std::string& path,
                                                  const char* keyword) {
  if (!a.is_array())
    return schema_error(path, std::string(keyword) + " must be an array of schemas");
  for (std::size_t i = 0; i < a.size(); ++i) {
    PathPush at(path, i);
    if (auto e = check_schema(a[i], path)) return e;
  }
  return std::nullopt;
}

std::optional<JsonSchemaError> check_keyword(const std::string& k, const Json& v,
                                             std::string& path) {
  PathPush at(path, k);
  if (k == "type") {
    if (v.is_string()) {
      if (!is_type_name(v.get<std::string>()))
        return schema_error(path, "unknown type '" + v.get<std::string>() + "'");
      return std::nullopt;
    }
    if (!v.is_array() || v.empty())
      return schema_error(path, "type must be a type name or a non-empty array of type names");
    std::set<std::string> seen;
    for (const auto& t : v) {
      if (!t.is_string() || !is_type_name(t.get<std::string>()))
        return schema_error(path, "unknown type " + shorten(t.dump()));
      if (!seen.insert(t.get<std::string>()).second)
        return schema_error(path, "type '" + t.get<std::string>() + "' is listed twice");
    }
    return std::nullopt;
  }
  if (k == "enum") {
    if (!v.is_array() || v.empty()) return schema_error(path, "enum must be a non-empty array");
    return std::nullopt;
  }
  if (k == "minimum" || k == "maximum" || k == "exclusiveMinimum" || k == "exclusiveMaximum") {
    if (!v.is_number()) {
      return schema_error(path,
                          k + " must be a number" +
                              (v.is_boolean() ? " (draft 4's boolean form is not supported)" : ""));
    }
    return std::nullopt;
  }
  if (k == "minLength" || k == "maxLength" || k == "minItems" || k == "maxItems") {
    if (!is_count(v)) return schema_error(path, k + " must be a non-negative integer");
    return std::nullopt;
  }
  if (k == "properties") {
    if (!v.is_object()) return schema_error(path, "properties must be an object of schemas");
    for (auto it = v.begin(); it != v.end(); ++it) {
      PathPush prop(path, it.key());
      if (auto e = check_schema(it.value(), path)) return e;
    }
    return std::nullopt;
  }
  if (k == "required") {
    if (!v.is_array()) return schema_error(path, "required must be an array of property names");
    std::set<std::string> seen;
    for (const auto& n : v) {
      if (!n.is_string()) return schema_error(path, "required must list strings only");
      if (!seen.insert(n.get<std::string>()).second)
        return schema_error(path, "required lists '" + n.get<std::string>() + "' twice");
    }
    return std::nullopt;
  }
  if (k == "additionalProperties") {
    // The PathPush above already names the keyword; the value is a schema itself.
    return check_schema(v, path);
  }
  if (k == "items") {
    if (v.is_array()) return check_schema_array(v, path, "items");
    return check_schema(v, path);
  }
  if (k == "prefixItems") return check_schema_array(v, path, "prefixItems");
  if (is_annotation(k)) return std::nullopt;
  return schema_error(path, "unsupported keyword '" + k + "'");
}

std::optional<JsonSchemaError> check_schema(const Json& s, std::string& path) {
  if (s.is_boolean()) return std::nullopt;
  if (!s.is_object()) return schema_error(path, "a schema must be an object or a boolean");
  for (auto it = s.begin(); it != s.end(); ++it) {
    if (auto e = check_keyword(it.key(), it.value(), path)) return e;
  }
  auto items = s.find("items");
  if (s.contains("prefixItems") && items != s.end() && items->is_array()) {
    return schema_error(path, "prefixItems cannot be combined with the array form of items");
  }
  return std::nullopt;
}

// ---- validation (the schema is known to be well-formed) ------------------------------------

std::optional<JsonSchemaError> validate(const Json& s, const Json& v, std::string& path);

std::optional<JsonSchemaError> validate_type(const Json& t, const Json& v,
                                             const std::string& path) {
  if (t.is_string()) {
    if (has_type(v, t.get<std::string>())) return std::nullopt;
    return value_error(path, "must be " +
                                 std::string(t.get<std::string>() == "integer" ||
                                                     t.get<std::string>() == "array" ||
                                                     t.get<std::string>() == "object"
                                                 ? "an "
                                                 : "a ") +
                                 t.get<std::string>() + " (got " + type_of(v) + ")");
  }
  std::string names;
  for (const auto& n : t) {
    if (has_type(v, n.get<std::string>())) return std::nullopt;
    names += (names.empty() ? "" : ", ") + n.get<std::string>();
  }
  return value_error(path, "must be one of the types " + names + " (got " + type_of(v) + ")");
}

std::optional<JsonSchemaError> validate_number(const Json& s, const Json& v,
                                               const std::string& path) {
  long double x = number_of(v);
  auto bound = [&](const char* k, auto ok, const char* op) -> std::optional<JsonSchemaError> {
    auto it = s.find(k);
    if (it == s.end() || ok(x, number_of(*it))) return std::nullopt;
    return value_error(path,
                       std::string("must be ") + op + " " + it->dump() + " (got " + v.dump() + ")");
  };
  if (auto e = bound(
          "minimum", [](long double a, long double b) { return a >= b; }, ">="))
    return e;
  if (auto e = bound(
          "maximum", [](long double a, long double b) { return a <= b; }, "<="))
    return e;
  if (auto e = bound(
          "exclusiveMinimum", [](long double a, long double b) { return a > b; }, ">"))
    return e;
  return bound(
      "exclusiveMaximum", [](long double a, long double b) { return a < b; }, "<");
}

std::optional<JsonSchemaError> validate_string(const Json& s, const Json& v,
                                               const std::string& path) {
  std::size_t n = code_points(v.get_ref<const std::string&>());
  if (auto it = s.find("minLength"); it != s.end() && n < number_of(*it)) {
    return value_error(path, "must be at least " + it->dump() + " characters long (got " +
                                 std::to_string(n) + ")");
  }
  if (auto it = s.find("maxLength"); it != s.end() && n > number_of(*it)) {
    return value_error(
        path, "must be at most " + it->dump() + " characters long (got " + std::to_string(n) + ")");
  }
  return std::nullopt;
}

std::optional<JsonSchemaError> validate_array(const Json& s, const Json& v, std::string& path) {
  std::size_t n = v.size();
  if (auto it = s.find("minItems"); it != s.end() && n < number_of(*it)) {
    return value_error(
        path, "must have at least " + it->dump() + " items (got " + std::to_string(n) + ")");
  }
  if (auto it = s.find("maxItems"); it != s.end() && n > number_of(*it)) {
    return value_error(
        path, "must have at most " + it->dump() + " items (got " + std::to_string(n) + ")");
  }
  std::size_t first_rest = 0;
  const Json* per_position = nullptr;
  if (auto it = s.find("prefixItems"); it != s.end()) per_position = &*it;
  auto items = s.find("items");
  if (items != s.end() && items->is_array()) per_position = &*items;
  if (per_position) {
    first_rest = std::min(n, per_position->size());
    for (std::size_t i = 0; i < first_rest; ++i) {
      PathPush at(path, i);
      if (auto e = validate((*per_position)[i], v[i], path)) return e;
    }
  }
  if (items != s.end() && !items->is_array()) {
    for (std::size_t i = first_rest; i < n; ++i) {
      PathPush at(path, i);
      if (auto e = validate(*items, v[i], path)) return e;
    }
  }
  return std::nullopt;
}

std::optional<JsonSchemaError> validate_object(const Json& s, const Json& v, std::string& path) {
  if (auto req = s.find("required"); req != s.end()) {
    for (const auto& name : *req) {
      if (!v.contains(name.get<std::string>())) {
        PathPush at(path, name.get<std::string>());
        return value_error(path, "is required");
      }
    }
  }
  auto props = s.find("properties");
  auto extra = s.find("additionalProperties");
  for (auto it = v.begin(); it != v.end(); ++it) {
    PathPush at(path, it.key());
    if (props != s.end()) {
      if (auto p = props->find(it.key()); p != props->end()) {
        if (auto e = validate(*p, it.value(), path)) return e;
        continue;
      }
    }
    if (extra == s.end()) continue;
    if (extra->is_boolean() && !extra->get<bool>()) {
      return value_error(path, "is not an allowed property");
    }
    if (auto e = validate(*extra, it.value(), path)) return e;
  }
  return std::nullopt;
}

std::optional<JsonSchemaError> validate(const Json& s, const Json& v, std::string& path) {
  if (s.is_boolean()) {
    if (s.get<bool>()) return std::nullopt;
    return value_error(path, "no value is allowed here");
  }
  if (auto t = s.find("type"); t != s.end()) {
    if (auto e = validate_type(*t, v, path)) return e;
  }
  if (auto en = s.find("enum"); en != s.end()) {
    // nlohmann's == is deep and compares integers and floats by value (1 == 1.0).
    if (std::none_of(en->begin(), en->end(), [&](const Json& c) { return c == v; })) {
      return value_error(path, "must be one of " + shorten(en->dump()));
    }
  }
  if (v.is_number()) return validate_number(s, v, path);
  if (v.is_string()) return validate_string(s, v, path);
  if (v.is_array()) return validate_array(s, v, path);
  if (v.is_object()) return validate_object(s, v, path);
  return std::nullopt;
}

}  // namespace

std::optional<JsonSchemaError> check_json_schema(const Json& schema) {
  if (json_depth(schema) > kMaxJsonDepth) {
    return schema_error(
        "", "the schema nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  std::string path;
  return check_schema(schema, path);
}

std::optional<JsonSchemaError> validate_json(const Json& schema, const Json& value) {
  if (auto e = check_json_schema(schema)) return e;
  if (json_depth(value) > kMaxJsonDepth) {
    return value_error("", "nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  std::string path;
  return validate(schema, value, path);
}

std::string to_string(const JsonSchemaError& error) {
  return (error.path.empty() ? std::string("(root)") : error.path) + ": " + error.message;
}

}  // namespace jarvis

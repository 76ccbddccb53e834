// jarvis/json_schema.h — a small JSON Schema validator for tool arguments (SDK 1.1).
//
// The host validates every tool call's arguments against the tool's `parameters` schema before
// any policy or handler sees them, and checks each schema when the tool is registered. Plugins
// use the same functions for JSON they receive elsewhere (an LLM's tool-call arguments, a
// webhook body):
//
//   if (auto err = jarvis::validate_json(schema, value)) {
//     throw jarvis::Error(422, "invalid_args", err->path + ": " + err->message);
//   }
//
// Supported (draft 2020-12 names, semantics checked against the official test suite's draft 7
// files, see docs/decisions/0017): boolean schemas; `type` (a name or an array of names; 1.0 is
// an integer); `enum` (deep equality, 1 == 1.0); `minimum`, `maximum`, `exclusiveMinimum`,
// `exclusiveMaximum` (numbers); `minLength`, `maxLength` (Unicode code points); `items` (a schema
// for every item, or draft 7's array of per-position schemas), `prefixItems`, `minItems`,
// `maxItems`; `properties`, `required`, `additionalProperties` (bool or schema). Annotations are
// accepted and ignored: `title`, `description`, `default`, `examples`, `$schema`, `$id`,
// `$comment`, `format`, `deprecated`, `readOnly`, `writeOnly`. Any other keyword (`$ref`,
// `pattern`, `oneOf`, …) makes the schema invalid rather than being silently ignored.
#pragma once

#include <optional>
#include <string>

#include "jarvis/json.h"

namespace jarvis {

/// The first problem found by validate_json() or check_json_schema().
struct JsonSchemaError {
  /// JSON Pointer (RFC 6901) to the offending part: of the value (e.g. "/items/2/name"), or of the
  /// schema when `in_schema` is true. "" is the root.
  std::string path;
  /// What is wrong, e.g. "must be a string (got integer)".
  std::string message;
  /// True when the schema itself is malformed or uses an unsupported keyword.
  bool in_schema = false;
};

/// Checks that `schema` is a well-formed schema using only the supported keywords, nested at most
/// kMaxJsonDepth levels. nullopt when it is fine; otherwise the first problem (`in_schema` set).
JARVIS_API std::optional<JsonSchemaError> check_json_schema(const Json& schema);

/// Validates `value` against `schema`; nullopt when valid, otherwise the first error in a fixed
/// order (type, enum, bounds, items, required, properties). A malformed schema or a value nested
/// deeper than kMaxJsonDepth is reported as an error, never thrown (the schema is checked first,
/// as by check_json_schema()). Recursion follows the schema, so it is bounded by the schema's
/// depth. Thread-safe.
JARVIS_API std::optional<JsonSchemaError> validate_json(const Json& schema, const Json& value);

/// `path: message`, with the root shown as "(root)" — for error messages.
JARVIS_API std::string to_string(const JsonSchemaError& error);

}  // namespace jarvis

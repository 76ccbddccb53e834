// jarvis/json.h — the JSON type used across the SDK (nlohmann::json), and the one way to read
// JSON a caller controls.
//
// Untrusted JSON text (request bodies, WebSocket messages, tool arguments a model produced, stored
// payloads) is parsed with parse_json(), which refuses nesting deeper than kMaxJsonDepth before
// building anything: nlohmann's copy, comparison and serialisation recurse, so a value nested
// 70,000 levels deep would overflow the stack later. The host applies the same bound to every
// JSON value that enters it through the SDK (task payloads, event payloads, tool arguments).
//
//   jarvis::Json args = jarvis::parse_json(text);               // throws Error 400 on bad input
//   if (auto v = jarvis::try_parse_json(text)) use(*v);          // or nullopt
//   jarvis::require_json_depth(value, "payload");                // for a value built in code
#pragma once

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "jarvis/version.h"

namespace jarvis {
/// JSON value used for payloads, tool arguments, task results and HTTP bodies.
using Json = nlohmann::json;

/// Deepest nesting of arrays and objects accepted from a caller: `{"a":{"a":1}}` is depth 2,
/// a scalar is depth 0.
inline constexpr int kMaxJsonDepth = 64;

/// Parses `text` as one JSON value of at most `max_depth` levels of nesting. Throws
/// jarvis::Error(400, "json_too_deep") when it nests deeper (checked before parsing, in one pass)
/// and jarvis::Error(400, "invalid_json") when it is not JSON.
JARVIS_API Json parse_json(std::string_view text, int max_depth = kMaxJsonDepth);

/// Like parse_json() without exceptions: nullopt when the text is not JSON or nests too deep.
JARVIS_API std::optional<Json> try_parse_json(std::string_view text, int max_depth = kMaxJsonDepth);

/// True when `text` nests arrays/objects deeper than `max_depth` (strings are skipped). Linear,
/// no recursion, no allocation; says nothing about whether the text is valid JSON.
JARVIS_API bool json_text_too_deep(std::string_view text, int max_depth = kMaxJsonDepth);

/// Nesting depth of `value`, counted without recursion and stopping once it exceeds `stop_after`
/// (the result is then `stop_after + 1`).
JARVIS_API int json_depth(const Json& value, int stop_after = kMaxJsonDepth);

/// Throws jarvis::Error(400, "json_too_deep") naming `what` when `value` nests deeper than
/// `max_depth`.
JARVIS_API void require_json_depth(const Json& value, std::string_view what,
                                   int max_depth = kMaxJsonDepth);

}  // namespace jarvis

// github/src/field_scan.h — reads a few fields of a large JSON object without building it: the
// webhook needs five or six values of a payload that can be megabytes, and building the whole
// document with nlohmann::json cost about 1 ms per 21 KB example here (bench/github.sh,
// docs/benchmarks.md). The scanner checks the text's structure as it skips (strings, escapes,
// literals, numbers, nesting ≤ kMaxJsonDepth) and decodes only the wanted values; on anything it
// does not accept it answers nullopt, and the caller parses the whole text with
// jarvis::parse_json (which then reports the proper 400).
//
//   auto doc = github::scan_fields(req.body, {"action", "repository", "repository.full_name"});
//   if (!doc) doc = jarvis::parse_json(req.body);       // same shape for the wanted paths
//   std::string repo = (*doc)["repository"]["full_name"];
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jarvis/json.h"

namespace github {

/// A JSON object holding only the `paths` (dot-separated keys) found in `text`: primitive values
/// as they are, arrays as empty arrays, objects as objects holding their wanted children (an
/// object named by a path is present even when none of its children is wanted). nullopt when
/// `text` is not a JSON object the scanner accepts (malformed, too deep, escaped keys, …).
std::optional<jarvis::Json> scan_fields(std::string_view text,
                                        const std::vector<std::string>& paths);

}  // namespace github

// host/src/http/url.h — request-target parsing: percent-decoding, query strings, path segments.
// Pure functions shared by the router, the dispatcher and the static file server.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jarvis::host {

/// Percent-decodes `in` ("%2F" → "/"); with `plus_as_space` a '+' becomes ' ' (query strings).
/// Returns nullopt on a malformed escape ("%", "%4", "%zz").
std::optional<std::string> percent_decode(std::string_view in, bool plus_as_space = false);

/// Splits a request target into its path and query parts ("/a?b=c" → "/a", "b=c"). An absolute-form
/// target ("http://host/a?b") is reduced to its path; a fragment is dropped.
void split_target(std::string_view target, std::string_view& path, std::string_view& query);

/// Parses "a=1&b=x+y&c" into {a:"1", b:"x y", c:""} (last value wins). Returns nullopt when a
/// name or value has a malformed percent escape.
std::optional<std::map<std::string, std::string>> parse_query(std::string_view query);

/// True when `s` contains a NUL byte.
bool has_nul_byte(std::string_view s);
/// True when `s` contains a C0 control byte (0x00–0x1F) or DEL.
bool has_control_byte(std::string_view s);

/// Splits a path on '/' without decoding: "/a/b" → {"a","b"}, "/" → {""}, "/a/" → {"a",""}.
std::vector<std::string_view> split_path(std::string_view path);

}  // namespace jarvis::host

// host/src/tasks/iso_time.h — conversions between Unix seconds and the fixed-width ISO-8601 UTC
// text every timestamp column stores ("2026-11-28T03:21:06.000Z"), for the scheduler's slots.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace jarvis::host {

/// "YYYY-MM-DDTHH:MM:SS.000Z" for Unix seconds `unix_s` (UTC).
std::string iso_from_unix(std::int64_t unix_s);
/// Unix seconds of an ISO-8601 UTC timestamp as written by jarvis::now_iso() / iso_from_unix()
/// (fractional seconds are truncated); nullopt when `iso` is not in that form.
std::optional<std::int64_t> unix_from_iso(const std::string& iso);
/// Current Unix time in seconds.
std::int64_t unix_now();

}  // namespace jarvis::host

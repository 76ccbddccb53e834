// jarvis/json.h — the JSON type used across the SDK (nlohmann::json).
#pragma once

#include <nlohmann/json.hpp>

namespace jarvis {
/// JSON value used for payloads, tool arguments, task results and HTTP bodies.
using Json = nlohmann::json;
}  // namespace jarvis

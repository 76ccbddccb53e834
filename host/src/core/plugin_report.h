// host/src/core/plugin_report.h — one rendering of a plugin's record for the CLI and the API
// (`jarvis plugins list/info`, GET /api/v1/plugins): the manifest is the single source.
#pragma once

#include "jarvis/json.h"
#include "plugins/plugin_manager.h"

namespace jarvis::host {

/// {name, version, state, reason_code, reason, description, sdk, requires, required, dir, library}.
jarvis::Json plugin_info_json(const PluginInfo& info);
/// Each declared config key: {key, env, type, value (secrets redacted), source, origin, secret,
/// set, required, constraints, description, value_ms (durations)} — straight from the manifest.
jarvis::Json plugin_config_json(const PluginInfo& info);

}  // namespace jarvis::host

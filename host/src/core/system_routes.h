// host/src/core/system_routes.h — the host's own routes: /healthz, /readyz, /metrics,
// GET /api/v1/system/status and GET /api/v1/plugins; and the status document itself, which
// plugins also get from jarvis::SystemControl::status().
#pragma once

#include "jarvis/json.h"

namespace jarvis::host {

class Application;

/// The GET /api/v1/system/status document: version, uptime_seconds, time, plugins (name → state),
/// plugin_health (name → {health, detail?, details?} of running plugins), the task queue fields
/// (tasks, oldest_queued_at, scheduler) and system (the safety state). Reads the database.
jarvis::Json system_status(Application& app);

/// Registers the host routes on the application's router (owner "host").
void register_system_routes(Application& app);

}  // namespace jarvis::host

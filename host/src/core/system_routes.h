// host/src/core/system_routes.h — the host's own routes: /healthz, /readyz, /metrics,
// GET /api/v1/system/status and GET /api/v1/plugins.
#pragma once

namespace jarvis::host {

class Application;

/// Registers the host routes on the application's router (owner "host").
void register_system_routes(Application& app);

}  // namespace jarvis::host

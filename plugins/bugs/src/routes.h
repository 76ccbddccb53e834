// bugs/src/routes.h — HTTP routes of the bugs plugin.
#pragma once

#include "store.h"

namespace bugs {

/// Registers /api/v1/bugs… and /api/v1/feature-requests on `host`.
void register_routes(jarvis::Host& host, BugStore& store);

}  // namespace bugs

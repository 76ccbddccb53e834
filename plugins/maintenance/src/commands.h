// maintenance/src/commands.h — `jarvis maintenance status|run|enqueue` and the HTTP routes.
#pragma once

#include "runner.h"

namespace maintenance {

void register_commands(jarvis::Host& host, Runner& runner);
void register_routes(jarvis::Host& host, Runner& runner);

}  // namespace maintenance

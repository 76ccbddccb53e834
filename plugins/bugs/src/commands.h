// bugs/src/commands.h — `jarvis bugs list|show`.
#pragma once

#include "store.h"

namespace bugs {

void register_commands(jarvis::Host& host, BugStore& store);

}  // namespace bugs

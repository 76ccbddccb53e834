// sdk/src/system.cpp — the out-of-line destructors (vtable homes) of jarvis::SystemControl and
// jarvis::ThreadRegistry.
#include "jarvis/system.h"
#include "jarvis/threads.h"

namespace jarvis {

SystemControl::~SystemControl() = default;
ThreadRegistry::~ThreadRegistry() = default;

}  // namespace jarvis

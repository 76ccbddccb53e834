// sdk/src/system.cpp — the out-of-line destructor (vtable home) of jarvis::SystemControl.
#include "jarvis/system.h"

namespace jarvis {

SystemControl::~SystemControl() = default;

}  // namespace jarvis

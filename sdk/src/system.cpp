// sdk/src/system.cpp — the out-of-line destructors (vtable homes) of jarvis::SystemControl and
// jarvis::ThreadRegistry, and SystemControl::backup_now's default (no backups offered).
#include "jarvis/system.h"

#include "jarvis/error.h"
#include "jarvis/threads.h"

namespace jarvis {

SystemControl::~SystemControl() = default;

Json SystemControl::backup_now(const std::string&) {
  throw Error(503, "backup_unavailable", "this host offers no database backups");
}
ThreadRegistry::~ThreadRegistry() = default;

}  // namespace jarvis

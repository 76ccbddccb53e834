// host/src/system/state_tasks.cpp — the periodic unlock-code rotation (task and schedule).
#include "system/system_state.h"
#include "tasks/task_service.h"

namespace jarvis::host {

void add_system_state_tasks(TaskService& tasks, SystemState& system) {
  tasks.add(Owner{},
            jarvis::TaskSpec{
                .name = "system.rotate_unlock_code",
                .description = "Writes a fresh lockdown unlock code to ADMIN_UNLOCK_CODE_PATH",
                .handler =
                    [&system](jarvis::TaskContext&) {
                      return jarvis::Json{{"rotated", system.rotate_unlock_code_if_stale()}};
                    },
                .retry = {.max_attempts = 3}},
            jarvis::TaskAccess::Admin);
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(system.options().unlock_code_ttl);
  tasks.add_periodic(Owner{},
                     jarvis::PeriodicJob{.name = "system.rotate_unlock_code",
                                         .cron_expr = "@every:" + std::to_string(seconds.count()),
                                         .task = "system.rotate_unlock_code"});
}

}  // namespace jarvis::host

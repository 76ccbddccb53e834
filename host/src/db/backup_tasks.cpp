// host/src/db/backup_tasks.cpp — the task `system.backup` and its periodic job
// (@every:BACKUP_INTERVAL_SECONDS while serving; retention runs after each snapshot).
#include "db/backup_service.h"
#include "jarvis/error.h"
#include "tasks/task_service.h"

namespace jarvis::host {

void add_backup_tasks(TaskService& tasks, BackupService& backups) {
  tasks.add(Owner{},
            jarvis::TaskSpec{
                .name = "system.backup",
                .description = "Verified database snapshot into BACKUP_LOCAL_DIR, then retention",
                .handler =
                    [&backups](jarvis::TaskContext& ctx) {
                      std::string reason = ctx.payload.is_object()
                                               ? ctx.payload.value("reason", "scheduled")
                                               : std::string("scheduled");
                      try {
                        return backups.backup_now(reason.substr(0, 200)).to_json();
                      } catch (const BackupError& e) {
                        // Retried with backoff (a busy disk may clear); dead after the attempts.
                        throw std::runtime_error(e.code() + ": " + e.what());
                      }
                    },
                .retry = {.max_attempts = 3}},
            jarvis::TaskAccess::Admin);
  if (backups.settings().interval_seconds > 0) {
    tasks.add_periodic(
        Owner{}, jarvis::PeriodicJob{
                     .name = "system.backup",
                     .cron_expr = "@every:" + std::to_string(backups.settings().interval_seconds),
                     .task = "system.backup"});
  }
}

}  // namespace jarvis::host

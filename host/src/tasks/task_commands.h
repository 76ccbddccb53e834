// host/src/tasks/task_commands.h — CLI commands of the queue and the scheduler (owner "host"):
//
//   jarvis tasks list [--status S] [--name N] [--limit N] [--json]
//   jarvis tasks show ID [--json]
//   jarvis tasks retry ID
//   jarvis tasks status [--json]
//   jarvis tasks enqueue NAME [--payload JSON] [--priority N] [--idempotency-key K]
//                        [--wait [--timeout SECONDS] [--run-here]] [--json]
//   jarvis schedules list [--json]
//   jarvis schedules add --cron EXPR --task NAME [--payload JSON] [--max-catchup N]
//                        [--thread ID] [--json]
//   jarvis schedules disable ID | enable ID | remove ID
//
// `enqueue --wait` waits for a serving host (`jarvis serve` on the same database) to run the
// task; with `--run-here` this process claims and runs it itself. Exit codes: 0 ok, 1 failure
// (including a task that ended failed/dead, or a wait that timed out), 2 usage.
#pragma once

namespace jarvis::host {

class CommandTable;
class TaskService;
class SqlDatabase;

/// Registers the `tasks` and `schedules` command groups with Owner{"host"}.
void register_task_commands(CommandTable& commands, TaskService& tasks, SqlDatabase& db);

}  // namespace jarvis::host

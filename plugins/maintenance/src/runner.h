// maintenance/src/runner.h — runs the configured maintenance commands, records results, files
// failures as bug reports (through the `bugs.report` task when that plugin is present), heartbeat.
#pragma once

#include <mutex>
#include <string>

#include "jarvis/jarvis.h"

namespace maintenance {

class Runner {
 public:
  explicit Runner(jarvis::Host& host) : host_(host) {}

  /// Runs every command now (one at a time, each in its own process group with the timeout).
  /// Returns {ok, skipped?, workdir, command_count, results[], bug_tasks[], bug_filing}. When
  /// maintenance is disabled: {ok: true, skipped: "maintenance_disabled"}. One run at a time per
  /// process: a concurrent call gets {ok: false, skipped: "already_running"}. When `cancel`
  /// fires (the host shuts down, the task's deadline passes) the running command's process group
  /// is stopped (exit 130, `cancelled: true`) and the remaining commands are not started; the run
  /// is still recorded, with `cancelled: true`.
  jarvis::Json run(const std::string& trigger, jarvis::CancelToken cancel = {});
  /// Records and emits `maintenance.heartbeat`.
  jarvis::Json heartbeat();
  /// Settings, schedule, last heartbeat, last run and open maintenance bugs.
  jarvis::Json status();
  /// The working directory commands run in.
  std::string workdir() const;

 private:
  jarvis::Host& host_;
  std::mutex run_mu_;
};

}  // namespace maintenance

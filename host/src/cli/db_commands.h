// host/src/cli/db_commands.h — `jarvis db backup|restore|list`: database snapshots without a
// running host (restore must not open the database it replaces, so these run before the
// Application is built).
//
//   jarvis db backup --to /srv/backups      # verified snapshot, prints its path
//   jarvis db restore var/backups/backup_20261201T231500Z.db.gz
#pragma once

#include <string>
#include <vector>

#include "cli/host_commands.h"

namespace jarvis::host {

/// Runs `jarvis db <sub> …`; exit 0 ok, 1 failure or refusal, 2 usage.
int cmd_db(CliContext& ctx, const std::vector<std::string>& args);

}  // namespace jarvis::host

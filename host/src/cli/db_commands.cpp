// host/src/cli/db_commands.cpp — `jarvis db backup [--to DIR] [--reason TEXT] [--json]`,
// `jarvis db restore FILE [--json]`, `jarvis db list [--dir DIR] [--json]` (see db_commands.h and
// docs/decisions/0056-database-backups-and-retention.md, 0057-restore-refusal-and-serve-lock.md).
#include "cli/db_commands.h"

#include <chrono>
#include <ctime>

#include "config/host_settings.h"
#include "db/backup_service.h"
#include "jarvis/commands.h"
#include "jarvis/json.h"

namespace jarvis::host {
namespace {

const char* kDbUsage =
    "usage: jarvis db backup [--to DIR] [--reason TEXT] [--json]\n"
    "       jarvis db restore FILE [--json]      (refused while a host serves the database)\n"
    "       jarvis db list [--dir DIR] [--json]\n";

std::string db_cli_iso(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int db_cli_fail(CliContext& ctx, bool json, const std::string& sub, const BackupError& e) {
  if (json) {
    ctx.out << jarvis::Json{{"ok", false}, {"error", {{"code", e.code()}, {"message", e.what()}}}}
                   .dump(2)
            << "\n";
  }
  ctx.err << "jarvis db " << sub << ": " << e.what() << " (" << e.code() << ")\n";
  return 1;
}

}  // namespace

int cmd_db(CliContext& ctx, const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? ctx.err : ctx.out) << kDbUsage;
    return args.empty() ? 2 : 0;
  }
  const std::string sub = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  HostSettings host = HostSettings::from(ctx.store);
  BackupService backups(host.database_url, BackupSettings::from(ctx.store));

  if (sub == "backup") {
    Args a = Args::parse(rest, {"--json"}, {"--to", "--reason"});
    try {
      BackupResult r = backups.backup_now(a.option("--reason", "manual (jarvis db backup)"),
                                          a.option("--to", ""));
      if (a.flag("--json")) {
        jarvis::Json j = r.to_json();
        j["ok"] = true;
        ctx.out << j.dump(2) << "\n";
      } else {
        ctx.out << "backup: " << r.path << " (" << r.bytes << " bytes, " << r.verification << ")\n";
        for (const auto& p : r.pruned) ctx.out << "retention: deleted " << p << "\n";
      }
      return 0;
    } catch (const BackupError& e) {
      return db_cli_fail(ctx, a.flag("--json"), sub, e);
    }
  }
  if (sub == "restore") {
    Args a = Args::parse(rest, {"--json"}, {});
    const std::string& file = a.positional(0, "FILE");
    try {
      RestoreResult r = restore_database(backups, file);
      if (a.flag("--json")) {
        jarvis::Json j = r.to_json();
        j["ok"] = true;
        ctx.out << j.dump(2) << "\n";
      } else {
        ctx.out << "restored " << r.snapshot << " into " << r.database << " (" << r.verification
                << ")\n";
        if (!r.pre_restore_backup.empty())
          ctx.out << "previous database backed up to " << r.pre_restore_backup << "\n";
        if (!r.kept_aside.empty()) ctx.out << "previous database kept as " << r.kept_aside << "\n";
        ctx.out << "next: jarvis migrate, then start the host and check /readyz\n";
      }
      return 0;
    } catch (const BackupError& e) {
      return db_cli_fail(ctx, a.flag("--json"), sub, e);
    }
  }
  if (sub == "list") {
    Args a = Args::parse(rest, {"--json"}, {"--dir"});
    auto files = backups.list(a.option("--dir", ""));
    if (a.flag("--json")) {
      jarvis::Json items = jarvis::Json::array();
      for (const auto& f : files) {
        items.push_back(
            {{"path", f.path}, {"taken_at", db_cli_iso(f.taken_at)}, {"bytes", f.bytes}});
      }
      ctx.out << jarvis::Json{{"dir", a.option("--dir", backups.default_dir())}, {"items", items}}
                     .dump(2)
              << "\n";
    } else {
      for (const auto& f : files) {
        ctx.out << db_cli_iso(f.taken_at) << "  " << f.bytes << "  " << f.path << "\n";
      }
      if (files.empty())
        ctx.out << "no snapshots in " << a.option("--dir", backups.default_dir()) << "\n";
    }
    return 0;
  }
  ctx.err << "jarvis db: unknown command '" << sub << "'\n" << kDbUsage;
  return 2;
}

}  // namespace jarvis::host

// maintenance/src/commands.cpp — operator CLI and admin routes of the maintenance loop.
#include "commands.h"

#include <iomanip>

namespace maintenance {
namespace {

void print_results(std::ostream& out, const jarvis::Json& r) {
  if (r.contains("skipped")) {
    out << "maintenance: skipped (" << r["skipped"].get<std::string>() << ")\n";
    return;
  }
  for (const auto& c : r["results"]) {
    out << (c["exit_code"] == 0 ? "[ ok ] " : "[FAIL] ") << c["command"].get<std::string>()
        << "  (exit " << c["exit_code"] << (c["timed_out"].get<bool>() ? ", timed out" : "") << ", "
        << c["duration_ms"] << " ms)\n";
    if (c["exit_code"] != 0) {
      if (!c["stderr"].get<std::string>().empty()) out << c["stderr"].get<std::string>() << "\n";
    }
  }
  out << "maintenance: " << r["command_count"] << " command(s), "
      << (r["ok"].get<bool>() ? "all passed" : "failures")
      << "; bug filing: " << r["bug_filing"].get<std::string>() << "\n";
}

}  // namespace

void register_commands(jarvis::Host& host, Runner& runner) {
  Runner* rn = &runner;
  jarvis::Host* h = &host;
  host.commands().add(
      {.group = "maintenance",
       .name = "status",
       .summary = "Settings, schedule, last heartbeat, last run and open maintenance bugs",
       .usage = "jarvis maintenance status [--json]",
       .handler = [rn](jarvis::CommandContext& c) {
         auto a = jarvis::Args::parse(c.args, {"--json"}, {});
         jarvis::Json s = rn->status();
         if (a.flag("--json")) {
           c.out << s.dump(2) << "\n";
           return 0;
         }
         for (auto it = s.begin(); it != s.end(); ++it) {
           if (it.key() == "last_run") continue;
           c.out << std::left << std::setw(28) << (it.key() + ":")
                 << (it.value().is_string() ? it.value().get<std::string>() : it.value().dump())
                 << "\n";
         }
         if (s["last_run"].is_object()) {
           c.out << "last run:                   " << s["last_run"]["started_at"].get<std::string>()
                 << (s["last_run"]["ok"].get<bool>() ? " ok" : " FAILED") << "\n";
         }
         return 0;
       }});
  host.commands().add({.group = "maintenance",
                       .name = "run",
                       .summary = "Run the maintenance commands now; exit 1 if any failed",
                       .usage = "jarvis maintenance run [--json]",
                       .handler = [rn](jarvis::CommandContext& c) {
                         auto a = jarvis::Args::parse(c.args, {"--json"}, {});
                         jarvis::Json r = rn->run("cli");
                         if (a.flag("--json")) {
                           c.out << r.dump(2) << "\n";
                         } else {
                           print_results(c.out, r);
                         }
                         return r["ok"].get<bool>() ? 0 : 1;
                       }});
  host.commands().add({.group = "maintenance",
                       .name = "enqueue",
                       .summary = "Queue a maintenance run for the serving host",
                       .usage = "jarvis maintenance enqueue [--json]",
                       .handler = [h](jarvis::CommandContext& c) {
                         auto a = jarvis::Args::parse(c.args, {"--json"}, {});
                         std::string id = h->tasks().enqueue("maintenance.run",
                                                             {.payload = {{"trigger", "enqueue"}}});
                         if (a.flag("--json")) {
                           c.out << jarvis::Json{{"task_id", id}}.dump() << "\n";
                         } else {
                           c.out << "queued maintenance.run as task " << id
                                 << " (a running `jarvis serve` picks it up)\n";
                         }
                         return 0;
                       }});
}

void register_routes(jarvis::Host& host, Runner& runner) {
  Runner* rn = &runner;
  jarvis::Host* h = &host;
  host.routes().add(
      {.method = "GET",
       .path = "/api/v1/maintenance/status",
       .auth = jarvis::Auth::Admin,
       .summary = "Maintenance settings, schedule, last heartbeat, last run, open maintenance bugs",
       .handler = [rn](jarvis::Request&) { return jarvis::Response::json(200, rn->status()); }});
  host.routes().add(
      {.method = "POST",
       .path = "/api/v1/maintenance/run",
       .auth = jarvis::Auth::Admin,
       .summary = "Queue a maintenance run now (202 with the task id)",
       .handler = [h](jarvis::Request& req) {
         if (!req.body.empty()) req.json_body();  // an optional body must still be JSON
         std::string id = h->tasks().enqueue(
             "maintenance.run",
             {.payload = {{"trigger", "api"}, {"requested_by", req.principal.user_id}}});
         return jarvis::Response::json(202, {{"task_id", id}, {"task", "maintenance.run"}});
       }});
}

}  // namespace maintenance

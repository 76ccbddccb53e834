// bugs/src/commands.cpp — operator CLI: `jarvis bugs list [--status S] [--json]`, `jarvis bugs show
// ID`.
#include "commands.h"

#include <iomanip>

namespace bugs {

void register_commands(jarvis::Host& host, BugStore& store) {
  BugStore* s = &store;
  host.commands().add(
      {.group = "bugs",
       .name = "list",
       .summary = "List bug and feature reports (all users)",
       .usage = "jarvis bugs list [--status S] [--kind K] [--limit N] [--json]",
       .handler = [s](jarvis::CommandContext& c) {
         auto a = jarvis::Args::parse(c.args, {"--json"}, {"--status", "--kind", "--limit"});
         ListQuery q;
         q.status = a.option("--status");
         q.kind = a.option("--kind");
         if (!q.status.empty() && !is_status(q.status)) {
           throw jarvis::UsageError("--status must be open, in_progress, resolved or closed");
         }
         if (!q.kind.empty() && !is_kind(q.kind))
           throw jarvis::UsageError("--kind must be bug or feature");
         try {
           q.limit = std::stoll(a.option("--limit", "50"));
         } catch (const std::exception&) {
           throw jarvis::UsageError("--limit must be a number");
         }
         if (q.limit < 1 || q.limit > 200) throw jarvis::UsageError("--limit must be 1..200");
         jarvis::Json r = s->list(q, jarvis::Principal::system());
         if (a.flag("--json")) {
           c.out << r.dump(2) << "\n";
           return 0;
         }
         for (const auto& b : r["items"]) {
           c.out << std::left << std::setw(38) << b["id"].get<std::string>() << std::setw(8)
                 << b["kind"].get<std::string>() << std::setw(12) << b["status"].get<std::string>()
                 << std::setw(10) << b["priority"].get<std::string>()
                 << b["title"].get<std::string>() << "\n";
         }
         c.out << r["total"] << " report(s)\n";
         return 0;
       }});
  host.commands().add(
      {.group = "bugs",
       .name = "show",
       .summary = "Show one report",
       .usage = "jarvis bugs show ID [--json]",
       .handler = [s](jarvis::CommandContext& c) {
         auto a = jarvis::Args::parse(c.args, {"--json"}, {});
         jarvis::Json b = s->get(a.positional(0, "ID"), jarvis::Principal::system());
         if (a.flag("--json")) {
           c.out << b.dump(2) << "\n";
         } else {
           for (auto it = b.begin(); it != b.end(); ++it) {
             c.out << std::left << std::setw(22) << (it.key() + ":")
                   << (it.value().is_string() ? it.value().get<std::string>() : it.value().dump())
                   << "\n";
           }
         }
         return 0;
       }});
}

}  // namespace bugs

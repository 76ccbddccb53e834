// memory/state/state_cli.cpp — `jarvis memory review` (see state_cli.h).
#include "state/state_cli.h"

#include <cstdlib>
#include <ostream>

#include "jarvis/commands.h"
#include "jarvis/error.h"
#include "state/state_queries.h"
#include "state/state_routes.h"

namespace jarvis::memory::state {

namespace {

const char* kReviewUsage =
    "jarvis memory review --conflicts [--limit N] [--offset N] [--json]\n"
    "jarvis memory review --resolve UID --note TEXT "
    "[--decision keep_both|supersede|retract|unsupported] [--json]";

std::string one_line(const Json& item) {
  if (!item.is_object()) return "(missing)";
  std::string text = item.value("text", "");
  if (text.size() > 100) text = text.substr(0, 97) + "...";
  return "[" + item.value("type", "") + ", " + item.value("status", "") + "] " + text;
}

long long parse_count(const std::string& text, const char* what, long long min, long long max) {
  std::size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || v < min || v > max) {
    throw jarvis::UsageError(std::string(what) + " must be an integer from " + std::to_string(min) +
                             " to " + std::to_string(max));
  }
  return v;
}

std::string cli_reviewer() {
  const char* user = std::getenv("USER");
  return std::string("cli:") + (user && *user ? user : "operator");
}

}  // namespace

void register_state_cli(jarvis::Host& host, std::shared_ptr<StateEngine> engine) {
  jarvis::Host* h = &host;
  std::shared_ptr<StateEngine> e = std::move(engine);
  host.commands().add(
      {.group = "memory",
       .name = "review",
       .summary = "List open state conflicts, or resolve one with a note",
       .usage = kReviewUsage,
       .handler = [h, e](jarvis::CommandContext& c) {
         auto a = jarvis::Args::parse(c.args, {"--conflicts", "--json"},
                                      {"--limit", "--offset", "--resolve", "--note", "--decision"});
         const bool json = a.flag("--json");
         if (a.has_option("--resolve")) {
           if (a.flag("--conflicts")) {
             throw jarvis::UsageError("--conflicts and --resolve exclude each other");
           }
           Resolution r;
           r.uid = a.option("--resolve");
           r.note = a.option("--note");
           if (r.note.empty()) throw jarvis::UsageError("--resolve needs --note TEXT");
           if (r.note.size() > 2000) throw jarvis::UsageError("--note is longer than 2000");
           if (a.has_option("--decision")) r.decision = a.option("--decision");
           r.reviewer = cli_reviewer();
           if (!plausible_uid(r.uid)) {
             c.err << "no state item " << r.uid << "\n";
             return 1;
           }
           try {
             Json out = e->resolve(r);
             if (json) {
               c.out << out.dump(2) << "\n";
             } else {
               c.out << "resolved " << out["resolved"].get<long long>() << " conflict(s) of "
                     << r.uid << " (" << r.decision << ") by " << r.reviewer << "\n";
             }
             return 0;
           } catch (const jarvis::Error& err) {
             if (json) {
               c.out << Json{{"error", {{"code", err.code()}, {"message", err.what()}}}}.dump(2)
                     << "\n";
             } else {
               c.err << err.what() << " (" << err.code() << ")\n";
             }
             return 1;
           }
         }
         if (!a.flag("--conflicts")) throw jarvis::UsageError("say --conflicts or --resolve UID");
         const long long limit =
             a.has_option("--limit") ? parse_count(a.option("--limit"), "--limit", 1, 200) : 50;
         const long long offset = a.has_option("--offset")
                                      ? parse_count(a.option("--offset"), "--offset", 0, 1000000000)
                                      : 0;
         Json page;
         {
           auto sql = h->db().session();
           page = list_conflicts(*sql, limit, offset);
         }
         if (json) {
           c.out << page.dump(2) << "\n";
           return 0;
         }
         if (page["items"].empty()) {
           c.out << "no open conflicts\n";
           return 0;
         }
         c.out << page["total"].get<long long>() << " open conflict(s)\n";
         for (const auto& row : page["items"]) {
           c.out << row.value("id", "") << "  " << row.value("uid", "") << " <> "
                 << row.value("other_uid", "") << "  thread "
                 << (row["thread_id"].is_string() ? row["thread_id"].get<std::string>() : "-")
                 << "  agent "
                 << (row["agent_id"].is_string() ? row["agent_id"].get<std::string>() : "-") << "  "
                 << row.value("reason", "") << " " << row.value("score", "") << "  "
                 << row.value("created_at", "") << "\n";
           c.out << "  new:      " << one_line(row["item"]) << "\n";
           c.out << "  existing: " << one_line(row["other_item"]) << "\n";
         }
         return 0;
       }});
}

}  // namespace jarvis::memory::state

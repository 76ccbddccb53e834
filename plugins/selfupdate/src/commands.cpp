// selfupdate/src/commands.cpp — the operator CLI: `jarvis selfupdate propose FILE --rationale
// TEXT | list | show ID | approve ID | reject ID | rollback ID | resume ID | abandon ID`. The CLI
// works on the database and the task queue; the running host executes the stages.
#include <fstream>
#include <iomanip>
#include <sstream>

#include "routes.h"

namespace selfupdate {
namespace commands_impl {

const char* kOperator = "operator:cli";

void print(jarvis::CommandContext& c, const jarvis::Json& j, bool as_json) {
  if (as_json) {
    c.out << j.dump(2) << "\n";
    return;
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    c.out << std::left << std::setw(22) << (it.key() + ":")
          << (it.value().is_string() ? it.value().get<std::string>() : it.value().dump()) << "\n";
  }
}

}  // namespace commands_impl

using namespace commands_impl;

void register_commands(jarvis::Host& host, Pipeline& pipeline) {
  Pipeline* p = &pipeline;
  auto& cmds = host.commands();
  cmds.add({.group = "selfupdate",
            .name = "propose",
            .summary = "Propose a patch (a unified diff file; - reads stdin)",
            .usage = "jarvis selfupdate propose FILE --rationale TEXT [--json]",
            .handler = [p](jarvis::CommandContext& c) {
              auto a = jarvis::Args::parse(c.args, {"--json"}, {"--rationale"});
              const std::string file = a.positional(0, "FILE");
              if (!a.has_option("--rationale")) throw jarvis::UsageError("--rationale is required");
              std::stringstream s;
              if (file == "-") {
                s << c.in.rdbuf();
              } else {
                std::ifstream in(file, std::ios::binary);
                if (!in) {
                  c.err << "cannot read " << file << "\n";
                  return 1;
                }
                s << in.rdbuf();
              }
              jarvis::Json r = p->propose({.diff = s.str(),
                                           .rationale = a.option("--rationale"),
                                           .actor = kOperator,
                                           .source = "cli"});
              print(c, r, a.flag("--json"));
              return 0;
            }});
  cmds.add({.group = "selfupdate",
            .name = "list",
            .summary = "List patches, newest first",
            .usage = "jarvis selfupdate list [--state S] [--limit N] [--json]",
            .handler = [p](jarvis::CommandContext& c) {
              auto a = jarvis::Args::parse(c.args, {"--json"}, {"--state", "--limit"});
              int limit = 50;
              try {
                limit = std::stoi(a.option("--limit", "50"));
              } catch (const std::exception&) {
                throw jarvis::UsageError("--limit must be a number");
              }
              if (limit < 1 || limit > 200) throw jarvis::UsageError("--limit must be 1..200");
              jarvis::Json r = p->list(a.option("--state"), limit, 0);
              if (a.flag("--json")) {
                c.out << r.dump(2) << "\n";
                return 0;
              }
              for (const auto& row : r["items"]) {
                c.out << std::left << std::setw(38) << row["trace_id"].get<std::string>()
                      << std::setw(20) << row["state"].get<std::string>()
                      << row["created_at"].get<std::string>() << "  "
                      << row["rationale"].get<std::string>().substr(0, 60) << "\n";
              }
              c.out << r["total"] << " patch(es)\n";
              return 0;
            }});
  cmds.add({.group = "selfupdate",
            .name = "show",
            .summary = "Show one patch: state, what it means, timeline, log tail",
            .usage = "jarvis selfupdate show ID [--json]",
            .handler = [p](jarvis::CommandContext& c) {
              auto a = jarvis::Args::parse(c.args, {"--json"}, {});
              jarvis::Json r = p->show(a.positional(0, "ID"));
              if (a.flag("--json")) {
                c.out << r.dump(2) << "\n";
                return 0;
              }
              c.out << r["trace_id"].get<std::string>() << "  " << r["state"].get<std::string>()
                    << "\n"
                    << r["explanation"].get<std::string>()
                    << "\n\nrationale: " << r["rationale"].get<std::string>()
                    << "\nbaseline:  " << r["baseline"].get<std::string>() << "\n\ntimeline:\n";
              for (const auto& t : r["transitions"]) {
                c.out << "  " << t["at"].get<std::string>() << "  " << std::setw(18)
                      << (t["from"].get<std::string>() + " ->") << std::setw(20)
                      << t["to"].get<std::string>() << t["detail"].get<std::string>() << "\n";
              }
              std::string tail = r["test_log_tail"];
              if (!tail.empty()) c.out << "\ntest log (tail):\n" << tail << "\n";
              return 0;
            }});
  struct Action {
    const char* name;
    const char* summary;
  };
  for (const Action& act :
       {Action{"approve", "Approve a tested patch; the running host applies it"},
        Action{"allow-test", "Allow the build and tests of an agent's waiting patch"},
        Action{"reject", "Reject a tested patch"},
        Action{"rollback", "Roll the current patch back to the previous release"},
        Action{"resume", "Run an interrupted stage again"},
        Action{"abandon", "Give up an interrupted or waiting patch"}}) {
    std::string name = act.name;
    cmds.add({.group = "selfupdate",
              .name = name,
              .summary = act.summary,
              .usage = "jarvis selfupdate " + name + " ID [--json]" +
                       (name == "reject" ? " [--reason TEXT]" : ""),
              .handler = [p, name](jarvis::CommandContext& c) {
                auto a = jarvis::Args::parse(
                    c.args, {"--json"},
                    name == "reject" ? std::set<std::string>{"--reason"} : std::set<std::string>{});
                const std::string id = a.positional(0, "ID");
                jarvis::Json r;
                if (name == "approve") r = p->approve(id, kOperator);
                if (name == "allow-test") r = p->allow_test(id, kOperator);
                if (name == "reject") r = p->reject(id, kOperator, a.option("--reason"));
                if (name == "rollback") r = p->rollback(id, kOperator);
                if (name == "resume") r = p->resume(id, kOperator);
                if (name == "abandon") r = p->abandon(id, kOperator);
                print(c, r, a.flag("--json"));
                return 0;
              }});
  }
}

}  // namespace selfupdate

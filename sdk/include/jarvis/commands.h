// jarvis/commands.h — CLI commands contributed by plugins: `jarvis <group> <command> [args…]`.
//
//   host.commands().add({.group = "hello", .name = "greet", .summary = "Prints a greeting",
//                        .usage = "jarvis hello greet NAME [--json]",
//                        .handler = [](CommandContext& c) {
//                          Args a = Args::parse(c.args, {"--json"}, {});
//                          c.out << "hello " << a.positional(0, "NAME") << "\n";
//                          return 0;
//                        }});
//
// A command without a name is the whole group (SDK 1.1): `jarvis ask "hello" --json`.
//
//   host.commands().add({.group = "ask", .name = "", .usage = "jarvis ask MESSAGE [--json]", …});
//
// Exit codes: 0 ok, 1 failure, 2 usage error (throw UsageError and the host prints the usage).
#pragma once

#include <functional>
#include <map>
#include <ostream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "jarvis/version.h"

namespace jarvis {

/// Thrown for bad command-line usage; the host prints the message and usage, exit code 2.
class JARVIS_API UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& message);
  ~UsageError() override;
};

/// What a command handler receives.
struct CommandContext {
  std::vector<std::string> args;  ///< arguments after `<group> <command>`
  std::ostream& out;
  std::ostream& err;
  std::istream& in;
};

/// A CLI command.
struct CommandSpec {
  std::string group;  ///< e.g. "bugs"
  /// e.g. "list". Empty (SDK 1.1): the group itself is the command — `jarvis ask MESSAGE…`
  /// passes every argument after the group to the handler; such a group has no named commands.
  std::string name;
  std::string summary;  ///< one line for `jarvis --help`
  std::string usage;    ///< full usage line(s), printed for --help and usage errors
  std::function<int(CommandContext&)> handler;
};

/// Registry of CLI commands. Duplicate (group, name) pairs are refused, and so is a group that
/// would hold both a nameless command and named ones.
class JARVIS_API CommandRegistry {
 public:
  virtual ~CommandRegistry();
  /// Throws Error(409, "duplicate_command") on a duplicate or a nameless/named mix in one group,
  /// Error(400, "invalid_command") without a group or handler.
  virtual void add(CommandSpec spec) = 0;
};

/// Minimal argument parser for commands: `--flag`, `--opt VALUE`, `--opt=VALUE`, positionals.
class JARVIS_API Args {
 public:
  /// Parses `args`; `flags` take no value, `options` take one. Unknown `--x` → UsageError.
  static Args parse(const std::vector<std::string>& args, const std::set<std::string>& flags,
                    const std::set<std::string>& options);
  bool flag(const std::string& name) const { return flags_.count(name) > 0; }
  /// Option value or `fallback`.
  std::string option(const std::string& name, const std::string& fallback = "") const;
  bool has_option(const std::string& name) const { return options_.count(name) > 0; }
  const std::vector<std::string>& positionals() const { return positionals_; }
  /// The i-th positional; UsageError naming `what` if missing.
  const std::string& positional(std::size_t i, const std::string& what) const;

 private:
  std::set<std::string> flags_;
  std::map<std::string, std::string> options_;
  std::vector<std::string> positionals_;
};

}  // namespace jarvis

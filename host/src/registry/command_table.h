// host/src/registry/command_table.h — CLI commands contributed by plugins (`jarvis <group> <cmd>`).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "jarvis/commands.h"
#include "registry/owner.h"

namespace jarvis::host {

/// A registered command; `owner` is declared first so the handler dies before the library.
struct CommandEntry {
  Owner owner;
  jarvis::CommandSpec spec;
};

/// Registry of CLI commands keyed by (group, name).
class CommandTable {
 public:
  /// Throws jarvis::Error(409, "duplicate_command") naming both owners.
  void add(Owner owner, jarvis::CommandSpec spec);
  std::shared_ptr<const CommandEntry> find(const std::string& group, const std::string& name) const;
  bool has_group(const std::string& group) const;
  /// All commands sorted by group, name.
  std::vector<std::shared_ptr<const CommandEntry>> all() const;
  void remove_owner(const std::string& owner_name);

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<const CommandEntry>> items_;
};

}  // namespace jarvis::host

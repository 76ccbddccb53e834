// host/src/registry/command_table.cpp — CLI command registry.
#include "registry/command_table.h"

#include "jarvis/error.h"

namespace jarvis::host {

void CommandTable::add(Owner owner, jarvis::CommandSpec spec) {
  if (spec.group.empty() || !spec.handler) {
    throw jarvis::Error(400, "invalid_command", "a command needs a group and a handler");
  }
  std::lock_guard lock(mu_);
  auto key = std::make_pair(spec.group, spec.name);
  // A group is either one command (`jarvis ask MESSAGE`, empty name) or a set of named ones
  // (`jarvis threads list`): mixing both would make `jarvis <group> <word>` ambiguous.
  auto first = items_.lower_bound({spec.group, ""});
  if (first != items_.end() && first->first.first == spec.group &&
      first->first.second.empty() != spec.name.empty()) {
    throw jarvis::Error(409, "duplicate_command",
                        "command group '" + spec.group + "' from '" + owner.name +
                            "' conflicts with '" + first->second->spec.group +
                            (first->first.second.empty() ? "" : " " + first->first.second) +
                            "' registered by '" + first->second->owner.name +
                            "' (a group is one command or named commands, not both)");
  }
  auto it = items_.find(key);
  if (it != items_.end()) {
    throw jarvis::Error(409, "duplicate_command",
                        "command '" + spec.group + (spec.name.empty() ? "" : " " + spec.name) +
                            "' from '" + owner.name + "' is already registered by '" +
                            it->second->owner.name + "'");
  }
  items_.emplace(
      key, std::make_shared<const CommandEntry>(CommandEntry{std::move(owner), std::move(spec)}));
}

std::shared_ptr<const CommandEntry> CommandTable::find(const std::string& group,
                                                       const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = items_.find({group, name});
  return it == items_.end() ? nullptr : it->second;
}

bool CommandTable::has_group(const std::string& group) const {
  std::lock_guard lock(mu_);
  auto it = items_.lower_bound({group, ""});
  return it != items_.end() && it->first.first == group;
}

std::vector<std::shared_ptr<const CommandEntry>> CommandTable::all() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<const CommandEntry>> out;
  for (const auto& [k, v] : items_) out.push_back(v);
  return out;
}

void CommandTable::remove_owner(const std::string& owner_name) {
  std::lock_guard lock(mu_);
  std::erase_if(items_, [&](const auto& kv) { return kv.second->owner.name == owner_name; });
}

}  // namespace jarvis::host

// host/src/tasks/task_access.cpp — the task registry and who may start what: registration
// (names, handlers, duplicate refusal), access levels (jarvis::TaskAccess), the catalogue.
#include "jarvis/error.h"
#include "tasks/task_service_impl.h"

namespace jarvis::host {

// Task names: "<plugin>.<verb>" and friends; also keeps names safe in logs and metric labels.
void check_task_name(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 100;
  for (char c : name) {
    bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '.' || c == '_' || c == '-' || c == ':';
    if (!allowed) ok = false;
  }
  if (!ok) {
    throw jarvis::Error(
        400, "invalid_task",
        "invalid task name '" + name + "' (1-100 characters: letters, digits, '.', '_', '-', ':')");
  }
}

void require_entry_access(const std::string& name, std::optional<jarvis::TaskAccess> access,
                          const jarvis::Principal& who) {
  if (!access) {
    throw jarvis::Error(400, "unknown_task", "no task named '" + name + "' is registered");
  }
  if (!task_access_allows(*access, who)) {
    throw jarvis::Error(
        403, "task_forbidden",
        "task '" + name + "' is " + jarvis::to_string(*access) +
            (*access == jarvis::TaskAccess::Internal ? " (started by plugins only)"
                                                     : "; your role may not start it"));
  }
}

bool task_access_allows(jarvis::TaskAccess access, const jarvis::Principal& who) {
  if (!who.authenticated) return false;
  switch (access) {
    case jarvis::TaskAccess::Internal:
      return false;
    case jarvis::TaskAccess::Admin:
      return who.is_admin();
    case jarvis::TaskAccess::User:
      return true;
  }
  return false;
}

void TaskService::add(Owner owner, jarvis::TaskSpec spec, jarvis::TaskAccess access) {
  check_task_name(spec.name);
  if (!spec.handler) {
    throw jarvis::Error(400, "invalid_task", "task '" + spec.name + "' has no handler");
  }
  if (spec.retry.max_attempts < 1 || spec.retry.max_attempts > 1000) {
    throw jarvis::Error(400, "invalid_task",
                        "task '" + spec.name + "': retry.max_attempts must be 1..1000");
  }
  if (spec.timeout.count() < 1) {
    throw jarvis::Error(400, "invalid_task", "task '" + spec.name + "': timeout must be >= 1 s");
  }
  std::lock_guard lock(impl_->reg_mu);
  auto it = impl_->tasks.find(spec.name);
  if (it != impl_->tasks.end()) {
    throw jarvis::Error(409, "duplicate_task",
                        "task '" + spec.name + "' is already registered by '" +
                            it->second->owner.name + "'; '" + owner.name +
                            "' cannot register it again");
  }
  std::string name = spec.name;
  impl_->tasks.emplace(name, std::make_shared<const TaskEntry>(
                                 TaskEntry{std::move(owner), std::move(spec), access}));
  impl_->rebuild_names();
}

bool TaskService::has(const std::string& name) const { return impl_->find(name) != nullptr; }

std::optional<jarvis::TaskAccess> TaskService::access_of(const std::string& name) const {
  auto entry = impl_->find(name);
  if (!entry) return std::nullopt;
  return entry->access;
}

bool TaskService::may_start(const std::string& name, const jarvis::Principal& who) const {
  auto access = access_of(name);
  return access && task_access_allows(*access, who);
}

void TaskService::require_may_start(const std::string& name, const jarvis::Principal& who) const {
  require_entry_access(name, access_of(name), who);
}

std::vector<TaskCatalogEntry> TaskService::catalog(const jarvis::Principal& who) const {
  std::lock_guard lock(impl_->reg_mu);
  std::vector<TaskCatalogEntry> out;
  for (const auto& [name, e] : impl_->tasks) {  // std::map: sorted by name
    if (task_access_allows(e->access, who)) {
      out.push_back({name, e->spec.description, e->owner.name, e->access});
    }
  }
  return out;
}

void TaskService::remove_owner(const std::string& owner_name) {
  std::lock_guard lock(impl_->reg_mu);
  std::erase_if(impl_->tasks, [&](const auto& kv) { return kv.second->owner.name == owner_name; });
  std::erase_if(impl_->pending_periodic, [&](const auto& p) { return p.first.name == owner_name; });
  impl_->rebuild_names();
}

std::vector<std::pair<std::string, std::string>> TaskService::registered() const {
  std::lock_guard lock(impl_->reg_mu);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, e] : impl_->tasks) out.emplace_back(name, e->owner.name);
  return out;
}
}  // namespace jarvis::host

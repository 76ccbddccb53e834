// host/src/core/services.h — the host's registries and services, as handed to the plugin manager
// (which builds each plugin's jarvis::Host view on top of them).
#pragma once

#include <functional>
#include <string>

namespace jarvis {
class HttpClient;
class SystemControl;
}  // namespace jarvis

namespace jarvis::host {

class ConfigStore;
class SqlDatabase;
class Router;
class ToolRegistryImpl;
class PolicyRegistryImpl;
class TaskService;
class CommandTable;
class EventBusImpl;
class MetricsRegistry;
class ThreadOwners;

/// Non-owning pointers to everything a plugin can reach. Any may be null in unit tests, except
/// where a plugin actually uses it (the Host view throws std::logic_error for a null service).
struct HostServices {
  const ConfigStore* config = nullptr;
  SqlDatabase* db = nullptr;
  Router* routes = nullptr;
  ToolRegistryImpl* tools = nullptr;
  PolicyRegistryImpl* policies = nullptr;
  TaskService* tasks = nullptr;
  CommandTable* commands = nullptr;
  EventBusImpl* events = nullptr;
  jarvis::HttpClient* http = nullptr;
  MetricsRegistry* metrics = nullptr;
  jarvis::SystemControl* system = nullptr;
  ThreadOwners* threads = nullptr;
};

}  // namespace jarvis::host

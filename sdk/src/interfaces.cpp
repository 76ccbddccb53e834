// Out-of-line destructors and version queries of the SDK's interfaces: one home for each vtable.
#include "jarvis/jarvis.h"

namespace jarvis {

SdkVersion sdk_library_version() { return SdkVersion{}; }
const char* sdk_library_abi_tag() { return JARVIS_ABI_TAG; }

RouteRegistry::~RouteRegistry() = default;
PluginConfig::~PluginConfig() = default;
Database::~Database() = default;
Transaction::~Transaction() = default;
LiveSubscription::~LiveSubscription() = default;
EventBus::~EventBus() = default;

bool event_type_matches(std::string_view event_type, std::string_view type, EventMatch match) {
  return match == EventMatch::Exact ? event_type == type : event_type.starts_with(type);
}
TaskRegistry::~TaskRegistry() = default;

const char* to_string(TaskAccess access) {
  switch (access) {
    case TaskAccess::Internal:
      return "internal";
    case TaskAccess::Admin:
      return "admin";
    case TaskAccess::User:
      return "user";
  }
  return "internal";
}
ToolRegistry::~ToolRegistry() = default;
PolicyRegistry::~PolicyRegistry() = default;
CommandRegistry::~CommandRegistry() = default;
HttpClient::~HttpClient() = default;
Metrics::~Metrics() = default;
Host::~Host() = default;
Plugin::~Plugin() = default;

}  // namespace jarvis

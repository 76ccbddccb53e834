// host/src/core/plugin_report.cpp — JSON views of plugin records.
#include "core/plugin_report.h"

namespace jarvis::host {

jarvis::Json plugin_info_json(const PluginInfo& info) {
  return {{"name", info.name},
          {"version", info.version},
          {"state", to_string(info.state)},
          {"reason_code", info.reason_code},
          {"reason", info.reason},
          {"description", info.description},
          {"sdk", info.sdk_range},
          {"requires", info.requires_},
          {"required", info.required},
          {"dir", info.dir},
          {"library", info.library}};
}

jarvis::Json plugin_config_json(const PluginInfo& info) {
  jarvis::Json out = jarvis::Json::array();
  for (const auto& c : info.config) {
    out.push_back({{"key", c.key},
                   {"env", c.env},
                   {"type", c.type},
                   {"value", c.value},
                   {"source", c.source},
                   {"origin", c.origin},
                   {"secret", c.secret},
                   {"set", c.is_set},
                   {"description", c.description}});
  }
  return out;
}

}  // namespace jarvis::host

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
    jarvis::Json item = {{"key", c.key},
                         {"env", c.env},
                         {"type", c.type},
                         {"value", c.value},
                         {"source", c.source},
                         {"origin", c.origin},
                         {"secret", c.secret},
                         {"set", c.is_set},
                         {"required", c.required},
                         {"constraints", c.constraints},
                         {"description", c.description}};
    if (c.value_ms) item["value_ms"] = *c.value_ms;
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace jarvis::host

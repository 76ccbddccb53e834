// chat/src/history.cpp — stored messages as the model's conversation (see step.h).
#include "agent/slash.h"
#include "step.h"

namespace chat {

// Stored message rows (API JSON) → provider messages. Slash commands and their replies are
// not conversation (a /status lists the host's queues, /logs a trace): they never reach the
// model. The verbose footer (provider, tokens, tools) is for the person, not for the model.
std::vector<Message> to_messages(const jarvis::Json& rows) {
  std::vector<Message> out;
  for (const auto& r : rows) {
    const jarvis::Json meta =
        r.contains("meta") && r["meta"].is_object() ? r["meta"] : jarvis::Json::object();
    const std::string role = r.value("role", "user");
    if (meta.contains("command")) continue;
    if (role == "user" && is_slash_command(r.value("content", ""))) continue;
    Message m;
    m.role = role;
    if (m.role == "agent") m.role = "assistant";
    m.content = r.value("content", "");
    if (meta.contains("footer_bytes") && meta["footer_bytes"].is_number_unsigned()) {
      const auto n = meta["footer_bytes"].get<std::size_t>();
      if (n <= m.content.size()) m.content.resize(m.content.size() - n);
    }
    if (r.contains("tool_calls") && r["tool_calls"].is_array()) {
      for (const auto& c : r["tool_calls"]) {
        m.tool_calls.push_back({c.value("id", ""), c.value("name", ""),
                                c.contains("arguments") ? c["arguments"] : jarvis::Json::object()});
      }
    }
    if (r.contains("tool_call_id") && r["tool_call_id"].is_string()) {
      m.tool_call_id = r["tool_call_id"];
    }
    if (r.contains("tool_name") && r["tool_name"].is_string()) m.tool_name = r["tool_name"];
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace chat

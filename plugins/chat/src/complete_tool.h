// chat/src/complete_tool.h — the tool `chat.complete`: one non-streaming model request for other
// plugins' background work (memory's state extraction, github's PR summaries, …), through the
// chat plugin's provider router (fallback, cooldown, model.run.* events, token accounting by
// purpose). Decision 0042; contract in plugins/chat/README.md and docs/plugin-sdk.md.
//
// Another plugin calls it by name, never by linking chat — from a task handler, not a request
// handler (the call blocks for a model round trip):
//
//   host.tools().grant_agent_tools("agent:memory", {"chat.complete"});        // in start()
//   jarvis::ToolResult r = host.tools().invoke({.caller = owner, .agent_id = "agent:memory",
//       .tool = "chat.complete",
//       .args = {{"prompt", text}, {"purpose", "memory.extract"}, {"max_tokens", 512}}});
//   if (r.ok) use(r.result["text"]);                 // also provider, model, input/output_tokens
//   else if (!r.allowed) log(r.reason);              // no_permission (an admin's deny wins), …
//   else handle(r.result["error"]["code"]);          // no_provider, provider_unavailable, …
#pragma once

#include "jarvis/jarvis.h"
#include "provider.h"

namespace chat {

/// Limits of chat.complete (plugin.yaml: max_output_tokens, user_daily_token_limit).
struct CompleteToolConfig {
  int max_output_tokens = 4096;     ///< the cap of `max_tokens` (MODEL_MAX_OUTPUT_TOKENS)
  long long daily_token_limit = 0;  ///< CHAT_USER_DAILY_TOKEN_LIMIT of the calling user (0: none)
};

/// The JSON Schema of chat.complete's arguments: {prompt (1..100000 characters), system?
/// (..20000), max_tokens? (1..32768), purpose (1..64)}, nothing else.
jarvis::Json complete_tool_schema();

/// True for a purpose of the form "<plugin>.<what>": 1..64 characters of a-z, 0-9, '_' and '.',
/// starting with a letter, with at least one '.', no empty segment.
bool valid_purpose(const std::string& purpose);

/// Registers the tool chat.complete (setup()). `router` must outlive the plugin's tools.
void register_complete_tool(jarvis::Host& host, ModelRouter& router, CompleteToolConfig config);

}  // namespace chat

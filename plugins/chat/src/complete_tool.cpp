// chat/src/complete_tool.cpp — the tool chat.complete (see complete_tool.h, decision 0042).
#include "complete_tool.h"

#include <algorithm>

#include "store.h"

namespace chat {
namespace {

constexpr int kMaxPromptChars = 100000;
constexpr int kMaxSystemChars = 20000;
constexpr int kMaxTokensCap = 32768;
constexpr std::size_t kMaxPurposeChars = 64;

std::string string_arg(const jarvis::Json& args, const char* key) {
  auto it = args.find(key);
  return it != args.end() && it->is_string() ? it->get<std::string>() : "";
}

jarvis::Json run_complete(jarvis::Host& host, ModelRouter& router, const CompleteToolConfig& cfg,
                          const jarvis::ToolCall& call) {
  const jarvis::Json& args = call.args;  // shape already checked against the schema
  const std::string prompt = string_arg(args, "prompt");
  const std::string system = string_arg(args, "system");
  const std::string purpose = string_arg(args, "purpose");
  if (!valid_purpose(purpose)) {
    throw jarvis::bad_request(
        "purpose must look like '<plugin>.<what>' (a-z, 0-9, _ and ., at most 64 characters)",
        "invalid_purpose");
  }
  int max_tokens = cfg.max_output_tokens;
  if (args.contains("max_tokens") && args["max_tokens"].is_number_integer()) {
    max_tokens = static_cast<int>(
        std::min<long long>(args["max_tokens"].get<long long>(), cfg.max_output_tokens));
  }
  // The calling user's quota (the operator's keys pay for every purpose alike); host-internal
  // work (Principal::system()) has none.
  const bool user_call = call.caller.user_id != jarvis::Principal::system().user_id;
  if (user_call && cfg.daily_token_limit > 0) {
    auto sql = host.db().session();
    if (ChatStore::tokens_used(*sql, call.caller.user_id, utc_day()) >= cfg.daily_token_limit) {
      throw jarvis::Error(429, "quota_exceeded",
                          "the daily token quota of this user is used up; it resets at 00:00 UTC");
    }
  }
  if (!router.configured()) {
    throw jarvis::Error(503, "no_provider", router.not_configured_message());
  }

  ModelRequest req;
  if (!system.empty()) req.messages.push_back({"system", system, {}, "", ""});
  req.messages.push_back({"user", prompt, {}, "", ""});
  req.max_output_tokens = max_tokens;
  req.trace_id = call.trace_id;
  req.thread_id = call.thread_id;
  req.purpose = purpose;
  ModelResult res;
  try {
    res = router.generate(req, {}, nullptr);
  } catch (const ProviderError& e) {
    if (e.kind == "not_configured") throw jarvis::Error(503, "no_provider", e.what());
    // The outage class leads the message: "<outage_class>: <what happened>".
    const std::string cls = e.outage_class.empty() ? "provider_unavailable" : e.outage_class;
    throw jarvis::Error(503, "provider_unavailable", cls + ": " + e.what());
  }
  if (res.input_tokens + res.output_tokens > 0) {
    try {
      auto tx = host.db().transaction();
      const std::string day = utc_day();
      if (user_call) {
        ChatStore::add_usage(tx->session(), call.caller.user_id, day, res.input_tokens,
                             res.output_tokens, 0);
      }
      ChatStore::add_purpose_usage(tx->session(), day, user_call ? call.caller.user_id : "",
                                   purpose, res.input_tokens, res.output_tokens);
      tx->commit();
    } catch (const std::exception& e) {
      // The answer is there and paid for; losing its accounting is not the caller's problem.
      host.log()->warn("chat.complete: usage of '{}' not recorded: {}", purpose, e.what());
    }
  }
  return {{"text", res.text},
          {"provider", res.provider},
          {"model", res.model},
          {"input_tokens", res.input_tokens},
          {"output_tokens", res.output_tokens}};
}

}  // namespace

jarvis::Json complete_tool_schema() {
  return {{"type", "object"},
          {"properties",
           {{"prompt",
             {{"type", "string"},
              {"minLength", 1},
              {"maxLength", kMaxPromptChars},
              {"description", "the user message the model answers"}}},
            {"system",
             {{"type", "string"},
              {"maxLength", kMaxSystemChars},
              {"description", "system prompt (optional)"}}},
            {"max_tokens",
             {{"type", "integer"},
              {"minimum", 1},
              {"maximum", kMaxTokensCap},
              {"description", "answer length cap; at most MODEL_MAX_OUTPUT_TOKENS"}}},
            {"purpose",
             {{"type", "string"},
              {"minLength", 3},
              {"maxLength", static_cast<int>(kMaxPurposeChars)},
              {"description", "what the call is for, '<plugin>.<what>', e.g. memory.extract"}}}}},
          {"required", {"prompt", "purpose"}},
          {"additionalProperties", false}};
}

bool valid_purpose(const std::string& p) {
  if (p.empty() || p.size() > kMaxPurposeChars || p[0] < 'a' || p[0] > 'z') return false;
  bool dot = false;
  char prev = 0;
  for (char c : p) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
    if (!ok || (c == '.' && prev == '.')) return false;
    dot = dot || c == '.';
    prev = c;
  }
  return dot && prev != '.';
}

void register_complete_tool(jarvis::Host& host, ModelRouter& router, CompleteToolConfig config) {
  jarvis::Host* h = &host;
  ModelRouter* r = &router;
  host.tools().add(
      {.name = "chat.complete",
       .description =
           "One model completion (no tools, not streamed) through the chat plugin's providers, "
           "for other plugins' background tasks: {prompt, system?, max_tokens?, purpose} → "
           "{text, provider, model, input_tokens, output_tokens}. Blocks for the model call: "
           "never call it from a request handler.",
       .parameters = complete_tool_schema(),
       .handler = [h, r, config](const jarvis::ToolCall& call) {
         return run_complete(*h, *r, config, call);
       }});
}

}  // namespace chat

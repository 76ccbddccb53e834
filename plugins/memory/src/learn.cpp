// memory/src/learn.cpp — learning from chat's events (durable subscriptions, so every host and
// CLI process queues the work and a kill -9 loses nothing).
//
//   message.new  → memory.learn_message: user statements and assistant answers become items
//                  (slash commands, questions, short acknowledgements, JSON and tool output do
//                  not); every message's token estimate is kept for memory_avg_tokens_saved.
//                  The text comes from the event's payload (`text`, or `content`); an event
//                  without text is skipped and counted (learn_skipped_total{reason="no_text"}).
//   prompt.build → memory.learn_prompt: when the prompt carried a summary or retrieved memory,
//                  one memory_prompt_stats row: raw = the thread's message tokens so far, used =
//                  tail + summary + context tokens of the prompt, saved = raw − used.
// agent.tool.result events carry no content (tool name and outcome only): nothing to keep.
#include <algorithm>

#include "core.h"
#include "jarvis/error.h"
#include "jarvis/sql.h"
#include "jarvis/strings.h"
#include "text_features.h"

namespace jarvis::memory {
namespace {

/// Chat's per-message overhead in its estimates (chat/src/agent/prompt.h kMessageOverheadTokens).
constexpr long kMessageOverhead = 4;

/// Why a message is not kept as an item ("" = keep it).
std::string skip_reason(const std::string& role, const std::string& text, const Json& p,
                        long long min_chars) {
  if (role != "user" && role != "assistant") return "role";
  if (p.value("command", false) || (!p.value("meta", Json::object()).is_null() &&
                                    p.value("meta", Json::object()).contains("command"))) {
    return "command";
  }
  if (text.empty()) return "no_text";
  if (text[0] == '/') return "command";
  if (static_cast<long long>(text.size()) < min_chars) return "too_short";
  if (text[0] == '{' || text[0] == '[') return "json";
  if (role == "user" && text.back() == '?' && text.size() < 200) return "question";
  if (p.value("degraded", false)) return "degraded";
  return "";
}

Json learn_message(MemoryCore& c, TaskContext& t) {
  if (!c.settings.writes_enabled || !c.settings.learn_enabled) return {{"skipped", "disabled"}};
  const Json& e = t.payload;
  const Json p = e.value("payload", Json::object());
  const std::string role = p.value("role", "");
  std::string text = p.contains("text") && p["text"].is_string() ? p["text"].get<std::string>()
                     : p.contains("content") && p["content"].is_string()
                         ? p["content"].get<std::string>()
                         : "";
  text = trimmed(text);
  const std::string thread = e.value("thread_id", "");
  const std::string message_id = p.value("message_id", "");
  if (text.empty() || thread.empty()) {
    c.host.metrics().increment("learn_skipped_total", 1, {{"reason", "no_text"}});
    return {{"skipped", "no_text"}};
  }
  std::string owner = c.host.threads().owner(thread).value_or("");
  if (owner.empty() && e.value("actor_type", "") == "user") owner = e.value("actor_id", "");
  if (owner.empty()) return {{"skipped", "no_owner"}};
  if (!message_id.empty()) {
    auto tx = c.host.db().transaction();
    sql::exec(tx->session(),
              "INSERT INTO memory_message_tokens(message_id, thread_id, role, tokens, created_at) "
              "VALUES(:m, :t, :r, :n, :c) ON CONFLICT(message_id) DO NOTHING",
              {message_id, thread, role,
               sql::Bind(static_cast<long long>(kMessageOverhead + estimate_tokens(text))),
               e.value("created_at", now_iso())});
    tx->commit();
  }
  const std::string why = skip_reason(role, text, p, c.settings.min_learn_chars);
  if (!why.empty()) {
    c.host.metrics().increment("learn_skipped_total", 1, {{"reason", why}});
    return {{"skipped", why}};
  }
  NewItem item{.owner_id = owner,
               .thread_id = thread,
               .agent_id = role == "assistant" ? e.value("actor_id", "") : "",
               .kind = role == "user" ? "user_statement" : "assistant_answer",
               .text = text,
               .source_event_id = e.value("id", ""),
               .source_message_id = message_id};
  item.evidence_refs = Json::array();
  if (!message_id.empty()) item.evidence_refs.push_back({{"type", "message"}, {"id", message_id}});
  item.evidence_refs.push_back({{"type", "event"}, {"id", e.value("id", "")}});
  try {
    WriteResult r = c.writer->write(item, "event", true);
    return {{"item_id", r.ref.id}, {"duplicate", r.ref.duplicate}};
  } catch (const Error& err) {
    if (err.code() == "pii_denied") return {{"skipped", "pii_denied"}};
    throw;
  }
}

Json learn_prompt(MemoryCore& c, TaskContext& t) {
  if (!c.settings.writes_enabled || !c.settings.learn_enabled) return {{"skipped", "disabled"}};
  const Json& e = t.payload;
  const Json r = e.value("payload", Json::object());
  const std::string thread = e.value("thread_id", "");
  const long long summary = r.value("summary_tokens", 0LL);
  const long long context = r.value("context_tokens", 0LL);
  if (thread.empty()) return {{"skipped", "no_thread"}};
  if (summary + context <= 0) return {{"skipped", "no_memory_in_prompt"}};
  // The messages of this trace that came before the prompt must be counted first (their
  // memory.learn_message tasks may still be queued): retry until they are.
  const std::string trace = e.value("trace_id", "");
  if (!trace.empty()) {
    TraceEvents te = c.host.events().trace(Principal::system(), trace, 200);
    std::vector<std::string> ids;
    for (const Event& ev : te.events) {
      if (ev.type == "message.new" && ev.created_at <= e.value("created_at", "") &&
          ev.payload.contains("message_id") && ev.payload["message_id"].is_string() &&
          (ev.payload.contains("text") || ev.payload.contains("content"))) {
        ids.push_back(ev.payload["message_id"].get<std::string>());
      }
    }
    auto sql = c.host.db().session();
    for (const auto& id : ids) {
      if (sql::scalar_int(*sql, "SELECT COUNT(*) FROM memory_message_tokens WHERE message_id = :m",
                          {id}) == 0 &&
          t.attempt < 5) {
        throw Error(409, "messages_pending", "the trace's messages are not counted yet");
      }
    }
  }
  const std::string at = e.value("created_at", now_iso());
  auto tx = c.host.db().transaction();
  auto& sql = tx->session();
  const long long raw = sql::scalar_int(
      sql,
      "SELECT COALESCE(SUM(tokens), 0) FROM memory_message_tokens WHERE thread_id = :t AND "
      "created_at <= :c",
      {thread, at});
  const long long used = r.value("tail_tokens", 0LL) + summary + context;
  sql::exec(
      sql,
      "INSERT INTO memory_prompt_stats(event_id, thread_id, raw_tokens, used_tokens, "
      "saved_tokens, created_at) VALUES(:e, :t, :r, :u, :s, :c) ON CONFLICT(event_id) DO "
      "NOTHING",
      {e.value("id", ""), thread, sql::Bind(raw), sql::Bind(used), sql::Bind(raw - used), at});
  tx->commit();
  return {{"raw_tokens", raw}, {"used_tokens", used}, {"saved_tokens", raw - used}};
}

}  // namespace

void register_learning(Host& host, MemoryCore& core) {
  MemoryCore* c = &core;
  host.tasks().add({.name = "memory.learn_message",
                    .description = "Keeps what a chat message is worth remembering (message.new)",
                    .handler = [c](TaskContext& t) { return learn_message(*c, t); },
                    .retry = {.max_attempts = 5}});
  host.tasks().add({.name = "memory.learn_prompt",
                    .description = "Measures the tokens memory and summaries saved in a prompt "
                                   "(prompt.build)",
                    .handler = [c](TaskContext& t) { return learn_prompt(*c, t); },
                    .retry = {.max_attempts = 6,
                              .initial_backoff = std::chrono::milliseconds(500),
                              .multiplier = 2.0}});
  host.events().subscribe_durable("message.new", "memory.learn_message");
  host.events().subscribe_durable("prompt.build", "memory.learn_prompt");
}

}  // namespace jarvis::memory

// chat/src/agent/prompt.h — the prompt builder, the compaction trigger and compaction itself.
//
// Everything here is a pure function of its inputs (no clock, no I/O): the agent step gathers the
// inputs, these functions decide what the model sees.
//
//   chat::PromptInput in{.bundle = set.find("main"), .summary = summary,
//                        .context = {{"memory.search", hits_text}}, .history = recent,
//                        .tools = chat::tool_defs_for(*bundle, host.tools().list()),
//                        .environment = {.now = std::chrono::system_clock::now(),
//                                        .lockdown = host.system().lockdown(),
//                                        .agents = set.ids()},
//                        .budget_tokens = budget};
//   chat::Prompt p = chat::build_prompt(in);          // p.messages → ModelRequest::messages
//   emit("prompt.build", p.report.to_json());
//
//   if (chat::needs_compaction(since_summary, budget, every_n).needed) {
//     std::size_t cut = chat::compaction_cut(since_summary);   // summarise [0, cut)
//     // with a model: one call per chunk, each within the per-call budget
//     auto plan = chat::plan_summary_chunks(part, per_call_budget, summary_max);
//     std::string s = previous;
//     for (std::size_t i = 0; i < plan.chunks.size(); ++i)
//       s = chat::clamp_summary(call_model(chat::summary_request(s, part, plan, i)), summary_max);
//     // without a model:
//     std::string e = chat::extractive_summary(previous, part, summary_max);
//   }
//
// Budget (tokens estimated as bytes / 4, see text_budget.h). Tool definitions are counted first
// and never cut; of what is left (A), the system part (bundle + [environment]) may use 20 %, the
// thread summary 6 % and tool context (memory.search results …) 15 %; the recent messages (the
// tail) get everything the others did not use — at least 59 %. A section over its share is cut
// in the middle with the marker `[…truncated for budget…]` (two thirds head, one third tail).
// The tail is taken newest first and contiguous; an assistant message with tool calls and the
// tool results answering it are kept or dropped together (a provider refuses an orphan result);
// one old message may use at most a quarter of the tail (a huge tool result is cut, not allowed
// to push everything older out); the newest message (or tool round) is always kept, cut to the
// tail when needed but never below kMinNewestTokens.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "agent/bundles.h"
#include "jarvis/json.h"
#include "provider.h"

namespace chat {

/// Share of the budget (after tool definitions) the system part may use, in percent.
inline constexpr long kSystemSharePercent = 20;
/// Share of the thread summary, in percent.
inline constexpr long kSummarySharePercent = 6;
/// Share of all context sections together, in percent.
inline constexpr long kContextSharePercent = 15;
/// Estimated framing tokens per message (role, separators), added to its content's estimate.
inline constexpr long kMessageOverheadTokens = 4;
/// Estimated framing tokens per tool definition.
inline constexpr long kToolOverheadTokens = 8;
/// The newest message keeps at least this many tokens of content, even over the budget.
inline constexpr long kMinNewestTokens = 256;
/// Messages kept whole at the end of a thread when it is compacted.
inline constexpr std::size_t kCompactionKeepRecent = 4;

/// Context a tool produced for this prompt (e.g. memory.search hits), rendered as text.
struct ContextSection {
  std::string source;  ///< what produced it, e.g. "memory.search" (shown as the section title)
  std::string text;
};

/// The non-sensitive facts of the [environment] section. Deliberately no hostname, OS, paths,
/// disk or versions: they tell a provider about the host and help nobody answer.
struct PromptEnvironment {
  std::chrono::system_clock::time_point now{};  ///< rendered in UTC
  bool lockdown = false;
  bool restarting = false;
  std::vector<std::string> agents;  ///< the roster (valid bundle ids)
  std::string channel;              ///< "web", "cli", "whatsapp", … ("" = not shown)
};

/// Everything the prompt is built from.
struct PromptInput {
  const AgentBundle* bundle = nullptr;  ///< required
  std::string summary;                  ///< the thread's latest summary ("" = none)
  std::vector<ContextSection> context;  ///< in order of importance (earlier ones keep more)
  /// Recent messages, oldest first, the newest last. Roles user, assistant, tool; a "system"
  /// message becomes a user message prefixed "[notice] " (only the first message of a prompt
  /// may be a system prompt), any other role a user message.
  std::vector<Message> history;
  std::vector<ToolDef> tools;  ///< what the model is offered (counted against the budget)
  PromptEnvironment environment;
  long budget_tokens = 32000;
};

/// One section (or message) that was cut.
struct TruncatedSection {
  std::string section;  ///< "bundle", "summary", "context:<source>" or "message"
  long tokens_before = 0;
  long tokens_after = 0;
  long message_index = -1;  ///< index into PromptInput::history for "message", else -1
};

/// What build_prompt decided (the payload of the prompt.build event).
struct PromptReport {
  long budget_tokens = 0;
  long estimated_tokens = 0;  ///< the whole prompt including tool definitions
  long tools_tokens = 0;
  long system_tokens = 0;  ///< bundle + environment (without summary and context)
  long summary_tokens = 0;
  long context_tokens = 0;
  long tail_tokens = 0;
  std::size_t messages_total = 0;
  std::size_t messages_kept = 0;
  std::vector<TruncatedSection> truncated;
  /// True when the prompt is over the budget anyway (tool definitions alone, or the newest
  /// message's minimum, exceed it).
  bool over_budget = false;

  /// {budget_tokens, estimated_tokens, tools_tokens, system_tokens, summary_tokens,
  /// context_tokens, tail_tokens, messages_total, messages_kept, messages_dropped, over_budget,
  /// truncated:[{section, tokens_before, tokens_after, message_index?}]}
  jarvis::Json to_json() const;
};

/// A built prompt: messages[0] is the system prompt, then the kept tail in order.
struct Prompt {
  std::vector<Message> messages;
  std::vector<ToolDef> tools;  ///< PromptInput::tools, unchanged
  PromptReport report;
};

/// Estimated tokens of one message: kMessageOverheadTokens + content + each tool call's name and
/// arguments (+ kMessageOverheadTokens per call).
long estimate_message_tokens(const Message& message);

/// Estimated tokens of one tool definition: name + description + parameters JSON +
/// kToolOverheadTokens.
long estimate_tool_tokens(const ToolDef& tool);

/// The [environment] section text (also used by tests to check what is and is not in it).
std::string render_environment(const PromptEnvironment& env, const AgentBundle& bundle);

/// Builds the prompt within `input.budget_tokens` (see the header comment). Throws
/// std::invalid_argument when `input.bundle` is null or the budget is not positive.
Prompt build_prompt(const PromptInput& input);

/// Why compaction is (not) due.
struct CompactionCheck {
  bool needed = false;
  std::string reason;  ///< "budget", "every_n_events" or "" (not needed)
  long tokens = 0;     ///< estimated tokens of the unsummarised messages
  long limit = 0;      ///< the budget limit they were compared with
  std::size_t messages = 0;
};

/// Compaction is due when the messages since the last summary would not fit the tail's minimum
/// share (59 % of `budget_tokens`), or when there are at least `every_n_events` of them
/// (`every_n_events` 0 = only by budget). The budget reason wins when both apply.
CompactionCheck needs_compaction(const std::vector<Message>& since_summary, long budget_tokens,
                                 long every_n_events);

/// How many of the leading `messages` to summarise: all but the last `keep_recent`, moved earlier
/// so no tool round (assistant tool calls + their results) is split. 0 = nothing to compact.
std::size_t compaction_cut(const std::vector<Message>& messages,
                           std::size_t keep_recent = kCompactionKeepRecent);

/// One line of a transcript for a summary: "user: …", "assistant: … [called a(…), b(…)]",
/// "tool <name>: …". Line breaks inside the content are kept.
std::string transcript_line(const Message& message);

/// A summary made without a model: the previous summary (cut to a third of `max_tokens`), then
/// one line per message (user and assistant text up to 240 bytes, tool results up to 120, tool
/// calls by name), newest lines kept when they do not all fit, all within `max_tokens`.
std::string extractive_summary(std::string_view previous_summary,
                               const std::vector<Message>& messages, long max_tokens);

/// A contiguous run of messages summarised in one model call.
struct SummaryChunk {
  std::size_t begin = 0;   ///< first message index
  std::size_t end = 0;     ///< one past the last
  long tokens = 0;         ///< estimated tokens of its transcript lines (after any cut)
  bool truncated = false;  ///< a single message larger than a chunk was cut to fit
};

/// The calls that summarise a run of messages, each within the per-call budget.
struct SummaryPlan {
  std::vector<SummaryChunk> chunks;
  long per_call_budget_tokens = 0;
  long summary_max_tokens = 0;
  long chunk_capacity_tokens = 0;  ///< transcript tokens one call may carry
};

/// The fixed instruction of a summary call (its system message).
std::string summary_instruction(long summary_max_tokens);

/// Splits `messages` into chunks whose summary_request() each stays within
/// `per_call_budget_tokens` (instruction + running summary of up to `summary_max_tokens` +
/// transcript). Throws std::invalid_argument when the budget leaves less than 64 tokens of
/// transcript per call.
SummaryPlan plan_summary_chunks(const std::vector<Message>& messages, long per_call_budget_tokens,
                                long summary_max_tokens);

/// The messages of call `index` of `plan`: the instruction, then one user message with the
/// running summary (cut to summary_max_tokens) and the chunk's transcript. Its estimate
/// (estimate_message_tokens summed) never exceeds plan.per_call_budget_tokens.
std::vector<Message> summary_request(std::string_view running_summary,
                                     const std::vector<Message>& messages, const SummaryPlan& plan,
                                     std::size_t index);

/// A model's summary cut to `max_tokens` (models do not always respect a length request).
std::string clamp_summary(std::string_view summary, long max_tokens);

}  // namespace chat

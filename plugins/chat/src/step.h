// chat/src/step.h — the agent step: the task `chat.agent_step` that answers one user message,
// and `chat.compact_thread`, which summarises a thread's older messages.
//
// A step runs on a task worker (durable: a kill -9 between the user message and the step still
// answers after the restart). In order:
//   1. take the step (chat_steps: queued → running; a second step of the same thread waits);
//   2. a slash command is answered by the command executor (agent/slash.h), never by a model;
//   3. no provider configured → a reply naming the variables to set;
//   4. the prompt: bundle + summary + context from tools (memory.search when registered and
//      allowed) + recent messages, within the provider's budget; compaction first when due;
//   5. up to MAX_TOOL_ITERATIONS model → tool rounds through ToolRegistry::invoke (caller = the
//      thread owner, agent "agent:<bundle>"), at most max_actions_per_step calls, a loop
//      breaker for a repeated failing call, then a terminal synthesis without tools;
//   6. every provider failing → a degraded reply and `agent.response.degraded`;
//   7. one transaction stores the reply with its tokens, latency, provider and model, the
//      events message.new and agent.done (and channel.outbound on channel threads), the usage
//      and the step's end.
// Every event is also streamed live (live.h). POST /threads/{id}/cancel (a live push the step
// listens for, and a flag it re-reads every round) stops the step and its model request.
//
//   StepRunner runner(host, hub, router, bundles, StepConfig::from(host.config()));
//   host.tasks().add({.name = "chat.agent_step", .handler = [&](auto& c) { return runner.run(c);
//   }});
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "agent/bundles.h"
#include "agent/slash.h"
#include "jarvis/jarvis.h"
#include "live.h"
#include "provider.h"

namespace chat {

/// The loop's settings (plugin.yaml), read once in setup().
struct StepConfig {
  int max_tool_iterations = 8;
  long budget_tokens = 32000;
  std::map<std::string, long> provider_budgets;  ///< provider → budget (0/absent = default)
  long compaction_every_n = 25;
  long long daily_token_limit = 0;
  int max_output_tokens = 4096;
  /// How often a running step refreshes its heartbeat (CHAT_STEP_HEARTBEAT_SECONDS).
  std::chrono::milliseconds heartbeat{30000};
  /// A running step with an older heartbeat is presumed dead (CHAT_STEP_STALE_SECONDS).
  std::chrono::milliseconds stale_after{600000};

  /// Reads the keys of plugin.yaml.
  static StepConfig from(const jarvis::PluginConfig& config);
  /// The budget when `provider` answers.
  long budget_for(const std::string& provider) const;
};

/// Stored message rows (API JSON, oldest first) as provider messages: slash commands, their
/// replies and the verbose footer are left out (they are not conversation).
std::vector<Message> to_messages(const jarvis::Json& rows);

/// Runs agent steps and compactions. Thread-safe: one object serves every worker.
class StepRunner {
 public:
  StepRunner(jarvis::Host& host, LiveHub& hub, ModelRouter& router, const BundleSet& bundles,
             StepConfig config);

  /// Installs the environment of the slash commands (in setup(); it outlives the runner).
  void set_slash_env(SlashEnv* env) { slash_env_ = env; }

  /// The handler of `chat.agent_step`. Payload: {step_id, thread_id, message_id, trace_id,
  /// agent_id?, sender:{user_id, username, admin}}.
  jarvis::Json run(jarvis::TaskContext& ctx);
  /// The handler of `chat.compact_thread`. Payload: {thread_id, trace_id?}.
  jarvis::Json compact(jarvis::TaskContext& ctx);
  /// Compacts `thread_id` now when it is due (or `force`); returns {compacted, method, …}.
  jarvis::Json compact_thread(const std::string& thread_id, const std::string& trace_id, bool force,
                              const jarvis::CancelToken& cancel);

  /// Records step `step_id` (queued) and enqueues its task for a stored user message, inside
  /// `tx` (routes, channels). `command_secret` is the argument storable_command_text() took out
  /// of the stored message (an unlock code); it travels in the task payload under the key
  /// `code`, which the host redacts wherever it shows task payloads.
  static void enqueue_step(jarvis::Host& host, jarvis::Transaction& tx, const std::string& step_id,
                           const std::string& thread_id, const std::string& owner_id,
                           const std::string& message_id, const std::string& trace_id,
                           const jarvis::Principal& sender, const std::string& agent_id,
                           const std::string& command_secret = "");

  /// Messages a step reads since the summary (the prompt's window); more are compacted first.
  static constexpr long long kHistoryLimit = 200;

 private:
  struct Run;
  /// One batch's summary (compaction.cpp).
  struct BatchSummary {
    std::string text, method = "extractive", provider, model;
    long long input_tokens = 0, output_tokens = 0;
  };
  BatchSummary summarise_batch(const std::string& previous, const std::vector<Message>& part,
                               long budget, long summary_max, const std::string& thread_id,
                               const std::string& trace_id, const jarvis::CancelToken& cancel);
  jarvis::Json run_step(Run& r);
  void finish(Run& r);

  jarvis::Host& host_;
  LiveHub& hub_;
  ModelRouter& router_;
  const BundleSet& bundles_;
  StepConfig config_;
  SlashEnv* slash_env_ = nullptr;
};

}  // namespace chat

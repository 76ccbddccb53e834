// chat/src/agent/slash.h — slash commands: answered by the plugin, never by the model.
//
// A user message whose first non-blank character is '/' is a command. Its first token, lower-
// cased, names it; an unknown name answers "unknown command" — the text never reaches a model.
// What a command needs from the chat store or from host features the SDK does not offer yet
// comes through a SlashEnv the plugin implements.
//
//   if (auto cmd = chat::parse_slash(text)) {
//     chat::SlashReply r = chat::execute_slash(*cmd, {.principal = who, .thread_id = thread,
//                                                     .trace_id = trace}, env);
//     store_user_message(r.redact_input ? r.stored_input : text);   // /unlock's code is not kept
//     store_assistant_message(r.text);                                // plain text
//     emit("command.executed", r.to_json());                          // r.data: /status, /logs
//     return;                                                         // no model call
//   }
//
// Commands (admin = jarvis::Principal::is_admin(), the host's admin role):
//   /help                      the list below
//   /status                    providers, queue depths, scheduler backlog, lockdown/restart
//   /new                       a new thread on the same channel (the current one is closed)
//   /compact                   enqueue compaction of this thread
//   /verbose on|off            whether replies show tool calls and model details
//   /restart                   admin: the host's controlled restart
//   /unlock <code>             admin: clear a lockdown with the current unlock code
//   /lockdown on|off [reason]  admin: set or clear the lockdown
//   /logs trace <id>           the events of a trace — only one the caller may see
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jarvis/json.h"
#include "jarvis/principal.h"
#include "jarvis/system.h"

namespace chat {

/// A parsed command.
struct SlashCommand {
  std::string name;               ///< lower-cased, without the '/' ("" for a lone "/")
  std::vector<std::string> args;  ///< the blank-separated words after the name
  std::string rest;               ///< the text after the name, trimmed (free text: reasons)
};

/// True when `text` is a command (its first non-blank character is '/').
bool is_slash_command(std::string_view text);

/// The form of a user message that may be stored: `/unlock <code>` becomes `/unlock ******` and
/// the code goes to `*secret` (carried to the step in its task payload, never in a row or an
/// event); any other text is returned unchanged and `*secret` is cleared.
std::string storable_command_text(const std::string& text, std::string* secret);

/// The command in `text`, or nullopt when it is not one. The name is the first token (up to the
/// first ASCII blank), lower-cased.
std::optional<SlashCommand> parse_slash(std::string_view text);

/// Who runs the command, where.
struct SlashContext {
  jarvis::Principal principal;
  std::string thread_id;
  std::string trace_id;
  std::string channel;  ///< the thread's channel ("web", "cli", …)

  /// "user:<user id>" — the actor recorded by the host for restarts, unlocks and lockdowns.
  std::string actor() const { return "user:" + principal.user_id; }
};

/// What the commands need from the plugin and host. Methods may throw jarvis::Error (its message
/// is shown; status 501/503 reads as "unavailable"); any other exception is reported as an
/// internal failure without its text. Called on the step's thread.
class SlashEnv {
 public:
  virtual ~SlashEnv() = default;
  /// The host's safety state (host.system()).
  virtual jarvis::SystemControl& system() = 0;
  /// Closes ctx.thread_id and creates a new thread for the same owner and channel; returns its
  /// id.
  virtual std::string new_thread(const SlashContext& ctx) = 0;
  /// Stores the thread's verbose setting.
  virtual void set_verbose(const SlashContext& ctx, bool on) = 0;
  /// Enqueues compaction of ctx.thread_id.
  virtual void enqueue_compaction(const SlashContext& ctx) = 0;
  /// A status snapshot as a JSON object, e.g. {"providers": router.health(), "queues":
  /// {"queued", "running", …}, "scheduler": {backlog fields}, "agents": [ids]}. Give a non-admin
  /// only what they may see (no other users' data, no endpoint URLs or error texts of providers
  /// when those may hold host details).
  virtual jarvis::Json status(const SlashContext& ctx) = 0;
  /// Sets (`on`) or clears the lockdown, recording ctx.actor() and `reason` ("" = none given).
  virtual void set_lockdown(const SlashContext& ctx, bool on, const std::string& reason) = 0;
  /// The events of trace `trace_id` the caller may see (owner-scoped: their own threads; admins
  /// every trace), as a JSON array of objects with at least "type", "component", "created_at",
  /// oldest first. nullopt when there is none the caller may see — the same answer whether the
  /// trace does not exist or belongs to someone else.
  virtual std::optional<jarvis::Json> trace_events(const SlashContext& ctx,
                                                   const std::string& trace_id) = 0;
};

/// The answer to a command.
struct SlashReply {
  std::string command;  ///< the command name as parsed ("" for a lone "/")
  /// "ok", "unknown_command", "forbidden" (admin only), "invalid_arguments", "refused" (e.g. a
  /// wrong unlock code), "not_found", "unavailable" (the feature is missing here) or "failed".
  std::string outcome = "ok";
  std::string text;   ///< plain text for the user
  jarvis::Json data;  ///< structured form (/status: the snapshot; /logs: {trace_id, events})
  /// True when the user's input must not be stored as typed (/unlock carries a code).
  bool redact_input = false;
  std::string stored_input;  ///< what to store instead when redact_input ("/unlock ******")
  std::string detail;  ///< for the operator's log only (an internal error's text); never shown

  bool ok() const { return outcome == "ok"; }
  /// {command, outcome, text, data?} — for the command.executed event (no detail, no input).
  jarvis::Json to_json() const;
};

/// One row of /help.
struct SlashCommandInfo {
  std::string name;
  std::string usage;
  std::string summary;
  bool admin = false;
};

/// Every command, in /help order.
const std::vector<SlashCommandInfo>& slash_commands();

/// Runs `cmd` for `ctx`. Never throws for a user's mistake or an env failure.
SlashReply execute_slash(const SlashCommand& cmd, const SlashContext& ctx, SlashEnv& env);

/// The plain-text rendering of a /status snapshot (also used for /status's reply text).
std::string render_status(const jarvis::Json& snapshot);

}  // namespace chat

// chat/src/store.h — the chat plugin's tables: threads (with their settings), messages,
// summaries, agent steps and per-user daily usage (migrations/001_chat.sql).
//
// Every method takes the soci::session to run on, so the same call works on a plain pooled
// session or inside a jarvis::Transaction (`tx->session()`), next to the events and tasks the
// caller emits there. Access checks are the caller's job (routes: Host::threads()).
//
//   auto tx = host.db().transaction();
//   auto ids = chat::ChatStore::insert_messages(tx->session(), thread_id, {user_message});
//   host.tasks().enqueue("chat.agent_step", {.payload = …}, *tx);
//   tx->commit();
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "jarvis/jarvis.h"

namespace chat {

/// A message to store (ChatStore::insert_messages assigns id, seq and created_at).
struct NewMessage {
  std::string role;  ///< user, assistant, agent, tool or system
  std::string content;
  jarvis::Json tool_calls = nullptr;  ///< assistant: [{id, name, arguments}] or null
  std::string tool_call_id;           ///< tool: the call it answers
  std::string tool_name;              ///< tool: the tool's name
  std::string agent_id;               ///< the agent bundle that produced it ("main")
  std::string provider;
  std::string model;
  long long input_tokens = 0;
  long long output_tokens = 0;
  long long latency_ms = 0;
  std::string step_id;
  std::string trace_id;
  std::string sender;           ///< channel sender (inbound channel messages)
  std::string source_event_id;  ///< channel.inbound event id (dedupe); empty = none
  jarvis::Json meta = jarvis::Json::object();
};

/// A stored message's id and position.
struct StoredMessage {
  std::string id;
  long long seq = 0;
  std::string created_at;
};

/// Filters of a thread list.
struct ThreadQuery {
  std::string owner_id;  ///< empty = every owner (admins with ?all=true)
  std::string status;    ///< empty = any
  std::string channel;   ///< empty = any (?channel=)
  long long limit = 50;
  long long offset = 0;
};

/// Filters of a message page.
struct MessageQuery {
  long long limit = 50;
  long long offset = 0;
  bool newest_first = false;  ///< ?order=desc
  long long before_seq = 0;   ///< > 0: only messages with seq < before_seq (?before=<id>)
};

/// The SQL of the chat plugin. Stateless: every call names its session.
class ChatStore {
 public:
  /// Inserts a thread (status open) and returns it as API JSON.
  static jarvis::Json create_thread(soci::session& sql, const std::string& id,
                                    const std::string& owner_id, const std::string& channel,
                                    const std::string& external_ref, const std::string& title);
  /// The thread as API JSON ({id, owner_id, channel, external_ref, title, status, created_at,
  /// updated_at, settings:{verbose, active_agent_ids, model_override}}), or null.
  static jarvis::Json thread(soci::session& sql, const std::string& id);
  /// The newest open thread of (channel, external_ref) owned by `owner_id`, or null. Never
  /// another user's thread: a conversation is found only for the user the channel plugin names.
  static jarvis::Json thread_by_external(soci::session& sql, const std::string& channel,
                                         const std::string& external_ref,
                                         const std::string& owner_id);
  /// {items, total} of threads matching `q`, newest activity first.
  static std::pair<jarvis::Json, long long> list_threads(soci::session& sql, const ThreadQuery& q);
  /// Applies validated changes: any of title, status, verbose, active_agent_ids (JSON array),
  /// model_override (string or null). Returns false when the thread does not exist.
  static bool update_thread(soci::session& sql, const std::string& id, const jarvis::Json& patch);
  /// Deletes the thread with its messages, summary and steps.
  static void delete_thread(soci::session& sql, const std::string& id);

  /// Stores `messages` in order at the end of the thread (one seq each) and bumps updated_at.
  static std::vector<StoredMessage> insert_messages(soci::session& sql,
                                                    const std::string& thread_id,
                                                    const std::vector<NewMessage>& messages);
  /// Replaces a message's content (a slash command whose input must not be kept: /unlock).
  static void update_message_content(soci::session& sql, const std::string& id,
                                     const std::string& content);
  /// The message as API JSON, or null.
  static jarvis::Json message(soci::session& sql, const std::string& id);
  /// The seq of message `id` in `thread_id`, or nullopt.
  static std::optional<long long> message_seq(soci::session& sql, const std::string& thread_id,
                                              const std::string& id);
  /// {items, total} of the thread's messages matching `q`.
  static std::pair<jarvis::Json, long long> list_messages(soci::session& sql,
                                                          const std::string& thread_id,
                                                          const MessageQuery& q);
  /// The last `limit` messages with seq > after_seq, oldest first (the prompt's tail).
  static jarvis::Json recent_messages(soci::session& sql, const std::string& thread_id,
                                      long long after_seq, long long limit);
  /// The first `limit` messages with seq > after_seq, oldest first (compaction's batches).
  static jarvis::Json oldest_messages_after(soci::session& sql, const std::string& thread_id,
                                            long long after_seq, long long limit);
  /// Messages with seq in (after_seq, up_to_seq], oldest first (compaction input).
  static jarvis::Json messages_between(soci::session& sql, const std::string& thread_id,
                                       long long after_seq, long long up_to_seq);
  /// Number of messages with seq > after_seq.
  static long long count_messages_after(soci::session& sql, const std::string& thread_id,
                                        long long after_seq);
  /// True when a message came from channel.inbound event `event_id` already.
  static bool has_source_event(soci::session& sql, const std::string& event_id);

  /// {summary, covers_seq, method, provider, model, updated_at} or null.
  static jarvis::Json summary(soci::session& sql, const std::string& thread_id);
  /// Replaces the thread's summary.
  static void put_summary(soci::session& sql, const std::string& thread_id, const std::string& text,
                          long long covers_seq, const std::string& method,
                          const std::string& provider, const std::string& model);

  /// Inserts a queued step.
  static void create_step(soci::session& sql, const std::string& id, const std::string& thread_id,
                          const std::string& user_id, const std::string& message_id,
                          const std::string& trace_id);
  /// The step row as JSON, or null.
  static jarvis::Json step(soci::session& sql, const std::string& id);
  /// The oldest queued or running step of the thread (the one a stream follows), or null.
  static jarvis::Json active_step(soci::session& sql, const std::string& thread_id);
  /// Queued or running steps of `user_id` created after `since` (the concurrency limit).
  static long long active_steps_of_user(soci::session& sql, const std::string& user_id,
                                        const std::string& since);
  /// Marks the step running (from queued, or taking over its own earlier run after a crash)
  /// unless another step of the thread is running with a heartbeat newer than `stale_before`, or
  /// an older step of the thread (created after `stale_before`, not cancelled) is still queued:
  /// the steps of a thread run one at a time, in the order of their messages.
  /// Returns the step's status afterwards ("running" when this call may run it).
  static std::string start_step(soci::session& sql, const std::string& id,
                                const std::string& thread_id, const std::string& stale_before);
  /// Updates the step's heartbeat; returns true when a cancel was requested.
  static bool heartbeat_step(soci::session& sql, const std::string& id);
  /// Finishes the step: status done, failed or cancelled.
  static void finish_step(soci::session& sql, const std::string& id, const std::string& status,
                          const std::string& reply_message_id, bool degraded,
                          const std::string& error);
  /// Flags the thread's queued and running steps for cancellation; returns their ids.
  static std::vector<std::string> request_cancel(soci::session& sql, const std::string& thread_id);

  /// Adds tokens to the user's usage of `day` (YYYY-MM-DD) and counts `steps` steps (0 for a
  /// chat.complete call, which is no step but spends the same quota).
  static void add_usage(soci::session& sql, const std::string& user_id, const std::string& day,
                        long long input_tokens, long long output_tokens, long long steps = 1);
  /// Adds one model call's tokens to (day, user, purpose) — the accounting by purpose
  /// (chat.step, chat.compact, or what a chat.complete caller names). `user_id` "" = host work.
  static void add_purpose_usage(soci::session& sql, const std::string& day,
                                const std::string& user_id, const std::string& purpose,
                                long long input_tokens, long long output_tokens);
  /// [{purpose, input_tokens, output_tokens, calls}] of `day`, every user (admins' /status).
  static jarvis::Json purpose_usage(soci::session& sql, const std::string& day);

  /// The thread of channel conversation (channel, external_ref, owner_id) — found or created
  /// exactly once even when two inbound messages of a new conversation are handled at the same
  /// instant (the chat_channel_keys primary key serialises them; decision 0044). Call inside
  /// the transaction that stores the inbound message. `candidate_id` is the id to use when a
  /// new thread is needed (claimed beforehand by the caller). Returns {thread_id, created}:
  /// created = true when this call inserted the thread `candidate_id`.
  static std::pair<std::string, bool> channel_thread(soci::session& sql, const std::string& channel,
                                                     const std::string& external_ref,
                                                     const std::string& owner_id,
                                                     const std::string& candidate_id);

  /// Tokens (in + out) the user spent on `day`.
  static long long tokens_used(soci::session& sql, const std::string& user_id,
                               const std::string& day);
};

/// Today's UTC day, "YYYY-MM-DD" (the quota's unit).
std::string utc_day();

}  // namespace chat

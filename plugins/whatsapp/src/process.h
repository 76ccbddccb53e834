// whatsapp/src/process.h — the task whatsapp.process {message_id}: the slow part of an inbound
// message, outside any transaction — media fetched and stored (media.h), a voice note
// transcribed (voice.h) — then one transaction writes the whatsapp_media row, the final text and
// the channel.inbound event (plus channel.inbound.degraded per refusal). channel.inbound leaves
// in the chat's arrival order: a message that is ready waits for the earlier ones of its chat,
// and whoever emits also emits the ready messages queued behind it.
//
//   Processor p(host, settings, evo, transcriber);
//   host.tasks().add({.name = "whatsapp.process", .handler = [&](auto& c) { return p.run(c); }});
#pragma once

#include "evolution.h"
#include "jarvis/jarvis.h"
#include "media.h"
#include "settings.h"
#include "store.h"
#include "voice.h"

namespace whatsapp {

/// Attempts of whatsapp.process in all; the last one releases the message degraded instead of
/// failing (decision 0064).
inline constexpr int kProcessMaxAttempts = 5;

/// Emits channel.inbound {channel, external_thread, sender, user_id, text, attachments,
/// message_type, whatsapp_message_id, key_id, push_name, is_group, participant?} for `m` in `tx`;
/// returns the event id.
std::string emit_inbound(jarvis::Host& host, jarvis::Transaction& tx, const MessageRow& m,
                         jarvis::Json attachments);

/// Emits channel.inbound for the ready messages of `chat_jid` that no earlier message blocks, in
/// sequence order, and marks them emitted. Runs inside `tx`, after the chat row was locked.
/// Returns how many were emitted.
int emit_ready(jarvis::Host& host, jarvis::Transaction& tx, const std::string& chat_jid);

/// Runs whatsapp.process.
class Processor {
 public:
  Processor(jarvis::Host& host, const Settings& settings, EvolutionClient& evo,
            Transcriber& transcriber)
      : host_(host), s_(settings), evo_(evo), voice_(transcriber) {}

  /// The task handler; idempotent (a message past `received` is left alone). Transient
  /// Evolution failures fetching the media throw (the task retries); on the last attempt, or on
  /// any error that will not be retried, the message is released degraded (release()).
  jarvis::Json run(jarvis::TaskContext& ctx);

  /// Releases a message still `received` whose processing failed for good: a refused
  /// whatsapp_media row with `reason`, a note in the text, channel.inbound.degraded {reason,
  /// detail{message, message_type, external_msg_id, media_id, released: true}}, then the
  /// message and every ready one behind it leave in order. No-op for a message past received.
  jarvis::Json release(const std::string& message_id, const std::string& reason,
                       const std::string& detail);

  /// The task whatsapp.process_dead_letter: a task.dead_letter of whatsapp.process (the worker
  /// died or hung on the last attempt, so run() never saw it) releases that task's message.
  jarvis::Json on_dead_letter(jarvis::TaskContext& ctx);

 private:
  jarvis::Json process_once(jarvis::TaskContext& ctx, const std::string& id, std::string& stage);

  jarvis::Host& host_;
  const Settings& s_;
  EvolutionClient& evo_;
  Transcriber& voice_;
};

}  // namespace whatsapp

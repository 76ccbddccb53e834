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

/// Emits channel.inbound for the ready messages of `chat_jid` that no earlier message blocks, in
/// sequence order, and marks them emitted. Runs inside `tx`, after the chat row was locked.
/// `fresh`: the row just inserted in `tx`, if any (saves reading it back). Returns how many were
/// emitted.
int emit_ready(jarvis::Host& host, jarvis::Transaction& tx, const std::string& chat_jid,
               const MessageRow* fresh = nullptr);

/// Runs whatsapp.process.
class Processor {
 public:
  Processor(jarvis::Host& host, const Settings& settings, EvolutionClient& evo,
            Transcriber& transcriber)
      : host_(host), s_(settings), evo_(evo), voice_(transcriber) {}

  /// The task handler; idempotent (a message past `received` is left alone).
  jarvis::Json run(jarvis::TaskContext& ctx);

 private:
  jarvis::Host& host_;
  const Settings& s_;
  EvolutionClient& evo_;
  Transcriber& voice_;
};

}  // namespace whatsapp

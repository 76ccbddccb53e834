// whatsapp/src/outbound.h — delivering replies: a durable subscription to channel.outbound
// (task whatsapp.deliver) sends each WhatsApp reply with sendText to the thread's chat — the
// group JID for a group thread, never a participant's DM — split at WHATSAPP_MAX_MESSAGE_CHARS;
// 429/5xx/network failures are retried with backoff (the task's retry policy), the last attempt
// or any other 4xx is a dead letter (channel.outbound.dead_letter); nothing is sent in lockdown
// unless WHATSAPP_SEND_DURING_LOCKDOWN=1 (channel.outbound.blocked). Deliveries are keyed by the
// event id (whatsapp_outbound), so at-least-once delivery sends every part once.
//
// With ADMIN_WHATSAPP_IDS set, a durable subscription to lockdown.code_rotated (task
// whatsapp.unlock_code) sends the new unlock code to those numbers — out-of-band, and also in
// lockdown (that is when it is needed).
//
//   register_outbound(host, settings, evo);
#pragma once

#include "evolution.h"
#include "jarvis/jarvis.h"
#include "settings.h"

namespace whatsapp {

/// Registers whatsapp.deliver and whatsapp.unlock_code with their durable subscriptions.
void register_outbound(jarvis::Host& host, const Settings& settings, EvolutionClient& evo);

}  // namespace whatsapp

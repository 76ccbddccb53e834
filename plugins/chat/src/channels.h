// chat/src/channels.h — the chat plugin's side of channels (WhatsApp, Telegram, …): it knows
// no channel, only two events.
//
// Inbound: a channel plugin emits `channel.inbound` {channel, external_thread, sender, text,
// attachments, user_id}. `user_id` is the Jarvis user the channel plugin mapped the sender to
// (its own allow-list or pairing); without it the event's actor (actor_type "user", actor_id)
// is used, and an event naming no user is refused (event `chat.inbound.rejected`). A durable
// subscription (task chat.channel_inbound, at least once, de-duplicated on the event id) finds
// the open thread of (channel, external_thread) — or creates one owned by that user — stores
// the message and enqueues the agent step, in one transaction.
//
// Outbound: every reply stored on a thread whose channel is not web, api or cli emits
// `channel.outbound` {channel, thread_id, recipient (the thread's external_thread), text,
// message_id} in the same transaction (step.cpp), for the channel plugin to deliver.
#pragma once

#include "jarvis/jarvis.h"

namespace chat {

/// Registers the task chat.channel_inbound and its durable subscription to channel.inbound.
void register_channels(jarvis::Host& host, long long daily_token_limit);

}  // namespace chat

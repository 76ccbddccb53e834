// chat/src/channels.cpp — see channels.h.
#include "channels.h"

#include "agent/slash.h"
#include "agent/text_budget.h"
#include "step.h"
#include "store.h"

namespace chat {
namespace {

constexpr std::size_t kMaxInboundBytes = 64 * 1024;

void reject(jarvis::Host& host, const jarvis::Json& event, const std::string& reason) {
  host.log()->warn("chat: channel.inbound {} refused: {}", event.value("id", ""), reason);
  host.metrics().increment("channel_inbound_total", 1, {{"result", "rejected"}});
  host.events().emit({.type = "chat.inbound.rejected",
                      .payload = {{"event_id", event.value("id", "")}, {"reason", reason}},
                      .trace_id = event.value("trace_id", "")});
}

jarvis::Json handle_inbound(jarvis::Host& host, long long daily_token_limit,
                            const jarvis::TaskContext& ctx) {
  const jarvis::Json& event = ctx.payload;
  const std::string event_id = event.value("id", "");
  const jarvis::Json p = event.value("payload", jarvis::Json::object());
  const std::string channel = p.value("channel", "");
  const std::string external = p.contains("external_thread") && p["external_thread"].is_string()
                                   ? p["external_thread"].get<std::string>()
                                   : "";
  std::string text =
      p.contains("text") && p["text"].is_string() ? p["text"].get<std::string>() : "";
  std::string user_id =
      p.contains("user_id") && p["user_id"].is_string() ? p["user_id"].get<std::string>() : "";
  if (user_id.empty() && event.value("actor_type", "") == "user") {
    user_id = event.value("actor_id", "");
  }
  if (event_id.empty()) throw jarvis::bad_request("not an event", "invalid_payload");
  // The subscription is by prefix: channel.inbound.<anything> is not an inbound message.
  if (event.value("type", "") != "channel.inbound") return {{"ignored", event.value("type", "")}};
  if (channel.empty() || channel == "web" || channel == "api" || channel == "cli") {
    reject(host, event, "channel must name a channel plugin's channel");
    return {{"rejected", "channel"}};
  }
  if (external.empty() || external.size() > 256) {
    reject(host, event, "external_thread must be 1 to 256 bytes");
    return {{"rejected", "external_thread"}};
  }
  if (user_id.empty()) {
    reject(host, event, "no user: set payload.user_id to the Jarvis user of the sender");
    return {{"rejected", "user"}};
  }
  if (text.size() > kMaxInboundBytes) text = std::string(utf8_prefix(text, kMaxInboundBytes));
  if (!valid_utf8(text)) {
    reject(host, event, "text is not UTF-8");
    return {{"rejected", "text"}};
  }
  const std::string sender =
      p.contains("sender") && p["sender"].is_string() ? p["sender"].get<std::string>() : "";
  jarvis::Json attachments = p.contains("attachments") && p["attachments"].is_array()
                                 ? p["attachments"]
                                 : jarvis::Json::array();
  if (text.empty() && attachments.empty()) {
    reject(host, event, "neither text nor attachments");
    return {{"rejected", "empty"}};
  }

  bool known = false;  // an open thread of this conversation existed before the transaction
  {
    auto sql = host.db().session();
    if (ChatStore::has_source_event(*sql, event_id)) return {{"duplicate", true}};
    known = !ChatStore::thread_by_external(*sql, channel, external, user_id).is_null();
  }
  // The id a new thread gets. It is claimed before the transaction (the claim is its own write)
  // when the conversation looks new, and released when another handler won the race.
  const std::string candidate = jarvis::new_id("thr");
  if (!known) host.threads().claim(candidate, user_id);
  const std::string owner = user_id;  // a conversation is only ever found among its user's
  const std::string trace_id =
      event.value("trace_id", "").empty() ? jarvis::new_id("trc") : event.value("trace_id", "");
  const std::string step_id = jarvis::new_id("stp");
  auto tx = host.db().transaction();
  auto& sql = tx->session();
  if (ChatStore::has_source_event(sql, event_id)) {
    tx.reset();  // roll back before the claim's own write
    if (!known) host.threads().release(candidate);
    return {{"duplicate", true}};
  }
  // One thread per conversation, also for two inbound messages of a new one at the same instant.
  const auto [thread_id, created] =
      ChatStore::channel_thread(sql, channel, external, user_id, candidate);
  auto settle_claim = [&, thread_id = thread_id, created = created] {
    try {
      if (created && known) host.threads().claim(candidate, user_id);  // closed meanwhile
      if (!created && !known) host.threads().release(candidate);
    } catch (const std::exception& e) {
      host.log()->warn("chat: thread claim of {} not settled: {}", thread_id, e.what());
    }
  };
  jarvis::Json meta = jarvis::Json::object();
  if (!attachments.empty()) meta["attachments"] = attachments;
  std::string secret;  // an unlock code is never stored in the message row
  const std::string stored = storable_command_text(text, &secret);
  auto ids = ChatStore::insert_messages(sql, thread_id,
                                        {{.role = "user",
                                          .content = stored,
                                          .step_id = step_id,
                                          .trace_id = trace_id,
                                          .sender = sender,
                                          .source_event_id = event_id,
                                          .meta = meta}});
  host.events().emit({.type = "message.new",
                      .payload = {{"message_id", ids.front().id},
                                  {"role", "user"},
                                  {"channel", channel},
                                  {"text", stored},
                                  {"step_id", step_id}},
                      .thread_id = thread_id,
                      .trace_id = trace_id,
                      .actor_type = "user",
                      .actor_id = user_id},
                     *tx);
  const bool command = !text.empty() && text[0] == '/';
  if (!command && daily_token_limit > 0 &&
      ChatStore::tokens_used(sql, owner, utc_day()) >= daily_token_limit) {
    // Over quota: a fixed reply instead of a step (the channel still hears back).
    auto reply = ChatStore::insert_messages(
        sql, thread_id,
        {{.role = "assistant",
          .content = "The daily token quota is used up; it resets at 00:00 UTC.",
          .agent_id = "main",
          .trace_id = trace_id,
          .meta = {{"quota_exceeded", true}}}});
    host.events().emit({.type = "channel.outbound",
                        .payload = {{"channel", channel},
                                    {"thread_id", thread_id},
                                    {"recipient", external},
                                    {"text",
                                     "The daily token quota is used up; it resets at "
                                     "00:00 UTC."},
                                    {"message_id", reply.front().id}},
                        .thread_id = thread_id,
                        .trace_id = trace_id,
                        .actor_type = "agent",
                        .actor_id = "agent:main"},
                       *tx);
    tx->commit();
    settle_claim();
    host.metrics().increment("channel_inbound_total", 1, {{"result", "quota_exceeded"}});
    return {{"thread_id", thread_id}, {"quota_exceeded", true}};
  }
  StepRunner::enqueue_step(host, *tx, step_id, thread_id, owner, ids.front().id, trace_id,
                           jarvis::Principal{owner, "", jarvis::Role::User, true}, "", secret);
  tx->commit();
  settle_claim();
  host.metrics().increment("channel_inbound_total", 1, {{"result", "accepted"}});
  return {{"thread_id", thread_id}, {"message_id", ids.front().id}, {"step_id", step_id}};
}

}  // namespace

void register_channels(jarvis::Host& host, long long daily_token_limit) {
  jarvis::Host* h = &host;
  host.tasks().add({.name = "chat.channel_inbound",
                    .description = "Turns a channel.inbound event into a thread message and an "
                                   "agent step",
                    .handler = [h, daily_token_limit](jarvis::TaskContext& ctx) {
                      return handle_inbound(*h, daily_token_limit, ctx);
                    }});
  // Exactly channel.inbound: channel.inbound.degraded and other follow-ups are not messages.
  host.events().subscribe_durable({.type = "channel.inbound", .task = "chat.channel_inbound"});
}

}  // namespace chat

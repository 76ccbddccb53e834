// whatsapp/src/outbound.cpp — see outbound.h.
#include "outbound.h"

#include <fstream>

#include "send_media.h"
#include "store.h"
#include "util.h"

namespace whatsapp {
namespace {

namespace sql = jarvis::sql;

void set_row(jarvis::Host& host, const std::string& event_id, const std::string& status,
             int parts_sent, int attempts, const std::string& error) {
  auto s = host.db().session();
  sql::exec(*s,
            "UPDATE whatsapp_outbound SET status = :s, parts_sent = :p, attempts = :a, "
            "last_error = :e, updated_at = :u WHERE event_id = :i",
            {status, parts_sent, attempts, error.substr(0, 300), jarvis::now_iso(), event_id});
}

jarvis::Json deliver(jarvis::Host& host, const Settings& s, EvolutionClient& evo,
                     jarvis::TaskContext& ctx) {
  const jarvis::Json& ev = ctx.payload;
  if (ev.value("type", "") != "channel.outbound") return {{"ignored", ev.value("type", "")}};
  const jarvis::Json p = ev.value("payload", jarvis::Json::object());
  if (p.value("channel", "") != "whatsapp") return {{"ignored", "channel"}};
  const std::string event_id = ev.value("id", "");
  const std::string chat = p.value("recipient", "");
  const std::string thread_id = p.value("thread_id", "");
  const std::string text =
      p.contains("text") && p["text"].is_string() ? p["text"].get<std::string>() : "";
  std::string attachment_error;
  const std::vector<OutboundAttachment> attachments =
      parse_outbound_attachments(p, &attachment_error);
  if (event_id.empty() || chat.empty() ||
      (text.empty() && attachments.empty() && attachment_error.empty())) {
    return {{"ignored", "empty"}};
  }
  if (!attachment_error.empty()) {
    host.events().emit({.type = "channel.outbound.dead_letter",
                        .payload = {{"channel", "whatsapp"},
                                    {"event_id", event_id},
                                    {"thread_id", thread_id},
                                    {"reason", "invalid_attachments"},
                                    {"error_code", "invalid_attachments"},
                                    {"message", attachment_error}},
                        .thread_id = thread_id});
    return {{"dead", "invalid_attachments"}};
  }
  jarvis::Json row;
  {
    auto sess = host.db().session();
    // Replies go only to chats that wrote to us (the recipient is the thread's external id).
    if (!Store::chat_exists(*sess, chat)) {
      host.events().emit({.type = "channel.outbound.dead_letter",
                          .payload = {{"channel", "whatsapp"},
                                      {"event_id", event_id},
                                      {"thread_id", thread_id},
                                      {"reason", "unknown_chat"},
                                      {"error_code", "unknown_chat"}},
                          .thread_id = thread_id});
      return {{"dead", "unknown_chat"}};
    }
    const std::string now = jarvis::now_iso();
    const std::size_t parts = split_message(text, s.max_message_chars).size() + attachments.size();
    sql::exec(*sess,
              "INSERT INTO whatsapp_outbound(event_id, thread_id, chat_jid, status, parts, "
              "created_at, updated_at) VALUES(:e, :t, :c, 'sending', :p, :ca, :ua) ON CONFLICT "
              "(event_id) DO NOTHING",
              {event_id, thread_id, chat, static_cast<long long>(parts), now, now});
    row = sql::one_row(*sess,
                       "SELECT status, parts_sent, attempts FROM whatsapp_outbound WHERE "
                       "event_id = :e",
                       {event_id});
  }
  const std::string status = row.value("status", "");
  if (status != "sending") return {{"already", status}};
  if (host.system().lockdown() && !s.send_during_lockdown) {
    set_row(host, event_id, "blocked", row.value("parts_sent", 0), row.value("attempts", 0),
            "lockdown");
    host.events().emit(
        {.type = "channel.outbound.blocked",
         .payload = {{"channel", "whatsapp"}, {"event_id", event_id}, {"reason", "lockdown"}},
         .thread_id = thread_id});
    return {{"blocked", "lockdown"}};
  }
  // Every part in order: the text split at the limit, then each attachment (decision 0063).
  const auto texts = split_message(text, s.max_message_chars);
  const std::size_t total = texts.size() + attachments.size();
  int sent = static_cast<int>(row.value("parts_sent", 0LL));
  const int attempts = static_cast<int>(row.value("attempts", 0LL)) + 1;
  for (; sent < static_cast<int>(total); ++sent) {
    const auto index = static_cast<std::size_t>(sent);
    EvoResult r;
    if (index < texts.size()) {
      r = evo.send_text(chat, texts[index]);
    } else {
      AttachmentSend a = send_attachment(host, s, evo, chat, attachments[index - texts.size()]);
      if (!a.refused.empty()) {
        // Refused here, before the gateway: never retried.
        set_row(host, event_id, "dead", sent, attempts, a.refused + ": " + a.detail);
        host.events().emit({.type = "channel.outbound.dead_letter",
                            .payload = {{"channel", "whatsapp"},
                                        {"event_id", event_id},
                                        {"thread_id", thread_id},
                                        {"reason", a.refused},
                                        {"error_code", a.refused},
                                        {"message", a.detail},
                                        {"media_id", attachments[index - texts.size()].media_id},
                                        {"attempts", ctx.attempt},
                                        {"parts_sent", sent}},
                            .thread_id = thread_id});
        host.metrics().increment("whatsapp_outbound_total", 1, {{"result", "dead"}});
        return {{"dead", a.refused}, {"parts_sent", sent}};
      }
      r = a.evo;
    }
    if (r.ok()) {
      set_row(host, event_id, "sending", sent + 1, attempts, "");
      continue;
    }
    const std::string err = r.error + (r.message.empty() ? "" : ": " + r.message);
    const bool last = ctx.attempt >= s.send_max_attempts;
    if (r.retryable() && !last) {
      set_row(host, event_id, "sending", sent, attempts, err);
      host.metrics().increment("whatsapp_outbound_total", 1, {{"result", "retry"}});
      throw std::runtime_error("send failed (" + r.error + "), retrying");
    }
    set_row(host, event_id, "dead", sent, attempts, err);
    host.events().emit({.type = "channel.outbound.dead_letter",
                        .payload = {{"channel", "whatsapp"},
                                    {"event_id", event_id},
                                    {"thread_id", thread_id},
                                    {"reason", r.error},
                                    {"error_code", r.error_code()},
                                    {"status_code", r.status},
                                    {"attempts", ctx.attempt},
                                    {"parts_sent", sent}},
                        .thread_id = thread_id});
    host.metrics().increment("whatsapp_outbound_total", 1, {{"result", "dead"}});
    return {{"dead", r.error}, {"parts_sent", sent}};
  }
  set_row(host, event_id, "sent", sent, attempts, "");
  host.events().emit({.type = "channel.outbound.sent",
                      .payload = {{"channel", "whatsapp"},
                                  {"event_id", event_id},
                                  {"parts", static_cast<long long>(total)},
                                  {"attachments", static_cast<long long>(attachments.size())},
                                  {"attempts", ctx.attempt}},
                      .thread_id = thread_id});
  host.metrics().increment("whatsapp_outbound_total", 1, {{"result", "sent"}});
  return {{"sent", total}};
}

jarvis::Json unlock_code(jarvis::Host& host, const Settings& s, EvolutionClient& evo,
                         jarvis::TaskContext& ctx) {
  const jarvis::Json& ev = ctx.payload;
  if (ev.value("type", "") != "lockdown.code_rotated") return {{"ignored", ev.value("type", "")}};
  if (s.admin_ids.empty()) return {{"skipped", "ADMIN_WHATSAPP_IDS is not set"}};
  const jarvis::Json p = ev.value("payload", jarvis::Json::object());
  const std::string path = p.value("path", "");
  std::string code;
  {
    std::ifstream in(path);
    std::getline(in, code);
  }
  code = jarvis::trimmed(code);
  if (code.empty()) return {{"skipped", "unlock code file unreadable"}};
  const std::string event_id = ev.value("id", "");
  int delivered = 0;
  for (const auto& number : s.admin_ids) {
    const std::string key = event_id + ":" + number;
    {
      auto sess = host.db().session();
      const std::string now = jarvis::now_iso();
      if (sql::exec(*sess,
                    "INSERT INTO whatsapp_outbound(event_id, chat_jid, status, created_at, "
                    "updated_at) VALUES(:e, :c, 'sending', :ca, :ua) ON CONFLICT (event_id) DO "
                    "NOTHING",
                    {key, number + "@s.whatsapp.net", now, now}) == 0) {
        const std::string st = sql::one_row(*sess,
                                            "SELECT status FROM whatsapp_outbound WHERE "
                                            "event_id = :e",
                                            {key})
                                   .value("status", "");
        if (st != "sending") continue;
      }
    }
    EvoResult r =
        evo.send_text(number + "@s.whatsapp.net", "Jarvis unlock code: " + code + " (valid until " +
                                                      p.value("expires_at", "?") + ")");
    if (!r.ok()) {
      set_row(host, key, r.retryable() && ctx.attempt < s.send_max_attempts ? "sending" : "dead", 0,
              ctx.attempt, r.error);
      if (r.retryable() && ctx.attempt < s.send_max_attempts) {
        throw std::runtime_error("unlock code delivery failed (" + r.error + "), retrying");
      }
      continue;
    }
    set_row(host, key, "sent", 1, ctx.attempt, "");
    ++delivered;
  }
  host.events().emit({.type = "whatsapp.unlock_code.delivered",
                      .payload = {{"recipients", delivered}, {"rotation_event", event_id}}});
  return {{"delivered", delivered}};
}

}  // namespace

void register_outbound(jarvis::Host& host, const Settings& settings, EvolutionClient& evo) {
  jarvis::Host* h = &host;
  const Settings* s = &settings;
  EvolutionClient* e = &evo;
  const jarvis::RetryPolicy retry{
      .max_attempts = settings.send_max_attempts,
      .initial_backoff = std::chrono::milliseconds(settings.send_backoff_ms),
      .multiplier = 4.0,
      .max_backoff = std::chrono::milliseconds(600000)};
  host.tasks().add({.name = "whatsapp.deliver",
                    .description = "Sends a channel.outbound reply to its WhatsApp chat",
                    .handler = [h, s, e](jarvis::TaskContext& c) { return deliver(*h, *s, *e, c); },
                    .retry = retry,
                    .timeout = std::chrono::seconds(300)});
  // Exactly channel.outbound: its outcomes (channel.outbound.sent, .dead_letter, .blocked) are
  // events too, and a prefix would queue a no-op whatsapp.deliver for each of them.
  host.events().subscribe_durable({.type = "channel.outbound", .task = "whatsapp.deliver"});
  host.tasks().add(
      {.name = "whatsapp.unlock_code",
       .description = "Sends a rotated unlock code to ADMIN_WHATSAPP_IDS",
       .handler = [h, s, e](jarvis::TaskContext& c) { return unlock_code(*h, *s, *e, c); },
       .retry = retry});
  host.events().subscribe_durable(
      {.type = "lockdown.code_rotated", .task = "whatsapp.unlock_code"});
}

}  // namespace whatsapp

// whatsapp/src/ingest.cpp — see ingest.h.
#include "ingest.h"

#include <algorithm>

#include "process.h"
#include "store.h"
#include "util.h"

namespace whatsapp {
namespace {

std::string preview_of(const Inbound& m) {
  std::string p = m.text.empty() ? "[" + m.kind + "]" : m.text;
  if (p.size() > 200) p = p.substr(0, 200);
  return sanitize_utf8(p);
}

}  // namespace

bool Ingest::allowlisted(const std::string& sender) const {
  const std::string d = normalize_number(sender);
  if (d.empty()) return false;
  return std::find(s_.allowed_senders.begin(), s_.allowed_senders.end(), d) !=
             s_.allowed_senders.end() ||
         std::find(s_.admin_ids.begin(), s_.admin_ids.end(), d) != s_.admin_ids.end();
}

Admission Ingest::admit(const Inbound& m, bool replay) {
  // Announced before the pre-check, so a group-commit leader starting meanwhile waits for this
  // message instead of committing without it (decision 0093). Ends on every early return.
  jarvis::GroupCommit::Arrival arrival = commits_.arrive();
  AdmitFacts facts;
  {
    auto sql = host_.db().session();
    facts = Store::admit_facts(*sql, s_.instance, m.key_id, m.sender);  // one statement
  }
  if (facts.seen) return {.result = "duplicate"};
  const std::optional<std::string>& decision = facts.decision;
  const bool allowed_before = decision && *decision == "allowed";
  const bool denied = decision && *decision == "denied";
  if (!replay && !allowlisted(m.sender)) {
    if (denied) {
      host_.events().emit({.type = "channel.inbound.blocked",
                           .payload = {{"channel", "whatsapp"},
                                       {"reason", "sender_denied"},
                                       {"sender", m.sender},
                                       {"chat_jid", m.chat_jid},
                                       {"key_id", m.key_id}},
                           .actor_type = "system",
                           .actor_id = "whatsapp"});
      host_.metrics().increment("whatsapp_inbound_total", 1, {{"result", "blocked"}});
      return {.result = "blocked"};
    }
    const bool review = s_.review_mode == ReviewMode::Strict
                            ? !allowed_before
                            : s_.review_mode == ReviewMode::UnknownOnly && !decision.has_value();
    if (review) {
      const std::string id = jarvis::new_id("wrv");
      auto tx = host_.db().transaction();
      const bool fresh = Store::hold(tx->session(), id, s_.instance, m.sender, m.key_id, m.chat_jid,
                                     m.push_name, preview_of(m), m.data.dump());
      if (!fresh) return {.result = "held_again"};  // Evolution retried a held message
      host_.events().emit({.type = "channel.inbound.review_required",
                           .payload = {{"channel", "whatsapp"},
                                       {"review_id", id},
                                       {"reason", "unknown_sender"},
                                       {"sender", m.sender},
                                       {"chat_jid", m.chat_jid},
                                       {"key_id", m.key_id},
                                       {"push_name", m.push_name},
                                       {"review_mode", to_string(s_.review_mode)}},
                           .actor_type = "system",
                           .actor_id = "whatsapp"},
                          *tx);
      tx->commit();
      host_.metrics().increment("whatsapp_inbound_total", 1, {{"result", "held"}});
      return {.result = "held", .review_id = id};
    }
  }
  MessageRow row{.id = jarvis::new_id("wam"),
                 .instance = s_.instance,
                 .key_id = m.key_id,
                 .chat_jid = m.chat_jid,
                 .sender = m.sender,
                 .participant = m.participant,
                 .push_name = m.push_name,
                 .kind = m.kind,
                 .text = sanitize_utf8(m.text),
                 .payload = m.data.dump(),
                 .status = m.kind == "reaction" ? "recorded" : "received"};
  if (!m.media && m.kind != "reaction") {
    row.status = "ready";  // nothing slow to do (see below)
    if (row.text.empty()) row.text = "[unsupported message]";
  }
  // The rows of one admitted message, written in a transaction shared with the other webhook
  // requests in flight (group commit, decision 0065). The work may run twice (in a batch that
  // failed, then alone): it starts from `row` every time and only writes its outputs.
  MessageRow stored;
  auto work = [&](jarvis::Transaction& tx) {
    MessageRow r = row;
    auto& sql = tx.session();
    if (!facts.sender_known) Store::ensure_sender(sql, m.sender);
    ChatRef chat = Store::bump_chat(sql, m.chat_jid, m.is_group);  // one UPDATE … RETURNING
    r.seq = chat.seq;
    r.user_id = chat.user_id;
    if (m.media) {
      // The task exists only once the transaction commits; its id lets a task.dead_letter find
      // the message it held back (decision 0064).
      r.process_task = host_.tasks().enqueue(
          "whatsapp.process",
          {.payload = {{"message_id", r.id}}, .idempotency_key = "whatsapp.process:" + r.id}, tx);
    } else if (m.kind != "reaction" && !Store::chat_has_pending(sql, m.chat_jid)) {
      // The fast path: nothing of the chat is pending, so the message leaves now and is stored
      // already emitted — no second write, never in the pending index.
      r.event_id = emit_inbound(host_, tx, r, jarvis::Json::array());
      r.status = "emitted";
    }
    // Otherwise a text message is stored ready; the earlier message's task emits it in order.
    if (!Store::insert_message(sql, r)) return false;  // a duplicate: roll back event and task
    if (m.kind == "reaction") {
      // Recorded, never answered: no task, no channel.inbound.
      host_.events().emit({.type = "whatsapp.reaction",
                           .payload = {{"message_id", r.id},
                                       {"sender", m.sender},
                                       {"chat_jid", m.chat_jid},
                                       {"emoji", sanitize_utf8(m.text)},
                                       {"target_key_id", m.reaction_target}},
                           .actor_type = "user",
                           .actor_id = chat.user_id},
                          tx);
    } else if (r.status == "ready") {
      // Stored ready behind a pending message: emit whatever no received message blocks
      // (normally nothing; the earlier message's task emits it).
      emit_ready(host_, tx, m.chat_jid);
    }
    stored = r;
    return true;
  };
  if (!commits_.run(arrival, work)) return {.result = "duplicate"};
  if (m.kind == "reaction") {
    host_.metrics().increment("whatsapp_inbound_total", 1, {{"result", "reaction"}});
    return {.result = "recorded", .message_id = stored.id};
  }
  host_.metrics().increment("whatsapp_inbound_total", 1, {{"result", "stored"}});
  return {.result = "stored", .message_id = stored.id};
}

void register_webhook(jarvis::Host& host, Ingest& ingest, const Settings& settings) {
  Ingest* in = &ingest;
  jarvis::Host* h = &host;
  const Settings* s = &settings;
  auto handler = [in, h, s](jarvis::Request& req) {
    if (s->webhook_secret.empty()) {
      throw jarvis::Error(503, "webhook_not_configured",
                          "WHATSAPP_WEBHOOK_SECRET is not set: inbound WhatsApp is refused");
    }
    const std::string given = req.headers.get("X-WhatsApp-Secret").value_or("");
    // Compare digests: constant time, and the secret's length is not revealed either.
    if (!jarvis::constant_time_equals(jarvis::sha256(given),
                                      jarvis::sha256(s->webhook_secret.reveal()))) {
      throw jarvis::Error(401, "invalid_webhook_secret", "X-WhatsApp-Secret does not match");
    }
    if (h->system().restarting()) {
      throw jarvis::Error(503, "restarting", "the host is restarting; retry later");
    }
    jarvis::Json body = req.json_body();
    const std::string hint = req.path_params.count("event") ? req.path_params.at("event") : "";
    ParsedDelivery d = parse_delivery(body, hint);
    if (!d.supported) {
      return jarvis::Response::json(
          202, {{"accepted", true}, {"ignored", true}, {"event", d.event.substr(0, 64)}});
    }
    jarvis::Json counts{{"stored", 0},  {"duplicate", 0}, {"held", 0},
                        {"blocked", 0}, {"recorded", 0},  {"skipped", d.skipped}};
    jarvis::Json ids = jarvis::Json::array();
    for (const Inbound& m : d.messages) {
      Admission a = in->admit(m);
      std::string k = a.result == "held_again" ? "held" : a.result;
      counts[k] = counts[k].get<int>() + 1;
      if (!a.message_id.empty()) ids.push_back(a.message_id);
    }
    jarvis::Json out{{"accepted", true}, {"counts", counts}, {"message_ids", ids}};
    if (d.messages.empty()) out["ignored"] = true;
    if (counts["held"].get<int>() > 0) out["queued_for_review"] = true;
    if (counts["blocked"].get<int>() > 0) out["blocked_sender"] = true;
    return jarvis::Response::json(200, out);
  };
  // Inline base64 media (Evolution's webhook base64: true) makes bodies large.
  long long max_body =
      std::min<long long>(64LL << 20, settings.media_max_bytes / 3 * 4 + (1 << 20));
  for (const char* path : {"/api/v1/webhooks/whatsapp", "/api/v1/webhooks/whatsapp/{event}"}) {
    host.routes().add({.method = "POST",
                       .path = path,
                       .auth = jarvis::Auth::Webhook,
                       .summary = "Evolution API deliveries (messages.upsert); X-WhatsApp-Secret "
                                  "required (503 webhook_not_configured when unset, 401 when "
                                  "wrong); 200 once stored, 202 for ignored events",
                       .handler = handler,
                       .max_body_bytes = static_cast<std::size_t>(std::max(max_body, 1LL << 20))});
  }
}

}  // namespace whatsapp

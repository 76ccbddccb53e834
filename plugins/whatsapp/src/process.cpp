// whatsapp/src/process.cpp — see process.h.
#include "process.h"

#include "inbound.h"
#include "store.h"
#include "util.h"

namespace whatsapp {

std::string emit_inbound(jarvis::Host& host, jarvis::Transaction& tx, const MessageRow& m,
                         jarvis::Json attachments) {
  jarvis::Json payload{
      {"channel", "whatsapp"},
      {"external_thread", m.chat_jid},
      {"sender", m.sender},
      {"user_id", m.user_id},
      {"text", m.text},
      {"attachments", std::move(attachments)},
      {"message_type", m.kind},
      {"whatsapp_message_id", m.id},
      {"key_id", m.key_id},
      {"push_name", m.push_name},
      {"is_group",
       m.chat_jid.size() > 5 && m.chat_jid.compare(m.chat_jid.size() - 5, 5, "@g.us") == 0}};
  if (!m.participant.empty()) payload["participant"] = m.participant;
  return host.events().emit(
      {.type = "channel.inbound", .payload = payload, .actor_type = "user", .actor_id = m.user_id},
      tx);
}

int emit_ready(jarvis::Host& host, jarvis::Transaction& tx, const std::string& chat_jid) {
  auto& sql = tx.session();
  // The partial index idx_whatsapp_messages_pending holds exactly these rows (migration 002).
  jarvis::Json rows = jarvis::sql::all_rows(
      sql,
      "SELECT id, status FROM whatsapp_messages WHERE chat_jid = :c AND status IN ('received', "
      "'ready') ORDER BY seq",
      {chat_jid});
  int emitted = 0;
  for (const auto& r : rows) {
    if (r["status"] != "ready") break;  // an earlier message is still being processed
    std::optional<MessageRow> m = Store::message(sql, r["id"].get<std::string>());
    if (!m) continue;
    jarvis::Json attachments = jarvis::sql::all_rows(
        sql,
        "SELECT id AS media_id, kind, mime, size_bytes, status, reason, transcript, "
        "transcription_status FROM whatsapp_media WHERE message_id = :m ORDER BY created_at",
        {m->id});
    for (auto& a : attachments) {
      for (auto it = a.begin(); it != a.end();) {
        it = it.value().is_null() ? a.erase(it) : std::next(it);
      }
    }
    const std::string event_id = emit_inbound(host, tx, *m, std::move(attachments));
    Store::update_message(sql, m->id, "emitted", m->text, event_id);
    ++emitted;
  }
  return emitted;
}

namespace {

std::string inline_base64_of(const jarvis::Json& data) {
  if (!data.contains("message") || !data["message"].is_object()) return "";
  const auto& msg = data["message"];
  return msg.contains("base64") && msg["base64"].is_string() ? msg["base64"].get<std::string>()
                                                             : "";
}

}  // namespace

jarvis::Json Processor::run(jarvis::TaskContext& ctx) {
  const std::string id = ctx.payload.value("message_id", "");
  // The reason code a failure at this point means: media_download_failed until the file is
  // stored, voice_transcription_failed while transcribing.
  std::string stage = "media_download_failed";
  try {
    return process_once(ctx, id, stage);
  } catch (const std::exception& e) {
    const auto* err = dynamic_cast<const jarvis::Error*>(&e);
    // A 4xx jarvis::Error (other than 408/429) fails the task at once: no later attempt.
    const bool permanent = err && err->status() >= 400 && err->status() < 500 &&
                           err->status() != 408 && err->status() != 429;
    if (ctx.attempt < kProcessMaxAttempts && !permanent) throw;
    host_.metrics().increment("whatsapp_process_released_total", 1, {{"reason", stage}});
    std::string what = e.what();
    if (what.size() > 200) what.resize(200);
    return release(id, stage,
                   "processing failed on attempt " + std::to_string(ctx.attempt) + ": " + what);
  }
}

jarvis::Json Processor::release(const std::string& id, const std::string& reason,
                                const std::string& detail) {
  std::optional<MessageRow> m;
  {
    auto sql = host_.db().session();
    m = Store::message(*sql, id);
  }
  if (!m) return {{"missing", id}};
  if (m->status != "received") return {{"already", m->status}};
  auto tx = host_.db().transaction();
  auto& sql = tx->session();
  Store::lock_chat(sql, m->chat_jid);
  auto again = Store::message(sql, id);
  if (!again || again->status != "received") return {{"already", again ? again->status : ""}};
  const std::string media_id = jarvis::new_id("wmd");
  const std::string now = jarvis::now_iso();
  jarvis::sql::exec(sql,
                    "INSERT INTO whatsapp_media(id, message_id, chat_jid, kind, size_bytes, "
                    "status, reason, created_at) VALUES(:i, :m, :c, :k, 0, 'refused', :r, :ca)",
                    {media_id, id, again->chat_jid, again->kind, reason, now});
  const std::string note = reason == "voice_transcription_failed"
                               ? "[voice note could not be transcribed: " + reason + "]"
                               : "[" + again->kind + " not delivered: " + reason + "]";
  const std::string text = sanitize_utf8(again->text.empty() ? note : again->text + "\n" + note);
  host_.events().emit({.type = "channel.inbound.degraded",
                       .payload = {{"channel", "whatsapp"},
                                   {"reason", reason},
                                   {"detail",
                                    {{"message", detail},
                                     {"message_type", again->kind},
                                     {"external_msg_id", again->key_id},
                                     {"media_id", media_id},
                                     {"released", true}}}},
                       .actor_type = "system",
                       .actor_id = "whatsapp"},
                      *tx);
  host_.metrics().increment("whatsapp_degraded_total", 1, {{"reason", reason}});
  Store::update_message(sql, id, "ready", text);
  const int emitted = emit_ready(host_, *tx, again->chat_jid);
  tx->commit();
  return {{"message_id", id}, {"released", reason}, {"emitted", emitted}};
}

jarvis::Json Processor::on_dead_letter(jarvis::TaskContext& ctx) {
  const jarvis::Json& ev = ctx.payload;
  if (ev.value("type", "") != "task.dead_letter") return {{"ignored", ev.value("type", "")}};
  const jarvis::Json p = ev.value("payload", jarvis::Json::object());
  if (p.value("name", "") != "whatsapp.process") return {{"ignored", p.value("name", "")}};
  const std::string task_id = p.value("task_id", "");
  if (task_id.empty()) return {{"ignored", "no task_id"}};
  jarvis::Json row;
  {
    auto sql = host_.db().session();
    row = jarvis::sql::one_row(*sql,
                               "SELECT id FROM whatsapp_messages WHERE process_task = :t AND "
                               "status = 'received'",
                               {task_id});
  }
  if (row.is_null()) return {{"nothing_held", task_id}};
  std::string last = p.value("last_error", "");
  if (last.size() > 200) last.resize(200);
  return release(row["id"].get<std::string>(), "media_download_failed",
                 "whatsapp.process dead-lettered: " + last);
}

jarvis::Json Processor::process_once(jarvis::TaskContext& ctx, const std::string& id,
                                     std::string& stage) {
  std::optional<MessageRow> m;
  {
    auto sql = host_.db().session();
    m = Store::message(*sql, id);
  }
  if (!m) return {{"missing", id}};
  if (m->status != "received") return {{"already", m->status}};
  jarvis::Json data = jarvis::parse_json(m->payload);
  std::optional<Inbound> in = parse_record(data);
  std::string text = m->text;
  struct MediaRow {
    std::string id, kind, declared, mime, path, sha, reason, transcript, tstatus, backend;
    long long size = 0;
  };
  std::optional<MediaRow> media;
  std::vector<std::pair<std::string, std::string>> degraded;  // reason, detail
  if (in && in->media) {
    const MediaRef& ref = *in->media;
    MediaRow row{.id = jarvis::new_id("wmd"), .kind = ref.kind, .declared = ref.declared_mime};
    MediaFetcher fetcher(host_.http(), evo_, MediaPolicy::from(s_));
    MediaOutcome o = fetcher.fetch({.key_id = m->key_id,
                                    .ref = ref,
                                    .inline_base64 = inline_base64_of(data),
                                    .media_id = row.id,
                                    .cancel = jarvis::CancelToken::when(ctx.should_stop)});
    if (!o.stored() && o.retryable && ctx.attempt < kProcessMaxAttempts) {
      // Evolution is down or busy: try again later (the chat's later messages wait, bounded by
      // the retry policy; the last attempt delivers the message degraded).
      throw std::runtime_error(o.detail + " (retrying)");
    }
    row.mime = o.mime;
    row.size = o.size;
    row.path = o.path;
    row.sha = o.sha256;
    if (!o.stored()) {
      row.reason = o.reason;
      degraded.emplace_back(o.reason, o.detail);
      const std::string note = "[" + ref.kind + " not delivered: " + o.reason + "]";
      text = text.empty() ? note : text + "\n" + note;
    } else if (ref.kind == "audio" && s_.voice_enabled) {
      stage = "voice_transcription_failed";
      Transcription t =
          voice_.transcribe(o.path, o.mime, jarvis::CancelToken::when(ctx.should_stop));
      row.backend = t.backend;
      row.tstatus = t.status();
      host_.metrics().increment("whatsapp_transcriptions_total", 1,
                                {{"backend", t.backend}, {"status", t.status()}});
      if (t.ok()) {
        row.transcript = t.text;
        // The transcript is the message: a spoken "/status" is a command.
        text = text.empty() ? t.text : t.text + "\n" + text;
      } else {
        degraded.emplace_back(t.reason, t.detail);
        const std::string note = "[voice note could not be transcribed: " + t.reason + "]";
        text = text.empty() ? note : text + "\n" + note;
      }
    } else if (text.empty()) {
      text = "[" + ref.kind + "]";
    }
    media = row;
  } else if (m->kind == "unknown" && text.empty()) {
    text = "[unsupported message]";
  }
  text = sanitize_utf8(text);

  auto tx = host_.db().transaction();
  auto& sql = tx->session();
  Store::lock_chat(sql, m->chat_jid);
  auto again = Store::message(sql, id);
  if (!again || again->status != "received") return {{"already", again ? again->status : ""}};
  if (media) {
    jarvis::sql::exec(
        sql,
        "INSERT INTO whatsapp_media(id, message_id, chat_jid, kind, declared_mime, mime, "
        "size_bytes, sha256, path, status, reason, transcript, transcription_status, "
        "transcription_backend, created_at) VALUES(:i, :m, :c, :k, :d, :mi, :s, :h, :p, :st, :r, "
        ":t, :ts, :tb, :ca)",
        {media->id, m->id, m->chat_jid, media->kind, media->declared,
         media->mime.empty() ? jarvis::sql::Bind::null() : jarvis::sql::Bind(media->mime),
         media->size,
         media->sha.empty() ? jarvis::sql::Bind::null() : jarvis::sql::Bind(media->sha),
         media->path.empty() ? jarvis::sql::Bind::null() : jarvis::sql::Bind(media->path),
         media->reason.empty() ? "stored" : "refused",
         media->reason.empty() ? jarvis::sql::Bind::null() : jarvis::sql::Bind(media->reason),
         media->transcript.empty() ? jarvis::sql::Bind::null()
                                   : jarvis::sql::Bind(media->transcript),
         media->tstatus.empty() ? jarvis::sql::Bind::null() : jarvis::sql::Bind(media->tstatus),
         media->backend.empty() ? jarvis::sql::Bind::null() : jarvis::sql::Bind(media->backend),
         jarvis::now_iso()});
  }
  for (const auto& [reason, detail] : degraded) {
    host_.events().emit({.type = "channel.inbound.degraded",
                         .payload = {{"channel", "whatsapp"},
                                     {"reason", reason},
                                     {"detail",
                                      {{"message", detail},
                                       {"message_type", m->kind},
                                       {"external_msg_id", m->key_id},
                                       {"media_id", media ? media->id : ""}}}},
                         .actor_type = "system",
                         .actor_id = "whatsapp"},
                        *tx);
    host_.metrics().increment("whatsapp_degraded_total", 1, {{"reason", reason}});
  }
  Store::update_message(sql, id, "ready", text);
  const int emitted = emit_ready(host_, *tx, m->chat_jid);
  tx->commit();
  return {{"message_id", id}, {"emitted", emitted}, {"degraded", degraded.size()}};
}

}  // namespace whatsapp

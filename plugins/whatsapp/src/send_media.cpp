// whatsapp/src/send_media.cpp — see send_media.h.
#include "send_media.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "util.h"

namespace whatsapp {
namespace send_media_detail {

constexpr std::size_t kMaxAttachments = 10;

AttachmentSend refusal(std::string code, std::string detail) {
  AttachmentSend r;
  r.refused = std::move(code);
  r.detail = std::move(detail);
  return r;
}

// Reads a regular file without following a symlink, at most `max` bytes (+1 to detect more).
std::optional<std::string> read_media_file(const std::string& path, long long max, bool* too_big) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return std::nullopt;
  }
  if (st.st_size > max) {
    ::close(fd);
    *too_big = true;
    return std::nullopt;
  }
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (static_cast<long long>(out.size()) > max) {
      ::close(fd);
      *too_big = true;
      return std::nullopt;
    }
  }
  ::close(fd);
  return out;
}

std::string mediatype_for(const std::string& mime) {
  if (mime.rfind("image/", 0) == 0) return "image";
  if (mime.rfind("video/", 0) == 0) return "video";
  if (mime.rfind("audio/", 0) == 0) return "audio";
  return "document";
}

bool mime_allowed(const Settings& s, const std::string& mime) {
  for (const auto& p : s.media_mime_prefixes) {
    if (!p.empty() && mime.rfind(jarvis::ascii_lower(p), 0) == 0) return true;
  }
  return false;
}

}  // namespace send_media_detail

std::vector<OutboundAttachment> parse_outbound_attachments(const jarvis::Json& payload,
                                                           std::string* error) {
  std::vector<OutboundAttachment> out;
  if (!payload.contains("attachments") || payload["attachments"].is_null()) return out;
  const jarvis::Json& list = payload["attachments"];
  if (!list.is_array() || list.size() > send_media_detail::kMaxAttachments) {
    *error = "attachments must be a list of at most 10 items";
    return {};
  }
  for (const auto& item : list) {
    if (!item.is_object() || !item.contains("media_id") || !item["media_id"].is_string() ||
        item["media_id"].get<std::string>().empty() ||
        item["media_id"].get<std::string>().size() > 64) {
      *error = "each attachment needs a media_id";
      return {};
    }
    OutboundAttachment a{.media_id = item["media_id"].get<std::string>()};
    if (item.contains("caption") && item["caption"].is_string()) {
      a.caption = sanitize_utf8(item["caption"].get<std::string>().substr(0, 1024));
    }
    a.voice = item.contains("voice") && item["voice"].is_boolean() && item["voice"].get<bool>();
    out.push_back(std::move(a));
  }
  return out;
}

AttachmentSend send_attachment(jarvis::Host& host, const Settings& s, EvolutionClient& evo,
                               const std::string& chat_jid, const OutboundAttachment& a) {
  using send_media_detail::refusal;
  jarvis::Json row;
  {
    auto sql = host.db().session();
    row = jarvis::sql::one_row(
        *sql, "SELECT chat_jid, status, path FROM whatsapp_media WHERE id = :i", {a.media_id});
  }
  // Only a chat's own stored media goes back to it (the owner scope of the thread).
  if (row.is_null() || row.value("chat_jid", "") != chat_jid ||
      row.value("status", "") != "stored" || !row["path"].is_string()) {
    return refusal("media_not_found", "no stored media " + a.media_id + " of this chat");
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path root = fs::canonical(s.media_dir, ec);
  const fs::path path = row["path"].get<std::string>();
  if (ec || path.parent_path() != root) {
    return refusal("media_path_unsafe", "the media file is not inside WHATSAPP_MEDIA_DIR");
  }
  bool too_big = false;
  auto bytes = send_media_detail::read_media_file(path.string(), s.media_max_bytes, &too_big);
  if (!bytes) {
    return too_big ? refusal("media_size_exceeded", "larger than WHATSAPP_MEDIA_MAX_BYTES")
                   : refusal("media_path_unsafe", "the media file cannot be read (or is a link)");
  }
  const std::string mime = sniff_mime(std::string_view(*bytes).substr(0, 64));
  if (!send_media_detail::mime_allowed(s, mime)) {
    return refusal("media_mime_denied", "type " + mime + " is not allowed");
  }
  AttachmentSend r;
  if (a.voice) {
    if (mime.rfind("audio/", 0) != 0) {
      return refusal("media_mime_denied", "a voice note must be audio, not " + mime);
    }
    r.evo = evo.send_audio(chat_jid, base64_encode(*bytes));
    return r;
  }
  r.evo = evo.send_media(chat_jid, send_media_detail::mediatype_for(mime), mime,
                         base64_encode(*bytes), a.media_id + "." + extension_for(mime), a.caption);
  return r;
}

void register_media_tool(jarvis::Host& host, const Settings& settings) {
  jarvis::Host* h = &host;
  (void)settings;
  host.tools().add(
      {.name = "whatsapp.send_media",
       .description = "Send a stored WhatsApp media item (an image, document, video or audio a "
                      "chat sent) back to that chat, optionally with a caption, or as a voice note "
                      "(voice: true, audio only). Delivered like a reply: retried, dead-lettered, "
                      "held back in lockdown.",
       .parameters = {{"type", "object"},
                      {"properties",
                       {{"media_id", {{"type", "string"}, {"minLength", 1}, {"maxLength", 64}}},
                        {"caption", {{"type", "string"}, {"maxLength", 1024}}},
                        {"voice", {{"type", "boolean"}}}}},
                      {"required", {"media_id"}},
                      {"additionalProperties", false}},
       .is_protected = true,
       .handler = [h](const jarvis::ToolCall& call) -> jarvis::Json {
         const std::string media_id = call.args.value("media_id", "");
         const bool voice = call.args.value("voice", false);
         jarvis::Json row;
         {
           auto sql = h->db().session();
           row = jarvis::sql::one_row(*sql,
                                      "SELECT m.chat_jid, m.status, m.mime, c.user_id FROM "
                                      "whatsapp_media m JOIN whatsapp_chats c ON c.chat_jid = "
                                      "m.chat_jid WHERE m.id = :i",
                                      {media_id});
         }
         // Someone else's media answers exactly like a missing one.
         if (row.is_null() || !call.caller.may_access(row.value("user_id", ""))) {
           throw jarvis::not_found("no media " + media_id, "media_not_found");
         }
         if (row.value("status", "") != "stored") {
           throw jarvis::conflict("media " + media_id + " was refused, not stored",
                                  "media_not_stored");
         }
         const std::string mime = row["mime"].is_string() ? row["mime"].get<std::string>() : "";
         if (voice && mime.rfind("audio/", 0) != 0) {
           throw jarvis::unprocessable("a voice note must be audio, not " + mime, "not_audio");
         }
         jarvis::Json item{{"media_id", media_id}, {"voice", voice}};
         if (call.args.contains("caption")) item["caption"] = call.args["caption"];
         const std::string chat = row["chat_jid"].get<std::string>();
         const std::string event_id =
             h->events().emit({.type = "channel.outbound",
                               .payload = {{"channel", "whatsapp"},
                                           {"thread_id", call.thread_id},
                                           {"recipient", chat},
                                           {"text", ""},
                                           {"attachments", jarvis::Json::array({item})},
                                           {"requested_by", call.permission_principal()}},
                               .thread_id = call.thread_id,
                               .trace_id = call.trace_id,
                               .actor_type = call.agent_id.empty() ? "user" : "agent",
                               .actor_id = call.permission_principal()});
         return {{"queued", true}, {"event_id", event_id}, {"recipient", chat}};
       }});
}

}  // namespace whatsapp

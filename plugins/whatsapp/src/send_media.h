// whatsapp/src/send_media.h — outbound media and voice notes (decision 0063).
//
// A channel.outbound event for a WhatsApp thread may carry `attachments`: up to 10 items
// {media_id, caption?, voice?} naming stored whatsapp_media rows of the same chat. whatsapp.deliver
// sends the text parts first, then each attachment — sendMedia {number, mediatype, mimetype, media
// (base64), fileName, caption} or, with voice: true, sendWhatsAppAudio {number, audio} — with the
// same retries, dead letters and lockdown rule as text. The agent tool `whatsapp.send_media`
// {media_id, caption?, voice?} (protected, granted to nobody by default) emits such an event for
// a media item its caller may access (the chat's user, or an admin).
//
//   std::string why;
//   auto items = parse_outbound_attachments(payload, &why);           // "" when well-formed
//   AttachmentSend r = send_attachment(host, settings, evo, chat_jid, items[0]);
//   if (!r.refused.empty()) dead_letter(r.refused);                    // media_not_found, …
//   else if (!r.evo.ok() && r.evo.retryable()) retry();
//   register_media_tool(host, settings);
#pragma once

#include <string>
#include <vector>

#include "evolution.h"
#include "jarvis/jarvis.h"
#include "settings.h"

namespace whatsapp {

/// One attachment of a channel.outbound event.
struct OutboundAttachment {
  std::string media_id;  ///< a whatsapp_media row (status stored) of the recipient chat
  std::string caption;   ///< shown under an image, video or document (not for voice notes)
  bool voice = false;    ///< send as a voice note (sendWhatsAppAudio); the media must be audio
};

/// Parses `payload["attachments"]` (absent = none). On a malformed list sets `*error` to a short
/// explanation and returns nothing.
std::vector<OutboundAttachment> parse_outbound_attachments(const jarvis::Json& payload,
                                                           std::string* error);

/// Outcome of sending one attachment.
struct AttachmentSend {
  /// A refusal before anything was sent (never retried): media_not_found, media_path_unsafe,
  /// media_size_exceeded, media_mime_denied. "" when the gateway was called.
  std::string refused;
  std::string detail;  ///< for the refusal
  EvoResult evo;       ///< the gateway's answer when `refused` is empty
};

/// Reads the media file (inside WHATSAPP_MEDIA_DIR, no symlinks, at most
/// WHATSAPP_MEDIA_MAX_BYTES, type sniffed again and within WHATSAPP_MEDIA_ALLOWED_MIME_PREFIXES)
/// and sends it to `chat_jid`. Runs outside any transaction.
AttachmentSend send_attachment(jarvis::Host& host, const Settings& s, EvolutionClient& evo,
                               const std::string& chat_jid, const OutboundAttachment& a);

/// Registers the agent tool whatsapp.send_media.
void register_media_tool(jarvis::Host& host, const Settings& settings);

}  // namespace whatsapp

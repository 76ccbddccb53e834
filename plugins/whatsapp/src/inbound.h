// whatsapp/src/inbound.h — reading Evolution v2 `messages.upsert` deliveries into plain records
// (no I/O). Text from message.conversation (or extendedTextMessage.text), captions, reactions,
// image/document/audio/video/sticker media, groups (@g.us, author in key.participant), LID chats
// (@lid with the phone JID in key.remoteJidAlt); the instance's own messages (fromMe) and
// protocol-only records are dropped.
//
//   std::vector<Inbound> msgs = parse_upsert(envelope);   // envelope = the whole JSON body
//   for (const Inbound& m : msgs) store(m.key_id, m.chat_jid, m.sender, m.text);
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "jarvis/jarvis.h"

namespace whatsapp {

/// A media item a message carries (bytes are fetched later, in a task).
struct MediaRef {
  std::string kind;                ///< image | document | audio | video | sticker
  std::string declared_mime;       ///< what the sender says (never trusted)
  std::string file_name;           ///< documentMessage.fileName (display only, never a path)
  std::string media_url;           ///< message.mediaUrl (S3 storage on): fetched through the guard
  bool has_inline_base64 = false;  ///< message.base64 present (webhook base64: true)
  bool voice_note = false;         ///< audioMessage.ptt
  long long seconds = 0;           ///< audioMessage.seconds
};

/// One message of a delivery.
struct Inbound {
  std::string key_id;       ///< key.id (dedupe key)
  std::string chat_jid;     ///< where replies go: the group, or the phone JID of a DM
  std::string remote_jid;   ///< key.remoteJid as sent (@lid chats differ from chat_jid)
  std::string sender;       ///< the author's JID (participant in groups)
  std::string participant;  ///< key.participant ("" outside groups)
  std::string push_name;
  bool is_group = false;
  std::string kind;  ///< text | reaction | image | document | audio | video | sticker | unknown
  std::string text;  ///< text or caption ("" when none)
  std::string reaction_target;  ///< key.id the reaction is on
  std::optional<MediaRef> media;
  long long timestamp = 0;
  jarvis::Json data;  ///< the record as received (kept with the message row)
};

/// Result of parsing one delivery.
struct ParsedDelivery {
  std::string event;              ///< normalised event name ("messages.upsert", …)
  bool supported = false;         ///< messages.upsert
  std::vector<Inbound> messages;  ///< parsable, not fromMe, not protocol-only
  int skipped = 0;                ///< records dropped (fromMe, protocol, malformed)
};

/// Event name as "messages.upsert" whether sent as that, MESSAGES_UPSERT or messages-upsert.
std::string normalize_event(const std::string& name);

/// Parses a delivery envelope {event, instance, data}. `event_hint` is the URL suffix of a
/// byEvents delivery ("" when none). Never throws on odd shapes: unknown parts are skipped.
ParsedDelivery parse_delivery(const jarvis::Json& envelope, const std::string& event_hint = "");

/// Parses one `data` record; nullopt when it is fromMe, protocol-only or malformed.
std::optional<Inbound> parse_record(const jarvis::Json& data);

}  // namespace whatsapp

// whatsapp/src/inbound.cpp — see inbound.h.
#include "inbound.h"

namespace whatsapp {
namespace {

std::string str(const jarvis::Json& o, const char* key) {
  if (!o.is_object()) return "";
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : "";
}

long long num(const jarvis::Json& o, const char* key) {
  if (!o.is_object()) return 0;
  auto it = o.find(key);
  if (it == o.end()) return 0;
  if (it->is_number_integer()) return it->get<long long>();
  if (it->is_number()) return static_cast<long long>(it->get<double>());
  if (it->is_string()) {
    try {
      return std::stoll(it->get<std::string>());
    } catch (const std::exception&) {
      return 0;
    }
  }
  if (it->is_object()) return num(*it, "low");  // protobuf Long {low, high}
  return 0;
}

const jarvis::Json* obj(const jarvis::Json& o, const char* key) {
  if (!o.is_object()) return nullptr;
  auto it = o.find(key);
  return it != o.end() && it->is_object() ? &*it : nullptr;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Wrappers that carry the real message one level down.
const jarvis::Json& unwrap(const jarvis::Json& m) {
  for (const char* w : {"ephemeralMessage", "viewOnceMessage", "viewOnceMessageV2",
                        "documentWithCaptionMessage", "editedMessage"}) {
    if (const auto* inner = obj(m, w)) {
      if (const auto* msg = obj(*inner, "message")) return unwrap(*msg);
    }
  }
  return m;
}

}  // namespace

std::string normalize_event(const std::string& name) {
  std::string out = jarvis::ascii_lower(name);
  for (char& c : out) {
    if (c == '_' || c == '-') c = '.';
  }
  return out;
}

std::optional<Inbound> parse_record(const jarvis::Json& data) {
  const auto* key = obj(data, "key");
  if (!key) return std::nullopt;
  if (key->value("fromMe", false)) return std::nullopt;
  Inbound m;
  m.key_id = str(*key, "id");
  m.remote_jid = str(*key, "remoteJid");
  if (m.key_id.empty() || m.key_id.size() > 128 || m.remote_jid.empty() ||
      m.remote_jid.size() > 128) {
    return std::nullopt;
  }
  if (m.remote_jid == "status@broadcast") return std::nullopt;
  m.is_group = ends_with(m.remote_jid, "@g.us");
  const std::string alt = str(*key, "remoteJidAlt");
  if (m.is_group) {
    m.chat_jid = m.remote_jid;
    m.participant = str(*key, "participant");
    if (m.participant.empty()) m.participant = str(data, "participant");
    const std::string palt = str(*key, "participantAlt");
    m.sender = !palt.empty() && ends_with(m.participant, "@lid") ? palt : m.participant;
    if (m.sender.empty()) return std::nullopt;  // a group message names its author
  } else {
    // LID addressing: remoteJid is @lid, the phone JID is in remoteJidAlt.
    m.chat_jid = ends_with(m.remote_jid, "@lid") && !alt.empty() ? alt : m.remote_jid;
    m.sender = m.chat_jid;
  }
  if (m.sender.size() > 128) return std::nullopt;
  m.push_name = str(data, "pushName").substr(0, 200);
  m.timestamp = num(data, "messageTimestamp");
  const auto* raw = obj(data, "message");
  if (!raw) return std::nullopt;
  const jarvis::Json& msg = unwrap(*raw);
  m.data = data;

  if (const auto* r = obj(msg, "reactionMessage")) {
    m.kind = "reaction";
    m.text = str(*r, "text");
    if (const auto* rk = obj(*r, "key")) m.reaction_target = str(*rk, "id");
    return m;
  }
  static const std::pair<const char*, const char*> kMedia[] = {{"imageMessage", "image"},
                                                               {"documentMessage", "document"},
                                                               {"audioMessage", "audio"},
                                                               {"videoMessage", "video"},
                                                               {"stickerMessage", "sticker"}};
  for (const auto& [field, kind] : kMedia) {
    if (const auto* media = obj(msg, field)) {
      MediaRef ref;
      ref.kind = kind;
      ref.declared_mime = str(*media, "mimetype");
      ref.file_name = str(*media, "fileName").substr(0, 200);
      ref.voice_note = media->value("ptt", false);
      ref.seconds = num(*media, "seconds");
      ref.media_url = str(msg, "mediaUrl");
      if (ref.media_url.empty()) ref.media_url = str(*raw, "mediaUrl");
      if (ref.media_url.empty()) ref.media_url = str(data, "mediaUrl");
      ref.has_inline_base64 = !str(msg, "base64").empty() || !str(*raw, "base64").empty();
      m.kind = kind;
      m.text = str(*media, "caption");
      m.media = ref;
      return m;
    }
  }
  std::string text = str(msg, "conversation");
  if (text.empty()) {
    if (const auto* ext = obj(msg, "extendedTextMessage")) text = str(*ext, "text");
  }
  if (!text.empty()) {
    m.kind = "text";
    m.text = text;
    return m;
  }
  // Protocol-only records (deletes, key distribution, …) carry nothing to answer.
  for (const char* p : {"protocolMessage", "senderKeyDistributionMessage", "messageContextInfo"}) {
    if (msg.is_object() && msg.contains(p) && msg.size() <= 2) return std::nullopt;
  }
  if (msg.empty()) return std::nullopt;
  m.kind = "unknown";
  return m;
}

ParsedDelivery parse_delivery(const jarvis::Json& envelope, const std::string& event_hint) {
  ParsedDelivery d;
  std::string event = str(envelope, "event");
  if (event.empty()) event = event_hint;
  d.event = normalize_event(event);
  d.supported = d.event == "messages.upsert";
  if (!d.supported) return d;
  const jarvis::Json& data =
      envelope.is_object() && envelope.contains("data") ? envelope["data"] : jarvis::Json::object();
  std::vector<const jarvis::Json*> records;
  if (data.is_array()) {
    for (const auto& r : data) records.push_back(&r);
  } else if (data.is_object() && data.contains("messages") && data["messages"].is_array()) {
    for (const auto& r : data["messages"]) records.push_back(&r);
  } else if (data.is_object()) {
    records.push_back(&data);
  }
  for (const auto* r : records) {
    if (d.messages.size() >= 100) {
      ++d.skipped;
      continue;
    }
    if (auto m = parse_record(*r)) {
      d.messages.push_back(std::move(*m));
    } else {
      ++d.skipped;
    }
  }
  return d;
}

}  // namespace whatsapp

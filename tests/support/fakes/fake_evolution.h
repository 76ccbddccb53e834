// tests/support/fakes/fake_evolution.h — a fake Evolution API (v2) server on 127.0.0.1 that
// follows ../shared/spec/evolution-api.md: the same paths, bodies, `apikey` header and answer
// shapes — instances (create, connect with QR or pairing code, connectionState, restart,
// fetchInstances, logout, delete), the webhook (set / find), sending (sendText, sendMedia,
// sendWhatsAppAudio) and media as base64 (getBase64FromMediaMessage). Like the real server it
// delivers `messages.upsert` to the configured webhook URL with the configured headers (so a
// test proves X-WhatsApp-Secret reaches the host because the plugin configured it).
//
//   FakeEvolution evo("global-key");
//   env["EVOLUTION_API_URL"] = evo.base_url();
//   evo.set_state("jarvis", "open");                              // the phone is paired
//   evo.add_media("3EB0A1", ogg_bytes, "audio/ogg; codecs=opus");  // served as base64
//   evo.fail_next_sends({429, 500});                               // then sends succeed
//   evo.fail_next("/instance/restart/", {500});                     // any route
//   int status = evo.deliver("jarvis", FakeEvolution::text_record("5511…@s.whatsapp.net",
//                                                                  "3EB0A1", "hello"));
//   auto sent = evo.sent();   // [{"path":"/message/sendText/jarvis","body":{number,text}}, …]
//
// Thread-safety: every member may be called from any thread while clients are connected.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/fakes/loopback_server.h"

namespace jarvis::test::fakes {

/// The fake Evolution API server (see the file comment).
class FakeEvolution {
 public:
  /// Listens on a free loopback port; `api_key` is the server's global key.
  explicit FakeEvolution(std::string api_key = "evo-global-key");
  ~FakeEvolution();
  FakeEvolution(const FakeEvolution&) = delete;
  FakeEvolution& operator=(const FakeEvolution&) = delete;

  /// "http://127.0.0.1:PORT" — what EVOLUTION_API_URL takes.
  std::string base_url() const;
  /// Sets an instance's connection state (open | connecting | close), creating it if needed.
  void set_state(const std::string& instance, const std::string& state);
  /// Forgets an instance, as if it had been deleted on the server.
  void remove_instance(const std::string& instance);
  /// Media served by getBase64FromMediaMessage for message key `key_id`.
  void add_media(const std::string& key_id, const std::string& bytes, const std::string& mimetype,
                 const std::string& file_name = "");
  /// The next sends (any of the three send calls) answer these HTTP statuses, in order.
  void fail_next_sends(std::vector<int> statuses);
  /// The next calls whose path starts with `path_prefix` (any route, e.g. "/instance/restart/"
  /// or "/chat/getBase64FromMediaMessage/") answer these HTTP statuses with Evolution's error
  /// envelope, in order; a status of 0 closes the connection without an answer, -1 holds it
  /// open without answering until the client goes away (a hung gateway).
  void fail_next(const std::string& path_prefix, std::vector<int> statuses);
  /// The successful sends: {"path", "instance", "body"} in order.
  std::vector<nlohmann::json> sent() const;
  /// Every request received: method, path, query, headers, body.
  std::vector<HttpRequest> requests() const;
  /// The instance's stored webhook row (null when none was set).
  nlohmann::json webhook(const std::string& instance) const;
  /// The pairing code the fake gave for a number ("" when none).
  std::string pairing_code_for(const std::string& number) const;

  /// Delivers `event` with `data` to the instance's webhook as Evolution does (URL + "/<event
  /// in kebab case>" when byEvents; the configured headers; the envelope {event, instance, data,
  /// destination, date_time, sender, server_url, apikey}). Returns the HTTP status (0 when the
  /// connection failed, -1 when no webhook is set).
  int deliver(const std::string& instance, const nlohmann::json& data,
              const std::string& event = "messages.upsert");
  /// Body of the last delivery's answer.
  std::string last_delivery_body() const;

  // --- payload builders: `data` records shaped like Baileys' upserts through Evolution 2.3 ---

  /// A text message (message.conversation, messageType "conversation").
  static nlohmann::json text_record(const std::string& remote_jid, const std::string& key_id,
                                    const std::string& text, const std::string& push_name = "Ana");
  /// A group text: remoteJid @g.us, key.participant the author.
  static nlohmann::json group_record(const std::string& group_jid, const std::string& participant,
                                     const std::string& key_id, const std::string& text);
  /// A LID chat: remoteJid …@lid, addressingMode "lid", key.remoteJidAlt the phone JID.
  static nlohmann::json lid_record(const std::string& lid_jid, const std::string& phone_jid,
                                   const std::string& key_id, const std::string& text);
  /// A reaction (message.reactionMessage {key, text}).
  static nlohmann::json reaction_record(const std::string& remote_jid, const std::string& key_id,
                                        const std::string& target_id, const std::string& emoji);
  /// An image with a caption (imageMessage); `media_url` adds message.mediaUrl (S3 storage).
  static nlohmann::json image_record(const std::string& remote_jid, const std::string& key_id,
                                     const std::string& caption, const std::string& mimetype,
                                     const std::string& media_url = "");
  /// A voice note (audioMessage, ptt: true, mimetype "audio/ogg; codecs=opus").
  static nlohmann::json audio_record(const std::string& remote_jid, const std::string& key_id,
                                     int seconds, const std::string& media_url = "");
  /// A document with a file name and caption (documentMessage).
  static nlohmann::json document_record(const std::string& remote_jid, const std::string& key_id,
                                        const std::string& file_name, const std::string& caption);
  /// `record` marked as the instance's own message (key.fromMe = true).
  static nlohmann::json from_me(nlohmann::json record);

 private:
  struct Instance {
    std::string name, id, token, integration, state = "close";
    nlohmann::json webhook;  ///< null or the stored row
    int qr_count = 0;
  };
  struct Media {
    std::string bytes, mimetype, file_name;
  };
  void handle(const HttpRequest& req, Responder& out);
  bool authorized(const HttpRequest& req, const std::string& instance) const;
  Instance* find(const std::string& name);

  std::string api_key_;
  mutable std::mutex mu_;
  std::map<std::string, Instance> instances_;
  std::map<std::string, Media> media_;
  std::map<std::string, std::string> pairing_codes_;
  std::vector<int> send_failures_;
  std::map<std::string, std::vector<int>> path_failures_;
  std::vector<nlohmann::json> sent_;
  std::string last_delivery_body_;
  std::unique_ptr<LoopbackServer> server_;
};

}  // namespace jarvis::test::fakes

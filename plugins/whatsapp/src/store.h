// whatsapp/src/store.h — the plugin's tables (migrations/001_whatsapp.sql): admitted messages,
// chats, senders and decisions, the review queue, media rows and outbound deliveries. Every
// function runs on the session it is given (a plain one or a transaction's).
//
//   auto tx = host.db().transaction();
//   ChatRef chat = Store::bump_chat(tx->session(), "5511…@s.whatsapp.net", false);
//   bool fresh = Store::insert_message(tx->session(), row);   // false: key.id seen before
#pragma once

#include <optional>
#include <string>

#include "jarvis/jarvis.h"

namespace whatsapp {

/// A chat's Jarvis user and the sequence number given to the next message.
struct ChatRef {
  std::string user_id;
  long long seq = 0;
};

/// One admitted message row.
struct MessageRow {
  std::string id, instance, key_id, chat_jid, sender, participant, push_name, kind, text;
  std::string payload;  ///< the Evolution record (JSON text)
  std::string status;   ///< received | ready | emitted | recorded
  long long seq = 0;
  std::string user_id;
  std::string process_task;  ///< the whatsapp.process task of a media message ("" otherwise)
  std::string event_id;      ///< the channel.inbound event when stored as emitted
};

/// What the webhook needs to know before admitting one message (one statement).
struct AdmitFacts {
  bool seen = false;                    ///< (instance, key_id) already admitted
  bool sender_known = false;            ///< a whatsapp_senders row exists
  std::optional<std::string> decision;  ///< allowed | denied | "" (none) when known
};

/// Static SQL helpers (no state).
struct Store {
  /// Dedupe and the sender's decision for one message, in one statement.
  static AdmitFacts admit_facts(soci::session& sql, const std::string& instance,
                                const std::string& key_id, const std::string& sender);
  /// True when a message of `chat_jid` is still received or ready (holds later ones back); uses
  /// the partial index of migration 002.
  static bool chat_has_pending(soci::session& sql, const std::string& chat_jid);
  /// The Jarvis user id of a chat: "wa_" + 24 hex characters of SHA-256(chat JID) — the same on
  /// every host, so no insert race decides it.
  static std::string user_for_chat(const std::string& chat_jid);
  /// Creates the chat row when missing and takes its next sequence number (locks the row on
  /// PostgreSQL until the transaction ends).
  static ChatRef bump_chat(soci::session& sql, const std::string& chat_jid, bool is_group);
  /// Locks the chat row (PostgreSQL) so emitters of one chat take turns.
  static void lock_chat(soci::session& sql, const std::string& chat_jid);
  /// True when the chat is one this plugin has seen (replies go only to those).
  static bool chat_exists(soci::session& sql, const std::string& chat_jid);

  /// Inserts the row; false when (instance, key_id) exists already (a duplicate delivery).
  static bool insert_message(soci::session& sql, const MessageRow& row);
  /// The message row, nullopt when missing.
  static std::optional<MessageRow> message(soci::session& sql, const std::string& id);
  /// Sets status and text.
  static void update_message(soci::session& sql, const std::string& id, const std::string& status,
                             const std::string& text, const std::string& event_id = "");

  /// Inserts the sender row when missing.
  static void ensure_sender(soci::session& sql, const std::string& sender);
  /// Records a decision (creating the row when missing).
  static void decide_sender(soci::session& sql, const std::string& sender,
                            const std::string& decision, const std::string& reason,
                            const std::string& by);

  /// Holds a message for review; false when that key.id is already held.
  static bool hold(soci::session& sql, const std::string& id, const std::string& instance,
                   const std::string& sender, const std::string& key_id,
                   const std::string& chat_jid, const std::string& push_name,
                   const std::string& preview, const std::string& payload);
  /// The review row, null when missing.
  static jarvis::Json review_row(soci::session& sql, const std::string& id);
  /// The open rows of a sender, oldest first (with payload).
  static jarvis::Json open_reviews_of(soci::session& sql, const std::string& sender);
  /// Marks the open rows of `sender` resolved; returns how many.
  static long long resolve_sender(soci::session& sql, const std::string& sender,
                                  const std::string& status, const std::string& reason,
                                  const std::string& by);
  /// One page of the queue (status "" = all), newest first, without payloads.
  static jarvis::Json list_reviews(soci::session& sql, const std::string& status, long long limit,
                                   long long offset);
  static long long count_reviews(soci::session& sql, const std::string& status);
};

}  // namespace whatsapp

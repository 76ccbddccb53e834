// whatsapp/src/ingest.h — admission of inbound messages and the webhook route.
//
// POST /api/v1/webhooks/whatsapp (auth level webhook): X-WhatsApp-Secret is compared in constant
// time with WHATSAPP_WEBHOOK_SECRET (unset → 503 webhook_not_configured, wrong → 401
// invalid_webhook_secret); the body is an Evolution delivery (inbound.h). Each message passes the
// sender gate (a denied sender → channel.inbound.blocked; one needing review → held in
// whatsapp_review_queue, channel.inbound.review_required, nothing else written), then one
// transaction stores the message row (dedupe on key.id), takes the chat's sequence number and
// either emits channel.inbound at once (text: nothing slow to do, unless an earlier message of
// the chat is still being processed) or enqueues whatsapp.process (media) — committed before
// the 2xx goes out. Concurrent requests share that transaction (jarvis/group_commit.h).
//
//   Ingest ingest(host, settings);
//   register_webhook(host, ingest, settings);
//   Admission a = ingest.admit(msg, /*replay=*/true);   // allow → replay skips the gate
#pragma once

#include <string>

#include "inbound.h"
#include "jarvis/jarvis.h"
#include "settings.h"

namespace whatsapp {

/// What happened to one inbound message.
struct Admission {
  std::string result;  ///< stored | duplicate | held | held_again | blocked | recorded
  std::string message_id;
  std::string review_id;
};

/// The sender gate and the durable store of inbound messages.
class Ingest {
 public:
  Ingest(jarvis::Host& host, const Settings& settings)
      : host_(host), s_(settings), commits_(host.db()) {}

  /// Admits one message (see the file comment). `replay`: the sender was just allowed — skip the
  /// gate. Throws the database's errors (the webhook then answers 5xx and Evolution retries).
  Admission admit(const Inbound& m, bool replay = false);

  /// True when the sender is in WHATSAPP_ALLOWED_SENDERS or ADMIN_WHATSAPP_IDS.
  bool allowlisted(const std::string& sender) const;

  const Settings& settings() const { return s_; }

  /// The group commit's counters: {"commits": transactions committed or tried alone,
  /// "messages": messages they held} (plugin health; bench/whatsapp.sh prints the ratio).
  jarvis::Json commit_stats() const {
    return {{"commits", commits_.batches()}, {"messages", commits_.items()}};
  }

 private:
  jarvis::Host& host_;
  const Settings& s_;
  jarvis::GroupCommit commits_;  ///< admitted messages share transactions (decision 0065)
};

/// Registers POST /api/v1/webhooks/whatsapp and …/whatsapp/{event} (byEvents deliveries).
void register_webhook(jarvis::Host& host, Ingest& ingest, const Settings& settings);

}  // namespace whatsapp

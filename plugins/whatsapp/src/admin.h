// whatsapp/src/admin.h — the operator side: instance status with the callback contract,
// create, recreate (delete + create), restart, QR code, the real pairing code, disconnect, and the
// sender review queue with allow (replay in order) / deny — as admin routes under
// /api/v1/channels/whatsapp/ and as `jarvis whatsapp …` commands. Create, QR and pairing are
// rate-limited per caller address.
//
//   Admin admin(host, settings, evo, ingest);
//   admin.register_routes();   // GET …/status, POST …/create, GET …/qrcode, …
//   admin.register_cli();      // jarvis whatsapp status|create|recreate|restart|qrcode|pair|…
//   jarvis::Json r = admin.resolve("wrv_…", "allow", "known customer", "user:usr_1");
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <string>

#include "evolution.h"
#include "ingest.h"
#include "jarvis/jarvis.h"
#include "settings.h"

namespace whatsapp {

/// Admin operations shared by routes and CLI.
class Admin {
 public:
  Admin(jarvis::Host& host, const Settings& settings, EvolutionClient& evo, Ingest& ingest)
      : host_(host), s_(settings), evo_(evo), ingest_(ingest) {}

  void register_routes();
  void register_cli();

  /// {status, instance, state, callback{enabled, configured, events, url, by_events, error},
  /// review{mode, open}}; status is "evolution_api_disabled" when EVOLUTION_API_URL is unset.
  jarvis::Json status();
  /// Creates the instance and sets its webhook (with the X-WhatsApp-Secret header).
  jarvis::Json create();
  /// {qrcode (PNG data URL), code (raw QR text), count} or {connected: true, state}.
  jarvis::Json qrcode();
  /// The real pairing code for `number` (+digits, 6..32); 422 invalid_number otherwise.
  jarvis::Json pairing_code(const std::string& number);
  /// Logs the instance out.
  jarvis::Json disconnect();
  /// Restarts the instance (POST /instance/restart): for a pairing that appears stuck.
  jarvis::Json restart();
  /// Deletes the instance (a missing one is fine) and creates it again with its webhook: a fresh
  /// pairing (QR code or pairing code) follows.
  jarvis::Json recreate();
  /// One page of the review queue (status open|allowed|denied|"").
  jarvis::Json review_list(const std::string& status, long long limit, long long offset);
  /// Resolves every open row of the row's sender: allow replays them in arrival order into the
  /// normal path and remembers the sender; deny drops them and blocks later messages.
  jarvis::Json resolve(const std::string& id, const std::string& decision,
                       const std::string& reason, const std::string& actor);

 private:
  void rate_limit(const std::string& address);
  static void require_ok(const EvoResult& r);

  jarvis::Host& host_;
  const Settings& s_;
  EvolutionClient& evo_;
  Ingest& ingest_;
  std::mutex rl_mu_;
  std::map<std::string, std::deque<std::chrono::steady_clock::time_point>> calls_;
};

}  // namespace whatsapp

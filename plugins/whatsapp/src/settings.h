// whatsapp/src/settings.h — the plugin's configuration, read once from the validated manifest
// keys (plugin.yaml) into plain values.
//
//   Settings s = Settings::from(host.config());
//   if (!s.evolution_enabled()) return status("evolution_api_disabled");
#pragma once

#include <string>
#include <vector>

#include "jarvis/jarvis.h"

namespace whatsapp {

/// Sender review modes (WHATSAPP_REVIEW_MODE).
enum class ReviewMode { Off, UnknownOnly, Strict };

/// Everything the plugin reads from its configuration.
struct Settings {
  std::string evolution_url;  ///< without a trailing slash; empty = disabled
  jarvis::Secret evolution_key;
  std::string instance = "jarvis";
  std::string webhook_url;
  bool webhook_by_events = false;
  std::vector<std::string> webhook_events{"MESSAGES_UPSERT"};
  jarvis::Secret webhook_secret;

  ReviewMode review_mode = ReviewMode::Strict;
  std::vector<std::string> allowed_senders;  ///< normalised digits (see normalize_number)
  std::vector<std::string> admin_ids;        ///< normalised digits

  std::string media_dir = "var/whatsapp-media";
  long long media_max_bytes = 16 << 20;
  std::vector<std::string> media_mime_prefixes{"image/", "audio/", "video/", "application/pdf"};
  std::vector<std::string> media_hosts;

  bool voice_enabled = true;
  std::string voice_backend = "pocketsphinx";
  long long voice_timeout_seconds = 120;
  std::string voice_model, voice_device, voice_compute_type, voice_language, voice_url;
  jarvis::Secret voice_api_key;
  std::string voice_command;

  bool send_during_lockdown = false;
  int send_max_attempts = 5;
  long long send_backoff_ms = 2000;
  std::size_t max_message_chars = 4096;
  int pairing_per_minute = 5;

  /// True when EVOLUTION_API_URL is set.
  bool evolution_enabled() const { return !evolution_url.empty(); }

  /// Reads every key of plugin.yaml.
  static Settings from(const jarvis::PluginConfig& cfg);
};

/// Items of a comma/semicolon/newline separated list, trimmed, empty ones dropped (spaces stay:
/// "+55 11 9999-0001" is one number).
std::vector<std::string> split_list(const std::string& text);

/// The digits of a number or JID's user part ("+55 11 9…", "5511…@s.whatsapp.net" → "5511…");
/// "" when it has none. A JID's device suffix (":12") is dropped.
std::string normalize_number(const std::string& number_or_jid);

/// "off", "unknown_only" or "strict".
const char* to_string(ReviewMode m);

}  // namespace whatsapp

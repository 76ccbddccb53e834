// whatsapp/src/settings.cpp — see settings.h.
#include "settings.h"

#include <cctype>

namespace whatsapp {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    std::string t = jarvis::trimmed(cur);
    if (!t.empty()) out.push_back(t);
    cur.clear();
  };
  for (char c : text) {
    if (c == ',' || c == ';' || c == '\n' || c == '\r') {
      flush();
    } else {
      cur += c;
    }
  }
  flush();
  return out;
}

std::string normalize_number(const std::string& number_or_jid) {
  std::string user = number_or_jid.substr(0, number_or_jid.find('@'));
  user = user.substr(0, user.find(':'));
  std::string digits;
  for (char c : user) {
    if (std::isdigit(static_cast<unsigned char>(c))) digits += c;
  }
  return digits;
}

const char* to_string(ReviewMode m) {
  switch (m) {
    case ReviewMode::Off:
      return "off";
    case ReviewMode::UnknownOnly:
      return "unknown_only";
    case ReviewMode::Strict:
      return "strict";
  }
  return "strict";
}

Settings Settings::from(const jarvis::PluginConfig& cfg) {
  Settings s;
  s.evolution_url = cfg.get_string("evolution_api_url");
  while (!s.evolution_url.empty() && s.evolution_url.back() == '/') s.evolution_url.pop_back();
  s.evolution_key = cfg.get_secret("evolution_api_key");
  s.instance = cfg.get_string("instance");
  s.webhook_url = cfg.get_string("webhook_url");
  s.webhook_by_events = cfg.get_bool("webhook_by_events");
  s.webhook_events = split_list(cfg.get_string("webhook_events"));
  s.webhook_secret = cfg.get_secret("webhook_secret");
  const std::string mode = cfg.get_string("review_mode");
  s.review_mode = mode == "off"            ? ReviewMode::Off
                  : mode == "unknown_only" ? ReviewMode::UnknownOnly
                                           : ReviewMode::Strict;
  for (const auto& n : split_list(cfg.get_string("allowed_senders"))) {
    if (auto d = normalize_number(n); !d.empty()) s.allowed_senders.push_back(d);
  }
  for (const auto& n : split_list(cfg.get_string("admin_ids"))) {
    if (auto d = normalize_number(n); !d.empty()) s.admin_ids.push_back(d);
  }
  s.media_dir = cfg.get_string("media_dir");
  s.media_max_bytes = cfg.get_int("media_max_bytes");
  s.media_mime_prefixes = split_list(cfg.get_string("media_allowed_mime_prefixes"));
  s.media_hosts = split_list(cfg.get_string("media_allowed_hosts"));
  s.voice_enabled = cfg.get_bool("voice_enabled");
  s.voice_backend = cfg.get_string("voice_backend");
  s.voice_timeout_seconds = cfg.get_int("voice_timeout_seconds");
  s.voice_model = cfg.get_string("voice_model");
  s.voice_device = cfg.get_string("voice_device");
  s.voice_compute_type = cfg.get_string("voice_compute_type");
  s.voice_language = cfg.get_string("voice_language");
  s.voice_url = cfg.get_string("voice_url");
  while (!s.voice_url.empty() && s.voice_url.back() == '/') s.voice_url.pop_back();
  s.voice_api_key = cfg.get_secret("voice_api_key");
  s.voice_command = cfg.get_string("voice_command");
  s.send_during_lockdown = cfg.get_bool("send_during_lockdown");
  s.send_max_attempts = static_cast<int>(cfg.get_int("send_max_attempts"));
  s.send_backoff_ms = cfg.get_int("send_backoff_ms");
  s.max_message_chars = static_cast<std::size_t>(cfg.get_int("max_message_chars"));
  s.pairing_per_minute = static_cast<int>(cfg.get_int("pairing_per_minute"));
  return s;
}

}  // namespace whatsapp

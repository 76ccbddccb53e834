// whatsapp/src/plugin.cpp — entry of the whatsapp plugin: registration only.
//
// What it registers (details in plugins/whatsapp/README.md):
//   routes  POST /api/v1/webhooks/whatsapp[/{event}] (ingest.cpp),
//           /api/v1/channels/whatsapp/… admin routes (admin.cpp)
//   tasks   whatsapp.process, whatsapp.process_dead_letter (process.cpp), whatsapp.deliver,
//           whatsapp.unlock_code (outbound.cpp)
//   events  durable subscriptions channel.outbound → whatsapp.deliver,
//           lockdown.code_rotated → whatsapp.unlock_code,
//           task.dead_letter → whatsapp.process_dead_letter
//   tools   whatsapp.send_media (send_media.cpp; protected, granted to nobody)
//   cli     jarvis whatsapp status|create|recreate|restart|qrcode|pair|disconnect|review
#include <memory>

#include "admin.h"
#include "evolution.h"
#include "ingest.h"
#include "jarvis/jarvis.h"
#include "outbound.h"
#include "process.h"
#include "send_media.h"
#include "settings.h"
#include "voice.h"

namespace whatsapp {

class WhatsappPlugin : public jarvis::Plugin {
 public:
  void setup(jarvis::Host& host) override {
    settings_ = Settings::from(host.config());
    evo_ = std::make_unique<EvolutionClient>(host.http(), settings_);
    voice_ = std::make_unique<Transcriber>(host.http(), settings_);
    ingest_ = std::make_unique<Ingest>(host, settings_);
    processor_ = std::make_unique<Processor>(host, settings_, *evo_, *voice_);
    admin_ = std::make_unique<Admin>(host, settings_, *evo_, *ingest_);
    Processor* p = processor_.get();
    host.tasks().add({.name = "whatsapp.process",
                      .description = "Fetches media, transcribes voice notes and hands a WhatsApp "
                                     "message to channel.inbound",
                      .handler = [p](jarvis::TaskContext& c) { return p->run(c); },
                      .retry = {.max_attempts = kProcessMaxAttempts,
                                .initial_backoff = std::chrono::milliseconds(1000)},
                      .timeout = std::chrono::seconds(
                          std::max<long long>(300, settings_.voice_timeout_seconds * 3))});
    // A whatsapp.process that died on its last attempt (worker killed or hung) never ran its
    // own release: the dead letter releases the message it held back (decision 0064).
    host.tasks().add({.name = "whatsapp.process_dead_letter",
                      .description = "Releases the WhatsApp message of a dead-lettered "
                                     "whatsapp.process task, degraded, so its chat goes on",
                      .handler = [p](jarvis::TaskContext& c) { return p->on_dead_letter(c); }});
    host.events().subscribe_durable(
        {.type = "task.dead_letter", .task = "whatsapp.process_dead_letter"});
    register_webhook(host, *ingest_, settings_);
    register_outbound(host, settings_, *evo_);
    register_media_tool(host, settings_);
    admin_->register_routes();
    admin_->register_cli();
  }

  jarvis::Health health() const override {
    jarvis::Health h;
    h.details = {
        {"evolution", settings_.evolution_enabled() ? "configured" : "evolution_api_disabled"},
        {"webhook_secret", settings_.webhook_secret.empty() ? "unset" : "set"},
        {"review_mode", to_string(settings_.review_mode)},
        {"voice_backend", settings_.voice_enabled ? settings_.voice_backend : "disabled"},
        {"pocketsphinx", Transcriber::pocketsphinx_available()},
        {"ingest_group_commit", ingest_ ? ingest_->commit_stats() : jarvis::Json::object()}};
    if (!settings_.evolution_enabled()) {
      h.status = jarvis::Health::Status::Degraded;
      h.detail = "evolution_api_disabled: set EVOLUTION_API_URL";
    } else if (settings_.webhook_secret.empty()) {
      h.status = jarvis::Health::Status::Degraded;
      h.detail = "webhook_not_configured: set WHATSAPP_WEBHOOK_SECRET";
    }
    return h;
  }

 private:
  Settings settings_;
  std::unique_ptr<EvolutionClient> evo_;
  std::unique_ptr<Transcriber> voice_;
  std::unique_ptr<Ingest> ingest_;
  std::unique_ptr<Processor> processor_;
  std::unique_ptr<Admin> admin_;
};

}  // namespace whatsapp

JARVIS_PLUGIN(whatsapp::WhatsappPlugin)

// chat/src/slash_env.h — the chat plugin's implementation of the slash commands' environment
// (agent/slash.h): new thread, verbose, compaction, status snapshot, lockdown and trace lookups
// over the chat tables and the host.
//
//   chat::ChatSlashEnv env(host, router, bundles);
//   chat::SlashReply r = chat::execute_slash(*cmd, ctx, env);
#pragma once

#include "agent/bundles.h"
#include "agent/slash.h"
#include "jarvis/jarvis.h"
#include "provider.h"

namespace chat {

/// The router's health document as a non-admin may see it (/status): names, models, whether
/// configured, when each last worked or failed, the failure's kind, outage class and HTTP status,
/// cooldowns — built from an allow-list, never a provider's error text.
jarvis::Json user_view_of_providers(const jarvis::Json& health);

/// SlashEnv over the host and the chat store. Thread-safe (stateless).
class ChatSlashEnv : public SlashEnv {
 public:
  ChatSlashEnv(jarvis::Host& host, ModelRouter& router, const BundleSet& bundles)
      : host_(host), router_(router), bundles_(bundles) {}

  jarvis::SystemControl& system() override { return host_.system(); }
  std::string new_thread(const SlashContext& ctx) override;
  void set_verbose(const SlashContext& ctx, bool on) override;
  void enqueue_compaction(const SlashContext& ctx) override;
  jarvis::Json status(const SlashContext& ctx) override;
  void set_lockdown(const SlashContext& ctx, bool on, const std::string& reason) override;
  std::optional<jarvis::Json> trace_events(const SlashContext& ctx,
                                           const std::string& trace_id) override;

 private:
  jarvis::Host& host_;
  ModelRouter& router_;
  const BundleSet& bundles_;
};

}  // namespace chat

// chat/src/plugin.cpp — entry of the chat plugin: registration only.
//
// What it registers (details in plugins/chat/README.md):
//   routes   /api/v1/threads… (routes.cpp), /api/v1/agents… (agent/agent_routes.cpp)
//   tasks    chat.agent_step (step.cpp), chat.compact_thread, chat.channel_inbound (channels.cpp)
//   tools    chat.complete (complete_tool.cpp), for other plugins' tasks
//   policies chat.bundle_governance (agent/governance.cpp)
//   events   durable subscription channel.inbound → chat.channel_inbound
#include <memory>

#include "agent/agent_routes.h"
#include "agent/bundles.h"
#include "agent/governance.h"
#include "channels.h"
#include "cli.h"
#include "complete_tool.h"
#include "jarvis/jarvis.h"
#include "live.h"
#include "provider.h"
#include "routes.h"
#include "slash_env.h"
#include "step.h"

namespace chat {

class ChatPlugin : public jarvis::Plugin {
 public:
  void setup(jarvis::Host& host) override {
    host_ = &host;
    const jarvis::PluginConfig& cfg = host.config();
    bundles_ = BundleSet::load({.agents_dir = cfg.get_string("agents_dir")});
    router_ = make_router(host);
    hub_ = std::make_unique<LiveHub>(host);
    slash_env_ = std::make_unique<ChatSlashEnv>(host, *router_, bundles_);
    StepConfig step_config = StepConfig::from(cfg);
    if (step_config.heartbeat * 2 > step_config.stale_after) {
      host.log()->warn(
          "chat: CHAT_STEP_HEARTBEAT_SECONDS should be well under half of "
          "CHAT_STEP_STALE_SECONDS, or a live step may be taken for dead");
    }
    runner_ = std::make_unique<StepRunner>(host, *hub_, *router_, bundles_, step_config);
    runner_->set_slash_env(slash_env_.get());

    StepRunner* runner = runner_.get();
    host.tasks().add(
        {.name = "chat.agent_step",
         .description = "Answers one chat message (slash command or agent loop)",
         .handler = [runner](jarvis::TaskContext& c) { return runner->run(c); },
         .retry = {.max_attempts = 3, .initial_backoff = std::chrono::milliseconds(2000)},
         .timeout = std::chrono::seconds(900)});
    host.tasks().add({.name = "chat.compact_thread",
                      .description = "Summarises a chat thread's older messages",
                      .handler = [runner](jarvis::TaskContext& c) { return runner->compact(c); },
                      .timeout = std::chrono::seconds(900)});

    register_thread_routes(host, *hub_, bundles_,
                           {.max_message_bytes = cfg.get_int("max_message_bytes"),
                            .daily_token_limit = cfg.get_int("user_daily_token_limit"),
                            .max_concurrent_steps = cfg.get_int("user_max_concurrent_steps")});
    register_agent_routes(host, bundles_);
    // risk_tier, can_request_privileged_change and allowed_paths at tool-call time (0043). A
    // malformed CHAT_TOOL_RISK_LEVELS stops the plugin: a typo must not loosen anything.
    ToolRiskLevels levels;
    try {
      levels = parse_tool_risk_levels(cfg.get_string("tool_risk_levels"));
    } catch (const std::invalid_argument& e) {
      throw jarvis::Error(400, "invalid_config", e.what());
    }
    register_governance_policy(host, bundles_, std::move(levels));
    // chat.complete: one model call for other plugins' tasks (decision 0042).
    register_complete_tool(host, *router_,
                           {.max_output_tokens = static_cast<int>(cfg.get_int("max_output_tokens")),
                            .daily_token_limit = cfg.get_int("user_daily_token_limit")});
    register_channels(host, cfg.get_int("user_daily_token_limit"));
    register_cli(host);  // jarvis ask / chat / threads (cli.cpp)
  }

  void start() override {
    report_bundle_problems(*host_, bundles_);
    report_unknown_tools(*host_, bundles_);
    // Each bundle's allowed_tools become the plugin's allow rows for "agent:<id>" (an admin's
    // deny still wins; an empty list removes the rows this plugin granted earlier).
    for (const AgentBundle& b : bundles_.agents()) {
      try {
        host_->tools().grant_agent_tools(b.principal(), b.identity.allowed_tools);
      } catch (const std::exception& e) {
        host_->log()->warn("chat: granting the tools of agent '{}' failed: {}", b.id, e.what());
      }
    }
  }

  void stop() override {
    if (hub_) hub_->close_all();
  }

  jarvis::Health health() const override {
    jarvis::Health h;
    if (router_) {
      h.details = {{"providers", router_->health()}};  // read-only: never a side effect
      if (!router_->configured()) {
        h.status = jarvis::Health::Status::Degraded;
        h.detail = "no LLM provider configured";
      }
    }
    return h;
  }

 private:
  jarvis::Host* host_ = nullptr;
  BundleSet bundles_;
  std::unique_ptr<ModelRouter> router_;
  std::unique_ptr<LiveHub> hub_;
  std::unique_ptr<ChatSlashEnv> slash_env_;
  std::unique_ptr<StepRunner> runner_;
};

}  // namespace chat

JARVIS_PLUGIN(chat::ChatPlugin)

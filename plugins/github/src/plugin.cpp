// github/src/plugin.cpp — entry of the github plugin: registration only.
#include <memory>

#include "context.h"
#include "jarvis/jarvis.h"
#include "status.h"
#include "tasks.h"
#include "webhook.h"

namespace github {

class GitHubPlugin : public jarvis::Plugin {
 public:
  void setup(jarvis::Host& host) override {
    host_ = &host;
    ctx_ = std::make_unique<Context>(host, Settings::load(host.config()));
    register_webhook(host, *ctx_);  // POST /api/v1/webhooks/github
    register_tasks(host, *ctx_);    // github.pr_summary, .pr_chat, .sync_bug (bug.created), prune
    register_status(host, *ctx_);   // GET /api/v1/github/status, jarvis github status|sync-bugs
  }

  void start() override {
    // The plugin's model calls run as agent:github and need chat.complete (deny by default; an
    // admin's `jarvis permissions deny agent:github chat.complete` still wins).
    try {
      host_->tools().grant_agent_tools(kAgentId, {kCompleteTool});
    } catch (const std::exception& e) {
      host_->log()->warn("github: could not grant {} to {}: {}", kCompleteTool, kAgentId, e.what());
    }
  }

  // Degraded (still ready) when a feature is on without what it needs, or while rate-limited.
  // Cheap: settings and the in-memory rate state only.
  jarvis::Health health() const override {
    jarvis::Health h;
    if (!ctx_) return h;
    const Settings& s = ctx_->settings;
    std::string problem;
    if ((s.pr_summary_enabled || s.issue_sync_enabled) && s.token.empty())
      problem = "GITHUB_TOKEN is not set";
    else if (s.pr_summary_enabled && s.webhook_secret.empty())
      problem = "GITHUB_WEBHOOK_SECRET is not set: deliveries are refused";
    else if (s.issue_sync_enabled && !valid_repo_name(s.issue_sync_repo))
      problem = "GITHUB_ISSUE_SYNC_REPO is not owner/repo";
    else if (long long w = ctx_->rate.wait_seconds(epoch_now()); w > 0)
      problem = "GitHub rate limit: calls resume in " + std::to_string(w) + " s";
    if (!problem.empty()) {
      h.status = jarvis::Health::Status::Degraded;
      h.detail = problem;
    }
    return h;
  }

 private:
  jarvis::Host* host_ = nullptr;
  std::unique_ptr<Context> ctx_;
};

}  // namespace github

JARVIS_PLUGIN(github::GitHubPlugin)

// github/src/webhook.h — POST /api/v1/webhooks/github: signature, headers, replay refusal, the
// decision what a delivery causes, and the durable record of it (delivery row + tasks in one
// transaction, committed before the 2xx).
//
//   github::register_webhook(host, ctx);        // in setup()
//   github::WebhookDecision d = github::decide(settings, "pull_request", body_json);
#pragma once

#include <string>
#include <vector>

#include "context.h"

namespace github {

/// The biggest body GitHub sends (25 MB), plus headroom; the route's body limit.
inline constexpr std::size_t kMaxWebhookBodyBytes = 26u * 1024 * 1024;

/// Task names.
inline constexpr const char* kSummaryTask = "github.pr_summary";
inline constexpr const char* kChatTask = "github.pr_chat";
inline constexpr const char* kIssueSyncTask = "github.sync_bug";

/// What one verified delivery leads to.
struct WebhookDecision {
  int status = 202;
  jarvis::Json body;                  ///< response body (without the delivery id)
  std::string action, repo, outcome;  ///< for the delivery row
  std::vector<TaskToEnqueue> tasks;
};

/// The payload fields decide() reads (dot paths), scanned without building the whole document.
extern const std::vector<std::string> kPayloadFields;

/// Decides what a verified delivery of `event` with JSON `payload` causes (pure: no I/O).
/// Throws jarvis::Error 400 `invalid_payload` when a handled event lacks the fields it needs.
WebhookDecision decide(const Settings& s, const std::string& event, const jarvis::Json& payload,
                       const std::string& delivery_id);

/// Registers the route.
void register_webhook(jarvis::Host& host, Context& ctx);

}  // namespace github

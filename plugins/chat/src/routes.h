// chat/src/routes.h — the chat HTTP API: threads, messages (JSON or server-sent events), the
// stream of a running step, cancel and export. Every route is owner-scoped through
// Host::threads(): a thread the caller may not see answers 404 thread_not_found, like one that
// does not exist. The contract is documented in plugins/chat/README.md ("API").
#pragma once

#include "agent/bundles.h"
#include "jarvis/jarvis.h"
#include "live.h"

namespace chat {

/// Limits the routes enforce (plugin.yaml).
struct RouteLimits {
  long long max_message_bytes = 32000;
  long long daily_token_limit = 0;  ///< 0 = no quota
  long long max_concurrent_steps = 2;
};

/// Registers /api/v1/threads… on `host`. `bundles` and `hub` outlive the routes.
void register_thread_routes(jarvis::Host& host, LiveHub& hub, const BundleSet& bundles,
                            RouteLimits limits);

/// How far back the concurrency limit looks: a queued or running step older than this is not
/// counted (a step whose task died must not block its user for ever).
inline constexpr long long kActiveStepWindowMs = 30LL * 60 * 1000;

}  // namespace chat

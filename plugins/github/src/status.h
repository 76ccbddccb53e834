// github/src/status.h — GET /api/v1/github/status (admin) and the `jarvis github` CLI
// (`status [--json]`, `sync-bugs [--json]`). Configuration is reported as present or not, never
// with its values.
//
//   jarvis::Json doc = github::status_document(ctx);   // the route's body
//   github::register_status(host, ctx);
#pragma once

#include "context.h"

namespace github {

/// {configured, features, last_delivery, deliveries_last_hour, last_error, rate_limit}.
jarvis::Json status_document(Context& c);

/// Registers the route and the CLI commands.
void register_status(jarvis::Host& host, Context& ctx);

}  // namespace github

// host/src/registry/tool_caller.h — who a tool call from outside (admin route, operator CLI) runs
// as: the `as` / `--as` and `on_behalf_of` / `--on-behalf-of` values turned into a ToolCall's
// caller and agent (decision 0017).
#pragma once

#include <string>

#include "jarvis/database.h"
#include "jarvis/principal.h"

namespace jarvis::host {

/// The caller and agent of one tool call.
struct ToolCaller {
  jarvis::Principal caller;
  std::string agent_id;  ///< empty for a direct call
};

/// Resolves `as` for a call made by `self` (the signed-in admin, or Principal::system() in the
/// CLI):
///   ""            → `self`, no agent;
///   "agent:NAME"  → agent "agent:NAME" acting for `on_behalf_of` (a user) or else for `self`;
///   "system"      → Principal::system();
///   anything else → the user with that id (`usr_…`) or username, who must not be disabled.
/// Throws jarvis::Error 400 `invalid_field` naming `field_as` / `field_on_behalf_of`, and 404
/// `user_not_found`.
ToolCaller resolve_tool_caller(jarvis::Database& db, const jarvis::Principal& self,
                               const std::string& as, const std::string& on_behalf_of,
                               const std::string& field_as = "as",
                               const std::string& field_on_behalf_of = "on_behalf_of");

}  // namespace jarvis::host

// host/src/registry/tool_caller.cpp — resolving `as` / `on_behalf_of` (see tool_caller.h).
#include "registry/tool_caller.h"

#include <algorithm>
#include <cctype>

#include "auth/permissions.h"
#include "auth/user_store.h"
#include "jarvis/error.h"

namespace jarvis::host {
namespace {

jarvis::Principal user_principal(jarvis::Database& db, const std::string& who,
                                 const std::string& field) {
  if (who == "system") return jarvis::Principal::system();
  PermissionStore::check_name(who, field);
  UserStore users(db);
  auto u = users.find_by_id(who);
  if (!u) {
    std::string lower = who;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    u = users.find_by_name(lower);
  }
  if (!u)
    throw jarvis::Error(404, "user_not_found", "field '" + field + "': no user '" + who + "'");
  if (u->disabled) {
    throw jarvis::Error(400, "invalid_field",
                        "field '" + field + "': user '" + u->username + "' is disabled");
  }
  return jarvis::Principal{u->id, u->username, u->role, true};
}

}  // namespace

ToolCaller resolve_tool_caller(jarvis::Database& db, const jarvis::Principal& self,
                               const std::string& as, const std::string& on_behalf_of,
                               const std::string& field_as, const std::string& field_on_behalf_of) {
  if (as.rfind("agent:", 0) == 0) {
    PermissionStore::check_name(as, field_as);
    if (as.size() == 6) {
      throw jarvis::Error(400, "invalid_field", "field '" + field_as + "': agent name missing");
    }
    ToolCaller out{self, as};
    if (!on_behalf_of.empty()) out.caller = user_principal(db, on_behalf_of, field_on_behalf_of);
    return out;
  }
  if (!on_behalf_of.empty()) {
    throw jarvis::Error(400, "invalid_field",
                        "field '" + field_on_behalf_of + "': only an agent ('" + field_as +
                            "': \"agent:NAME\") acts on behalf of a user");
  }
  if (as.empty()) return ToolCaller{self, ""};
  return ToolCaller{user_principal(db, as, field_as), ""};
}

}  // namespace jarvis::host

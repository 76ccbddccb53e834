// jarvis/principal.h — who is calling: the identity the host attaches to every request and call.
#pragma once

#include <string>

namespace jarvis {

/// Role of an authenticated user. Admins see and change every resource; users only their own.
enum class Role { User, Admin };

/// The caller of a route, tool, task or command, as established by the host.
struct Principal {
  /// Stable user id (e.g. "usr_1f0c…"); empty when anonymous.
  std::string user_id;
  /// Login name; empty when anonymous.
  std::string username;
  Role role = Role::User;
  /// False for anonymous requests to public routes.
  bool authenticated = false;

  bool is_admin() const { return authenticated && role == Role::Admin; }

  /// True when this principal may see or change a resource owned by `owner_user_id`:
  /// admins may touch everything, users only their own resources.
  bool may_access(const std::string& owner_user_id) const {
    return is_admin() || (authenticated && !user_id.empty() && user_id == owner_user_id);
  }

  /// The principal used for host-internal work (tasks, schedules, CLI): an admin named "system".
  static Principal system() { return Principal{"system", "system", Role::Admin, true}; }
};

/// "user" or "admin".
inline const char* to_string(Role r) { return r == Role::Admin ? "admin" : "user"; }

}  // namespace jarvis

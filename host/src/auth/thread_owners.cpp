// host/src/auth/thread_owners.cpp — the thread ownership registry.
#include "auth/thread_owners.h"

#include "jarvis/error.h"

namespace jarvis::host {
namespace {

void check_id(const std::string& id, const char* field) {
  if (id.empty() || id.size() > 128) {
    throw jarvis::Error(400, "invalid_field",
                        std::string("field '") + field + "': 1 to 128 characters");
  }
}

}  // namespace

ThreadOwners::ThreadOwners(jarvis::Database& db) : db_(db), live_(&db) {}

void ThreadOwners::claim(const std::string& thread_id, const std::string& user_id,
                         const std::string& component) {
  check_id(thread_id, "thread_id");
  check_id(user_id, "user_id");
  auto current = owner_of(thread_id);
  if (!current) {
    try {
      auto sql = db_.session();
      std::string now = jarvis::now_iso();
      *sql << "INSERT INTO thread_owners(thread_id, user_id, component, created_at) "
              "VALUES(:t, :u, :c, :n)",
          soci::use(thread_id), soci::use(user_id), soci::use(component), soci::use(now);
      return;
    } catch (const std::exception&) {
      current = owner_of(thread_id);  // lost a race: judge by whoever won
      if (!current) throw;
    }
  }
  if (*current != user_id) {
    throw jarvis::Error(409, "thread_owned", "thread '" + thread_id + "' belongs to another user");
  }
}

std::optional<std::string> ThreadOwners::owner_of(const std::string& thread_id) {
  auto sql = db_.session();
  std::string user;
  *sql << "SELECT user_id FROM thread_owners WHERE thread_id = :t", soci::use(thread_id),
      soci::into(user);
  if (!sql->got_data()) return std::nullopt;
  return user;
}

bool ThreadOwners::may_access(const jarvis::Principal& who, const std::string& thread_id) {
  if (who.is_admin()) return true;
  if (!who.authenticated || thread_id.empty()) return false;
  auto owner = owner_of(thread_id);
  return owner && who.may_access(*owner);
}

bool ThreadOwners::release(const std::string& thread_id) {
  auto sql = db_.session();
  soci::statement st =
      (sql->prepare << "DELETE FROM thread_owners WHERE thread_id = :t", soci::use(thread_id));
  st.execute(true);
  return st.get_affected_rows() > 0;
}

}  // namespace jarvis::host

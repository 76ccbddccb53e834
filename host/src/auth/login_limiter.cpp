// host/src/auth/login_limiter.cpp — database-backed login rate limits (see login_limiter.h).
#include "auth/login_limiter.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace jarvis::host {
namespace {

constexpr std::int64_t kPruneEveryMs = 60 * 1000;
constexpr std::int64_t kKnownAddressKeepMs = 90LL * 24 * 3600 * 1000;

struct Window {
  const char* scope;
  std::string subject;
  int limit;
  std::int64_t window_ms;
};

}  // namespace

LoginLimiter::LoginLimiter(jarvis::Database& db, LoginLimits limits) : db_(db), limits_(limits) {}

std::int64_t LoginLimiter::now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

LoginVerdict LoginLimiter::reserve(const std::string& address, const std::string& username,
                                   std::int64_t now_ms) {
  LoginVerdict v;
  const std::int64_t short_ms = limits_.window.count() * 1000;
  const std::int64_t long_ms = limits_.username_window.count() * 1000;
  std::vector<Window> windows;
  if (limits_.per_address_username > 0) {
    windows.push_back(
        {"address_user", address + "\n" + username, limits_.per_address_username, short_ms});
  }
  if (limits_.per_address > 0)
    windows.push_back({"address", address, limits_.per_address, short_ms});
  if (limits_.per_username > 0)
    windows.push_back({"user", username, limits_.per_username, long_ms});
  if (windows.empty()) return v;

  prune(now_ms);
  auto sql = db_.session();
  soci::transaction tx(*sql);
  if (db_.dialect() == jarvis::Dialect::Postgresql) {
    // Serialises reservations of every host on this database until the transaction ends.
    *sql << "SELECT pg_advisory_xact_lock(7007024)";
  }
  // Write first: on SQLite the first write takes the database's write lock, so the counts below
  // cannot race with another process's reservation.
  std::vector<std::string> ids;
  for (const auto& w : windows) {
    std::string id = jarvis::new_id("lgf");
    std::string scope = w.scope;
    std::string subject = w.subject;
    long long at = now_ms;
    *sql << "INSERT INTO login_failures(id, scope, subject, at_ms) VALUES(:id, :s, :k, :t)",
        soci::use(id), soci::use(scope), soci::use(subject), soci::use(at);
    ids.push_back(id);
  }
  for (const auto& w : windows) {
    std::string scope = w.scope;
    std::string subject = w.subject;
    long long since = now_ms - w.window_ms;
    long long count = 0;
    long long oldest = 0;
    *sql << "SELECT COUNT(*), COALESCE(MIN(at_ms), 0) FROM login_failures "
            "WHERE scope = :s AND subject = :k AND at_ms > :since",
        soci::use(scope), soci::use(subject), soci::use(since), soci::into(count),
        soci::into(oldest);
    if (count <= w.limit) continue;  // our own attempt is counted
    if (scope == "user") {
      // The backstop spares addresses this user has logged in from before.
      std::string addr = address;
      std::string user = username;
      long long known = 0;
      *sql << "SELECT COUNT(*) FROM login_known_addresses WHERE username = :u AND address = :a",
          soci::use(user), soci::use(addr), soci::into(known);
      if (known > 0) continue;
    }
    tx.rollback();
    v.allowed = false;
    v.scope = scope;
    auto wait_ms = std::max<std::int64_t>(oldest + w.window_ms - now_ms, 1000);
    v.retry_after = std::chrono::seconds((wait_ms + 999) / 1000);
    return v;
  }
  tx.commit();
  v.reservation.ids = std::move(ids);
  return v;
}

void LoginLimiter::succeeded(const std::string& address, const std::string& username,
                             const LoginReservation& reservation, std::int64_t now_ms) {
  auto sql = db_.session();
  soci::transaction tx(*sql);
  for (const auto& id : reservation.ids) {
    std::string i = id;
    *sql << "DELETE FROM login_failures WHERE id = :id", soci::use(i);
  }
  std::string pair = address + "\n" + username;
  *sql << "DELETE FROM login_failures WHERE scope = 'address_user' AND subject = :k",
      soci::use(pair);
  std::string user = username;
  std::string addr = address;
  long long at = now_ms;
  *sql << "INSERT INTO login_known_addresses(username, address, last_login_ms) "
          "VALUES(:u, :a, :t) ON CONFLICT (username, address) DO UPDATE SET "
          "last_login_ms = excluded.last_login_ms",
      soci::use(user), soci::use(addr), soci::use(at);
  tx.commit();
}

void LoginLimiter::prune(std::int64_t now_ms) {
  std::int64_t last = last_prune_ms_.load();
  if (now_ms - last < kPruneEveryMs || !last_prune_ms_.compare_exchange_strong(last, now_ms)) {
    return;
  }
  try {
    long long keep_ms = std::max(limits_.window, limits_.username_window).count() * 1000;
    long long before = now_ms - keep_ms;
    long long known_before = now_ms - kKnownAddressKeepMs;
    auto sql = db_.session();
    *sql << "DELETE FROM login_failures WHERE at_ms <= :b", soci::use(before);
    *sql << "DELETE FROM login_known_addresses WHERE last_login_ms <= :b", soci::use(known_before);
  } catch (const std::exception& e) {
    spdlog::warn("auth: pruning login attempts failed: {}", e.what());
  }
}

}  // namespace jarvis::host

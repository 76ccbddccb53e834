// host/src/auth/login_limiter.h — login rate limits stored in the database (migrations 024/025),
// so that they survive a restart and are shared by every host on one PostgreSQL database.
//
// Three sliding windows of failed attempts (docs/decisions/0011-sessions-login-limits-origin.md):
//   (address, username)  LOGIN_RATE_LIMIT_PER_ADDRESS_USERNAME per LOGIN_RATE_LIMIT_WINDOW_SECONDS
//   address              LOGIN_RATE_LIMIT_PER_ADDRESS          per LOGIN_RATE_LIMIT_WINDOW_SECONDS
//   username (backstop)  LOGIN_RATE_LIMIT_PER_USERNAME         per
//   LOGIN_RATE_LIMIT_USERNAME_WINDOW_SECONDS
// The username backstop does not apply to an address the user has logged in from before, so
// guessers spread over many addresses cannot lock the owner out.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "jarvis/database.h"

namespace jarvis::host {

/// Limits of the three windows; a limit of 0 switches that window off.
struct LoginLimits {
  int per_address_username = 5;
  int per_address = 20;
  std::chrono::seconds window{300};
  int per_username = 100;
  std::chrono::seconds username_window{3600};
};

/// An attempt recorded by LoginLimiter::reserve (row ids to delete when the login succeeds).
struct LoginReservation {
  std::vector<std::string> ids;
};

/// Outcome of LoginLimiter::reserve.
struct LoginVerdict {
  bool allowed = true;
  std::chrono::seconds retry_after{0};  ///< when refused: until the oldest attempt leaves
  std::string scope;                    ///< when refused: "address_user", "address" or "user"
  LoginReservation reservation;         ///< when allowed
};

/// Thread-safe; any number of instances and processes may share one database.
class LoginLimiter {
 public:
  LoginLimiter(jarvis::Database& db, LoginLimits limits);

  /// Records one attempt of `username` from `address` in every enabled window unless one of them
  /// is full (then records nothing). Atomic against concurrent attempts (one write transaction;
  /// an advisory lock on PostgreSQL). `now_ms` is Unix time in milliseconds.
  LoginVerdict reserve(const std::string& address, const std::string& username,
                       std::int64_t now_ms);
  /// A successful login: deletes the reservation and every failure of (address, username), and
  /// remembers the address as known for the user.
  void succeeded(const std::string& address, const std::string& username,
                 const LoginReservation& reservation, std::int64_t now_ms);
  /// Deletes attempts older than every window and known addresses older than 90 days.
  void prune(std::int64_t now_ms);

  const LoginLimits& limits() const { return limits_; }

  /// Unix time in milliseconds.
  static std::int64_t now_ms();

 private:
  jarvis::Database& db_;
  LoginLimits limits_;
  std::atomic<std::int64_t> last_prune_ms_{0};
};

}  // namespace jarvis::host

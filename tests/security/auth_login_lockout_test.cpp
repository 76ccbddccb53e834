// tests/security/auth_login_lockout_test.cpp — issue 8, finding 8 "Admin lockout by anyone":
// five wrong passwords for `admin` from one address must not lock the owner out from another
// address; limits are per (address, username) and per address, with a much higher per-username
// backstop that spares addresses the user logged in from before; the counters are stored in the
// database and survive a restart; a success clears the (address, username) counter.
#include "auth/auth_fixture.h"

namespace jarvis::host::authtest {
namespace {

using AuthLoginLockout = AuthTest;

TEST_P(AuthLoginLockout, WrongPasswordsFromOneAddressDoNotLockTheOwnerOut) {
  start();  // default limits
  auth_->add_user("admin", "correct horse battery", jarvis::Role::Admin);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(login("admin", "wrong password", "203.0.113.66").status, 401) << i;
  }
  // The attacker's address is limited for this username...
  auto limited = login("admin", "correct horse battery", "203.0.113.66");
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_EQ(code(limited), "rate_limited");
  // ...but the owner, from another address, gets in.
  auto owner = login("admin", "correct horse battery", "198.51.100.7");
  EXPECT_EQ(owner.status, 200) << owner.body;
}

TEST_P(AuthLoginLockout, CountersSurviveARestart) {
  start({{"LOGIN_RATE_LIMIT_PER_ADDRESS_USERNAME", "3"}});
  auth_->add_user("carol", "carol password", jarvis::Role::User);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(login("carol", "nope nope", "192.0.2.10").status, 401);
  start({{"LOGIN_RATE_LIMIT_PER_ADDRESS_USERNAME", "3"}});  // a new service: "a restart"
  EXPECT_EQ(login("carol", "carol password", "192.0.2.10").status, 429);
  EXPECT_GE(count("SELECT COUNT(*) FROM login_failures"), 3);
}

TEST_P(AuthLoginLockout, SuccessClearsTheAddressUsernameCounter) {
  start({{"LOGIN_RATE_LIMIT_PER_ADDRESS_USERNAME", "3"}});
  auth_->add_user("dora", "dora password", jarvis::Role::User);
  EXPECT_EQ(login("dora", "typo typo", "192.0.2.11").status, 401);
  EXPECT_EQ(login("dora", "typo typo", "192.0.2.11").status, 401);
  EXPECT_EQ(login("dora", "dora password", "192.0.2.11").status, 200);
  // Cleared: three more typos are allowed before the limit.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(login("dora", "typo typo", "192.0.2.11").status, 401) << i;
  EXPECT_EQ(login("dora", "dora password", "192.0.2.11").status, 429);
}

TEST_P(AuthLoginLockout, PerAddressLimitAcrossUsernames) {
  start({{"LOGIN_RATE_LIMIT_PER_ADDRESS", "3"}});
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(login("user" + std::to_string(i), "whatever1", "192.0.2.12").status, 401);
  }
  EXPECT_EQ(login("user9", "whatever1", "192.0.2.12").status, 429);
  EXPECT_EQ(login("user9", "whatever1", "192.0.2.13").status, 401);
}

TEST_P(AuthLoginLockout, UsernameBackstopSparesKnownAddresses) {
  start({{"LOGIN_RATE_LIMIT_PER_USERNAME", "4"}});
  auth_->add_user("erik", "erik password", jarvis::Role::Admin);
  EXPECT_EQ(login("erik", "erik password", "198.51.100.20").status, 200);  // the owner's address
  // A distributed guesser: one attempt from each of many addresses trips the backstop.
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(login("erik", "guess guess", "203.0.113." + std::to_string(i + 1)).status, 401);
  }
  EXPECT_EQ(login("erik", "erik password", "203.0.113.99").status, 429);   // unknown address
  EXPECT_EQ(login("erik", "erik password", "198.51.100.20").status, 200);  // known: not locked out
}

INSTANTIATE_TEST_SUITE_P(Backends, AuthLoginLockout,
                         testing::Values(Backend::Sqlite, Backend::Postgresql), backend_name);

}  // namespace
}  // namespace jarvis::host::authtest

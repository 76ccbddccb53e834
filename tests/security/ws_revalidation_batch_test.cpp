// tests/security/ws_revalidation_batch_test.cpp — issue 8, finding 4: the batched re-validation
// the /ws hub uses (AuthService::validate_tokens) reads the database, not the token cache, so a
// revocation made by another process is seen at the next pass; and revocations made through the
// service call the revocation listener (the hub re-validates at once).
#include "auth/auth_fixture.h"

namespace jarvis::host::authtest {
namespace {

using WsRevalidationBatch = AuthTest;

TEST_P(WsRevalidationBatch, SeesOtherProcessesRevocationsThroughTheCache) {
  start({{"WEB_AUTH_CACHE_SECONDS", "300"}});
  std::string alice = token_for("alice", jarvis::Role::User);
  std::string bob = token_for("bob", jarvis::Role::User);
  std::string ops = token_for("ops", jarvis::Role::Admin);
  token_for("root", jarvis::Role::Admin);
  for (const auto& t : {alice, bob, ops}) ASSERT_TRUE(auth_->authenticate_token(t));  // cached

  // "Another process": plain SQL behind the service's back.
  {
    auto s = db_->session();
    std::string now = jarvis::now_iso();
    std::string digest = token_digest(alice);
    *s << "UPDATE auth_tokens SET revoked_at = :n WHERE token_hash = :h", soci::use(now),
        soci::use(digest);
    *s << "UPDATE users SET disabled = 1 WHERE username = 'bob'";
    *s << "UPDATE users SET role = 'user' WHERE username = 'ops'";
  }
  EXPECT_TRUE(auth_->authenticate_token(alice));  // the cache still trusts it
  auto now = auth_->validate_tokens({alice, bob, ops, "jvt_unknown", ""});
  ASSERT_EQ(now.size(), 5u);
  EXPECT_FALSE(now[0]);
  EXPECT_FALSE(now[1]);
  ASSERT_TRUE(now[2]);
  EXPECT_EQ(now[2]->role, jarvis::Role::User);
  EXPECT_FALSE(now[3]);
  EXPECT_FALSE(now[4]);
  EXPECT_FALSE(auth_->authenticate_token(alice));  // and the stale cache entry is gone
}

TEST_P(WsRevalidationBatch, ServiceRevocationsNotifyTheListener) {
  start();
  std::string t = token_for("carl", jarvis::Role::User);
  int calls = 0;
  auth_->set_revocation_listener([&] { ++calls; });
  auth_->set_disabled("carl", true);
  EXPECT_EQ(calls, 1);
  auth_->set_disabled("carl", false);
  EXPECT_TRUE(auth_->logout(t));
  EXPECT_EQ(calls, 3);
  auth_->set_revocation_listener(nullptr);
  auth_->set_disabled("carl", true);
  EXPECT_EQ(calls, 3);
}

INSTANTIATE_TEST_SUITE_P(Backends, WsRevalidationBatch,
                         testing::Values(Backend::Sqlite, Backend::Postgresql), backend_name);

}  // namespace
}  // namespace jarvis::host::authtest

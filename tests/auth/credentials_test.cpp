// tests/auth/credentials_test.cpp — argon2id hashes, tokens, constant-time equality and the
// sliding-window limiter (time is passed in, so no sleeping and no timing thresholds).
#include <gtest/gtest.h>

#include <set>

#include "auth/credentials.h"

namespace jarvis::host {
namespace {

TEST(Credentials, PasswordHashIsArgon2idAndVerifies) {
  std::string h = hash_password("correct horse battery", PasswordStrength::Interactive);
  EXPECT_EQ(h.rfind("$argon2id$", 0), 0u) << h;
  EXPECT_NE(h.find("m=65536"), std::string::npos) << h;  // 64 MiB: the interactive limit
  EXPECT_TRUE(verify_password(h, "correct horse battery"));
  EXPECT_FALSE(verify_password(h, "correct horse batterY"));
  EXPECT_FALSE(verify_password(h, ""));
  EXPECT_FALSE(verify_password("not a hash", "x"));
  EXPECT_FALSE(verify_password("", "x"));
  EXPECT_NE(hash_password("same", PasswordStrength::Interactive),
            hash_password("same", PasswordStrength::Interactive));  // salted
  EXPECT_FALSE(password_needs_rehash(h, PasswordStrength::Interactive));
  EXPECT_TRUE(password_needs_rehash(h, PasswordStrength::Moderate));
}

TEST(Credentials, TokensAreLongRandomAndStoredAsDigests) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string t = new_token();
    ASSERT_EQ(t.size(), 4u + 43u) << t;  // "jvt_" + 32 bytes base64url without padding
    ASSERT_EQ(t.rfind("jvt_", 0), 0u);
    for (char c : t.substr(4))
      ASSERT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 200u);
  // SHA-256 test vector (FIPS 180-2, "abc").
  EXPECT_EQ(token_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Credentials, SecretsEqual) {
  EXPECT_TRUE(secrets_equal("setup-password", "setup-password"));
  EXPECT_FALSE(secrets_equal("setup-password", "setup-passwore"));
  EXPECT_FALSE(secrets_equal("setup-password", "setup-password-longer"));
  EXPECT_FALSE(secrets_equal("", "x"));
  EXPECT_TRUE(secrets_equal("", ""));
}

TEST(Credentials, StrengthNames) {
  PasswordStrength s;
  EXPECT_TRUE(parse_password_strength("moderate", s));
  EXPECT_EQ(s, PasswordStrength::Moderate);
  EXPECT_TRUE(parse_password_strength("interactive", s));
  EXPECT_EQ(s, PasswordStrength::Interactive);
  EXPECT_FALSE(parse_password_strength("weak", s));
}

}  // namespace
}  // namespace jarvis::host

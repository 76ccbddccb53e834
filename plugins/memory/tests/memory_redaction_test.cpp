// memory/tests/memory_redaction_test.cpp — the free-text redactor: each secret and PII rule, the
// modes, inputs that must not be touched, and hostile inputs that must not crash it.
#include <gtest/gtest.h>

#include <string>

#include "redactor.h"

namespace {

using jarvis::memory::Redaction;
using jarvis::memory::Redactor;

Redaction mask(const std::string& text) {
  return Redactor({.secret_scan = true, .pii_mode = "mask"}).scan(text);
}

bool has_rule(const Redaction& r, const std::string& rule) {
  for (const auto& f : r.findings) {
    if (f.rule == rule) return true;
  }
  return false;
}

TEST(MemoryRedaction, SecretsAreMaskedAndNamed) {
  struct Case {
    std::string text, secret, rule;
  };
  const std::vector<Case> cases = {
      {"key sk-proj-AbCdEfGhIjKlMnOpQrStUvWx123 ok", "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx123",
       "openai_key"},
      {"use sk-ant-api03-abcdefghijklmnop1234 now", "sk-ant-api03-abcdefghijklmnop1234",
       "anthropic_key"},
      {"token ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
       "github_token"},
      {"aws AKIAIOSFODNN7EXAMPLE here", "AKIAIOSFODNN7EXAMPLE", "aws_access_key"},
      {"slack xoxb-1234567890-abcdefghij", "xoxb-1234567890-abcdefghij", "slack_token"},
      {"jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
       "eyJhbGciOiJIUzI1NiJ9", "jwt"},
      {"curl -H 'Authorization: Bearer abcdefghijklmnop0123456789'", "abcdefghijklmnop0123456789",
       "bearer_token"},
      {"db postgres://admin:hunter22@db.example.com/x", "hunter22", "url_credentials"},
      {"my password: Tr0ub4dor&3 please", "Tr0ub4dor&3", "password"},
      {"API_KEY=abc123def456", "abc123def456", "password"},
  };
  for (const auto& c : cases) {
    Redaction r = mask(c.text);
    EXPECT_EQ(r.text.find(c.secret), std::string::npos) << c.text << " -> " << r.text;
    EXPECT_TRUE(has_rule(r, c.rule)) << c.text << " -> " << r.text;
    EXPECT_FALSE(r.denied);
  }
}

TEST(MemoryRedaction, PrivateKeyBlocksGoWhole) {
  const std::string pem =
      "before\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1234\nabcd\n-----END RSA "
      "PRIVATE KEY-----\nafter";
  Redaction r = mask(pem);
  EXPECT_EQ(r.text, "before\n[REDACTED:private_key]\nafter");
  // An unterminated block is cut to the end of the text.
  Redaction open = mask("x -----BEGIN PRIVATE KEY-----\nMIIE");
  EXPECT_EQ(open.text, "x [REDACTED:private_key]");
  // A public key is not a secret.
  EXPECT_TRUE(mask("-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----").findings.empty());
}

TEST(MemoryRedaction, PersonalDataMaskedOrDenied) {
  const std::string text =
      "mail ada@example.org or call +44 20 7946 0958, card 4111 1111 1111 1111, iban "
      "GB82 WEST 1234 5698 7654 32";
  Redaction r = mask(text);
  EXPECT_EQ(r.text.find("ada@example.org"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("4111 1111"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("7946"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("WEST"), std::string::npos) << r.text;
  for (const char* rule : {"email", "phone", "card_number", "iban"}) {
    EXPECT_TRUE(has_rule(r, rule)) << rule << ": " << r.text;
  }
  Redaction d = Redactor({.secret_scan = true, .pii_mode = "deny"}).scan("mail ada@example.org");
  EXPECT_TRUE(d.denied);
  Redaction off = Redactor({.secret_scan = true, .pii_mode = "off"}).scan("mail ada@example.org");
  EXPECT_EQ(off.text, "mail ada@example.org");
  EXPECT_FALSE(off.denied);
  // Secret scan off: keys stay (the operator's choice), PII still per mode.
  Redaction noscan = Redactor({.secret_scan = false, .pii_mode = "mask"})
                         .scan("sk-proj-AbCdEfGhIjKlMnOpQrStUvWx123 ada@example.org");
  EXPECT_NE(noscan.text.find("sk-proj-"), std::string::npos);
  EXPECT_EQ(noscan.text.find("ada@"), std::string::npos);
}

TEST(MemoryRedaction, OrdinaryTextIsUntouched) {
  for (const std::string t :
       {"Version 1.2.3 was released on 2026-12-01 at 10:30.", "Order 1234 5678 shipped",
        "card 4111 1111 1111 1112 (fails Luhn)", "I like sk-ate boarding", "The token ring network",
        "ghp is short", "call me maybe", "room 101, floor 3"}) {
    Redaction r = mask(t);
    EXPECT_EQ(r.text, t) << r.text;
    EXPECT_TRUE(r.findings.empty()) << t;
  }
}

TEST(MemoryRedaction, HostileInputsNeverCrash) {
  // A megabyte without blanks, NUL bytes, invalid UTF-8, many @ and digits.
  std::string big(1 << 20, 'a');
  Redaction r = mask(big);
  EXPECT_EQ(r.text, "[REDACTED:long_token]");
  std::string weird("a\0b\xff\xfe@@@@....", 14);
  EXPECT_NO_THROW(mask(weird));
  std::string digits;
  for (int i = 0; i < 5000; ++i) digits += "1 ";
  EXPECT_NO_THROW(mask(digits));
  std::string at;
  for (int i = 0; i < 3000; ++i) at += "a@b.";
  EXPECT_NO_THROW(mask(at));
}

}  // namespace

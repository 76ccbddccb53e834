// tests/sdk/crypto_test.cpp — jarvis/crypto.h against the published vectors (RFC 4231 HMAC-SHA256,
// FIPS 180 SHA-256), constant-time comparison, random tokens, file hashing and its errors, and
// the GitHub webhook signature check a plugin writes with it.
#include "jarvis/crypto.h"

#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>

#include "jarvis/error.h"
#include "support/support.h"

namespace {

std::string unhex(std::string_view hex) {
  auto bytes = jarvis::from_hex(hex);
  EXPECT_TRUE(bytes.has_value()) << hex;
  return bytes.value_or("");
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  ASSERT_TRUE(out.good()) << path;
}

// --- RFC 4231, section 4 (case 5 is a truncated tag and is not a property of HMAC itself) -----

struct HmacVector {
  const char* name;
  std::string key;
  std::string data;
  const char* hmac_hex;
};

TEST(CryptoHmac, Rfc4231TestCases) {
  const std::string key131(131, '\xaa');
  const HmacVector vectors[] = {
      {"case 1", std::string(20, '\x0b'), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"case 2", "Jefe", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {"case 3", std::string(20, '\xaa'), std::string(50, '\xdd'),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {"case 4", unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
       std::string(50, '\xcd'), "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {"case 6", key131, "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {"case 7", key131,
       "This is a test using a larger than block-size key and a larger than block-size data. The "
       "key needs to be hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.name);
    EXPECT_EQ(jarvis::hmac_sha256_hex(v.key, v.data), v.hmac_hex);
    std::string raw = jarvis::hmac_sha256(v.key, v.data);
    EXPECT_EQ(raw.size(), jarvis::kSha256Bytes);
    EXPECT_EQ(raw, unhex(v.hmac_hex));
    EXPECT_TRUE(jarvis::hmac_sha256_verify(v.key, v.data, v.hmac_hex));
  }
}

TEST(CryptoHmac, EmptyKeyAndMessageAreValidInputs) {
  // HMAC-SHA256("", "") — cross-checked with Python's hmac module.
  EXPECT_EQ(jarvis::hmac_sha256_hex("", ""),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(CryptoHmac, VerifyRefusesWrongOrMalformedSignatures) {
  const std::string key = "Jefe";
  const std::string msg = "what do ya want for nothing?";
  const std::string good = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
  std::string upper = good;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(jarvis::hmac_sha256_verify(key, msg, upper)) << "hex case does not matter";

  std::string flipped = good;
  flipped.back() = flipped.back() == '3' ? '4' : '3';
  EXPECT_FALSE(jarvis::hmac_sha256_verify(key, msg, flipped));
  EXPECT_FALSE(jarvis::hmac_sha256_verify(key, msg + " ", good));
  EXPECT_FALSE(jarvis::hmac_sha256_verify("jefe", msg, good));
  EXPECT_FALSE(jarvis::hmac_sha256_verify(key, msg, good.substr(0, 62)));
  EXPECT_FALSE(jarvis::hmac_sha256_verify(key, msg, good + "00"));
  EXPECT_FALSE(jarvis::hmac_sha256_verify(key, msg, ""));
  EXPECT_FALSE(jarvis::hmac_sha256_verify(key, msg, "zz" + good.substr(2)));
  EXPECT_FALSE(jarvis::hmac_sha256_verify(key, msg, "sha256=" + good)) << "prefix not stripped";
}

// --- FIPS 180-4 / NIST example vectors ----------------------------------------------------------

TEST(CryptoSha256, FipsVectors) {
  EXPECT_EQ(jarvis::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(jarvis::sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(jarvis::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(jarvis::sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijk"
                               "lmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  std::string raw = jarvis::sha256("abc");
  EXPECT_EQ(raw.size(), jarvis::kSha256Bytes);
  EXPECT_EQ(jarvis::to_hex(raw), jarvis::sha256_hex("abc"));
}

TEST(CryptoSha256, MillionAsThroughTheFileFunction) {
  jarvis::test::TempDir dir;
  std::string path = dir.file("a.bin");
  write_file(path, std::string(1000000, 'a'));  // 15+ read chunks of 64 KiB
  EXPECT_EQ(jarvis::sha256_file_hex(path),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(CryptoSha256, FileMatchesInMemoryHashAtAnySize) {
  jarvis::test::TempDir dir;
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{65535}, std::size_t{65536},
                           std::size_t{65537}, std::size_t{200003}}) {
    SCOPED_TRACE(size);
    std::string content = jarvis::random_bytes(size);
    std::string path = dir.file(std::to_string(size) + ".bin");
    write_file(path, content);
    EXPECT_EQ(jarvis::sha256_file_hex(path), jarvis::sha256_hex(content));
    EXPECT_EQ(jarvis::sha256_file(path), jarvis::sha256(content));
  }
}

TEST(CryptoSha256, MissingFileIsFileNotFound) {
  jarvis::test::TempDir dir;
  for (const std::string& path : {dir.file("nope.bin"), dir.file("no/such/dir.bin")}) {
    try {
      jarvis::sha256_file_hex(path);
      ADD_FAILURE() << "no error for " << path;
    } catch (const jarvis::Error& e) {
      EXPECT_EQ(e.status(), 404);
      EXPECT_EQ(e.code(), "file_not_found");
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
  // A path through a regular file (ENOTDIR) is missing too.
  write_file(dir.file("plain"), "x");
  try {
    jarvis::sha256_file(dir.file("plain/child"));
    ADD_FAILURE() << "no error";
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.code(), "file_not_found");
  }
}

TEST(CryptoSha256, UnreadablePathIsIoError) {
  jarvis::test::TempDir dir;
  try {
    jarvis::sha256_file_hex(dir.path());  // a directory opens but cannot be read
    ADD_FAILURE() << "no error";
  } catch (const jarvis::Error& e) {
    EXPECT_EQ(e.status(), 500);
    EXPECT_EQ(e.code(), "io_error");
    EXPECT_NE(std::string(e.what()).find(dir.path()), std::string::npos) << e.what();
  }
}

// --- constant-time comparison -------------------------------------------------------------------

TEST(CryptoCompare, ConstantTimeEquals) {
  EXPECT_TRUE(jarvis::constant_time_equals("secret-token", "secret-token"));
  EXPECT_FALSE(jarvis::constant_time_equals("secret-token", "secret-tokeN"));
  EXPECT_FALSE(jarvis::constant_time_equals("Xecret-token", "secret-token"));
  EXPECT_FALSE(jarvis::constant_time_equals("secret", "secret-token")) << "a prefix is not equal";
  EXPECT_FALSE(jarvis::constant_time_equals("secret-token", "secret"));
  EXPECT_TRUE(jarvis::constant_time_equals("", ""));
  EXPECT_TRUE(jarvis::constant_time_equals(std::string_view{}, ""));
  EXPECT_FALSE(jarvis::constant_time_equals("", "a"));
  EXPECT_FALSE(jarvis::constant_time_equals("a", ""));
  // Embedded NUL bytes are content, not terminators.
  EXPECT_FALSE(jarvis::constant_time_equals(std::string("a\0b", 3), std::string("a\0c", 3)));
  EXPECT_TRUE(jarvis::constant_time_equals(std::string("a\0b", 3), std::string("a\0b", 3)));
}

// --- random bytes and tokens --------------------------------------------------------------------

TEST(CryptoRandom, BytesHaveTheRequestedLength) {
  EXPECT_EQ(jarvis::random_bytes(0), "");
  EXPECT_EQ(jarvis::random_bytes(1).size(), 1u);
  EXPECT_EQ(jarvis::random_bytes(4096).size(), 4096u);
  EXPECT_NE(jarvis::random_bytes(32), jarvis::random_bytes(32));
}

TEST(CryptoRandom, TokensAreUniqueUrlSafeAndOfTheDocumentedLength) {
  auto url_safe = [](const std::string& s) {
    for (unsigned char c : s) {
      if (!std::isalnum(c) && c != '-' && c != '_') return false;
    }
    return true;
  };
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string t = jarvis::random_token();
    ASSERT_EQ(t.size(), 43u) << t;
    ASSERT_TRUE(url_safe(t)) << t;
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 1000u);
  // ceil(4·n/3) characters, never padding.
  for (std::size_t n : {1, 2, 3, 4, 16, 31, 33, 64}) {
    std::string t = jarvis::random_token(n);
    EXPECT_EQ(t.size(), (4 * n + 2) / 3) << n;
    EXPECT_TRUE(url_safe(t)) << t;
  }
  EXPECT_THROW(jarvis::random_token(0), std::invalid_argument);
  EXPECT_THROW(jarvis::random_token((std::size_t{1} << 20) + 1), std::invalid_argument);
}

// --- hex
// ------------------------------------------------------------------------------------------

TEST(CryptoHex, RoundTripsAndRefusesMalformedInput) {
  EXPECT_EQ(jarvis::to_hex(std::string("\x00\x01\xab\xff", 4)), "0001abff");
  EXPECT_EQ(jarvis::to_hex(""), "");
  EXPECT_EQ(jarvis::from_hex("0001abff"), std::string("\x00\x01\xab\xff", 4));
  EXPECT_EQ(jarvis::from_hex("0001ABFF"), std::string("\x00\x01\xab\xff", 4));
  EXPECT_EQ(jarvis::from_hex(""), std::string());
  EXPECT_EQ(jarvis::from_hex("abc"), std::nullopt);
  EXPECT_EQ(jarvis::from_hex("zz"), std::nullopt);
  EXPECT_EQ(jarvis::from_hex("00 1"), std::nullopt);
  EXPECT_EQ(jarvis::from_hex("0x00"), std::nullopt);
  EXPECT_EQ(jarvis::from_hex("ab:cd"), std::nullopt);
  std::string bytes = jarvis::random_bytes(256);
  EXPECT_EQ(jarvis::from_hex(jarvis::to_hex(bytes)), bytes);
}

// --- the webhook check a plugin writes ----------------------------------------------------------

/// What a GitHub webhook route does with `X-Hub-Signature-256` (see the example in crypto.h).
bool github_signature_ok(const std::string& secret, const std::string& body,
                         const std::string& header) {
  return header.starts_with("sha256=") &&
         jarvis::hmac_sha256_verify(secret, body, std::string_view(header).substr(7));
}

TEST(CryptoWebhook, GithubStyleSignatureIsVerified) {
  // GitHub's documented example: secret "It's a Secret to Everybody", payload "Hello, World!".
  const std::string secret = "It's a Secret to Everybody";
  const std::string body = "Hello, World!";
  const std::string header =
      "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
  EXPECT_EQ("sha256=" + jarvis::hmac_sha256_hex(secret, body), header);
  EXPECT_TRUE(github_signature_ok(secret, body, header));

  EXPECT_FALSE(github_signature_ok(secret, body + "\n", header)) << "body changed";
  EXPECT_FALSE(github_signature_ok("another secret", body, header));
  EXPECT_FALSE(github_signature_ok(secret, body, header.substr(7))) << "no scheme";
  EXPECT_FALSE(github_signature_ok(secret, body, "sha1=" + header.substr(7)));
  EXPECT_FALSE(github_signature_ok(secret, body, "sha256="));
  EXPECT_FALSE(github_signature_ok(secret, body, ""));
}

}  // namespace

// jarvis/crypto.h — the cryptography a plugin needs for webhooks and tokens: HMAC-SHA256 (OpenSSL
// libcrypto, decision 0068), SHA-256 (of bytes or of a file, streamed), constant-time comparison,
// secure random bytes and tokens (libsodium), hex encoding. The SDK links both privately; plugins
// need nothing else.
//
// Verifying a GitHub-style webhook (`X-Hub-Signature-256: sha256=<hex>`, HMAC over the exact body):
//
//   auto sig = req.headers.get("X-Hub-Signature-256").value_or("");
//   if (!sig.starts_with("sha256=") ||
//       !jarvis::hmac_sha256_verify(secret, req.body, std::string_view(sig).substr(7))) {
//     throw jarvis::Error(401, "invalid_signature", "signature does not match");
//   }
//
// Other uses:
//
//   std::string mac  = jarvis::hmac_sha256(key, message);      // 32 raw bytes
//   std::string hex  = jarvis::hmac_sha256_hex(key, message);  // 64 lower-case hex characters
//   std::string file = jarvis::sha256_file_hex("/tmp/audio.ogg");  // Error 404 file_not_found
//   bool same        = jarvis::constant_time_equals(a, b);    // for secrets; never use ==
//   std::string tok  = jarvis::random_token();                 // 43 URL-safe base64 characters
//
// Encodings: functions without a suffix return raw bytes in a std::string; `_hex` ones return
// lower-case hex. Every function is thread-safe; libsodium is initialised once, on first use.
// See docs/decisions/0013-sdk-crypto-helpers.md.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "jarvis/version.h"

namespace jarvis {

/// Size in bytes of a SHA-256 digest and of an HMAC-SHA256 tag (32).
inline constexpr std::size_t kSha256Bytes = 32;

/// HMAC-SHA256 (RFC 2104) of `message` under `key`, as 32 raw bytes. Keys of any length are
/// accepted (longer than 64 bytes: hashed first, as the RFC says).
JARVIS_API std::string hmac_sha256(std::string_view key, std::string_view message);
/// hmac_sha256() as 64 lower-case hex characters (the form GitHub, Stripe, Slack… send).
JARVIS_API std::string hmac_sha256_hex(std::string_view key, std::string_view message);
/// True when `signature_hex` (64 hex characters, either case) is the HMAC-SHA256 of `message`
/// under `key`. Compared in constant time; false, not an exception, for malformed hex or a wrong
/// length. Strip a scheme prefix such as `sha256=` first.
JARVIS_API bool hmac_sha256_verify(std::string_view key, std::string_view message,
                                   std::string_view signature_hex);

/// SHA-256 (FIPS 180-4) of `data`, as 32 raw bytes.
JARVIS_API std::string sha256(std::string_view data);
/// sha256() as 64 lower-case hex characters.
JARVIS_API std::string sha256_hex(std::string_view data);
/// SHA-256 of the file at `path`, read in 64 KiB chunks (constant memory for any size), as 32 raw
/// bytes. Throws jarvis::Error 404 `file_not_found` when the path (or a directory on it) does not
/// exist, and 500 `io_error` when it cannot be opened or read (permissions, a directory, an I/O
/// error); both messages name the path and the system's reason.
JARVIS_API std::string sha256_file(const std::string& path);
/// sha256_file() as 64 lower-case hex characters (same errors).
JARVIS_API std::string sha256_file_hex(const std::string& path);

/// Equality of two secrets (tokens, signatures, digests) in time that depends only on their
/// lengths, never on their contents (sodium_memcmp). Different lengths → false at once: length is
/// treated as public, so compare fixed-length values (digests, HMACs) when it is not.
JARVIS_API bool constant_time_equals(std::string_view a, std::string_view b);

/// `n` bytes from the operating system's CSPRNG (libsodium randombytes_buf). `n` may be 0.
JARVIS_API std::string random_bytes(std::size_t n);
/// A token of `bytes` random bytes (default 32 = 256 bits) in URL-safe base64 without padding
/// (alphabet `A-Z a-z 0-9 - _`, length ceil(4·bytes/3): 43 for 32 bytes) — safe in URLs, headers,
/// file names and JSON without escaping. Throws std::invalid_argument when `bytes` is 0 or larger
/// than 1 MiB.
JARVIS_API std::string random_token(std::size_t bytes = 32);

/// Lower-case hex of arbitrary bytes (two characters per byte).
JARVIS_API std::string to_hex(std::string_view bytes);
/// The bytes of `hex` (upper or lower case, even length, nothing else — no spaces or `0x`), or
/// nullopt when it is not exactly that.
JARVIS_API std::optional<std::string> from_hex(std::string_view hex);

}  // namespace jarvis

// host/src/auth/credentials.h — the cryptography of identity: argon2id password hashes, random
// bearer tokens and their stored SHA-256 form, constant-time comparison (all via libsodium).
#pragma once

#include <string>

namespace jarvis::host {

/// argon2id cost. Interactive (libsodium OPSLIMIT/MEMLIMIT_INTERACTIVE: 2 passes, 64 MiB, about
/// 0.4 s on the 2-core reference machine) is the default; Moderate (3 passes, 256 MiB, 2–3 s) is
/// for operators who accept slow logins. See docs/decisions/0007-identity-and-rbac.md.
enum class PasswordStrength { Interactive, Moderate };

/// Parses "interactive" or "moderate" (case-sensitive); false on anything else.
bool parse_password_strength(const std::string& text, PasswordStrength& out);

/// An argon2id hash string ("$argon2id$v=19$m=…") of `password`. At most two hashes run at once
/// in the process (each takes 64–256 MiB); further callers wait. Throws std::runtime_error when
/// libsodium cannot allocate the memory.
std::string hash_password(const std::string& password, PasswordStrength strength);

/// True when `password` matches `hash` (constant-time inside libsodium). False for a malformed
/// hash. Shares the concurrency gate of hash_password().
bool verify_password(const std::string& hash, const std::string& password);

/// True when `hash` was made with other parameters than `strength` (re-hash on next login).
bool password_needs_rehash(const std::string& hash, PasswordStrength strength);

/// A new bearer token: "jvt_" + 43 URL-safe base64 characters (256 random bits from
/// randombytes_buf). Shown once; only token_digest() of it is stored.
std::string new_token();

/// SHA-256 of `token` as 64 lower-case hex characters (what the database stores and looks up).
std::string token_digest(const std::string& token);

/// Constant-time equality of two secrets of any lengths (compares their SHA-256 digests with
/// sodium_memcmp, so neither content nor length leaks through timing).
bool secrets_equal(const std::string& a, const std::string& b);

}  // namespace jarvis::host

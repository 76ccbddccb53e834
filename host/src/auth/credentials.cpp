// host/src/auth/credentials.cpp — libsodium-backed password hashing, tokens and comparisons.
#include "auth/credentials.h"

#include <sodium.h>

#include <condition_variable>
#include <mutex>
#include <stdexcept>

namespace jarvis::host {
namespace {

void ensure_sodium() {
  static const int rc = sodium_init();  // thread-safe, idempotent
  if (rc < 0) throw std::runtime_error("libsodium could not be initialised");
}

/// Bounds the number of concurrent argon2id computations (each holds 64–256 MiB).
class HashGate {
 public:
  void enter() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return active_ < kMaxConcurrent; });
    ++active_;
  }
  void leave() {
    {
      std::lock_guard lock(mu_);
      --active_;
    }
    cv_.notify_one();
  }

 private:
  static constexpr int kMaxConcurrent = 2;
  std::mutex mu_;
  std::condition_variable cv_;
  int active_ = 0;
};

HashGate& gate() {
  static HashGate g;
  return g;
}

struct GateHold {
  GateHold() { gate().enter(); }
  ~GateHold() { gate().leave(); }
  GateHold(const GateHold&) = delete;
  GateHold& operator=(const GateHold&) = delete;
};

void limits(PasswordStrength s, unsigned long long& ops, std::size_t& mem) {
  if (s == PasswordStrength::Moderate) {
    ops = crypto_pwhash_OPSLIMIT_MODERATE;
    mem = crypto_pwhash_MEMLIMIT_MODERATE;
  } else {
    ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
    mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
  }
}

}  // namespace

bool parse_password_strength(const std::string& text, PasswordStrength& out) {
  if (text == "interactive") {
    out = PasswordStrength::Interactive;
    return true;
  }
  if (text == "moderate") {
    out = PasswordStrength::Moderate;
    return true;
  }
  return false;
}

std::string hash_password(const std::string& password, PasswordStrength strength) {
  ensure_sodium();
  unsigned long long ops = 0;
  std::size_t mem = 0;
  limits(strength, ops, mem);
  char out[crypto_pwhash_STRBYTES];
  GateHold hold;
  if (crypto_pwhash_str(out, password.data(), password.size(), ops, mem) != 0) {
    throw std::runtime_error("password hashing failed (out of memory)");
  }
  return std::string(out);
}

bool verify_password(const std::string& hash, const std::string& password) {
  ensure_sodium();
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  char buf[crypto_pwhash_STRBYTES] = {};
  hash.copy(buf, hash.size());
  GateHold hold;
  return crypto_pwhash_str_verify(buf, password.data(), password.size()) == 0;
}

bool password_needs_rehash(const std::string& hash, PasswordStrength strength) {
  ensure_sodium();
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return true;
  char buf[crypto_pwhash_STRBYTES] = {};
  hash.copy(buf, hash.size());
  unsigned long long ops = 0;
  std::size_t mem = 0;
  limits(strength, ops, mem);
  return crypto_pwhash_str_needs_rehash(buf, ops, mem) != 0;
}

std::string new_token() {
  ensure_sodium();
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  char b64[sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof raw);
  return std::string("jvt_") + b64;
}

std::string token_digest(const std::string& token) {
  ensure_sodium();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return std::string(hex);
}

bool secrets_equal(const std::string& a, const std::string& b) {
  ensure_sodium();
  unsigned char da[crypto_hash_sha256_BYTES];
  unsigned char db[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(da, reinterpret_cast<const unsigned char*>(a.data()), a.size());
  crypto_hash_sha256(db, reinterpret_cast<const unsigned char*>(b.data()), b.size());
  return sodium_memcmp(da, db, sizeof da) == 0;
}

}  // namespace jarvis::host

// SDK crypto helpers over libsodium: HMAC-SHA256, SHA-256 (bytes and files), constant-time
// comparison, random bytes and tokens, hex. HMAC-SHA256 is computed by OpenSSL's libcrypto
// (already on every host through libcurl): it uses the CPU's SHA extensions, about 6x faster than
// libsodium's portable SHA-256 on a webhook body (decision 0068).
#include "jarvis/crypto.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "jarvis/error.h"

namespace jarvis {
namespace {

/// sodium_init() once per process; thread-safe (magic static) and idempotent (the host calls it
/// too — a second call returns 1).
void ensure_sodium() {
  static const int rc = sodium_init();
  if (rc < 0) throw std::runtime_error("libsodium could not be initialised");
}

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

/// Closes a file descriptor on scope exit.
struct FdGuard {
  int fd;
  ~FdGuard() {
    if (fd >= 0) ::close(fd);
  }
};

std::string system_reason(int err) { return std::strerror(err); }

constexpr std::size_t kMaxTokenBytes = std::size_t{1} << 20;

}  // namespace

std::string hmac_sha256(std::string_view key, std::string_view message) {
  static const unsigned char kEmpty = 0;  // OpenSSL reads a null key as "keep the last one"
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.empty() ? &kEmpty : bytes_of(key), static_cast<int>(key.size()),
           message.empty() ? &kEmpty : bytes_of(message), message.size(), mac,
           &length) == nullptr ||
      length != crypto_auth_hmacsha256_BYTES)
    throw std::runtime_error("HMAC-SHA256 failed (libcrypto)");
  std::string out(reinterpret_cast<const char*>(mac), length);
  sodium_memzero(mac, sizeof mac);
  return out;
}

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  return to_hex(hmac_sha256(key, message));
}

bool hmac_sha256_verify(std::string_view key, std::string_view message,
                        std::string_view signature_hex) {
  if (signature_hex.size() != 2 * kSha256Bytes) return false;
  std::optional<std::string> given = from_hex(signature_hex);
  if (!given) return false;
  return constant_time_equals(hmac_sha256(key, message), *given);
}

std::string sha256(std::string_view data) {
  ensure_sodium();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, bytes_of(data), data.size());
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

std::string sha256_hex(std::string_view data) { return to_hex(sha256(data)); }

std::string sha256_file(const std::string& path) {
  ensure_sodium();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      throw Error(404, "file_not_found", "cannot hash '" + path + "': " + system_reason(err));
    }
    throw Error(500, "io_error", "cannot open '" + path + "': " + system_reason(err));
  }
  FdGuard guard{fd};
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  std::vector<unsigned char> buf(64 * 1024);
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      throw Error(500, "io_error", "cannot read '" + path + "': " + system_reason(err));
    }
    if (n == 0) break;
    crypto_hash_sha256_update(&state, buf.data(), static_cast<unsigned long long>(n));
  }
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state, digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

std::string sha256_file_hex(const std::string& path) { return to_hex(sha256_file(path)); }

bool constant_time_equals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;  // length is public; contents are never looked at
  if (a.empty()) return true;
  ensure_sodium();
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_bytes(std::size_t n) {
  ensure_sodium();
  std::string out(n, '\0');
  if (n > 0) randombytes_buf(out.data(), n);
  return out;
}

std::string random_token(std::size_t bytes) {
  if (bytes == 0 || bytes > kMaxTokenBytes) {
    throw std::invalid_argument("random_token: bytes must be 1.." + std::to_string(kMaxTokenBytes) +
                                ", got " + std::to_string(bytes));
  }
  std::string raw = random_bytes(bytes);
  constexpr int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_ENCODED_LEN(bytes, variant), '\0');  // includes the NUL
  sodium_bin2base64(out.data(), out.size(), bytes_of(raw), raw.size(), variant);
  sodium_memzero(raw.data(), raw.size());
  out.resize(out.size() - 1);
  return out;
}

std::string to_hex(std::string_view bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes_of(bytes), bytes.size());
  out.resize(bytes.size() * 2);
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out(hex.size() / 2, '\0');
  if (hex.empty()) return out;
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), hex.data(),
                     hex.size(), nullptr, &len, &end) != 0 ||
      len != out.size() || end != hex.data() + hex.size()) {
    return std::nullopt;
  }
  return out;
}

}  // namespace jarvis

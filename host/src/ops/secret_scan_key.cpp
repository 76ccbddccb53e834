// host/src/ops/secret_scan_key.cpp — the install's fingerprint key (secret_scan_key.h, decisions
// 0083 and 0095): located, created once with mode 0600 and published atomically (link, else
// renameat2 RENAME_NOREPLACE, else O_EXCL on the final name with readers retrying a short file),
// read and checked (regular file, this user's, no group/other bits, 64 hex digits).
#include "ops/secret_scan_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "jarvis/crypto.h"
#include "jarvis/subprocess.h"

namespace fs = std::filesystem;

namespace jarvis::host::ops {
namespace secret_scan_key_impl {

constexpr std::size_t kKeyHexDigits = 64;
/// A reader retries a short key file this many times, 20 ms apart (the O_EXCL writer's window is
/// one write and one fsync of 65 bytes).
constexpr int kShortReadAttempts = 100;

std::string to_hex(const std::string& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

bool is_hex_digit(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
}

std::string errno_text(int e) { return std::strerror(e); }

/// One read of the key file: its content after the checks of the file itself.
std::string read_key_once(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    throw std::runtime_error("cannot read the secret-scan key " + path + ": " + errno_text(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    ::close(fd);
    throw std::runtime_error("the secret-scan key " + path +
                             " must be a regular file of mode 0600 (chmod 600 it)");
  }
  if (st.st_uid != ::geteuid()) {
    ::close(fd);
    // Someone else's key (a file planted in a shared folder) would key our fingerprints with a
    // value they know: a dictionary check of a report would work again.
    throw std::runtime_error("the secret-scan key " + path + " belongs to uid " +
                             std::to_string(st.st_uid) + ", not to this user (uid " +
                             std::to_string(::geteuid()) + "); remove it or set " +
                             "SECRET_SCAN_KEY_FILE");
  }
  char buf[kKeyHexDigits + 2];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  return std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
}

/// The key file's content, checked; a file that is still a prefix of a key (a writer between
/// its O_EXCL open and its last write) is read again, up to kShortReadAttempts times.
std::string read_key_file(const std::string& path, const ScanKeyFileOps& ops) {
  for (int attempt = 1;; ++attempt) {
    std::string text = read_key_once(path);
    const bool newline = !text.empty() && text.back() == '\n';
    if (newline) text.pop_back();
    bool hex = true;
    for (char c : text) hex = hex && is_hex_digit(c);
    if (hex && text.size() == kKeyHexDigits) return text;
    if (!hex || newline || text.size() > kKeyHexDigits || attempt >= kShortReadAttempts) {
      throw std::runtime_error(
          "the secret-scan key " + path +
          " is malformed (64 hex digits expected); delete it to make a new one "
          "(allow-list fingerprints of keyed kinds change)");
    }
    if (ops.on_short_read) ops.on_short_read(attempt);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

/// The folder of the key when neither XDG_STATE_HOME nor HOME is set: in the shared /tmp.
std::string tmp_fallback_folder() { return "/tmp/jarvis-" + std::to_string(::geteuid()); }

/// The folder of `path`, created 0700 when missing. The shared-/tmp fallback folder must be this
/// user's and private, else someone else chose our key.
void ensure_key_folder(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  if (parent.empty()) return;
  std::error_code ec;
  if (!fs::exists(parent, ec)) {
    fs::create_directories(parent, ec);
    if (ec) {
      throw ScanKeyUnavailable("cannot create the folder of the secret-scan key " + path + ": " +
                               ec.message());
    }
    fs::permissions(parent, fs::perms::owner_all, ec);
  }
  if (parent.string() == tmp_fallback_folder()) {
    struct stat st {};
    if (::lstat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() ||
        (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
      throw ScanKeyUnavailable(parent.string() +
                               " is not a private folder of this user: no key file there");
    }
  }
}

int system_link(const char* from, const char* to) { return ::link(from, to); }

int system_rename_noreplace(const char* from, const char* to) {
  return ::renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
}

/// errno values meaning "this filesystem cannot do that", not "the name exists" or a real error.
bool unsupported(int e) {
  return e == EPERM || e == ENOTSUP || e == EOPNOTSUPP || e == ENOSYS || e == EINVAL || e == EMLINK;
}

/// Writes `text` to `fd` and syncs it; false on any failure.
bool write_all_and_sync(int fd, const std::string& text) {
  return ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
         ::fsync(fd) == 0;
}

/// Creates `file` with O_EXCL and mode 0600 and writes `text` to it, synced; false when `file`
/// exists (another scan created it). Any other failure removes what was created and throws
/// ScanKeyUnavailable naming the key `path`. The last way to publish a key (on the final name:
/// readers retry while it is short), and the first step of the others (on a temporary name).
bool create_exclusively(const std::string& file, const std::string& text, const std::string& path) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return false;
    throw ScanKeyUnavailable("cannot create the secret-scan key " + path + ": " +
                             errno_text(errno));
  }
  const bool ok = write_all_and_sync(fd, text);
  const int e = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(file.c_str());
    throw ScanKeyUnavailable("cannot write the secret-scan key " + path + ": " + errno_text(e));
  }
  return true;
}

}  // namespace secret_scan_key_impl

using namespace secret_scan_key_impl;

std::string default_scan_key_path(const std::string& root, bool git) {
  if (const char* env = std::getenv("SECRET_SCAN_KEY_FILE"); env && *env) return env;
  if (git) {
    ProcessResult r = run_process({.argv = {"git", "-C", root, "rev-parse", "--git-common-dir"},
                                   .timeout_ms = 60000,
                                   .max_output_bytes = 1 << 16});
    std::string dir = r.stdout_text;
    while (!dir.empty() && (dir.back() == '\n' || dir.back() == '\r')) dir.pop_back();
    if (r.exit_code == 0 && !dir.empty()) {
      fs::path p(dir);
      if (p.is_relative()) p = fs::path(root) / p;
      return (p.lexically_normal() / "jarvis-secret-scan.key").string();
    }
  }
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg) {
    return std::string(xdg) + "/jarvis/secret-scan.key";
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::string(home) + "/.local/state/jarvis/secret-scan.key";
  }
  return tmp_fallback_folder() + "/secret-scan.key";
}

std::string load_or_create_scan_key(const std::string& path, const ScanKeyFileOps& ops) {
  std::error_code ec;
  if (fs::exists(fs::symlink_status(path, ec))) return read_key_file(path, ops);
  ensure_key_folder(path);
  const auto link_fn = ops.link ? ops.link : system_link;
  const auto rename_fn = ops.rename_noreplace ? ops.rename_noreplace : system_rename_noreplace;
  const std::string text = to_hex(jarvis::random_bytes(32)) + "\n";
  // Written in full under a temporary name, then published under the final one without ever
  // replacing it: link() and renameat2(RENAME_NOREPLACE) fail with EEXIST when another scan
  // published its key meanwhile, and then that key is the one.
  const std::string tmp =
      path + ".tmp." + std::to_string(::getpid()) + "." + to_hex(jarvis::random_bytes(4));
  if (!create_exclusively(tmp, text, path)) {
    throw ScanKeyUnavailable("cannot create the secret-scan key " + path + ": " + tmp + " exists");
  }
  int e = 0;
  if (link_fn(tmp.c_str(), path.c_str()) == 0) {
    ::unlink(tmp.c_str());
    return read_key_file(path, ops);
  }
  e = errno;
  if (e != EEXIST && unsupported(e)) {  // a filesystem without hard links (vfat, some FUSE)
    if (rename_fn(tmp.c_str(), path.c_str()) == 0) return read_key_file(path, ops);
    e = errno;
    ::unlink(tmp.c_str());
    if (e != EEXIST && unsupported(e)) {
      create_exclusively(path, text, path);  // false: another scan's key, read below
      return read_key_file(path, ops);
    }
  } else {
    ::unlink(tmp.c_str());
  }
  if (e == EEXIST) return read_key_file(path, ops);
  throw ScanKeyUnavailable("cannot create the secret-scan key " + path + ": " + errno_text(e));
}

ScanKey scan_key_for(const std::string& path) {
  try {
    return {load_or_create_scan_key(path), path, ""};
  } catch (const ScanKeyUnavailable& e) {
    return {to_hex(jarvis::random_bytes(32)), "",
            std::string(e.what()) +
                " — using a key for this run only: fingerprints of passwords and assigned values "
                "differ from run to run (allow-list entries naming them do not match); set "
                "SECRET_SCAN_KEY_FILE to a writable path for stable ones"};
  }
}

}  // namespace jarvis::host::ops

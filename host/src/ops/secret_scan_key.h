// host/src/ops/secret_scan_key.h — the install's fingerprint key of `jarvis secrets scan`
// (decisions 0083 and 0095): where it lives, how it is created once (0600, atomically, also on a
// filesystem without hard links), how it is read and checked, and the per-run key a scan falls
// back to when no key file can be created (HOME unset or read-only). The key only ever keys the
// HMAC of keyed findings; it is never printed.
//
//   using namespace jarvis::host::ops;
//   ScanKey k = scan_key_for(default_scan_key_path(where.root, where.git));
//   if (!k.warning.empty()) std::cerr << k.warning << "\n";  // a per-run key: say so
//   opt.fingerprint_key = k.key;
//
//   std::string key = load_or_create_scan_key("/srv/jarvis/.git/jarvis-secret-scan.key");
//
// Thread-safety: every function works on its own arguments; concurrent first uses of one path
// (threads or processes) agree on one key.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>

namespace jarvis::host::ops {

/// Where this install keeps its fingerprint key: $SECRET_SCAN_KEY_FILE when set; in a git work
/// tree `<git common dir>/jarvis-secret-scan.key` (inside .git: never tracked, the same for every
/// worktree of the clone); elsewhere
/// `${XDG_STATE_HOME:-$HOME/.local/state}/jarvis/secret-scan.key`, and with neither set
/// `/tmp/jarvis-<uid>/secret-scan.key` (a folder of this user's, mode 0700).
std::string default_scan_key_path(const std::string& root, bool git);

/// No key file could be created at the path (its folder cannot be made, a read-only filesystem,
/// no space, a shared folder that is not this user's): the scan may use a per-run key instead.
/// A key file that exists but is wrong is a plain std::runtime_error (refused, never replaced).
class ScanKeyUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// System calls of load_or_create_scan_key, replaceable by tests (a filesystem without hard links,
/// without RENAME_NOREPLACE, a reader that meets a key file still being written).
struct ScanKeyFileOps {
  /// link(2): the first way to publish a fully written key under its final name.
  std::function<int(const char* from, const char* to)> link;
  /// renameat2(…, RENAME_NOREPLACE): the second way, when link() is not supported.
  std::function<int(const char* from, const char* to)> rename_noreplace;
  /// Called each time a reader finds the key file shorter than a key (a writer of the last-resort
  /// O_EXCL path is between its open and its fsync), before it retries.
  std::function<void(int attempt)> on_short_read;
};

/// The key in `path` (64 hex digits), created on first use from 32 random bytes with mode 0600.
/// Written under a temporary name and published with link(); where the filesystem has no hard
/// links with renameat2(RENAME_NOREPLACE); where that is not supported either by creating the
/// final name with O_EXCL and writing it (readers retry a short file for up to ~2 s). Never
/// overwrites a key another process published first: that one is returned. Throws
/// ScanKeyUnavailable when no key file can be created, std::runtime_error when the file is
/// malformed, unreadable, not this user's, or readable by group or others.
std::string load_or_create_scan_key(const std::string& path, const ScanKeyFileOps& ops = {});

/// The key a scan uses.
struct ScanKey {
  std::string key;      ///< 64 hex digits
  std::string path;     ///< the key file; "" for a per-run key
  std::string warning;  ///< non-empty for a per-run key: why, and what it means for fingerprints
};

/// load_or_create_scan_key(path), or — when that throws ScanKeyUnavailable — a random key for
/// this run only, with a warning: fingerprints of keyed kinds then differ from run to run (an
/// allow-list entry naming one never matches: more findings, never fewer). A malformed or exposed
/// key file still throws.
ScanKey scan_key_for(const std::string& path);

}  // namespace jarvis::host::ops

// host/src/ops/secret_scan.h — the built-in credential scanner behind `jarvis secrets scan` and
// `make secret-scan` (decision 0059). It finds provider keys (GitHub, OpenAI, Anthropic, Google,
// AWS, Slack tokens and webhooks), PEM and PGP private keys (encrypted ones too), passwords and
// high-entropy values assigned to secret-looking names, and reports each finding as path, line,
// kind and a short fingerprint — never the secret's bytes. Fingerprints of human-chosen values are
// keyed with the install's key (secret_scan_key.cpp), so they cannot be checked against a
// dictionary of passwords.
//
//   using namespace jarvis::host::ops;
//   ScanRoot where = resolve_scan_root(".");           // the work tree's top level
//   if (!where.error.empty()) return 2;                // git is broken here: do not guess
//   ScanOptions opt{.root = where.root, .git = where.git};  // no paths: git ls-files + .env
//   opt.fingerprint_key = scan_key_for(default_scan_key_path(where.root, where.git)).key;
//   opt.allow = AllowList::load(opt.root + "/.secret-scan-allow");   // throws on a bad entry
//   ScanReport r = scan_tree(opt);
//   for (const Finding& f : r.findings) std::cout << format_finding(f) << "\n";
//   return r.findings.empty() ? 0 : 1;
//
//   std::vector<Finding> hits = scan_text("config.env", "OPENAI_API_KEY=sk-…");  // one buffer
//
// Thread-safety: every function is pure or works on its own arguments.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "ops/secret_scan_key.h"  // default_scan_key_path, load_or_create_scan_key

namespace jarvis::host::ops {

/// One credential found. `fingerprint` is 12 hex digits (see fingerprint()): stable across runs on
/// one install (so an allow-list can name it), useless for recovering the secret.
struct Finding {
  std::string path;         ///< as given or relative to the scan root
  std::size_t line = 0;     ///< 1-based; 0 for a finding about the file itself
  std::string kind;         ///< "openai_key", "secret_assignment", "secret_file_tracked", …
  std::string fingerprint;  ///< 12 hex digits
  bool allowed = false;     ///< suppressed by the allow-list (counted, not reported as a finding)
};

/// Shannon entropy of `s` in bits per character (0 for an empty string).
double shannon_entropy(std::string_view s);

/// True for values that are obviously not a real credential: `${VAR}`, `$(cmd)`, `<key>`,
/// `{{x}}`, words such as "your", "example", "placeholder", "changeme", "dummy", "redacted",
/// runs of one repeated character, ellipses.
bool looks_like_placeholder(std::string_view value);

/// True for the kinds whose values people choose or that are assigned to names
/// (`url_credentials`, `password_assignment`, `secret_assignment`, `aws_secret_access_key`): their
/// fingerprints are keyed.
bool keyed_kind(std::string_view kind);

/// The 12-hex-digit fingerprint of a matched value: for keyed kinds the HMAC-SHA-256 of the value
/// with `key` (the install's key; "" gives a fixed built-in key, for tests only), otherwise the
/// SHA-256 of the value (a random provider key: 48 bits of its hash reveal nothing).
std::string fingerprint(std::string_view kind, std::string_view value, std::string_view key);

/// Every credential in `text` (a file's content); `path` is copied into the findings; `key`
/// keys the fingerprints of keyed kinds (see fingerprint()).
std::vector<Finding> scan_text(const std::string& path, std::string_view text,
                               std::string_view key = {});

/// Candidate positions the pattern rules of scan_text examined so far in the calling thread
/// (a monotonic counter). Each check reads at most ~257 characters, so a scan's work is bounded by
/// this count times a constant: tests assert it grows linearly with the input, not quadratically.
std::size_t scan_candidate_checks();

/// The allow-list file (`.secret-scan-allow`): one entry a line, each with its justification —
///   path:GLOB        # why every finding in matching files is a fake (fnmatch; * crosses /)
///   path:GLOB kind:K # the same for findings of kind K only (for keyed kinds, whose
///                    # fingerprints differ per install, in a committed allow-list)
///   fingerprint:HEX  # why this one finding (anywhere) is not a real credential
/// Blank lines and lines starting with `#` are ignored. An entry without a `# reason`, an unknown
/// entry type or a fingerprint that is not 12 hex digits is refused (std::invalid_argument naming
/// the line), so nothing is allow-listed without a stated reason.
class AllowList {
 public:
  /// Reads `file`; a missing file is an empty list.
  static AllowList load(const std::string& file);
  /// Parses allow-list text; `origin` names it in errors.
  static AllowList parse(std::string_view text, const std::string& origin = "allow-list");
  /// True (and the entry counted as used) when `f` is allow-listed.
  bool allows(const Finding& f);
  /// Entries that allowed nothing so far, as "line N: entry" (stale entries to remove).
  std::vector<std::string> unused() const;
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    bool is_path = false;
    std::string pattern;  ///< glob or fingerprint
    std::string kind;     ///< path entries: only this kind ("" = any)
    std::size_t line = 0;
    std::size_t uses = 0;
  };
  std::vector<Entry> entries_;
};

/// What to scan.
struct ScanOptions {
  /// Directory paths are reported relative to and the local secret files are looked for in: the
  /// work tree's top level (resolve_scan_root), not the directory the command ran in.
  std::string root = ".";
  /// True: `root` is a git work tree and the file list is `git ls-files` (set from ScanRoot).
  bool git = false;
  /// Where relative `paths` are resolved (the command's working directory); "" is ".".
  std::string cwd = ".";
  /// Files or directories to scan. Empty: the tracked files of the git work tree at `root` (a
  /// plain directory walk when `git` is false), plus the local secret files when present.
  /// A symlink named here is followed; symlinks found inside a directory or tracked are not.
  std::vector<std::string> paths;
  AllowList allow;
  /// Keys the fingerprints of keyed kinds (load_or_create_scan_key). scan_tree refuses to run
  /// without one.
  std::string fingerprint_key;
  std::size_t max_file_bytes = 4u << 20;  ///< larger files are skipped (listed)
};

/// A path the scan did not read, and why.
struct SkippedPath {
  std::string path;
  std::string reason;  ///< "binary …", "larger than N bytes", "symlink …", "unreadable: …"
  /// True when the path should have been read and could not (unreadable file or directory, a
  /// stat failure such as a path longer than PATH_MAX): it is also reported as a finding of kind
  /// unscannable_file / unscannable_directory, so an incomplete scan never passes as clean.
  bool error = false;
};

/// The outcome of a scan.
struct ScanReport {
  std::vector<Finding> findings;  ///< not allow-listed: any one fails the scan
  std::size_t allowed = 0;        ///< findings suppressed by the allow-list
  std::size_t files_scanned = 0;
  std::size_t files_skipped = 0;                ///< skipped.size()
  std::size_t errors = 0;                       ///< entries of `skipped` with error = true
  std::vector<SkippedPath> skipped;             ///< every path not read, with its reason
  std::vector<std::string> local_secret_files;  ///< .env / token files checked, relative paths
  /// Findings inside local secret files that are protected (untracked, git-ignored, mode 0600):
  /// that is where credentials belong, so they are counted, not failed.
  std::size_t protected_local_secrets = 0;
  bool git = false;  ///< the file list came from `git ls-files`
};

/// Where a scan started in `dir` runs: the git work tree's top level (`git rev-parse
/// --show-toplevel`, git = true), or `dir` itself when it is in no work tree or git is not
/// installed. Any other git failure (e.g. "detected dubious ownership") sets `error` to git's
/// stderr: the caller must stop (exit 2) rather than scan without the tracked-file list.
struct ScanRoot {
  std::string root;
  bool git = false;
  std::string error;
};
ScanRoot resolve_scan_root(const std::string& dir);

/// Scans as `opt` says. Throws std::runtime_error when a named path does not exist, `git
/// ls-files` fails or opt.fingerprint_key is empty.
ScanReport scan_tree(ScanOptions& opt);

/// "path:line:kind fingerprint=HEX" — the only form a finding is ever printed in.
std::string format_finding(const Finding& f);

}  // namespace jarvis::host::ops

// selfupdate/src/diff_check.h — the static half of the validate stage: a unified diff is parsed
// (git's extended headers included) and every path it touches is checked against the rules —
// inside the repository, not protected, no symlink or submodule, no binary patch, within limits.
// Nothing here touches the filesystem or git; the tree's symlinks come from the caller.
//
//   selfupdate::DiffSummary d = selfupdate::parse_unified_diff(text);   // throws DiffRefusal
//   selfupdate::check_diff(d, rules);                                   // throws DiffRefusal
//   for (const auto& f : d.files) use(f.new_path);
#pragma once

#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace selfupdate {

/// Why a diff is refused. `code` is stable: invalid_diff, empty_diff, binary_patch, path_escape,
/// protected_path, symlink_path, submodule_path, too_many_files.
class DiffRefusal : public std::runtime_error {
 public:
  DiffRefusal(std::string code, const std::string& message)
      : std::runtime_error(message), code_(std::move(code)) {}
  /// The stable reason code.
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

/// One file section of a diff. Paths are repository-relative ("" for /dev/null).
struct DiffFile {
  std::string old_path;  ///< "" when the file is created
  std::string new_path;  ///< "" when the file is deleted
  std::string new_mode;  ///< "100644", "100755", "120000" (symlink), "160000" (submodule) or ""
  int hunks = 0;         ///< text hunks
  int added = 0;         ///< '+' lines
  int removed = 0;       ///< '-' lines
};

/// The parsed diff.
struct DiffSummary {
  std::vector<DiffFile> files;
  /// Every path any section names (old and new sides), deduplicated and sorted.
  std::vector<std::string> paths() const;
};

/// Parses a unified diff (`git diff` output, with or without `diff --git` headers). Refuses
/// binary patches, quoted or non a/… b/… paths, malformed hunk headers and hunks whose line
/// counts do not match, and a diff without any file section.
DiffSummary parse_unified_diff(std::string_view text);

/// What check_diff enforces.
struct DiffRules {
  /// SELFUPDATE_CRITICAL_PATHS: "dir/" prefixes, exact paths (also covering what lies below) or
  /// globs with `*` (matching across '/').
  std::vector<std::string> critical_paths;
  bool allow_deploy = false;  ///< deploy/ is protected unless true
  int max_files = 60;
  /// Paths that are symlinks (mode 120000) or submodules (160000) in the baseline tree.
  std::set<std::string> tree_symlinks;
  std::set<std::string> tree_submodules;
};

/// Checks one repository-relative path: throws DiffRefusal path_escape when it is empty,
/// absolute, has a `..` or `.` component, a backslash, a control character or a `.git`
/// component.
void check_path_inside(const std::string& path);

/// True when `path` is in the protected set: the rules' critical paths (normalised, see
/// normalise_rule), `.env*` files, names containing "secret", private keys (*.pem, *.key,
/// id_rsa*, id_ed25519*, id_ecdsa*), .ssh/, .netrc, .gitmodules, .gitattributes, .github/, and
/// deploy/ unless allowed. `*why` receives the matching rule.
bool is_protected_path(const std::string& path, const DiffRules& rules, std::string* why);

/// One SELFUPDATE_CRITICAL_PATHS rule in the form paths are compared in: leading '/' and './'
/// dropped, doubled slashes collapsed, '.' components removed ("/migrations/" → "migrations/",
/// "host//src/auth/." → "host/src/auth"). Throws DiffRefusal invalid_rule for a rule that can
/// never match (empty, "/", a ".." component, a backslash or a control byte).
std::string normalise_rule(const std::string& rule);

/// Checks the parsed diff against the rules (see DiffRefusal for the codes).
void check_diff(const DiffSummary& diff, const DiffRules& rules);

}  // namespace selfupdate

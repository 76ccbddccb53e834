// selfupdate/src/diff_check.cpp — unified-diff parsing and the path rules (see diff_check.h).
#include "diff_check.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace selfupdate {
namespace diff_check_impl {

bool starts(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool ends(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    std::size_t end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    std::size_t slash = path.find('/', start);
    out.push_back(
        path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return out;
}

std::string quote(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 200)) {
    unsigned char u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? '?' : c;
  }
  return "'" + out + "'";
}

void refuse_quoted(std::string_view raw) {
  if (!raw.empty() && raw.front() == '"') {
    throw DiffRefusal("invalid_diff", "quoted (escaped) paths are not supported: " + quote(raw));
  }
}

// "--- a/x\t2026-…" → "x"; "/dev/null" → "". In a traditional (non-git) section git also cuts
// a timestamp after a space ("--- a/x 2026-12-01 12:00:00 +0000"), so there a path with a space
// is refused: what git writes and what the rules check could differ.
std::string header_path(std::string_view raw, char side, bool git_section) {
  std::size_t tab = raw.find('\t');
  if (tab != std::string_view::npos) raw = raw.substr(0, tab);
  if (!git_section && raw.find(' ') != std::string_view::npos) {
    throw DiffRefusal("invalid_diff",
                      "a ---/+++ header without 'diff --git' must not contain a space (git would "
                      "cut it as a timestamp): " +
                          quote(raw));
  }
  if (raw == "/dev/null") return "";
  refuse_quoted(raw);
  const char prefix[3] = {side, '/', '\0'};
  if (!starts(raw, prefix) || raw.size() == 2) {
    throw DiffRefusal("invalid_diff", std::string("a file header must name ") + prefix +
                                          "<path> or /dev/null, found " + quote(raw));
  }
  return std::string(raw.substr(2));
}

// "diff --git a/X b/Y" → {X, Y} when it can be split without guessing.
std::pair<std::string, std::string> git_header_paths(std::string_view rest) {
  refuse_quoted(rest);
  if (starts(rest, "a/") && rest.size() > 5 && (rest.size() - 5) % 2 == 0) {
    std::size_t n = (rest.size() - 5) / 2;
    std::string_view x = rest.substr(2, n);
    if (rest.substr(2 + n) == std::string(" b/") + std::string(x)) {
      return {std::string(x), std::string(x)};
    }
  }
  std::size_t b = rest.find(" b/");
  if (!starts(rest, "a/") || b == std::string_view::npos ||
      rest.find(" b/", b + 1) != std::string_view::npos) {
    throw DiffRefusal("invalid_diff", "cannot read the paths of " + quote(rest));
  }
  return {std::string(rest.substr(2, b - 2)), std::string(rest.substr(b + 3))};
}

// A mode as git reads it (octal, a leading zero allowed) → its canonical text. Only regular
// files (100644, 100755) pass; a symlink or a submodule, in any spelling, is refused.
std::string checked_mode(std::string_view value, const std::string& path) {
  unsigned long mode = 0;
  auto r = std::from_chars(value.data(), value.data() + value.size(), mode, 8);
  if (value.empty() || r.ec != std::errc() || r.ptr != value.data() + value.size()) {
    throw DiffRefusal("invalid_diff", "unreadable file mode " + quote(value));
  }
  if (mode == 0120000) {
    throw DiffRefusal("symlink_path", "the patch sets a symlink mode at " + quote(path));
  }
  if (mode == 0160000) {
    throw DiffRefusal("submodule_path", "the patch sets a submodule mode at " + quote(path));
  }
  if (mode != 0100644 && mode != 0100755) {
    throw DiffRefusal("invalid_diff", "file mode " + quote(value) + " at " + quote(path) +
                                          " is not 100644 or 100755");
  }
  return mode == 0100644 ? "100644" : "100755";
}

bool parse_count(std::string_view s, int& start, int& count) {
  std::size_t comma = s.find(',');
  std::string_view a = s.substr(0, comma);
  auto r1 = std::from_chars(a.data(), a.data() + a.size(), start);
  if (r1.ec != std::errc() || r1.ptr != a.data() + a.size()) return false;
  count = 1;
  if (comma != std::string_view::npos) {
    std::string_view b = s.substr(comma + 1);
    auto r2 = std::from_chars(b.data(), b.data() + b.size(), count);
    if (r2.ec != std::errc() || r2.ptr != b.data() + b.size()) return false;
  }
  return start >= 0 && count >= 0;
}

// "@@ -1,3 +1,4 @@ ctx" → old and new line counts.
bool parse_hunk_header(std::string_view line, int& old_count, int& new_count) {
  if (!starts(line, "@@ -")) return false;
  std::size_t sp = line.find(' ', 4);
  if (sp == std::string_view::npos) return false;
  int s1 = 0, s2 = 0;
  if (!parse_count(line.substr(4, sp - 4), s1, old_count)) return false;
  if (line.substr(sp, 2) != " +") return false;
  std::size_t sp2 = line.find(' ', sp + 2);
  if (sp2 == std::string_view::npos) return false;
  if (!parse_count(line.substr(sp + 2, sp2 - sp - 2), s2, new_count)) return false;
  return starts(line.substr(sp2), " @@");
}

}  // namespace diff_check_impl

using namespace diff_check_impl;

std::vector<std::string> DiffSummary::paths() const {
  std::set<std::string> all;
  for (const auto& f : files) {
    if (!f.old_path.empty()) all.insert(f.old_path);
    if (!f.new_path.empty()) all.insert(f.new_path);
  }
  return {all.begin(), all.end()};
}

DiffSummary parse_unified_diff(std::string_view text) {
  DiffSummary out;
  std::vector<std::string_view> lines = split_lines(text);
  struct Section {
    bool git = false;
    bool created = false;
    bool deleted = false;
    bool saw_file_headers = false;
    bool in_body = false;
  } sec;
  auto finish = [&] {
    if (out.files.empty()) return;
    DiffFile& f = out.files.back();
    if (sec.created) f.old_path.clear();
    if (sec.deleted) f.new_path.clear();
    if (f.old_path.empty() && f.new_path.empty()) {
      throw DiffRefusal("invalid_diff", "a file section names no path");
    }
  };
  std::size_t i = 0;
  const std::size_t n = lines.size();
  while (i < n) {
    std::string_view line = lines[i];
    if (starts(line, "GIT binary patch") || starts(line, "Binary files ")) {
      throw DiffRefusal("binary_patch",
                        "binary patches are refused (line " + std::to_string(i + 1) + ")");
    }
    if (starts(line, "diff --git ")) {
      finish();
      auto [a, b] = git_header_paths(line.substr(11));
      out.files.push_back({.old_path = a, .new_path = b});
      sec = Section{.git = true};
      ++i;
      continue;
    }
    if (!out.files.empty() && sec.git && !sec.saw_file_headers) {
      DiffFile& f = out.files.back();
      auto value = [&](std::string_view p) { return std::string(line.substr(p.size())); };
      const std::string& where = f.new_path.empty() ? f.old_path : f.new_path;
      if (starts(line, "old mode ")) {
        checked_mode(value("old mode "), where);
        ++i;
        continue;
      }
      if (starts(line, "index ")) {  // "index abc..def 100644": git takes the mode from here too
        std::string rest = value("index ");
        std::size_t sp = rest.find(' ');
        if (sp != std::string::npos) {
          std::string m = checked_mode(rest.substr(sp + 1), where);
          if (f.new_mode.empty()) f.new_mode = m;
        }
        ++i;
        continue;
      }
      if (starts(line, "similarity index ") || starts(line, "dissimilarity index ")) {
        ++i;
        continue;
      }
      if (starts(line, "new mode ")) {
        f.new_mode = checked_mode(value("new mode "), where);
        ++i;
        continue;
      }
      if (starts(line, "new file mode ")) {
        f.new_mode = checked_mode(value("new file mode "), where);
        sec.created = true;
        ++i;
        continue;
      }
      if (starts(line, "deleted file mode ")) {
        checked_mode(value("deleted file mode "), where);
        sec.deleted = true;
        ++i;
        continue;
      }
      for (std::string_view p : {"rename from ", "copy from "}) {
        if (starts(line, p)) {
          refuse_quoted(line.substr(p.size()));
          f.old_path = value(p);
        }
      }
      for (std::string_view p : {"rename to ", "copy to "}) {
        if (starts(line, p)) {
          refuse_quoted(line.substr(p.size()));
          f.new_path = value(p);
        }
      }
      if (starts(line, "rename ") || starts(line, "copy ")) {
        ++i;
        continue;
      }
    }
    if (starts(line, "--- ") && i + 1 < n && starts(lines[i + 1], "+++ ")) {
      if (out.files.empty() || sec.saw_file_headers || !sec.git) {
        finish();
        out.files.push_back({});
        sec = Section{};
      }
      DiffFile& f = out.files.back();
      f.old_path = header_path(line.substr(4), 'a', sec.git);
      f.new_path = header_path(lines[i + 1].substr(4), 'b', sec.git);
      if (f.old_path.empty()) sec.created = true;
      if (f.new_path.empty()) sec.deleted = true;
      sec.saw_file_headers = true;
      sec.in_body = true;
      i += 2;
      continue;
    }
    if (starts(line, "@@")) {
      if (out.files.empty() || !sec.saw_file_headers) {
        throw DiffRefusal("invalid_diff",
                          "hunk without ---/+++ file headers at line " + std::to_string(i + 1));
      }
      int old_left = 0, new_left = 0;
      if (!parse_hunk_header(line, old_left, new_left)) {
        throw DiffRefusal("invalid_diff", "malformed hunk header at line " + std::to_string(i + 1) +
                                              ": " + quote(line));
      }
      DiffFile& f = out.files.back();
      ++f.hunks;
      ++i;
      while (old_left > 0 || new_left > 0) {
        if (i >= n) {
          throw DiffRefusal("invalid_diff",
                            "the diff ends inside a hunk of " +
                                quote(f.new_path.empty() ? f.old_path : f.new_path));
        }
        std::string_view l = lines[i];
        char c = l.empty() ? ' ' : l[0];
        if (c == ' ') {
          --old_left;
          --new_left;
        } else if (c == '-') {
          --old_left;
          ++f.removed;
        } else if (c == '+') {
          --new_left;
          ++f.added;
        } else if (c != '\\') {
          throw DiffRefusal("invalid_diff", "hunk line counts do not match the header (line " +
                                                std::to_string(i + 1) + ")");
        }
        if (old_left < 0 || new_left < 0) {
          throw DiffRefusal("invalid_diff", "hunk line counts do not match the header (line " +
                                                std::to_string(i + 1) + ")");
        }
        ++i;
      }
      continue;
    }
    if (starts(line, "\\") && !out.files.empty()) {  // "\ No newline at end of file"
      ++i;
      continue;
    }
    if (out.files.empty()) {  // free text before the first section (a commit message)
      ++i;
      continue;
    }
    if (line.empty() && i + 1 == n) {
      ++i;
      continue;
    }
    throw DiffRefusal("invalid_diff",
                      "unexpected line " + std::to_string(i + 1) + ": " + quote(line));
  }
  finish();
  if (out.files.empty()) {
    throw DiffRefusal("empty_diff", "the text holds no file changes (expected a unified diff)");
  }
  return out;
}

void check_path_inside(const std::string& path) {
  if (path.empty()) throw DiffRefusal("path_escape", "an empty path");
  if (path.front() == '/') {
    throw DiffRefusal("path_escape", "absolute path " + quote(path) + " is outside the repository");
  }
  for (char c : path) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '\\' || u < 0x20 || u == 0x7f) {
      throw DiffRefusal("path_escape", "path " + quote(path) + " has a backslash or control byte");
    }
  }
  for (const std::string& part : components(path)) {
    if (part.empty() || part == "." || part == "..") {
      throw DiffRefusal("path_escape", "path " + quote(path) +
                                           " leaves the repository or is not "
                                           "normalised (empty, '.' or '..' component)");
    }
    if (lower(part) == ".git") {
      throw DiffRefusal("path_escape", "path " + quote(path) + " reaches into git's own files");
    }
  }
}

std::string normalise_rule(const std::string& raw) {
  for (char c : raw) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '\\' || u < 0x20 || u == 0x7f) {
      throw DiffRefusal("invalid_rule", "SELFUPDATE_CRITICAL_PATHS rule " + quote(raw) +
                                            " has a backslash or control byte");
    }
  }
  const bool dir = !raw.empty() && (raw.back() == '/' || ends(raw, "/."));
  std::string out;
  for (const std::string& part : components(raw)) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      throw DiffRefusal("invalid_rule", "SELFUPDATE_CRITICAL_PATHS rule " + quote(raw) +
                                            " has a '..' component: it can never match");
    }
    out += (out.empty() ? "" : "/") + part;
  }
  if (out.empty()) {
    throw DiffRefusal("invalid_rule", "SELFUPDATE_CRITICAL_PATHS rule " + quote(raw) +
                                          " names no path: it can never match");
  }
  return dir && raw.back() == '/' ? out + "/" : out;
}

bool is_protected_path(const std::string& path, const DiffRules& rules, std::string* why) {
  auto hit = [&](const std::string& rule) {
    if (why) *why = rule;
    return true;
  };
  for (const std::string& raw_rule : rules.critical_paths) {
    const std::string rule = normalise_rule(raw_rule);
    if (rule.find('*') != std::string::npos) {
      if (::fnmatch(rule.c_str(), path.c_str(), 0) == 0)
        return hit("SELFUPDATE_CRITICAL_PATHS " + rule);
    } else if (rule.back() == '/') {
      if (starts(path, rule) || path + "/" == rule) return hit("SELFUPDATE_CRITICAL_PATHS " + rule);
    } else if (path == rule || starts(path, rule + "/")) {
      return hit("SELFUPDATE_CRITICAL_PATHS " + rule);
    }
  }
  if (!rules.allow_deploy && (path == "deploy" || starts(path, "deploy/"))) {
    return hit("deploy/ (SELFUPDATE_ALLOW_DEPLOY is off)");
  }
  std::vector<std::string> parts = components(path);
  for (const std::string& raw : parts) {
    std::string part = lower(raw);
    if (starts(part, ".env")) return hit(".env files");
    if (part.find("secret") != std::string::npos) return hit("secrets");
    if (part == ".ssh" || part == ".gnupg") return hit("key folders");
    if (part == ".gitmodules" || part == ".gitattributes") return hit("git control files");
    if (part == ".github") return hit(".github/ (CI workflows)");
  }
  std::string last = lower(parts.back());
  for (std::string_view ext : {".pem", ".key", ".p12", ".pfx"}) {
    if (ends(last, ext)) return hit("private keys");
  }
  for (std::string_view p : {"id_rsa", "id_ed25519", "id_ecdsa", "id_dsa"}) {
    if (starts(last, p)) return hit("private keys");
  }
  if (last == ".netrc" || last == ".pgpass") return hit("credential files");
  return false;
}

void check_diff(const DiffSummary& diff, const DiffRules& rules) {
  std::vector<std::string> paths = diff.paths();
  if (static_cast<int>(paths.size()) > rules.max_files) {
    throw DiffRefusal("too_many_files", "the patch touches " + std::to_string(paths.size()) +
                                            " files; at most " + std::to_string(rules.max_files) +
                                            " (SELFUPDATE_MAX_FILES)");
  }
  for (const auto& f : diff.files) {
    if (f.new_mode == "120000") {
      throw DiffRefusal("symlink_path", "the patch creates a symlink at " + quote(f.new_path));
    }
    if (f.new_mode == "160000") {
      throw DiffRefusal("submodule_path", "the patch changes a submodule at " + quote(f.new_path));
    }
  }
  for (const std::string& p : paths) check_path_inside(p);
  for (const std::string& p : paths) {
    std::string why;
    if (is_protected_path(p, rules, &why)) {
      throw DiffRefusal("protected_path", "path " + quote(p) + " is protected (" + why + ")");
    }
  }
  for (const std::string& p : paths) {
    std::string prefix;
    for (const std::string& part : components(p)) {
      prefix += (prefix.empty() ? "" : "/") + part;
      if (rules.tree_symlinks.count(prefix)) {
        throw DiffRefusal("symlink_path", "path " + quote(p) + " goes through the symlink " +
                                              quote(prefix) + " of the baseline tree");
      }
      if (rules.tree_submodules.count(prefix)) {
        throw DiffRefusal("submodule_path",
                          "path " + quote(p) + " is inside the submodule " + quote(prefix));
      }
    }
  }
}

}  // namespace selfupdate

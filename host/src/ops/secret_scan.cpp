// host/src/ops/secret_scan.cpp — the allow-list and the tree walk of `jarvis secrets scan`
// (decision 0059); the patterns are in secret_patterns.cpp, the fingerprint key in
// secret_scan_key.cpp.
#include "ops/secret_scan.h"

#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "jarvis/crypto.h"
#include "jarvis/subprocess.h"

namespace fs = std::filesystem;

namespace jarvis::host::ops {
namespace secret_scan_impl {

/// Findings about a file (tracked secret file, unscannable path): the path is no secret.
std::string file_fingerprint(const std::string& rel) {
  return jarvis::sha256_hex("file:" + rel).substr(0, 12);
}

bool is_binary(const std::string& content) {
  return content.find('\0', 0) < std::min<std::size_t>(content.size(), 8000);
}

/// `p` relative to `root` as named — a symlink keeps its own name, not its target's — or, when
/// `p` was reached through another spelling of `root` (a symlinked cwd), through its parent's
/// canonical path; `p` itself when it lies outside `root`.
std::string relative_to(const fs::path& p, const fs::path& root) {
  auto inside = [](const fs::path& rel) {
    return !rel.empty() && rel.native().rfind("..", 0) != 0;
  };
  fs::path rel = p.lexically_relative(root);
  if (inside(rel)) return rel.string();
  std::error_code ec;
  const fs::path parent = fs::weakly_canonical(p.parent_path(), ec);
  if (!ec) {
    rel = (parent / p.filename()).lexically_relative(fs::weakly_canonical(root, ec));
    if (!ec && inside(rel)) return rel.string();
  }
  return p.string();
}

bool skipped_dir(const fs::path& p) {
  const std::string n = p.filename().string();
  return n == ".git" || n == "node_modules" || n.rfind("build", 0) == 0;
}

/// `.env`, `.env.local`, token caches, OAuth client files — not `.env.example`.
bool local_secret_name(const std::string& n) {
  static constexpr std::array<std::string_view, 4> kTemplates{".env.example", ".env.sample",
                                                              ".env.template", ".env.dist"};
  if (std::find(kTemplates.begin(), kTemplates.end(), n) != kTemplates.end()) return false;
  for (const char* g :
       {".env", ".env.*", "*token*.json", "*.token", "credentials*.json", "client_secret*.json"}) {
    if (::fnmatch(g, n.c_str(), 0) == 0) return true;
  }
  return false;
}

ProcessResult git(const std::string& root, std::vector<std::string> args) {
  ProcessOptions o;
  o.argv = {"git", "-C", root};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.timeout_ms = 60000;
  o.max_output_bytes = 64u << 20;
  return run_process(o);
}

}  // namespace secret_scan_impl

using namespace secret_scan_impl;

AllowList AllowList::load(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), file);
}

AllowList AllowList::parse(std::string_view text, const std::string& origin) {
  AllowList list;
  std::istringstream in{std::string(text)};
  std::string line;
  std::size_t n = 0;
  auto trim = [](std::string s) {
    s.erase(0, s.find_first_not_of(" \t\r"));
    s.erase(s.find_last_not_of(" \t\r") + 1);
    return s;
  };
  while (std::getline(in, line)) {
    ++n;
    std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    const auto hash = t.find(" #");
    const std::string where = origin + " line " + std::to_string(n);
    if (hash == std::string::npos || trim(t.substr(hash + 2)).empty()) {
      throw std::invalid_argument(where + ": every entry needs a reason after ' # '");
    }
    std::string entry = trim(t.substr(0, hash));
    Entry e;
    e.line = n;
    if (entry.rfind("path:", 0) == 0) {
      e.is_path = true;
      e.pattern = trim(entry.substr(5));
      if (const auto k = e.pattern.find(" kind:"); k != std::string::npos) {
        e.kind = trim(e.pattern.substr(k + 6));
        e.pattern = trim(e.pattern.substr(0, k));
        if (e.kind.empty() || e.kind.find_first_of(" \t") != std::string::npos) {
          throw std::invalid_argument(where + ": 'kind:' names one finding kind");
        }
      }
    } else if (entry.rfind("fingerprint:", 0) == 0) {
      e.pattern = trim(entry.substr(12));
      const bool hex =
          e.pattern.size() == 12 && std::all_of(e.pattern.begin(), e.pattern.end(), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
          });
      if (!hex) throw std::invalid_argument(where + ": a fingerprint is 12 lower-case hex digits");
    } else {
      throw std::invalid_argument(where +
                                  ": expected 'path:GLOB # reason' or 'fingerprint:HEX # "
                                  "reason'");
    }
    if (e.pattern.empty()) throw std::invalid_argument(where + ": empty pattern");
    list.entries_.push_back(std::move(e));
  }
  return list;
}

bool AllowList::allows(const Finding& f) {
  for (auto& e : entries_) {
    const bool hit = e.is_path ? ::fnmatch(e.pattern.c_str(), f.path.c_str(), 0) == 0 &&
                                     (e.kind.empty() || e.kind == f.kind)
                               : e.pattern == f.fingerprint;
    if (hit) {
      ++e.uses;
      return true;
    }
  }
  return false;
}

std::vector<std::string> AllowList::unused() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) {
    if (e.uses == 0) {
      out.push_back("line " + std::to_string(e.line) + ": " +
                    (e.is_path ? "path:" : "fingerprint:") + e.pattern +
                    (e.kind.empty() ? "" : " kind:" + e.kind));
    }
  }
  return out;
}

std::string format_finding(const Finding& f) {
  return f.path + ":" + std::to_string(f.line) + ":" + f.kind + " fingerprint=" + f.fingerprint;
}

ScanRoot resolve_scan_root(const std::string& dir) {
  ScanRoot out;
  out.root = fs::absolute(dir).lexically_normal().string();
  ProcessResult r;
  try {
    r = git(out.root, {"rev-parse", "--show-toplevel"});
  } catch (const std::exception&) {
    return out;  // git cannot be started: a plain directory walk
  }
  if (r.exit_code == 127) return out;  // no git installed
  if (r.exit_code == 0) {
    std::string top = r.stdout_text;
    while (!top.empty() && (top.back() == '\n' || top.back() == '\r')) top.pop_back();
    if (!top.empty()) {
      out.root = top;
      out.git = true;
      return out;
    }
  }
  // Not inside a work tree: a directory walk. Any other failure ("detected dubious ownership",
  // a broken .git) is an error: the tracked-file list and the git-ignore rules are unknown.
  if (r.stderr_text.find("not a git repository") != std::string::npos) return out;
  out.error = r.stderr_text.empty()
                  ? "git rev-parse failed with exit code " + std::to_string(r.exit_code)
                  : r.stderr_text;
  while (!out.error.empty() && out.error.back() == '\n') out.error.pop_back();
  return out;
}

ScanReport scan_tree(ScanOptions& opt) {
  if (opt.fingerprint_key.empty()) {
    throw std::runtime_error("no fingerprint key (load_or_create_scan_key)");
  }
  ScanReport report;
  const fs::path root = fs::absolute(opt.root).lexically_normal();
  const bool tree_mode = opt.paths.empty();
  std::vector<fs::path> files;  // with the name to report them under
  std::vector<std::string> names;
  std::vector<char> follow;  // named on the command line: a symlink is followed
  std::vector<std::string> tracked;
  auto skip = [&](std::string path, std::string reason, bool error) {
    if (error) ++report.errors;
    report.skipped.push_back({std::move(path), std::move(reason), error});
  };
  auto add_file = [&](const fs::path& p, std::string name, bool follow_link) {
    files.push_back(p);
    names.push_back(std::move(name));
    follow.push_back(follow_link ? 1 : 0);
  };
  const bool use_git = tree_mode && opt.git;
  if (use_git) {
    ProcessResult r = git(root.string(), {"ls-files", "-z"});
    if (r.exit_code != 0) {
      std::string e = r.stderr_text;
      while (!e.empty() && e.back() == '\n') e.pop_back();
      throw std::runtime_error("git ls-files failed: " + e);
    }
    report.git = true;
    std::size_t s = 0;
    while (s < r.stdout_text.size()) {
      std::size_t z = r.stdout_text.find('\0', s);
      if (z == std::string::npos) z = r.stdout_text.size();
      if (z > s) tracked.push_back(r.stdout_text.substr(s, z - s));
      s = z + 1;
    }
    for (const auto& t : tracked) add_file(root / t, t, false);
  }
  // A directory walk: symlinks inside are not followed (their targets are scanned where they
  // are), an unreadable directory or entry is an error, never a silent gap.
  auto walk = [&](const fs::path& top) {
    std::vector<fs::path> stack{top};
    while (!stack.empty()) {
      fs::path d = std::move(stack.back());
      stack.pop_back();
      std::error_code ec;
      fs::directory_iterator it(d, ec), end;
      if (ec) {
        skip(relative_to(d, root), "unreadable directory: " + ec.message(), true);
        continue;
      }
      std::vector<fs::path> entries;
      for (; it != end; it.increment(ec)) {
        if (ec) break;
        entries.push_back(it->path());
      }
      if (ec) skip(relative_to(d, root), "directory listing failed: " + ec.message(), true);
      std::sort(entries.begin(), entries.end());
      for (const auto& p : entries) {
        std::error_code sec;
        auto st = fs::symlink_status(p, sec);
        if (sec) {
          skip(relative_to(p, root), "cannot stat: " + sec.message(), true);
        } else if (fs::is_directory(st)) {
          if (!skipped_dir(p)) stack.push_back(p);
        } else if (tree_mode && (p.parent_path() == root || p.parent_path() == root / "var") &&
                   local_secret_name(p.filename().string())) {
          // checked below by the local-secret-file rules
        } else {
          add_file(p, relative_to(p, root), false);
        }
      }
    }
  };
  if (tree_mode && !use_git) walk(root);
  for (const auto& p : opt.paths) {
    // Named paths are followed when they are symlinks: the operator asked for this one.
    fs::path fp = fs::path(p).is_absolute() ? fs::path(p) : fs::path(opt.cwd) / p;
    fp = fs::absolute(fp).lexically_normal();
    std::error_code ec;
    auto st = fs::status(fp, ec);
    if (ec || !fs::exists(st)) {
      std::error_code lec;
      if (fs::is_symlink(fs::symlink_status(fp, lec))) {
        throw std::runtime_error("dangling symlink: " + p);
      }
      throw std::runtime_error("no such file or directory: " + p);
    }
    if (fs::is_directory(st)) {
      walk(fp);
    } else {
      add_file(fp, relative_to(fp, root), true);
    }
  }

  // follow: named or tracked paths whose symlink was asked for explicitly.
  auto scan_file = [&](const fs::path& f, const std::string& rel, bool follow_link,
                       std::vector<Finding>& hits) {
    std::error_code ec;
    auto st = follow_link ? fs::status(f, ec) : fs::symlink_status(f, ec);
    if (ec && ec == std::errc::no_such_file_or_directory && report.git) {
      skip(rel, "tracked but deleted in the work tree", false);
      return false;
    }
    if (ec) {
      skip(rel, "cannot stat: " + ec.message(), true);
      return false;
    }
    if (fs::is_directory(st)) return false;  // a tracked submodule
    if (fs::is_symlink(st)) {
      skip(rel, "symlink (not followed; its target is scanned where it is)", false);
      return false;
    }
    if (!fs::is_regular_file(st)) {
      skip(rel, "not a regular file", false);
      return false;
    }
    auto size = fs::file_size(f, ec);
    if (ec) {
      skip(rel, "cannot read size: " + ec.message(), true);
      return false;
    }
    if (size > opt.max_file_bytes) {
      skip(rel, "larger than " + std::to_string(opt.max_file_bytes) + " bytes", false);
      return false;
    }
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      skip(rel, std::string("unreadable: ") + std::strerror(errno), true);
      return false;
    }
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) {
      skip(rel, "read error", true);
      return false;
    }
    if (is_binary(content)) {
      skip(rel, "binary (NUL byte in the first 8000 bytes)", false);
      return false;
    }
    ++report.files_scanned;
    hits = scan_text(rel, content, opt.fingerprint_key);
    return true;
  };
  auto record = [&](Finding f) {
    if (opt.allow.allows(f)) {
      ++report.allowed;
    } else {
      report.findings.push_back(std::move(f));
    }
  };

  for (std::size_t n = 0; n < files.size(); ++n) {
    std::vector<Finding> hits;
    if (!scan_file(files[n], names[n], follow[n] != 0, hits)) continue;
    for (auto& h : hits) record(std::move(h));
  }

  // Local secret files: the root's and var/'s .env and token files. Tracked ones were scanned
  // above; a tracked secret file is itself a finding.
  if (tree_mode) {
    for (const fs::path& dir : {root, root / "var"}) {
      std::error_code ec;
      if (!fs::is_directory(dir, ec)) continue;
      for (const auto& de : fs::directory_iterator(dir, ec)) {
        const std::string name = de.path().filename().string();
        if (!local_secret_name(name) || !de.is_regular_file(ec)) continue;
        const std::string rel = relative_to(de.path(), root);
        report.local_secret_files.push_back(rel);
        const bool is_tracked = std::find(tracked.begin(), tracked.end(), rel) != tracked.end();
        if (is_tracked) {
          record({rel, 0, "secret_file_tracked", file_fingerprint(rel)});
          continue;
        }
        std::vector<Finding> hits;
        if (!scan_file(de.path(), rel, false, hits) || hits.empty()) continue;
        struct stat sb {};
        const bool private_mode =
            ::stat(de.path().c_str(), &sb) == 0 && (sb.st_mode & (S_IRWXG | S_IRWXO)) == 0;
        // Outside a git work tree nothing can commit the file: only its mode matters.
        const bool ignored =
            !report.git || git(root.string(), {"check-ignore", "-q", rel}).exit_code == 0;
        if (private_mode && ignored) {
          report.protected_local_secrets += hits.size();
          continue;
        }
        for (auto& h : hits) record(std::move(h));
        if (!ignored) record({rel, 0, "secret_file_not_git_ignored", file_fingerprint(rel)});
        if (!private_mode) {
          record({rel, 0, "secret_file_readable_by_others", file_fingerprint(rel)});
        }
      }
    }
  }
  // A path that should have been read and could not be is a finding of its own (allow-listable
  // like any other by path or fingerprint), so an incomplete scan never passes as clean.
  for (const auto& sk : report.skipped) {
    if (!sk.error) continue;
    const bool dir = sk.reason.find("directory") != std::string::npos;
    record({sk.path, 0, dir ? "unscannable_directory" : "unscannable_file",
            file_fingerprint(sk.path)});
  }
  report.files_skipped = report.skipped.size();
  return report;
}

}  // namespace jarvis::host::ops

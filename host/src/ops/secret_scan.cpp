// host/src/ops/secret_scan.cpp — credential patterns, the entropy rule, the allow-list and the
// tree walk of `jarvis secrets scan` (decision 0059).
#include "ops/secret_scan.h"

#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cmath>
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

/// A provider key recognised by its prefix.
struct PrefixRule {
  std::string_view prefix;
  std::string_view kind;
  bool (*body_char)(char);
  std::size_t min_body;
  std::size_t max_body;
};

bool alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool alnum_us(char c) { return alnum(c) || c == '_'; }
bool alnum_us_dash(char c) { return alnum(c) || c == '_' || c == '-'; }
bool alnum_dash(char c) { return alnum(c) || c == '-'; }
bool upper_digit(char c) { return std::isupper(static_cast<unsigned char>(c)) || std::isdigit(c); }
bool ident_char(char c) { return alnum(c) || c == '_'; }
bool value_char(char c) {
  return alnum(c) || c == '+' || c == '/' || c == '=' || c == '_' || c == '.' || c == '~' ||
         c == '-';
}
bool base64_char(char c) { return alnum(c) || c == '+' || c == '/' || c == '='; }

// Longer prefixes first: sk-ant- and sk-proj- before sk-.
constexpr std::array<PrefixRule, 20> kPrefixRules{{
    {"github_pat_", "github_token", alnum_us, 22, 255},
    {"ghp_", "github_token", alnum, 30, 255},
    {"gho_", "github_token", alnum, 30, 255},
    {"ghu_", "github_token", alnum, 30, 255},
    {"ghs_", "github_token", alnum, 30, 255},
    {"ghr_", "github_token", alnum, 30, 255},
    {"sk-ant-", "anthropic_key", alnum_us_dash, 20, 255},
    {"sk-proj-", "openai_key", alnum_us_dash, 20, 255},
    {"sk-svcacct-", "openai_key", alnum_us_dash, 20, 255},
    {"sk-admin-", "openai_key", alnum_us_dash, 20, 255},
    {"sk-", "openai_key", alnum, 20, 255},
    {"AIza", "google_api_key", alnum_us_dash, 35, 35},
    {"GOCSPX-", "google_oauth_client_secret", alnum_us_dash, 24, 64},
    {"AKIA", "aws_access_key_id", upper_digit, 16, 16},
    {"ASIA", "aws_access_key_id", upper_digit, 16, 16},
    {"xoxa-", "slack_token", alnum_dash, 10, 255},
    {"xoxb-", "slack_token", alnum_dash, 10, 255},
    {"xoxp-", "slack_token", alnum_dash, 10, 255},
    {"xoxr-", "slack_token", alnum_dash, 10, 255},
    {"xoxs-", "slack_token", alnum_dash, 10, 255},
}};

/// Minimum entropy (bits/char) of a prefixed key's body: `ghp_aaaa…` is a fake.
constexpr double kPrefixMinEntropy = 3.0;
/// An assigned value is a secret only when long, varied and random-looking.
constexpr double kAssignmentMinEntropy = 3.3;
constexpr std::size_t kAssignmentMinLength = 16;
constexpr std::size_t kAssignmentMaxLength = 256;
/// `Bearer <token>`: at least this long (and random-looking, like an assigned value).
constexpr std::size_t kBearerMinLength = 20;
/// Passwords in URLs are human-chosen: length and two character classes matter, not entropy.
constexpr std::size_t kUrlPasswordMinLength = 8;
constexpr double kUrlPasswordMinEntropy = 2.5;
/// Private-key bodies: this many base64 characters after the BEGIN line make it a real key.
constexpr std::size_t kPrivateKeyMinBody = 16;

/// Candidate positions examined in this thread (ScanStats; each costs at most ~256 characters).
thread_local std::size_t candidate_checks = 0;

std::string fingerprint_of(std::string_view secret) {
  return jarvis::sha256_hex(secret).substr(0, 12);
}

std::string upper(std::string_view s) {
  std::string u(s);
  for (auto& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return u;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

/// A name (upper-cased) that holds a secret: *TOKEN*, *SECRET*, *PASSWORD*, *API_KEY*, … but not
/// the name of a file, URL, header, limit or count that merely mentions one.
bool secret_name(const std::string& name) {
  static constexpr std::array<std::string_view, 9> kWords{"TOKEN",      "SECRET",      "PASSWORD",
                                                          "PASSWD",     "API_KEY",     "APIKEY",
                                                          "ACCESS_KEY", "PRIVATE_KEY", "AUTH_KEY"};
  static constexpr std::array<std::string_view, 22> kNotSecret{
      "_FILE",  "_PATH",   "_DIR",     "_URL",    "_NAME", "_HEADER", "_ENV",  "_FIELD",
      "_LIMIT", "_TOKENS", "_SECONDS", "_TTL",    "_LEN",  "_LENGTH", "_TYPE", "_ID",
      "_COUNT", "_MAX",    "_MIN",     "_PREFIX", "_HASH", "_BYTES"};
  bool hit = std::any_of(kWords.begin(), kWords.end(),
                         [&](std::string_view w) { return name.find(w) != std::string::npos; });
  if (!hit) return false;
  return std::none_of(kNotSecret.begin(), kNotSecret.end(),
                      [&](std::string_view s) { return ends_with(name, s); });
}

/// Values that look like code rather than a credential: identifiers without digits, dotted or
/// snake-case words.
bool looks_like_code_or_words(std::string_view v) {
  bool digit = false, letter = false;
  for (char c : v) {
    if (std::isdigit(static_cast<unsigned char>(c))) digit = true;
    if (std::isalpha(static_cast<unsigned char>(c))) letter = true;
  }
  if (!digit || !letter) return true;
  // Three or more short word-like segments ("jarvis.session.v2", "read_write_scope_1").
  std::size_t segments = 0, longest = 0, cur = 0;
  for (char c : v) {
    if (c == '_' || c == '.' || c == '-' || c == '/') {
      if (cur) ++segments;
      longest = std::max(longest, cur);
      cur = 0;
    } else {
      ++cur;
    }
  }
  if (cur) ++segments;
  longest = std::max(longest, cur);
  return segments >= 3 && longest <= 10;
}

bool char_classes_ok(std::string_view v) {
  int lower = 0, up = 0, digit = 0;
  for (char c : v) {
    lower |= std::islower(static_cast<unsigned char>(c)) ? 1 : 0;
    up |= std::isupper(static_cast<unsigned char>(c)) ? 1 : 0;
    digit |= std::isdigit(static_cast<unsigned char>(c)) ? 1 : 0;
  }
  return lower + up + digit >= 2;
}

struct Span {
  std::size_t begin, end;
};

bool overlaps(const std::vector<Span>& spans, std::size_t b, std::size_t e) {
  return std::any_of(spans.begin(), spans.end(),
                     [&](const Span& s) { return b < s.end && s.begin < e; });
}

void prefix_matches(const std::string& path, std::size_t lineno, std::string_view line,
                    std::vector<Span>& spans, std::vector<Finding>& out) {
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (i > 0 && (alnum_us(line[i - 1]))) continue;
    for (const auto& r : kPrefixRules) {
      if (line.substr(i, r.prefix.size()) != r.prefix) continue;
      // The body is read up to max_body + 1 characters: one more says "too long" (finding 1 of
      // the review: an uncapped read from every candidate made a long line quadratic).
      const std::size_t b = i + r.prefix.size();
      const std::size_t cap = std::min(line.size(), b + r.max_body + 1);
      std::size_t e = b;
      while (e < cap && r.body_char(line[e])) ++e;
      ++candidate_checks;
      if (e == cap && e - b > r.max_body) {
        // A longer token than the kind allows (AKIA + 20 characters) is something else: skip the
        // whole run of body characters, so no position inside it is tried again.
        while (e < line.size() && r.body_char(line[e])) ++e;
        i = e - 1;
        break;
      }
      std::string_view token = line.substr(i, e - i);
      std::string_view body = token.substr(r.prefix.size());
      bool length_ok = body.size() >= r.min_body && body.size() <= r.max_body;
      if (length_ok && !looks_like_placeholder(token) &&
          shannon_entropy(body) >= kPrefixMinEntropy) {
        out.push_back({path, lineno, std::string(r.kind), fingerprint_of(token)});
        spans.push_back({i, e});
        i = e - 1;  // continue after the token
      }
      break;  // the first (longest) matching prefix decides
    }
  }
}

/// The base64 run starting at `from` after skipping quotes, whitespace and `\n` escapes.
std::string_view base64_run(std::string_view s, std::size_t from) {
  std::size_t i = from;
  while (i < s.size()) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == 'n' || s[i + 1] == 'r')) {
      i += 2;
    } else if (s[i] == '"' || s[i] == '\'' || std::isspace(static_cast<unsigned char>(s[i]))) {
      ++i;
    } else {
      break;
    }
  }
  std::size_t e = i;
  while (e < s.size() && base64_char(s[e])) ++e;
  return s.substr(i, e - i);
}

bool private_key_match(std::string_view line, std::string_view next, std::string& body_out) {
  std::size_t b = line.find("-----BEGIN ");
  if (b == std::string_view::npos) return false;
  std::size_t p = line.find("PRIVATE KEY-----", b);
  if (p == std::string_view::npos) return false;
  for (std::size_t i = b + 11; i < p; ++i) {  // only "RSA ", "EC ", "OPENSSH " … in between
    if (!(std::isupper(static_cast<unsigned char>(line[i])) || line[i] == ' ' ||
          std::isdigit(static_cast<unsigned char>(line[i])))) {
      return false;
    }
  }
  std::string_view body = base64_run(line, p + 16);
  if (body.size() < kPrivateKeyMinBody) body = base64_run(next, 0);
  if (body.size() < kPrivateKeyMinBody) return false;
  body_out = std::string(body.substr(0, 64));
  return true;
}

/// `Bearer <token>` outside a provider key: a random-looking token of 20+ characters.
void bearer_matches(const std::string& path, std::size_t lineno, std::string_view line,
                    std::vector<Span>& spans, std::vector<Finding>& out) {
  for (std::string_view marker : {std::string_view("Bearer "), std::string_view("bearer ")}) {
    for (std::size_t at = line.find(marker); at != std::string_view::npos;
         at = line.find(marker, at + 1)) {
      std::size_t b = at + marker.size(), e = b;
      const std::size_t cap = std::min(line.size(), b + kAssignmentMaxLength + 1);
      while (e < cap && value_char(line[e])) ++e;
      ++candidate_checks;
      std::string_view token = line.substr(b, e - b);
      if (token.size() < kBearerMinLength || token.size() > kAssignmentMaxLength) continue;
      if (overlaps(spans, b, e)) continue;
      if (looks_like_placeholder(token) || looks_like_code_or_words(token) ||
          !char_classes_ok(token) || shannon_entropy(token) < kAssignmentMinEntropy) {
        continue;
      }
      out.push_back({path, lineno, "bearer_token", fingerprint_of(token)});
      spans.push_back({b, e});
    }
  }
}

/// `user:password@host`, with or without `scheme://` in front: a password of 8+ characters that is
/// not a placeholder. Anchored on each '@' followed by a host and read backwards at most
/// kAssignmentMaxLength + 1 characters, so a long line costs linear time.
void url_credential_matches(const std::string& path, std::size_t lineno, std::string_view line,
                            std::vector<Span>& spans, std::vector<Finding>& out) {
  auto stop = [](char c) {
    return c == '/' || c == '@' || c == ' ' || c == '\t' || c == '"' || c == '\'' || c == '<' ||
           c == '>' || c == '`' || c == '=' || c == '(' || c == ',' || c == ';';
  };
  auto user_char = [](char c) {
    return alnum(c) || c == '.' || c == '_' || c == '-' || c == '%' || c == '+' || c == '~';
  };
  for (std::size_t a = line.find('@'); a != std::string_view::npos; a = line.find('@', a + 1)) {
    if (a == 0 || a + 1 >= line.size() || !(alnum(line[a + 1]) || line[a + 1] == '[')) continue;
    ++candidate_checks;
    // Back to the start of the authority: a stop character, the line start or the cap.
    const std::size_t floor = a > kAssignmentMaxLength + 1 ? a - kAssignmentMaxLength - 1 : 0;
    std::size_t s = a;
    while (s > floor && !stop(line[s - 1])) --s;
    if (s == floor && floor > 0) continue;  // longer than any credential
    const std::string_view auth = line.substr(s, a - s);
    const std::size_t colon = auth.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    const std::string_view user = auth.substr(0, colon);
    if (!std::all_of(user.begin(), user.end(), user_char)) continue;
    const std::string u = upper(user);
    if (u == "MAILTO" || u == "HTTP" || u == "HTTPS") continue;  // "mailto:x@y", not a login
    const std::size_t p = s + colon + 1;
    std::string_view pw = line.substr(p, a - p);
    if (pw.size() < kUrlPasswordMinLength || pw.size() > kAssignmentMaxLength) continue;
    if (overlaps(spans, p, a) || looks_like_placeholder(pw) || pw.find('$') != pw.npos ||
        pw.find('{') != pw.npos || !char_classes_ok(pw) ||
        shannon_entropy(pw) < kUrlPasswordMinEntropy) {
      continue;
    }
    out.push_back({path, lineno, "url_credentials", fingerprint_of(pw)});
    spans.push_back({p, a});
  }
}

void assignment_matches(const std::string& path, std::size_t lineno, std::string_view line,
                        const std::vector<Span>& spans, std::vector<Finding>& out) {
  std::size_t i = 0;
  while (i < line.size()) {
    if (!(std::isalpha(static_cast<unsigned char>(line[i])) || line[i] == '_') ||
        (i > 0 && ident_char(line[i - 1]))) {
      ++i;
      continue;
    }
    std::size_t e = i;
    while (e < line.size() && ident_char(line[e])) ++e;
    const std::string name = upper(line.substr(i, e - i));
    std::size_t j = e;
    i = e;
    if (!secret_name(name)) continue;
    // Closing quotes / brackets of `"KEY":` or `env["KEY"] =`, then the separator.
    while (j < line.size() && (line[j] == '"' || line[j] == '\'' || line[j] == ']')) ++j;
    while (j < line.size() && line[j] == ' ') ++j;
    if (j >= line.size()) break;
    if (line.substr(j, 2) == "==" || line.substr(j, 2) == "!=") continue;
    if (line.substr(j, 2) == ":=" || line.substr(j, 2) == "=>") {
      j += 2;
    } else if (line[j] == '=' || line[j] == ':') {
      ++j;
    } else {
      continue;
    }
    while (j < line.size() &&
           (line[j] == ' ' || line[j] == '"' || line[j] == '\'' || line[j] == '`')) {
      ++j;
    }
    // Read at most kAssignmentMaxLength + 1 value characters (one more says "too long"), so a
    // line of `TOKEN=TOKEN=…` costs linear time.
    std::size_t v = j;
    const std::size_t vcap = std::min(line.size(), j + kAssignmentMaxLength + 1);
    while (v < vcap && value_char(line[v])) ++v;
    ++candidate_checks;
    std::string_view value = line.substr(j, v - j);
    // `${VAR}`, `$(cmd)`, `<key>` stop the value at once: empty or a fragment, never a finding.
    if (value.size() < kAssignmentMinLength || value.size() > kAssignmentMaxLength) continue;
    if (overlaps(spans, j, v)) continue;  // already reported as a provider key
    if (v < line.size() &&
        (line[v] == '$' || line[v] == '{' || line[v] == '(' || line[v] == '<' || line[v] == '*')) {
      continue;  // part of an expression or template
    }
    if (looks_like_placeholder(value) || looks_like_code_or_words(value) ||
        !char_classes_ok(value) || shannon_entropy(value) < kAssignmentMinEntropy) {
      continue;
    }
    const bool aws = name.find("AWS") != std::string::npos ||
                     name.find("SECRET_ACCESS_KEY") != std::string::npos;
    out.push_back(
        {path, lineno, aws ? "aws_secret_access_key" : "secret_assignment", fingerprint_of(value)});
    i = v;
  }
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

double shannon_entropy(std::string_view s) {
  if (s.empty()) return 0.0;
  std::array<std::size_t, 256> counts{};
  for (unsigned char c : s) ++counts[c];
  double h = 0.0;
  const double n = static_cast<double>(s.size());
  for (std::size_t c : counts) {
    if (!c) continue;
    const double p = static_cast<double>(c) / n;
    h -= p * std::log2(p);
  }
  return h;
}

bool looks_like_placeholder(std::string_view value) {
  std::string v(value);
  for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* marker : {"${", "$(", "{{", "<", ">", "...", "\xe2\x80\xa6", "your", "example",
                             "placeholder", "changeme", "change-me", "change_me", "dummy",
                             "redacted", "xxxx", "fake", "sample", "replace"}) {
    if (v.find(marker) != std::string::npos) return true;
  }
  std::size_t run = 1;
  for (std::size_t i = 1; i < v.size(); ++i) {
    run = v[i] == v[i - 1] ? run + 1 : 1;
    if (run >= 6) return true;  // "aaaaaa", "000000", "******"
  }
  return false;
}

std::size_t scan_candidate_checks() { return candidate_checks; }

std::vector<Finding> scan_text(const std::string& path, std::string_view text) {
  std::vector<Finding> out;
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  for (std::size_t n = 0; n < lines.size(); ++n) {
    std::string_view line = lines[n];
    std::vector<Span> spans;
    std::string body;
    if (private_key_match(line, n + 1 < lines.size() ? lines[n + 1] : std::string_view{}, body)) {
      out.push_back({path, n + 1, "private_key", fingerprint_of(body)});
    }
    prefix_matches(path, n + 1, line, spans, out);
    bearer_matches(path, n + 1, line, spans, out);
    url_credential_matches(path, n + 1, line, spans, out);
    assignment_matches(path, n + 1, line, spans, out);
  }
  return out;
}

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
    const bool hit = e.is_path ? ::fnmatch(e.pattern.c_str(), f.path.c_str(), 0) == 0
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
                    (e.is_path ? "path:" : "fingerprint:") + e.pattern);
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
    hits = scan_text(rel, content);
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
          record({rel, 0, "secret_file_tracked", fingerprint_of("file:" + rel)});
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
        if (!ignored)
          record({rel, 0, "secret_file_not_git_ignored", fingerprint_of("file:" + rel)});
        if (!private_mode) {
          record({rel, 0, "secret_file_readable_by_others", fingerprint_of("file:" + rel)});
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
            fingerprint_of("file:" + sk.path)});
  }
  report.files_skipped = report.skipped.size();
  return report;
}

}  // namespace jarvis::host::ops

// host/src/ops/secret_patterns.cpp — the credential patterns of `jarvis secrets scan` (decision
// 0059): provider-key prefixes, PEM and PGP private keys, Slack webhooks, bearer tokens,
// credentials in URLs, secret and password assignments; placeholders and the entropy rule. The
// install's fingerprint key is secret_scan_key.cpp's.
#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "jarvis/crypto.h"
#include "ops/secret_scan.h"

namespace jarvis::host::ops {
namespace secret_patterns_impl {

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

/// Passwords: human-chosen, so punctuation counts and the bar is classes, not entropy.
constexpr std::size_t kPasswordMinLength = 8;
constexpr std::size_t kPasswordMaxLength = 128;

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
      // A key ends where a word ends: AKIA + 16 upper-case characters followed by lower-case ones
      // is an identifier (real access key ids are exactly AKIA + 16 of [A-Z0-9]).
      if (e < line.size() && alnum_us(line[e])) length_ok = false;
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

/// A PEM or armor header line ("Proc-Type: 4,ENCRYPTED", "DEK-Info: …", "Version: …",
/// "Comment: …") or a blank line: what may stand between a BEGIN line and the key's base64.
bool armor_header_line(std::string_view l) {
  std::size_t i = 0;
  while (i < l.size() && (l[i] == ' ' || l[i] == '\t' || l[i] == '"' || l[i] == '\'')) ++i;
  l = l.substr(i);
  if (l.empty() || l == "\\n" || l == "\r") return true;
  const std::size_t colon = l.find(": ");
  if (colon == std::string_view::npos || colon == 0 || colon > 20) return false;
  return std::all_of(l.begin(), l.begin() + static_cast<std::ptrdiff_t>(colon),
                     [](char c) { return alnum(c) || c == '-'; });
}

/// `-----BEGIN [RSA |EC |OPENSSH |ENCRYPTED |DSA ]PRIVATE KEY-----` (kind private_key) or
/// `-----BEGIN PGP PRIVATE KEY BLOCK-----` (pgp_private_key), with its base64 body on the same
/// line (a string literal with \n escapes) or after up to four header lines (an encrypted
/// key's Proc-Type and DEK-Info, an armor's Version and the blank line).
bool private_key_match(const std::vector<std::string_view>& lines, std::size_t n,
                       std::string& body_out, std::string& kind_out) {
  const std::string_view line = lines[n];
  std::size_t b = line.find("-----BEGIN ");
  if (b == std::string_view::npos) return false;
  std::size_t end_of_marker = std::string_view::npos;
  if (std::size_t g = line.find("PGP PRIVATE KEY BLOCK-----", b); g == b + 11) {
    kind_out = "pgp_private_key";
    end_of_marker = g + 26;
  } else if (std::size_t p = line.find("PRIVATE KEY-----", b); p != std::string_view::npos) {
    for (std::size_t i = b + 11; i < p; ++i) {  // only "RSA ", "EC ", "ENCRYPTED " … in between
      if (!(std::isupper(static_cast<unsigned char>(line[i])) || line[i] == ' ' ||
            std::isdigit(static_cast<unsigned char>(line[i])))) {
        return false;
      }
    }
    kind_out = "private_key";
    end_of_marker = p + 16;
  } else {
    return false;
  }
  std::string_view body = base64_run(line, end_of_marker);
  // In a string literal the headers follow "\n" escapes on the same line: skip them too.
  for (std::size_t k = end_of_marker; body.size() < kPrivateKeyMinBody && k < line.size();) {
    std::size_t esc = line.find("\\n", k);
    if (esc == std::string_view::npos) break;
    k = esc + 2;
    std::string_view rest = line.substr(k);
    std::size_t next_esc = rest.find("\\n");
    std::string_view segment = rest.substr(0, next_esc);
    if (!armor_header_line(segment)) body = base64_run(line, k);
  }
  for (std::size_t k = n + 1; body.size() < kPrivateKeyMinBody && k < lines.size() && k <= n + 5;
       ++k) {
    if (armor_header_line(lines[k])) continue;
    body = base64_run(lines[k], 0);
    break;
  }
  if (body.size() < kPrivateKeyMinBody) return false;
  body_out = std::string(body.substr(0, 64));
  return true;
}

/// `https://hooks.slack.com/services/T…/B…/<secret>`: a Slack incoming-webhook URL (anyone
/// holding it can post to the channel). The example URL of Slack's documentation (X…) is not.
void slack_webhook_matches(const std::string& path, std::size_t lineno, std::string_view line,
                           std::vector<Span>& spans, std::vector<Finding>& out) {
  constexpr std::string_view kHost = "hooks.slack.com/services/";
  for (std::size_t at = line.find(kHost); at != std::string_view::npos;
       at = line.find(kHost, at + 1)) {
    ++candidate_checks;
    std::size_t i = at + kHost.size();
    auto segment = [&](std::size_t max, bool (*ok)(char)) {
      std::size_t s = i;
      while (i < line.size() && i - s <= max && ok(line[i])) ++i;
      return line.substr(s, i - s);
    };
    std::string_view team = segment(16, upper_digit);
    if (i >= line.size() || line[i] != '/') continue;
    ++i;
    std::string_view hook = segment(16, upper_digit);
    if (i >= line.size() || line[i] != '/') continue;
    ++i;
    const std::size_t secret_at = i;
    std::string_view secret = segment(40, alnum);
    if (team.size() < 8 || team[0] != 'T' || hook.size() < 8 || hook[0] != 'B' ||
        secret.size() < 20 || secret.size() > 40 || (i < line.size() && alnum_us(line[i]))) {
      continue;
    }
    if (looks_like_placeholder(secret) || shannon_entropy(secret) < kPrefixMinEntropy) continue;
    out.push_back({path, lineno, "slack_webhook", fingerprint_of(secret)});
    spans.push_back({secret_at, i});
  }
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
                            std::string_view key, std::vector<Span>& spans,
                            std::vector<Finding>& out) {
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
    out.push_back({path, lineno, "url_credentials", fingerprint("url_credentials", pw, key)});
    spans.push_back({p, a});
  }
}

/// PASSWORD, PASSWD, PASSPHRASE or *_PASS: a name whose value a person chose.
bool password_name(const std::string& name) {
  const bool word =
      name.find("PASSWORD") != std::string::npos || name.find("PASSWD") != std::string::npos ||
      name.find("PASSPHRASE") != std::string::npos || ends_with(name, "_PASS") || name == "PASS";
  return word && (secret_name(name) || name.find("PASSPHRASE") != std::string::npos ||
                  ends_with(name, "_PASS") || name == "PASS");
}

/// One `NAME = value` found by next_assignment: the upper-cased name and where its value starts.
struct AssignmentAt {
  std::string name;
  std::size_t value = 0;     ///< right after the separator (and the spaces after it)
  bool quoted_name = false;  ///< `"password": …`, `env['PASSWORD'] = …`
  bool spaced = false;       ///< a space before or after the separator (`a = b`: code)
  char separator = 0;        ///< '=' or ':' (`:=` and `=>` count as '=')
};

/// The next identifier at or after `i` whose upper-cased name satisfies `wanted`, followed by its
/// closing quotes or bracket and a separator `=`, `:`, `:=` (and `=>` when `arrow`) — not `==` or
/// `!=`. `i` moves past every identifier examined; false when the line has no more.
bool next_assignment(std::string_view line, std::size_t& i, bool (*wanted)(const std::string&),
                     bool arrow, AssignmentAt& at) {
  while (i < line.size()) {
    if (!(std::isalpha(static_cast<unsigned char>(line[i])) || line[i] == '_') ||
        (i > 0 && ident_char(line[i - 1]))) {
      ++i;
      continue;
    }
    const std::size_t name_at = i;
    std::size_t e = i;
    while (e < line.size() && ident_char(line[e])) ++e;
    at.name = upper(line.substr(i, e - i));
    i = e;
    if (!wanted(at.name)) continue;
    std::size_t j = e;
    // Closing quotes / brackets of `"KEY":` or `env["KEY"] =`, then the separator.
    while (j < line.size() && (line[j] == '"' || line[j] == '\'' || line[j] == ']')) ++j;
    at.quoted_name =
        j > e || (name_at > 0 && (line[name_at - 1] == '"' || line[name_at - 1] == '\''));
    const std::size_t before_spaces = j;
    while (j < line.size() && line[j] == ' ') ++j;
    at.spaced = j > before_spaces;
    if (j >= line.size() || line.substr(j, 2) == "==" || line.substr(j, 2) == "!=") continue;
    if (line.substr(j, 2) == ":=" || (arrow && line.substr(j, 2) == "=>")) {
      at.separator = '=';
      j += 2;
    } else if (line[j] == '=' || line[j] == ':') {
      at.separator = line[j];
      ++j;
    } else {
      continue;
    }
    at.spaced = at.spaced || (j < line.size() && line[j] == ' ');
    at.value = j;
    return true;
  }
  return false;
}

/// A password value without punctuation that is still a chosen secret rather than code: only
/// letters and digits, 8+ characters, and either both letters and digits or (16+ characters) a
/// random-looking run; not a placeholder or an `xxx` filler. Unquoted it must sit where a
/// configuration file puts a value — `NAME=value` without spaces (.env, shell) or an unquoted
/// `name: value` (YAML) — since `password = other2` in code names a variable.
bool plain_password(std::string_view value, char quote, const AssignmentAt& at) {
  if (value.size() < kPasswordMinLength) return false;
  bool letter = false, digit = false;
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u)) return false;
    letter |= std::isalpha(u) != 0;
    digit |= std::isdigit(u) != 0;
  }
  const bool random_letters = value.size() >= 16 && char_classes_ok(value) &&
                              shannon_entropy(value) >= kAssignmentMinEntropy;
  if (!(letter && digit) && !random_letters) return false;
  if (upper(value).find("XXX") != std::string::npos) return false;
  if (quote) return true;
  const bool dotenv = at.separator == '=' && !at.spaced && !at.quoted_name;
  const bool yaml = at.separator == ':' && !at.quoted_name;
  return dotenv || yaml;
}

/// `DB_PASSWORD=<value>`, `"password": "<value>"`. The value runs to its closing quote (quoted)
/// or to whitespace (unquoted); 8–128 characters, not a placeholder, and either with punctuation
/// (which the assignment rule's value characters stop at) and three of the four classes (lower,
/// upper, digit, punctuation) and not an expression (`a.b`, `f(x)`, `x;`, `${VAR}`), or a plain
/// letters-and-digits password where a configuration value stands (plain_password, decision 0096).
void password_matches(const std::string& path, std::size_t lineno, std::string_view line,
                      std::string_view key, std::vector<Span>& spans, std::vector<Finding>& out) {
  std::size_t i = 0;
  AssignmentAt at;
  while (next_assignment(line, i, password_name, false, at)) {
    std::size_t j = at.value;
    while (j < line.size() && line[j] == ' ') ++j;
    char quote = 0;
    if (j < line.size() && (line[j] == '"' || line[j] == '\'' || line[j] == '`')) quote = line[j++];
    std::size_t v = j;
    const std::size_t vcap = std::min(line.size(), j + kPasswordMaxLength + 1);
    while (v < vcap && line[v] != quote && !std::isspace(static_cast<unsigned char>(line[v])) &&
           (quote || (line[v] != '"' && line[v] != '\''))) {
      ++v;
    }
    ++candidate_checks;
    if (quote && (v >= line.size() || line[v] != quote)) continue;  // no closing quote in reach
    std::string_view value = line.substr(j, v - j);
    if (!quote && !value.empty() && (value.back() == ';' || value.back() == ',')) continue;
    if (value.size() < kPasswordMinLength || value.size() > kPasswordMaxLength) continue;
    if (overlaps(spans, j, v) || looks_like_placeholder(value)) continue;
    int lower = 0, up = 0, digit = 0, punct = 0;
    bool special = false, expression = false;
    for (char c : value) {
      const auto u = static_cast<unsigned char>(c);
      lower |= std::islower(u) ? 1 : 0;
      up |= std::isupper(u) ? 1 : 0;
      digit |= std::isdigit(u) ? 1 : 0;
      punct |= std::ispunct(u) ? 1 : 0;
      // `_ . - /` also join identifiers, paths and URLs (`self.db_password2`): not enough.
      special |= std::ispunct(u) && std::strchr("_.-/$", c) == nullptr;
      expression |= std::strchr("()[]{}\\\"'`", c) != nullptr;
    }
    const bool punctuated = special && !expression && lower + up + digit + punct >= 3 &&
                            // `$VAR`, `a::b`, `p->x`: shell variables and code.
                            value.find('$') == value.npos && value.find("::") == value.npos &&
                            value.find("->") == value.npos;
    if (!punctuated && !plain_password(value, quote, at)) continue;
    out.push_back(
        {path, lineno, "password_assignment", fingerprint("password_assignment", value, key)});
    spans.push_back({j, v});
    i = v;
  }
}

void assignment_matches(const std::string& path, std::size_t lineno, std::string_view line,
                        std::string_view key, const std::vector<Span>& spans,
                        std::vector<Finding>& out) {
  std::size_t i = 0;
  AssignmentAt at;
  while (next_assignment(line, i, secret_name, true, at)) {
    std::size_t j = at.value;
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
    const bool aws = at.name.find("AWS") != std::string::npos ||
                     at.name.find("SECRET_ACCESS_KEY") != std::string::npos;
    const char* kind = aws ? "aws_secret_access_key" : "secret_assignment";
    out.push_back({path, lineno, kind, fingerprint(kind, value, key)});
    i = v;
  }
}

}  // namespace secret_patterns_impl

using namespace secret_patterns_impl;

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

bool keyed_kind(std::string_view kind) {
  return kind == "url_credentials" || kind == "secret_assignment" ||
         kind == "password_assignment" || kind == "aws_secret_access_key";
}

std::string fingerprint(std::string_view kind, std::string_view value, std::string_view key) {
  if (!keyed_kind(kind)) return fingerprint_of(value);
  // HMAC-SHA-256 with the install's key: without the key, 48 bits of it say nothing about a
  // short password (no offline dictionary check). An empty key (scan_text without one, tests)
  // still differs from the plain hash.
  return jarvis::hmac_sha256_hex(key.empty() ? std::string_view("jarvis-secret-scan") : key, value)
      .substr(0, 12);
}

std::vector<Finding> scan_text(const std::string& path, std::string_view text,
                               std::string_view key) {
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
    std::string body, kind;
    if (private_key_match(lines, n, body, kind)) {
      out.push_back({path, n + 1, kind, fingerprint_of(body)});
    }
    prefix_matches(path, n + 1, line, spans, out);
    slack_webhook_matches(path, n + 1, line, spans, out);
    bearer_matches(path, n + 1, line, spans, out);
    url_credential_matches(path, n + 1, line, key, spans, out);
    password_matches(path, n + 1, line, key, spans, out);
    assignment_matches(path, n + 1, line, key, spans, out);
  }
  return out;
}

}  // namespace jarvis::host::ops

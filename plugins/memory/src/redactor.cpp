// memory/src/redactor.cpp — the secret and PII patterns (decision 0029) and the audit rows.
//
// Patterns are ECMAScript regexes over bytes. Card numbers must pass the Luhn check and IBANs the
// mod-97 check, so order numbers and version strings are not masked.
#include "redactor.h"

#include <cctype>
#include <functional>
#include <regex>

#include "jarvis/database.h"
#include "jarvis/sql.h"

namespace jarvis::memory {
namespace {

struct Rule {
  const char* category;
  const char* rule;
  std::regex pattern;
  /// Extra check of a match (Luhn, mod 97); null = every match counts.
  std::function<bool(const std::string&)> accept;
  /// Capture group kept in front of the mask (a "password=" key stays readable); 0 = none.
  int keep_group = 0;
};

bool luhn_ok(const std::string& s) {
  int sum = 0;
  int n = 0;
  bool dbl = false;
  for (auto it = s.rbegin(); it != s.rend(); ++it) {
    if (!std::isdigit(static_cast<unsigned char>(*it))) continue;
    int d = *it - '0';
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
    ++n;
  }
  return n >= 13 && n <= 19 && sum % 10 == 0;
}

bool iban_ok(const std::string& s) {
  std::string c;
  for (char ch : s) {
    if (ch != ' ') c.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
  }
  if (c.size() < 15 || c.size() > 34) return false;
  std::string r = c.substr(4) + c.substr(0, 4);
  int mod = 0;
  for (char ch : r) {
    if (std::isdigit(static_cast<unsigned char>(ch))) {
      mod = (mod * 10 + (ch - '0')) % 97;
    } else if (ch >= 'A' && ch <= 'Z') {
      int v = ch - 'A' + 10;
      mod = (mod * 100 + v) % 97;
    } else {
      return false;
    }
  }
  return mod == 1;
}

const std::vector<Rule>& secret_rules() {
  static const std::vector<Rule> rules = [] {
    using std::regex;
    const auto f = regex::ECMAScript | regex::optimize;
    std::vector<Rule> r;
    r.push_back({"secret", "url_credentials",
                 regex("([a-zA-Z][a-zA-Z0-9+.-]*://)[^/\\s:@]+:[^/\\s@]+@", f), nullptr, 1});
    r.push_back({"secret", "anthropic_key", regex("sk-ant-[A-Za-z0-9_-]{16,}", f)});
    r.push_back({"secret", "openai_key", regex("sk-(proj-)?[A-Za-z0-9_-]{20,}", f)});
    r.push_back({"secret", "github_token",
                 regex("(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})", f)});
    r.push_back({"secret", "aws_access_key", regex("(AKIA|ASIA)[0-9A-Z]{16}", f)});
    r.push_back({"secret", "slack_token", regex("xox[abprs]-[A-Za-z0-9-]{10,}", f)});
    r.push_back({"secret", "google_api_key", regex("AIza[0-9A-Za-z_-]{35}", f)});
    r.push_back({"secret", "jwt",
                 regex("eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}", f)});
    r.push_back(
        {"secret", "bearer_token", regex("([Bb]earer\\s+)[A-Za-z0-9._~+/=-]{16,}", f), nullptr, 1});
    r.push_back({"secret", "password",
                 regex("((?:[Pp]assword|PASSWORD|[Pp]asswd|[Pp]wd|[Ss]ecret|SECRET|[Aa]pi[_-]?[Kk]"
                       "ey|API[_-]?KEY|[Tt]oken|TOKEN)\\s*[:=]\\s*)[^\\s,;]{3,}",
                       f),
                 nullptr, 1});
    return r;
  }();
  return rules;
}

const std::vector<Rule>& pii_rules() {
  static const std::vector<Rule> rules = [] {
    using std::regex;
    const auto f = regex::ECMAScript | regex::optimize;
    std::vector<Rule> r;
    r.push_back({"pii", "email", regex("[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}", f)});
    r.push_back({"pii", "iban",
                 regex("\\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\\b", f),
                 iban_ok});
    r.push_back({"pii", "card_number", regex("\\b(?:[0-9][ -]?){12,18}[0-9]\\b", f), luhn_ok});
    // Phone numbers need a "+" country code or an area code in parentheses (or the
    // NNN-NNN-NNNN form), so digit groups of order numbers or card-like strings are not phones.
    r.push_back(
        {"pii", "phone",
         regex("\\+[0-9]{1,3}[ .-]?(\\([0-9]{1,4}\\)[ .-]?)?[0-9]{2,4}([ .-]?[0-9]{2,4}){1,4}"
               "|\\([0-9]{3}\\)[ .-]?[0-9]{3}[ .-][0-9]{4}|\\b[0-9]{3}-[0-9]{3}-[0-9]{4}\\b",
               f)});
    return r;
  }();
  return rules;
}

/// Replaces every accepted match of `rule` in `text`; appends a finding per replacement.
std::string apply(const Rule& rule, const std::string& text,
                  std::vector<RedactionFinding>& findings) {
  std::string out;
  out.reserve(text.size());
  auto begin = std::sregex_iterator(text.begin(), text.end(), rule.pattern);
  std::size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    const std::smatch& m = *it;
    if (m.length(0) == 0) continue;
    if (rule.accept && !rule.accept(m.str(0))) continue;
    const auto pos = static_cast<std::size_t>(m.position(0));
    out.append(text, last, pos - last);
    if (rule.keep_group > 0 && m[rule.keep_group].matched) out += m.str(rule.keep_group);
    out += "[REDACTED:";
    out += rule.rule;
    out += "]";
    last = pos + static_cast<std::size_t>(m.length(0));
    findings.push_back({rule.category, rule.rule});
  }
  out.append(text, last, std::string::npos);
  return out;
}

/// Masks PEM private-key blocks (BEGIN … PRIVATE KEY to the matching END, or to the end of the
/// text) by plain search: a regex over a multi-kilobyte block recurses per character.
std::string mask_private_keys(const std::string& text, std::vector<RedactionFinding>& findings) {
  std::string out;
  std::size_t pos = 0;
  while (true) {
    std::size_t b = text.find("-----BEGIN ", pos);
    if (b == std::string::npos) break;
    std::size_t head_end = text.find("-----", b + 11);
    if (head_end == std::string::npos || text.compare(head_end - 11, 11, "PRIVATE KEY") != 0 ||
        head_end - b > 80) {
      out.append(text, pos, b + 11 - pos);
      pos = b + 11;
      continue;
    }
    std::size_t e = text.find("-----END ", head_end + 5);
    std::size_t stop = std::string::npos;
    if (e != std::string::npos) {
      std::size_t tail = text.find("-----", e + 9);
      stop = tail == std::string::npos ? std::string::npos : tail + 5;
    }
    out.append(text, pos, b - pos);
    out += "[REDACTED:private_key]";
    findings.push_back({"secret", "private_key"});
    if (stop == std::string::npos) return out;
    pos = stop;
  }
  out.append(text, pos, std::string::npos);
  return out;
}

/// Runs of more than kMaxRun bytes without a blank (base64 blobs, keys, minified data) are masked
/// whole: no rule below then sees a match longer than that, which bounds the regex engine's
/// recursion depth whatever the input.
constexpr std::size_t kMaxRun = 256;

std::string mask_long_runs(const std::string& text, std::vector<RedactionFinding>& findings) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    if (j - i > kMaxRun) {
      out += "[REDACTED:long_token]";
      findings.push_back({"secret", "long_token"});
    } else {
      out.append(text, i, j - i);
    }
    std::size_t k = j;
    while (k < text.size() && std::isspace(static_cast<unsigned char>(text[k]))) ++k;
    out.append(text, j, k - j);
    i = k;
  }
  return out;
}

}  // namespace

Redactor::Redactor(RedactorOptions options) : options_(std::move(options)) {}

Redaction Redactor::scan(std::string_view input) const {
  Redaction out;
  out.text = std::string(input);
  try {
    if (options_.secret_scan) {
      out.text = mask_private_keys(out.text, out.findings);
    }
    const bool pii = options_.pii_mode == "mask" || options_.pii_mode == "deny";
    if (options_.secret_scan || pii) out.text = mask_long_runs(out.text, out.findings);
    if (options_.secret_scan) {
      for (const Rule& r : secret_rules()) out.text = apply(r, out.text, out.findings);
    }
    if (pii) {
      const std::size_t before = out.findings.size();
      for (const Rule& r : pii_rules()) out.text = apply(r, out.text, out.findings);
      if (options_.pii_mode == "deny" && out.findings.size() > before) out.denied = true;
    }
  } catch (const std::regex_error&) {
    // Catastrophic input for the regex engine (stack depth): refuse rather than store unscanned.
    out.findings.push_back({"secret", "unscannable"});
    out.denied = true;
  }
  return out;
}

int record_redactions(soci::session& sql, const RedactionSubject& s, const Redaction& outcome) {
  int n = 0;
  const std::string at = now_iso();
  for (const RedactionFinding& f : outcome.findings) {
    sql::exec(sql,
              "INSERT INTO memory_redactions(id, item_id, owner_id, thread_id, source, category, "
              "rule, action, created_at) VALUES(:i, :it, :o, :t, :s, :c, :r, :a, :at)",
              {new_id("mred"), s.item_id.empty() ? sql::Bind::null() : sql::Bind(s.item_id),
               s.owner_id, s.thread_id.empty() ? sql::Bind::null() : sql::Bind(s.thread_id),
               s.source, f.category, f.rule, outcome.denied ? "denied" : "masked", at});
    ++n;
  }
  return n;
}

}  // namespace jarvis::memory

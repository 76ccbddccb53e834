// github/src/analysis.cpp — diffstat, risk flags, diff excerpts, comment texts, triggers, Link.
#include "analysis.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>

namespace github {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool contains_segment(const std::string& path, std::string_view seg) {
  // "seg" as a whole path segment (directory or file stem) or a dotted/underscored word in one.
  std::size_t pos = 0;
  while ((pos = path.find(seg, pos)) != std::string::npos) {
    bool start = pos == 0 || std::string_view("/._-").find(path[pos - 1]) != std::string_view::npos;
    std::size_t end = pos + seg.size();
    bool stop =
        end == path.size() || std::string_view("/._-").find(path[end]) != std::string_view::npos;
    if (start && stop) return true;
    pos = end;
  }
  return false;
}

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

long long num(const jarvis::Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<long long>() : 0;
}

std::string str(const jarvis::Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

struct Category {
  const char* key;
  const char* label;
};
constexpr Category kCategories[] = {
    {"migrations", "Database migrations touched"},
    {"auth", "Authentication / authorization code touched"},
    {"routes", "HTTP routes or API handlers touched"},
    {"ci", "CI / build pipeline touched"},
    {"dependencies", "Dependency manifests or lock files changed"},
    {"deleted_tests", "Tests deleted"},
};

// Markdown-safe inline code: backticks in a file name would end the span.
std::string code(std::string_view s) {
  std::string t(s);
  std::replace(t.begin(), t.end(), '`', '\'');
  return "`" + t + "`";
}

// One line of text from a title or branch name (no newlines, no HTML comment openers).
std::string inline_text(std::string_view s, std::size_t max = 200) {
  std::string t = utf8_prefix(s, max);
  for (char& c : t)
    if (c == '\n' || c == '\r') c = ' ';
  std::size_t p;
  while ((p = t.find("<!--")) != std::string::npos) t.replace(p, 4, "<!‑‑");
  return t;
}

}  // namespace

std::string utf8_prefix(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  std::size_t n = max_bytes;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return std::string(text.substr(0, n));
}

std::vector<std::string> risk_keys(std::string_view filename, std::string_view status) {
  std::vector<std::string> keys;
  const std::string p = lower(filename);
  const std::string base = base_name(p);
  if (contains_segment(p, "migrations") || contains_segment(p, "migration") ||
      contains_segment(p, "migrate") || contains_segment(p, "alembic") ||
      (base.ends_with(".sql") && p.find("schema") != std::string::npos))
    keys.push_back("migrations");
  for (const char* w :
       {"auth", "authn", "authz", "login", "session", "sessions", "oauth", "rbac", "permission",
        "permissions", "password", "token", "tokens", "crypto", "security", "jwt", "acl"}) {
    if (contains_segment(p, w)) {
      keys.push_back("auth");
      break;
    }
  }
  for (const char* w : {"routes", "route", "router", "routing", "urls", "endpoints", "handlers",
                        "controllers", "api", "views"}) {
    if (contains_segment(p, w)) {
      keys.push_back("routes");
      break;
    }
  }
  if (p.starts_with(".github/workflows/") || p.starts_with(".circleci/") ||
      p.starts_with(".buildkite/") || base == ".gitlab-ci.yml" || base == "jenkinsfile" ||
      base == ".travis.yml" || base == "azure-pipelines.yml" || base == "dockerfile" ||
      base == "makefile" || base == "cmakelists.txt")
    keys.push_back("ci");
  static const char* kManifests[] = {"package.json",     "package-lock.json",
                                     "yarn.lock",        "pnpm-lock.yaml",
                                     "requirements.txt", "pyproject.toml",
                                     "poetry.lock",      "pipfile",
                                     "pipfile.lock",     "uv.lock",
                                     "setup.py",         "setup.cfg",
                                     "go.mod",           "go.sum",
                                     "cargo.toml",       "cargo.lock",
                                     "gemfile",          "gemfile.lock",
                                     "composer.json",    "composer.lock",
                                     "pom.xml",          "build.gradle",
                                     "build.gradle.kts", "vcpkg.json",
                                     "conanfile.txt",    "conanfile.py",
                                     "mix.exs",          "mix.lock"};
  for (const char* m : kManifests) {
    if (base == m) {
      keys.push_back("dependencies");
      break;
    }
  }
  if (status == "removed" &&
      (contains_segment(p, "test") || contains_segment(p, "tests") || contains_segment(p, "spec") ||
       base.find("_test.") != std::string::npos || base.find(".test.") != std::string::npos ||
       base.find(".spec.") != std::string::npos || base.starts_with("test_")))
    keys.push_back("deleted_tests");
  return keys;
}

PrAnalysis analyse(const std::vector<jarvis::Json>& files, int largest_count) {
  PrAnalysis a;
  std::vector<RiskFlag> flags;
  for (const auto& c : kCategories) flags.push_back({c.key, c.label, {}, 0});
  std::vector<std::pair<long long, std::size_t>> sizes;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto& f = files[i];
    if (!f.is_object()) continue;
    ++a.files;
    long long add = num(f, "additions"), del = num(f, "deletions");
    a.additions += add;
    a.deletions += del;
    sizes.emplace_back(add + del, i);
    for (const auto& k : risk_keys(str(f, "filename"), str(f, "status"))) {
      for (auto& flag : flags) {
        if (flag.key != k) continue;
        ++flag.count;
        if (flag.examples.size() < 5) flag.examples.push_back(str(f, "filename"));
      }
    }
  }
  std::stable_sort(sizes.begin(), sizes.end(),
                   [](const auto& x, const auto& y) { return x.first > y.first; });
  for (std::size_t i = 0; i < sizes.size() && static_cast<int>(i) < largest_count; ++i) {
    const auto& f = files[sizes[i].second];
    a.largest.push_back({{"filename", str(f, "filename")},
                         {"status", str(f, "status")},
                         {"additions", num(f, "additions")},
                         {"deletions", num(f, "deletions")}});
  }
  for (auto& flag : flags)
    if (flag.count > 0) a.risks.push_back(std::move(flag));
  return a;
}

std::string diff_excerpt(const std::vector<jarvis::Json>& files, std::size_t budget,
                         bool* truncated) {
  std::string out;
  std::size_t cut_files = 0, cut_bytes = 0;
  for (const auto& f : files) {
    if (!f.is_object()) continue;
    std::string patch = str(f, "patch");
    std::string part = "diff -- " + str(f, "filename") + " (" + str(f, "status") + ")\n" +
                       (patch.empty() ? std::string("(no textual diff)") : patch) + "\n";
    if (out.size() + part.size() <= budget) {
      out += part;
    } else {
      ++cut_files;
      cut_bytes += part.size();
    }
  }
  if (truncated) *truncated = cut_files > 0;
  if (cut_files > 0)
    out += fmt::format("[diff truncated: {} file(s), {} bytes left out of a {}-byte budget]\n",
                       cut_files, cut_bytes, budget);
  return out;
}

std::string render_summary(const jarvis::Json& pr, const PrAnalysis& a, const ModelPart& model) {
  std::string out(kSummaryMarker);
  out += "\n## Jarvis PR summary\n\n";
  const std::string title = inline_text(str(pr, "title"));
  const long long number = num(pr, "number");
  std::string base, head;
  if (pr.contains("base") && pr["base"].is_object())
    base = inline_text(str(pr["base"], "ref"), 120);
  if (pr.contains("head") && pr["head"].is_object())
    head = inline_text(str(pr["head"], "ref"), 120);
  out += fmt::format("**#{} {}**\n\n", number, title);
  out += fmt::format("{} ← {}\n\n", code(base), code(head));
  out += fmt::format("**Diffstat:** {} file(s), +{} / -{}, {} commit(s)\n\n", a.files, a.additions,
                     a.deletions, num(pr, "commits"));
  const long long reported = num(pr, "changed_files");
  if (reported > a.files)
    out += fmt::format("_GitHub reports {} changed files; {} were listed by the API._\n\n",
                       reported, a.files);
  if (!a.largest.empty()) {
    out += "### Largest files\n\n";
    for (const auto& f : a.largest)
      out += fmt::format("- {} ({}, +{} / -{})\n", code(f["filename"].get<std::string>()),
                         f["status"].get<std::string>(), f["additions"].get<long long>(),
                         f["deletions"].get<long long>());
    out += "\n";
  }
  out += "### Risk flags\n\n";
  if (a.risks.empty()) {
    out += fmt::format("None found over all {} file(s).\n\n", a.files);
  } else {
    for (const auto& r : a.risks) {
      std::string ex;
      for (const auto& e : r.examples) ex += (ex.empty() ? "" : ", ") + code(e);
      if (r.count > static_cast<int>(r.examples.size()))
        ex += fmt::format(" and {} more", r.count - static_cast<int>(r.examples.size()));
      out += fmt::format("- **{}** ({} file(s)): {}\n", r.label, r.count, ex);
    }
    out += fmt::format("\n_Judged over all {} file(s)._\n\n", a.files);
  }
  out += "### Summary\n\n";
  if (model.present) {
    out += model.text + "\n\n";
    if (!model.note.empty()) out += "_" + model.note + "_\n\n";
  } else {
    out += "_No model summary: " + model.note + "._\n\n";
  }
  out +=
      "---\n_Posted by Jarvis; edited in place on new pushes. Risk flags come from file paths "
      "and are hints, not a review._\n";
  return out;
}

std::optional<Trigger> parse_trigger(std::string_view body, std::string_view bot_login) {
  static const char* kModes[] = {"review", "summarize", "risks", "tests", "help"};
  auto make = [&](std::string_view rest) {
    Trigger t{"review", ""};
    while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.front())))
      rest.remove_prefix(1);
    std::size_t sp = 0;
    while (sp < rest.size() && !std::isspace(static_cast<unsigned char>(rest[sp]))) ++sp;
    std::string first = lower(rest.substr(0, sp));
    if (!first.empty() && first.back() == ':') first.pop_back();
    for (const char* m : kModes) {
      if (first == m || (std::string_view(m) == "summarize" && first == "summarise")) {
        t.mode = m;
        rest.remove_prefix(sp);
        break;
      }
    }
    while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.front())))
      rest.remove_prefix(1);
    t.question = utf8_prefix(rest, 2000);
    while (!t.question.empty() && std::isspace(static_cast<unsigned char>(t.question.back())))
      t.question.pop_back();
    return t;
  };
  // A line that starts with /jarvis (the rest of that line and the following lines are the ask).
  std::size_t pos = 0;
  while (pos <= body.size()) {
    std::size_t eol = body.find('\n', pos);
    std::string_view line =
        body.substr(pos, eol == std::string_view::npos ? body.size() - pos : eol - pos);
    std::size_t lead = 0;
    while (lead < line.size() && (line[lead] == ' ' || line[lead] == '\t')) ++lead;
    line.remove_prefix(lead);
    if (line.size() >= 7 && lower(line.substr(0, 7)) == "/jarvis" &&
        (line.size() == 7 || std::isspace(static_cast<unsigned char>(line[7])) || line[7] == ':')) {
      std::size_t from = pos + lead + 7;
      if (from < body.size() && body[from] == ':') ++from;
      return make(body.substr(std::min(from, body.size())));
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
  }
  if (!bot_login.empty()) {
    const std::string l = lower(body), mention = "@" + lower(bot_login);
    std::size_t at = 0;
    while ((at = l.find(mention, at)) != std::string::npos) {
      std::size_t end = at + mention.size();
      bool word_start =
          at == 0 || !(std::isalnum(static_cast<unsigned char>(l[at - 1])) || l[at - 1] == '-');
      bool word_end =
          end == l.size() || !(std::isalnum(static_cast<unsigned char>(l[end])) || l[end] == '-');
      if (word_start && word_end) return make(body.substr(end));
      at = end;
    }
  }
  return std::nullopt;
}

std::string chat_help_text() {
  return "I answer `/jarvis <mode> <question>` (or an @mention) on pull requests, for people with "
         "write access to the repository. Modes:\n"
         "- `review` (default) — a review of the change\n"
         "- `summarize` — what the change does\n"
         "- `risks` — what could break\n"
         "- `tests` — which tests the change needs\n"
         "- `help` — this text";
}

std::string next_link(std::string_view header) {
  // <url>; rel="next", <url>; rel="last"
  std::size_t pos = 0;
  while (pos < header.size()) {
    std::size_t lt = header.find('<', pos);
    if (lt == std::string_view::npos) break;
    std::size_t gt = header.find('>', lt);
    if (gt == std::string_view::npos) break;
    std::size_t comma = header.find(',', gt);
    std::string_view params =
        header.substr(gt + 1, (comma == std::string_view::npos ? header.size() : comma) - gt - 1);
    std::string p = lower(params);
    if (p.find("rel=\"next\"") != std::string::npos || p.find("rel=next") != std::string::npos)
      return std::string(header.substr(lt + 1, gt - lt - 1));
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return "";
}

}  // namespace github

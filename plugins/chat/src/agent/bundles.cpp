// chat/src/agent/bundles.cpp — the strict front-matter parser and the bundle loader.
#include "agent/bundles.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "agent/shipped_bundles.h"
#include "agent/text_budget.h"
#include "jarvis/host.h"
#include "jarvis/strings.h"

namespace chat {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Front matter

/// The keys identity.md may set; list keys take lists, the others scalars.
struct KeyInfo {
  std::string_view name;
  bool list;
  bool required;
};
constexpr KeyInfo kKeys[] = {
    {"agent_id", false, true},      {"allowed_tools", true, false},
    {"risk_tier", false, true},     {"max_actions_per_step", false, true},
    {"allowed_paths", true, false}, {"can_request_privileged_change", false, false},
};

const KeyInfo* key_info(std::string_view name) {
  for (const auto& k : kKeys) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

std::string key_list() {
  std::string out;
  for (const auto& k : kKeys) {
    if (!out.empty()) out += ", ";
    out += k.name;
  }
  return out;
}

/// One value as written, with the line it starts on.
struct RawValue {
  int line = 0;
  bool is_list = false;
  std::string scalar;
  std::vector<std::string> items;
  std::vector<int> item_lines;  ///< the line of each item (block lists: one per line)
};

class FrontMatterParser {
 public:
  FrontMatterParser(const std::string& file) : file_(file) {}

  [[noreturn]] void fail(int line, const std::string& message) const {
    throw BundleError(file_, line, message);
  }

  /// Strips a trailing " # comment" from a plain (unquoted) scalar text.
  static std::string_view strip_comment(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '#' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) return s.substr(0, i);
    }
    return s;
  }

  /// Parses one scalar (plain or quoted) that must make up all of `text` (bar a comment).
  std::string scalar(std::string_view text, int line, bool in_flow) const {
    text = jarvis::trim(text);
    if (text.empty()) fail(line, "missing value");
    char q = text.front();
    if (q == '"' || q == '\'') {
      std::string out;
      std::size_t i = 1;
      bool closed = false;
      for (; i < text.size(); ++i) {
        char c = text[i];
        if (q == '\'' && c == '\'') {
          if (i + 1 < text.size() && text[i + 1] == '\'') {
            out.push_back('\'');
            ++i;
            continue;
          }
          closed = true;
          break;
        }
        if (q == '"' && c == '\\') {
          if (i + 1 >= text.size()) break;
          char e = text[++i];
          switch (e) {
            case '"':
              out.push_back('"');
              break;
            case '\\':
              out.push_back('\\');
              break;
            case 'n':
              out.push_back('\n');
              break;
            case 't':
              out.push_back('\t');
              break;
            default:
              fail(line, std::string("unsupported escape '\\") + e + "' in a quoted value");
          }
          continue;
        }
        if (q == '"' && c == '"') {
          closed = true;
          break;
        }
        out.push_back(c);
      }
      if (!closed) fail(line, "unterminated quoted value");
      std::string_view rest = jarvis::trim(text.substr(i + 1));
      if (!rest.empty() && !(rest.front() == '#' && !in_flow))
        fail(line, "unexpected text after a quoted value");
      return out;
    }
    std::string_view plain = in_flow ? text : jarvis::trim(strip_comment(text));
    if (plain.empty()) fail(line, "missing value");
    static constexpr std::string_view kReserved = "{}[]&*!|>%@`";
    if (kReserved.find(plain.front()) != std::string_view::npos)
      fail(line, std::string("unsupported YAML syntax starting with '") + plain.front() + "'");
    if (plain.front() == '-' && (plain.size() == 1 || plain[1] == ' '))
      fail(line, "a list item needs a list key ('key:' on the line before)");
    if (plain.find(": ") != std::string_view::npos || plain.back() == ':')
      fail(line, "unexpected ':' in a value (quote the value)");
    return std::string(plain);
  }

  /// Parses a one-line flow list "[a, 'b', c]".
  std::vector<std::string> flow_list(std::string_view text, int line) const {
    text = jarvis::trim(text);
    // text starts with '['; find the matching ']' outside quotes.
    std::vector<std::string> items;
    std::size_t i = 1;
    std::size_t start = 1;
    char quote = 0;
    bool closed = false;
    auto push = [&](std::size_t end) {
      std::string_view item = jarvis::trim(text.substr(start, end - start));
      if (item.empty()) fail(line, "empty list item");
      items.push_back(scalar(item, line, true));
    };
    if (std::string_view inner = jarvis::trim(text.substr(1)); !inner.empty() && inner[0] == ']') {
      std::string_view rest = jarvis::trim(inner.substr(1));
      if (!rest.empty() && rest.front() != '#') fail(line, "unexpected text after ']'");
      return items;  // "[]"
    }
    for (; i < text.size(); ++i) {
      char c = text[i];
      if (quote) {
        if (c == quote) {
          if (quote == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
            ++i;
            continue;
          }
          quote = 0;
        } else if (quote == '"' && c == '\\') {
          ++i;
        }
        continue;
      }
      if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == ',') {
        push(i);
        start = i + 1;
      } else if (c == '[' || c == '{') {
        fail(line, "nested collections are not supported");
      } else if (c == ']') {
        push(i);
        closed = true;
        break;
      }
    }
    if (!closed) fail(line, "a flow list must close with ']' on the same line");
    std::string_view rest = jarvis::trim(text.substr(i + 1));
    if (!rest.empty() && rest.front() != '#') fail(line, "unexpected text after ']'");
    return items;
  }

  /// Parses the lines between the two `---` markers. `first_line` is the 1-based number of the
  /// first of them.
  std::map<std::string, RawValue, std::less<>> parse(const std::vector<std::string_view>& lines,
                                                     int first_line) {
    std::map<std::string, RawValue, std::less<>> values;
    std::string open_list;  // key whose block list is being read
    for (std::size_t n = 0; n < lines.size(); ++n) {
      const int line = first_line + static_cast<int>(n);
      std::string_view raw = lines[n];
      std::size_t indent = 0;
      while (indent < raw.size() && (raw[indent] == ' ' || raw[indent] == '\t')) {
        if (raw[indent] == '\t') fail(line, "tabs are not allowed for indentation");
        ++indent;
      }
      std::string_view body = raw.substr(indent);
      if (jarvis::trim(body).empty() || body.front() == '#') continue;
      if (body.front() == '-' && (body.size() == 1 || body[1] == ' ')) {
        if (open_list.empty())
          fail(line, "a list item needs a list key ('key:' on the line before)");
        std::string_view item = body.substr(1);
        if (jarvis::trim(strip_comment(item)).empty()) fail(line, "empty list item");
        std::string_view t = jarvis::trim(item);
        if (!t.empty() && t.front() == '[') fail(line, "nested collections are not supported");
        RawValue& list = values[open_list];
        list.items.push_back(scalar(item, line, false));
        list.item_lines.push_back(line);
        continue;
      }
      if (indent > 0) fail(line, "unexpected indented line (only '- item' lines may be indented)");
      open_list.clear();
      std::size_t colon = body.find(':');
      if (colon == std::string_view::npos) fail(line, "expected 'key: value'");
      std::string_view key = body.substr(0, colon);
      if (key.empty() || jarvis::trim(key) != key) fail(line, "expected 'key: value'");
      const KeyInfo* info = key_info(key);
      if (!info)
        fail(line, "unknown key '" + printable(key) + "' (expected one of: " + key_list() + ")");
      if (values.count(key)) fail(line, "duplicate key '" + std::string(key) + "'");
      std::string_view rest = body.substr(colon + 1);
      if (!rest.empty() && rest.front() != ' ') fail(line, "expected a space after ':'");
      RawValue v;
      v.line = line;
      std::string_view value = jarvis::trim(rest);
      if (value.empty() || value.front() == '#') {
        if (!info->list) fail(line, "missing value for '" + std::string(key) + "'");
        v.is_list = true;
        values.emplace(std::string(key), std::move(v));
        open_list = std::string(key);
        continue;
      }
      if (value.front() == '[') {
        if (!info->list) fail(line, "'" + std::string(key) + "' takes a single value, not a list");
        v.is_list = true;
        v.items = flow_list(value, line);
        v.item_lines.assign(v.items.size(), line);
      } else {
        if (info->list)
          fail(line, "'" + std::string(key) + "' takes a list ([a, b] or '- a' lines)");
        v.scalar = scalar(value, line, false);
      }
      values.emplace(std::string(key), std::move(v));
    }
    return values;
  }

  static std::string printable(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 64)) {
      auto u = static_cast<unsigned char>(c);
      out.push_back(u >= 0x20 && u < 0x7F ? c : '?');
    }
    return out;
  }

 private:
  std::string file_;
};

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t nl = text.find('\n', start);
    std::size_t end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return lines;
}

bool valid_path_entry(std::string_view p) {
  if (p.empty() || p.front() != '/' || p.size() > 4096) return false;
  for (char c : p) {
    if (static_cast<unsigned char>(c) < 0x20) return false;
  }
  std::size_t start = 0;
  while (start <= p.size()) {
    std::size_t slash = p.find('/', start);
    std::size_t end = slash == std::string_view::npos ? p.size() : slash;
    if (p.substr(start, end - start) == "..") return false;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Loading

constexpr std::string_view kIdentityFile = "identity.md";
constexpr std::string_view kSoulFile = "soul.md";
constexpr std::string_view kToolsFile = "tools.md";

/// The three files of one bundle folder as read (missing optional file = nullopt).
struct RawBundle {
  std::string id;
  std::string origin;
  std::string location;
  std::optional<std::string> identity, soul, tools;
};

/// Checks content limits shared by shipped and AGENTS_DIR files.
void check_content(const std::string& file, const std::string& content) {
  if (content.size() > kMaxBundleFileBytes)
    throw BundleError(file, 0,
                      "larger than " + std::to_string(kMaxBundleFileBytes / 1024) + " KiB");
  if (content.find('\0') != std::string::npos) throw BundleError(file, 0, "contains a NUL byte");
  if (!valid_utf8(content)) throw BundleError(file, 0, "is not valid UTF-8");
}

/// Reads one file of a bundle folder, at most kMaxBundleFileBytes + 1 bytes. nullopt when it
/// does not exist; BundleError when it is not a regular file or cannot be read.
std::optional<std::string> read_bundle_file(const fs::path& dir, std::string_view name) {
  std::error_code ec;
  fs::path p = dir / std::string(name);
  auto st = fs::status(p, ec);  // follows symlinks
  if (ec || st.type() == fs::file_type::not_found) {
    if (ec && ec != std::errc::no_such_file_or_directory)
      throw BundleError(std::string(name), 0, "cannot be read: " + ec.message());
    return std::nullopt;
  }
  if (st.type() != fs::file_type::regular)
    throw BundleError(std::string(name), 0, "is not a regular file");
  std::ifstream in(p, std::ios::binary);
  if (!in) throw BundleError(std::string(name), 0, "cannot be opened");
  std::string content(kMaxBundleFileBytes + 1, '\0');
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  if (in.bad()) throw BundleError(std::string(name), 0, "cannot be read");
  content.resize(static_cast<std::size_t>(in.gcount()));
  return content;
}

AgentBundle build_bundle(const RawBundle& raw) {
  if (!raw.identity) throw BundleError(std::string(kIdentityFile), 0, "is missing");
  if (!raw.soul) throw BundleError(std::string(kSoulFile), 0, "is missing");
  check_content(std::string(kIdentityFile), *raw.identity);
  check_content(std::string(kSoulFile), *raw.soul);
  if (raw.tools) check_content(std::string(kToolsFile), *raw.tools);
  IdentityDocument doc = parse_identity(*raw.identity, std::string(kIdentityFile));
  if (doc.identity.agent_id != raw.id) {
    // Find the agent_id line for the message.
    int line = 0;
    auto lines = split_lines(*raw.identity);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].substr(0, 9) == "agent_id:") {
        line = static_cast<int>(i) + 1;
        break;
      }
    }
    throw BundleError(
        std::string(kIdentityFile), line,
        "agent_id '" + doc.identity.agent_id + "' does not match the folder name '" + raw.id + "'");
  }
  AgentBundle b;
  b.identity = std::move(doc.identity);
  b.id = raw.id;
  b.origin = raw.origin;
  b.location = raw.location;
  b.identity_text = std::move(doc.body);
  b.soul = *raw.soul;
  b.tools_doc = raw.tools.value_or("");
  return b;
}

std::string printable_name(std::string_view s) { return FrontMatterParser::printable(s); }

}  // namespace

const char* to_string(RiskTier tier) {
  switch (tier) {
    case RiskTier::Low:
      return "low";
    case RiskTier::Medium:
      return "medium";
    case RiskTier::High:
      return "high";
  }
  return "medium";
}

BundleError::BundleError(std::string f, int l, std::string m)
    : std::runtime_error(f + (l > 0 ? ":" + std::to_string(l) : std::string()) + ": " + m),
      file(std::move(f)),
      line(l),
      message(std::move(m)) {}

bool valid_agent_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '-'))) return false;
  }
  return true;
}

bool valid_tool_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-'))) return false;
  }
  return true;
}

IdentityDocument parse_identity(std::string_view text, const std::string& file) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 BOM
  auto lines = split_lines(text);
  FrontMatterParser parser(file);
  if (lines.empty() || jarvis::trim(lines[0]) != "---")
    parser.fail(1, "must start with a '---' line opening the front matter");
  std::size_t close = 0;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::string_view t = lines[i];
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
    if (t == "---" || t == "...") {
      close = i;
      break;
    }
  }
  if (close == 0) parser.fail(1, "the front matter is not closed by a '---' line");
  std::vector<std::string_view> fm(lines.begin() + 1, lines.begin() + static_cast<long>(close));
  auto values = parser.parse(fm, 2);
  const int close_line = static_cast<int>(close) + 1;

  IdentityDocument doc;
  AgentIdentity& id = doc.identity;
  if (auto it = values.find("agent_id"); it != values.end()) {
    const RawValue& v = it->second;
    if (!valid_agent_id(v.scalar))
      parser.fail(v.line, "agent_id '" + FrontMatterParser::printable(v.scalar) +
                              "' is not a valid id (1-64 of a-z, 0-9, '_', '-', starting with a "
                              "letter or digit)");
    id.agent_id = v.scalar;
  }
  if (auto it = values.find("risk_tier"); it != values.end()) {
    const RawValue& v = it->second;
    if (v.scalar == "low") {
      id.risk_tier = RiskTier::Low;
    } else if (v.scalar == "medium") {
      id.risk_tier = RiskTier::Medium;
    } else if (v.scalar == "high") {
      id.risk_tier = RiskTier::High;
    } else {
      parser.fail(v.line, "risk_tier must be low, medium or high, not '" +
                              FrontMatterParser::printable(v.scalar) + "'");
    }
  }
  if (auto it = values.find("max_actions_per_step"); it != values.end()) {
    const RawValue& v = it->second;
    const std::string& s = v.scalar;
    bool digits = !s.empty() && s.size() <= 4 &&
                  std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    int n = digits ? std::stoi(s) : 0;
    if (!digits || n < 1 || n > kMaxActionsPerStepLimit)
      parser.fail(v.line, "max_actions_per_step must be an integer from 1 to " +
                              std::to_string(kMaxActionsPerStepLimit) + ", not '" +
                              FrontMatterParser::printable(s) + "'");
    id.max_actions_per_step = n;
  }
  if (auto it = values.find("can_request_privileged_change"); it != values.end()) {
    const std::string& s = it->second.scalar;
    if (s == "true") {
      id.can_request_privileged_change = true;
    } else if (s == "false") {
      id.can_request_privileged_change = false;
    } else {
      parser.fail(it->second.line, "can_request_privileged_change must be true or false, not '" +
                                       FrontMatterParser::printable(s) + "'");
    }
  }
  auto read_list = [&](std::string_view key, auto valid, const std::string& what) {
    std::vector<std::string> out;
    auto it = values.find(key);
    if (it == values.end()) return out;
    const RawValue& v = it->second;
    if (v.items.size() > kMaxListEntries)
      parser.fail(v.line, std::string(key) + " has more than " + std::to_string(kMaxListEntries) +
                              " entries");
    std::set<std::string> seen;
    for (std::size_t i = 0; i < v.items.size(); ++i) {
      const std::string& item = v.items[i];
      const int line = v.item_lines[i];
      if (!valid(item))
        parser.fail(line, std::string(key) + ": '" + FrontMatterParser::printable(item) +
                              "' is not " + what);
      if (!seen.insert(item).second)
        parser.fail(line, std::string(key) + ": '" + item + "' is listed twice");
      out.push_back(item);
    }
    return out;
  };
  id.allowed_tools = read_list("allowed_tools", valid_tool_name,
                               "a valid tool name (letters, digits, '_', '.', '-')");
  id.allowed_paths = read_list("allowed_paths", valid_path_entry,
                               "an absolute path without '..' segments or control characters");

  // Missing keys last: a wrong value on a line is the more precise message.
  for (const auto& k : kKeys) {
    if (k.required && !values.count(k.name))
      parser.fail(close_line, "missing required key '" + std::string(k.name) + "'");
  }

  // Body: everything after the closing line, leading blank lines removed.
  std::size_t body_start = 0;
  {
    std::size_t pos = 0;
    for (std::size_t i = 0; i <= close && pos != std::string_view::npos; ++i) {
      pos = text.find('\n', pos);
      if (pos != std::string_view::npos) ++pos;
    }
    body_start = pos == std::string_view::npos ? text.size() : pos;
  }
  std::string_view body = text.substr(body_start);
  while (!body.empty() && (body.front() == '\n' || body.front() == '\r')) body.remove_prefix(1);
  doc.body = std::string(body);
  return doc;
}

std::string AgentBundle::system_text() const {
  std::string out;
  for (const std::string* part : {&identity_text, &soul, &tools_doc}) {
    std::string_view t = jarvis::trim(*part);
    if (t.empty()) continue;
    if (!out.empty()) out += "\n\n";
    out += t;
  }
  return out;
}

std::string BundleProblem::describe() const {
  std::string out = id.empty() ? std::string("AGENTS_DIR") : origin + " bundle '" + id + "'";
  out += ": ";
  if (!file.empty()) {
    out += file;
    if (line > 0) out += ":" + std::to_string(line);
    out += ": ";
  }
  out += message;
  if (shipped_kept) out += " (the shipped bundle stays in effect)";
  return out;
}

BundleSet BundleSet::load(const BundleSources& sources) {
  BundleSet set;
  std::map<std::string, AgentBundle> by_id;

  auto add = [&](const RawBundle& raw) {
    try {
      AgentBundle b = build_bundle(raw);
      auto it = by_id.find(b.id);
      if (it != by_id.end()) {
        b.overrides_shipped = it->second.origin == "shipped";
        it->second = std::move(b);
      } else {
        by_id.emplace(b.id, std::move(b));
      }
    } catch (const BundleError& e) {
      BundleProblem p{printable_name(raw.id), raw.origin, raw.location, e.file, e.line, e.message};
      auto it = by_id.find(raw.id);
      p.shipped_kept = it != by_id.end() && it->second.origin == "shipped";
      set.problems_.push_back(std::move(p));
    }
  };

  // Shipped: group "id/file.md" entries by folder; deeper paths and other files are ignored.
  const auto& shipped = sources.shipped ? *sources.shipped : shipped_bundle_files();
  std::map<std::string, RawBundle> shipped_raw;
  for (const auto& [path, content] : shipped) {
    std::size_t slash = path.find('/');
    if (slash == std::string::npos || path.find('/', slash + 1) != std::string::npos) continue;
    std::string id = path.substr(0, slash);
    std::string name = path.substr(slash + 1);
    RawBundle& r = shipped_raw[id];
    r.id = id;
    r.origin = "shipped";
    r.location = "shipped:" + id;
    if (name == kIdentityFile) r.identity = content;
    if (name == kSoulFile) r.soul = content;
    if (name == kToolsFile) r.tools = content;
  }
  for (const auto& [id, raw] : shipped_raw) {
    if (!valid_agent_id(id)) {
      set.problems_.push_back({printable_name(id), "shipped", raw.location, "", 0,
                               "the folder name is not a valid agent id"});
      continue;
    }
    add(raw);
  }

  if (!sources.agents_dir.empty()) {
    const fs::path dir(sources.agents_dir);
    std::error_code ec;
    auto st = fs::status(dir, ec);
    if (ec || st.type() != fs::file_type::directory) {
      set.problems_.push_back({"", "agents_dir", sources.agents_dir, "", 0,
                               ec ? "AGENTS_DIR cannot be read: " + ec.message()
                                  : std::string("AGENTS_DIR is not a directory")});
    } else {
      std::vector<std::string> names;
      fs::directory_iterator it(dir, ec), end;
      for (; !ec && it != end; it.increment(ec)) {
        std::string name = it->path().filename().string();
        if (name.empty() || name.front() == '.') continue;
        std::error_code ec2;
        if (!fs::is_directory(it->path(), ec2)) continue;  // README.md and other files
        names.push_back(std::move(name));
      }
      if (ec) {
        set.problems_.push_back({"", "agents_dir", sources.agents_dir, "", 0,
                                 "AGENTS_DIR cannot be listed: " + ec.message()});
      }
      std::sort(names.begin(), names.end());
      if (names.size() > kMaxBundles) {
        set.problems_.push_back({"", "agents_dir", sources.agents_dir, "", 0,
                                 "more than " + std::to_string(kMaxBundles) +
                                     " bundle folders; only the first " +
                                     std::to_string(kMaxBundles) + " by name are loaded"});
        names.resize(kMaxBundles);
      }
      for (const auto& name : names) {
        fs::path folder = dir / name;
        RawBundle raw{name, "agents_dir", folder.string(), {}, {}, {}};
        if (!valid_agent_id(name)) {
          set.problems_.push_back(
              {printable_name(name), "agents_dir", raw.location, "", 0,
               "the folder name is not a valid agent id (1-64 of a-z, 0-9, '_', '-', starting "
               "with a letter or digit)"});
          continue;
        }
        try {
          raw.identity = read_bundle_file(folder, kIdentityFile);
          raw.soul = read_bundle_file(folder, kSoulFile);
          raw.tools = read_bundle_file(folder, kToolsFile);
        } catch (const BundleError& e) {
          auto shipped_it = by_id.find(name);
          BundleProblem p{name, "agents_dir", raw.location, e.file, e.line, e.message};
          p.shipped_kept = shipped_it != by_id.end() && shipped_it->second.origin == "shipped";
          set.problems_.push_back(std::move(p));
          continue;
        }
        add(raw);
      }
    }
  }

  for (auto& [id, b] : by_id) set.agents_.push_back(std::move(b));
  return set;
}

const AgentBundle* BundleSet::find(std::string_view id) const {
  for (const auto& b : agents_) {
    if (b.id == id) return &b;
  }
  return nullptr;
}

const BundleProblem* BundleSet::problem(std::string_view id) const {
  const BundleProblem* found = nullptr;
  for (const auto& p : problems_) {
    if (!p.id.empty() && p.id == id) found = &p;
  }
  return found;
}

std::vector<std::string> BundleSet::ids() const {
  std::vector<std::string> out;
  for (const auto& b : agents_) out.push_back(b.id);
  return out;
}

std::vector<AgentGrant> BundleSet::grants() const {
  std::vector<AgentGrant> out;
  for (const auto& b : agents_) {
    if (b.identity.allowed_tools.empty()) continue;
    out.push_back({b.id, b.principal(), b.identity.allowed_tools});
  }
  return out;
}

std::vector<UnknownTool> BundleSet::unknown_tools(
    const std::vector<jarvis::ToolInfo>& registered) const {
  std::set<std::string, std::less<>> known;
  for (const auto& t : registered) known.insert(t.name);
  std::vector<UnknownTool> out;
  for (const auto& b : agents_) {
    for (const auto& t : b.identity.allowed_tools) {
      if (!known.count(t)) out.push_back({b.id, t});
    }
  }
  return out;
}

std::vector<ToolDef> tool_defs_for(const AgentBundle& bundle,
                                   const std::vector<jarvis::ToolInfo>& registered) {
  std::vector<ToolDef> out;
  for (const auto& name : bundle.identity.allowed_tools) {
    for (const auto& t : registered) {
      if (t.name == name) {
        out.push_back({t.name, t.description, t.parameters});
        break;
      }
    }
  }
  return out;
}

void report_bundle_problems(jarvis::Host& host, const BundleSet& set) {
  for (const auto& p : set.problems()) {
    host.log()->warn("agent bundle skipped: {}", p.describe());
    host.events().emit({.type = "agent.bundle.invalid",
                        .payload = {{"id", p.id},
                                    {"origin", p.origin},
                                    {"file", p.file},
                                    {"line", p.line},
                                    {"message", p.message},
                                    {"shipped_kept", p.shipped_kept}},
                        .actor_type = "system",
                        .actor_id = "chat"});
  }
}

std::vector<UnknownTool> report_unknown_tools(jarvis::Host& host, const BundleSet& set) {
  auto unknown = set.unknown_tools(host.tools().list());
  for (const auto& u : unknown) {
    host.log()->warn("agent '{}' allows tool '{}', which no plugin registered", u.agent_id, u.tool);
    host.events().emit({.type = "agent.bundle.unknown_tool",
                        .payload = {{"agent_id", u.agent_id}, {"tool", u.tool}},
                        .actor_type = "system",
                        .actor_id = "chat"});
  }
  return unknown;
}

}  // namespace chat

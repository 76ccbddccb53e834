// github/src/field_scan.cpp — the field scanner (see field_scan.h).
#include "field_scan.h"

#include <cstring>

namespace github {

namespace {

/// Bytes that end the fast run through a string's content: '"', '\\' and control characters.
struct StringStops {
  bool stop[256] = {};
  constexpr StringStops() {
    for (int c = 0; c < 0x20; ++c) stop[c] = true;
    stop[static_cast<unsigned char>('"')] = true;
    stop[static_cast<unsigned char>('\\')] = true;
  }
};
constexpr StringStops kFieldScanStringStops;

class Scanner {
 public:
  Scanner(std::string_view t, const std::vector<std::string>& paths) : t_(t), paths_(paths) {
    for (const auto& p : paths_) {
      std::size_t depth = 1;
      for (char c : p) depth += c == '.';
      if (depth > max_depth_) max_depth_ = depth;
    }
  }

  std::optional<jarvis::Json> run() {
    ws();
    if (!peek('{')) return std::nullopt;
    jarvis::Json out = jarvis::Json::object();
    if (!object(1, "", &out)) return std::nullopt;
    ws();
    if (i_ != t_.size()) return std::nullopt;
    return out;
  }

 private:
  bool peek(char c) const { return i_ < t_.size() && t_[i_] == c; }
  void ws() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\n' || t_[i_] == '\r' || t_[i_] == '\t'))
      ++i_;
  }
  bool wanted(const std::string& path) const {
    for (const auto& p : paths_)
      if (p == path) return true;
    return false;
  }
  // A string token starting at i_ ('"'): [begin, end) is its raw content; `escaped` when it holds
  // a backslash (the caller then decodes it with the full parser).
  bool string_token(std::size_t& begin, std::size_t& end, bool& escaped) {
    if (!peek('"')) return false;
    begin = ++i_;
    escaped = false;
    const std::size_t n = t_.size();
    const char* data = t_.data();
    while (i_ < n) {
      // Most of a webhook body is plain string content: one table look-up per byte.
      while (i_ < n && !kFieldScanStringStops.stop[static_cast<unsigned char>(data[i_])]) ++i_;
      if (i_ >= n) break;
      const unsigned char c = static_cast<unsigned char>(data[i_]);
      if (c == '"') {
        end = i_++;
        return true;
      }
      if (c == '\\') {
        escaped = true;
        if (i_ + 1 >= n) return false;
        i_ += 2;
        continue;
      }
      if (c < 0x20) return false;  // raw control characters are not JSON
      ++i_;
    }
    return false;
  }
  bool literal(std::string_view word) {
    if (t_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }
  bool number() {
    std::size_t start = i_;
    while (i_ < t_.size() && std::strchr("+-.eE0123456789", t_[i_]) && t_[i_] != '\0') ++i_;
    return i_ > start;
  }
  // One value at `path` (depth `depth`); `slot` receives it when wanted.
  bool value(std::size_t depth, const std::string& path, jarvis::Json* parent,
             const std::string& key) {
    if (depth > static_cast<std::size_t>(jarvis::kMaxJsonDepth)) return false;
    const bool track = depth <= max_depth_;
    const bool want = track && !path.empty() && wanted(path);
    ws();
    if (i_ >= t_.size()) return false;
    const std::size_t start = i_;
    const char c = t_[i_];
    if (c == '{') {
      jarvis::Json* child = nullptr;
      if (want || (track && prefix_of_wanted(path))) {
        (*parent)[key] = jarvis::Json::object();
        child = &(*parent)[key];
      }
      if (!object(depth + 1, path, child)) return false;
      if (child && !want && child->empty()) parent->erase(key);
      return true;
    }
    if (c == '[') {
      if (!array(depth + 1)) return false;
      if (want) (*parent)[key] = jarvis::Json::array();
      return true;
    }
    bool ok = false;
    if (c == '"') {
      std::size_t b = 0, e = 0;
      bool esc = false;
      ok = string_token(b, e, esc);
      if (ok && want) {
        if (esc) {
          auto v = jarvis::try_parse_json(t_.substr(start, i_ - start));
          if (!v) return false;
          (*parent)[key] = std::move(*v);
        } else {
          (*parent)[key] = std::string(t_.substr(b, e - b));
        }
      }
      return ok;
    }
    if (c == 't')
      ok = literal("true");
    else if (c == 'f')
      ok = literal("false");
    else if (c == 'n')
      ok = literal("null");
    else
      ok = number();
    if (!ok) return false;
    if (want) {
      auto v = jarvis::try_parse_json(t_.substr(start, i_ - start));
      if (!v) return false;
      (*parent)[key] = std::move(*v);
    }
    return true;
  }
  bool prefix_of_wanted(const std::string& path) const {
    for (const auto& p : paths_)
      if (p.size() > path.size() && p.compare(0, path.size(), path) == 0 && p[path.size()] == '.')
        return true;
    return false;
  }
  bool object(std::size_t depth, const std::string& path, jarvis::Json* into) {
    ++i_;  // '{'
    ws();
    if (peek('}')) {
      ++i_;
      return true;
    }
    while (true) {
      ws();
      std::size_t b = 0, e = 0;
      bool esc = false;
      if (!string_token(b, e, esc)) return false;
      ws();
      if (!peek(':')) return false;
      ++i_;
      if (into && depth <= max_depth_) {
        if (esc) return false;  // escaped keys: let the full parser decide
        std::string key(t_.substr(b, e - b));
        std::string child = path.empty() ? key : path + "." + key;
        if (!value(depth, child, into, key)) return false;
      } else {
        if (!value(depth, "", nullptr, "")) return false;
      }
      ws();
      if (peek(',')) {
        ++i_;
        continue;
      }
      if (peek('}')) {
        ++i_;
        return true;
      }
      return false;
    }
  }
  bool array(std::size_t depth) {
    ++i_;  // '['
    ws();
    if (peek(']')) {
      ++i_;
      return true;
    }
    while (true) {
      if (!value(depth, "", nullptr, "")) return false;
      ws();
      if (peek(',')) {
        ++i_;
        continue;
      }
      if (peek(']')) {
        ++i_;
        return true;
      }
      return false;
    }
  }

  std::string_view t_;
  const std::vector<std::string>& paths_;
  std::size_t i_ = 0;
  std::size_t max_depth_ = 0;
};

}  // namespace

std::optional<jarvis::Json> scan_fields(std::string_view text,
                                        const std::vector<std::string>& paths) {
  return Scanner(text, paths).run();
}

}  // namespace github

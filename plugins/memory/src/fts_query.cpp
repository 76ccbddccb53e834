// memory/src/fts_query.cpp — quoting user words for FTS5 and tsquery.
#include "fts_query.h"

#include <algorithm>

#include "text_features.h"

namespace jarvis::memory {

std::vector<std::string> fts_tokens(std::string_view query) {
  std::vector<std::string> all = word_tokens(query);
  std::vector<std::string> content;
  std::vector<std::string> stops;
  for (auto& w : all) {
    if (w.size() > 64) w = utf8_prefix(w, 64);
    auto& into = is_stop_word(w) ? stops : content;
    if (std::find(into.begin(), into.end(), w) == into.end()) into.push_back(w);
  }
  std::vector<std::string> out = content.empty() ? stops : content;
  if (out.size() > kMaxQueryTokens) out.resize(kMaxQueryTokens);
  return out;
}

namespace {
/// The tokens quoted for FTS5 ("" inside quotes doubled), joined by `op`.
std::string fts_query_quoted_join(const std::vector<std::string>& tokens, const char* op) {
  std::string out;
  for (const auto& t : tokens) {
    if (!out.empty()) out += op;
    out += '"';
    for (char c : t) {
      if (c == '"') out += '"';
      out += c;
    }
    out += '"';
  }
  return out;
}
}  // namespace

std::string sqlite_match(const std::vector<std::string>& tokens) {
  return fts_query_quoted_join(tokens, " OR ");
}

std::string sqlite_match_all(const std::vector<std::string>& tokens) {
  return fts_query_quoted_join(tokens, " AND ");
}

std::string postgres_tsquery(const std::vector<std::string>& tokens, const char* op,
                             const char* name) {
  std::string out = "(";
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (i) out += std::string(" ") + op + " ";
    out += std::string("plainto_tsquery('english', :") + name + std::to_string(i) + ")";
  }
  return out + ")";
}

}  // namespace jarvis::memory

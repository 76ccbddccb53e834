// memory/src/fts_query.h — user query text to full-text syntax that cannot be anything but plain
// words: every token is quoted (SQLite FTS5) or bound as a parameter of plainto_tsquery
// (PostgreSQL), so quotes, `*`, `NEAR`, `AND`/`OR`/`NOT`, `^`, `:` and unbalanced parentheses
// are text, never operators (issue 11: raw FTS syntax gave 500s).
//
//   std::vector<std::string> t = jarvis::memory::fts_tokens("NEAR(\"x* y\" OR");  // near x y or
//   std::string match = jarvis::memory::sqlite_match(t);  // "near" OR "x" OR "y" OR "or"
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace jarvis::memory {

/// Most tokens a query contributes (the rest is ignored).
inline constexpr std::size_t kMaxQueryTokens = 16;

/// The distinct words of `query` (text_features.h word_tokens), stop words dropped unless only
/// stop words are left, at most kMaxQueryTokens, each at most 64 bytes.
std::vector<std::string> fts_tokens(std::string_view query);

/// An FTS5 MATCH expression: the tokens quoted ("" inside quotes doubled) joined by OR; empty
/// when there are no tokens (then do not run a MATCH at all).
std::string sqlite_match(const std::vector<std::string>& tokens);

/// The same quoting joined by AND (every token must occur): "\"x\" AND \"y\"".
std::string sqlite_match_all(const std::vector<std::string>& tokens);

/// A PostgreSQL tsquery expression over bind placeholders, one per token:
/// "(plainto_tsquery('english', :t0) || plainto_tsquery('english', :t1))". `op` joins them
/// ("||" = any token, "&&" = every token); `name` prefixes the placeholders (unique names when a
/// statement holds several such expressions). Bind the tokens in order.
std::string postgres_tsquery(const std::vector<std::string>& tokens, const char* op = "||",
                             const char* name = "t");

}  // namespace jarvis::memory

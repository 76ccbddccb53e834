// memory/src/fts_candidates.cpp — the full-text ranking of MemoryStore::fts_candidates with a
// bounded amount of ranking work per query (decisions 0073, 0090).
//
// Ranking costs per matching row (FTS5's bm25 looks up each row's length in
// memory_items_fts_docsize through a statement of its own; ts_rank reads each row's tsvector),
// and the old query ranked every match of the OR of the words — 9,483 rows for "used" at 100k
// items — and joined each of the best 240 to the items table before the filters. The plan here
// is Lucene's "common terms" query. The query words are counted first (counts capped at
// kRankBudget + 1, no ranking), rarest first:
//   - "rare" words — the rarest ones that together occur in at most kRankBudget items — select
//     candidates, and each candidate is scored over every query word, exactly: FTS5's bm25 is a
//     sum over phrases, so items with a rare and a common word are scored by the query
//     "(rare) AND (common)" and items with rare words only by "(rare)";
//   - "common" words select only when the visible candidates are still fewer than asked
//     (decision 0090): the items holding all of them, then the newest kRankBudget items holding
//     any of them (scored exactly as well). Items holding some common words and no rare one are
//     the ones this can miss.
// When all words together occur in at most kRankBudget items, this is the plain OR query: the
// ranking is exactly bm25 / ts_rank over every match (small memories, rare words). SQLite applies
// the filters to the ranked list in rank order, in growing chunks of seq lookups (the items rows
// are wide and mostly outside the page cache: joining every match cost more than ranking it);
// PostgreSQL applies them in the ranking query (the ranked row is the item row).
//
// SQLite scores with jarvis_bm25() (jarvis/sql.h, decision 0098), bm25() with the row count of
// every phrase passed in: the capped counts of step 1 are exact for the rare words, and the
// common words' counts come from WordCounts (counted once a minute), so no query walks a common
// word's doclist to compute its idf as bm25() does.
#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "fts_query.h"
#include "store.h"

namespace jarvis::memory {
namespace fts_candidates_plan {

using sql::Bind;
using sql::Binds;

/// Most rows a query word may occur in to count as rare; also the most rows ranked by the
/// recency-bounded common-word query.
constexpr int kRankBudget = 400;

/// Capped occurrence counts of each token (no ranking), in one statement. A word `cache` holds a
/// fresh count above the cap for is not counted again (decision 0098).
std::vector<int> capped_counts(soci::session& s, Dialect dialect,
                               const std::vector<std::string>& tokens, WordCounts* cache) {
  std::vector<int> out(tokens.size(), 0);
  std::vector<std::size_t> asked;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const long long known = cache ? cache->get(tokens[i]) : -1;
    if (known > kRankBudget) {
      out[i] = kRankBudget + 1;
    } else {
      asked.push_back(i);
    }
  }
  if (asked.empty()) return out;
  std::string q = "SELECT ";
  Binds b;
  for (std::size_t k = 0; k < asked.size(); ++k) {
    const std::size_t i = asked[k];
    if (k) q += ", ";
    const std::string n = std::to_string(k);
    if (dialect == Dialect::Sqlite) {
      q += "(SELECT COUNT(*) FROM (SELECT 1 FROM memory_items_fts WHERE memory_items_fts MATCH :q" +
           n + " LIMIT :c" + n + ") x" + n + ")";
      b.push_back(sqlite_match({tokens[i]}));
    } else {
      q += "(SELECT COUNT(*) FROM (SELECT 1 FROM memory_items WHERE tsv @@ "
           "plainto_tsquery('english', :q" +
           n + ") LIMIT :c" + n + ") x" + n + ")";
      b.push_back(tokens[i]);
    }
    b.push_back(Bind(kRankBudget + 1));
  }
  sql::for_each_row(s, q, b, [&](const soci::row& r) {
    for (std::size_t k = 0; k < asked.size(); ++k)
      out[asked[k]] = static_cast<int>(sql::column_int(r, k));
  });
  return out;
}

/// The row counts of the query words for jarvis_bm25: exact when the capped count is under the
/// cap; otherwise remembered in `cache` or counted now (one doclist walk, then kept); -1 (counted
/// by jarvis_bm25 itself, as bm25 does) without a cache.
std::map<std::string, long long> row_counts(soci::session& s,
                                            const std::vector<std::string>& tokens,
                                            const std::vector<int>& capped, WordCounts* cache) {
  std::map<std::string, long long> out;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (capped[i] <= kRankBudget) {
      out[tokens[i]] = capped[i];
      continue;
    }
    long long n = cache ? cache->get(tokens[i]) : -1;
    if (n < 0 && cache) {
      n = sql::scalar_int(s,
                          "SELECT COUNT(*) FROM memory_items_fts WHERE memory_items_fts MATCH :q",
                          {sqlite_match({tokens[i]})});
      cache->put(tokens[i], n);
    }
    out[tokens[i]] = n;
  }
  return out;
}

/// One MATCH expression and its phrases (one per word, in the order they appear in it).
struct Match {
  std::string expr;
  std::vector<std::string> phrases;
};

double score_of(const soci::row& r, std::size_t i) {
  Json v = sql::column(r, i);
  return v.is_number() ? v.get<double>() : v.is_string() ? std::stod(v.get<std::string>()) : 0.0;
}

/// Scores gathered from several queries: the first score seen for an item wins (queries run in
/// the order "exact for this item" first).
struct Gathered {
  std::map<long long, Candidate> score;
  void add(long long seq, double s, std::string created_at = {}) {
    score.try_emplace(seq, Candidate{seq, s, std::move(created_at)});
  }
};

/// SQLite: the rows matching `m` with their bm25 (higher = better; jarvis_bm25 with the phrases'
/// row counts from `df`), from the FTS5 table alone (the items table is not touched per match:
/// its rows are wide and mostly not in the page cache). `newest`: only the newest that many
/// matches (rowid order; FTS5 stops early).
void sqlite_ranked(soci::session& s, const Match& m, const std::map<std::string, long long>& df,
                   int newest, Gathered& into) {
  std::string q = "SELECT rowid, jarvis_bm25(memory_items_fts";
  Binds b;
  for (std::size_t i = 0; i < m.phrases.size(); ++i) {
    q += ", :n" + std::to_string(i);
    auto it = df.find(m.phrases[i]);
    b.push_back(it == df.end() || it->second < 0 ? Bind::null() : Bind(it->second));
  }
  q += ") FROM memory_items_fts WHERE memory_items_fts MATCH :q";
  b.push_back(m.expr);
  if (newest > 0) {
    q += " ORDER BY rowid DESC LIMIT :n";
    b.push_back(Bind(newest));
  }
  sql::for_each_row(s, q, b,
                    [&](const soci::row& r) { into.add(sql::column_int(r, 0), -score_of(r, 1)); });
}

/// Best first. Equal scores keep each database's old order: the older item first on SQLite (the
/// FTS5 rowid order the old query's sort kept), the newer first on PostgreSQL (its old
/// `ORDER BY score DESC, seq DESC`).
std::vector<Candidate> sorted_candidates(const Gathered& g, bool newer_first) {
  std::vector<Candidate> out;
  out.reserve(g.score.size());
  for (const auto& [seq, c] : g.score) out.push_back(c);
  std::sort(out.begin(), out.end(), [newer_first](const Candidate& a, const Candidate& b) {
    if (a.score != b.score) return a.score > b.score;
    return newer_first ? a.seq > b.seq : a.seq < b.seq;
  });
  return out;
}

/// The first `limit` of `ranked` that `f` lets the caller see, with their created_at, checked in
/// rank order in growing chunks (one seq lookup each; the first chunk a few more than `limit`),
/// so a filter that hides nothing costs one small query.
std::vector<Candidate> visible_prefix(soci::session& s, const std::vector<Candidate>& ranked,
                                      const ItemFilter& f, int limit) {
  std::vector<Candidate> out;
  std::size_t chunk = static_cast<std::size_t>(limit) + 8;
  for (std::size_t from = 0; from < ranked.size() && static_cast<int>(out.size()) < limit;) {
    const std::size_t to = std::min(ranked.size(), from + chunk);
    std::vector<long long> seqs;
    for (std::size_t i = from; i < to; ++i) seqs.push_back(ranked[i].seq);
    std::map<long long, std::string> visible;
    for (auto& [seq, at] : MemoryStore::visible_times(s, seqs, f)) visible[seq] = std::move(at);
    for (std::size_t i = from; i < to && static_cast<int>(out.size()) < limit; ++i) {
      auto it = visible.find(ranked[i].seq);
      if (it == visible.end()) continue;
      out.push_back(ranked[i]);
      out.back().created_at = it->second;
    }
    from = to;
    chunk *= 2;
  }
  return out;
}

/// PostgreSQL: items matching `match_sql` ranked by ts_rank over every token (`rank_sql`).
void postgres_ranked(soci::session& s, const std::string& match_sql, Binds match_binds,
                     const std::vector<std::string>& tokens, const ItemFilter& f, int newest,
                     Gathered& into) {
  std::string q = "SELECT m.seq, ts_rank(m.tsv, " + postgres_tsquery(tokens, "||", "r") +
                  "), m.created_at FROM memory_items m WHERE m.tsv @@ " + match_sql;
  Binds b(tokens.begin(), tokens.end());
  b.insert(b.end(), match_binds.begin(), match_binds.end());
  MemoryStore::append_filter(q, b, f);
  if (newest > 0) {
    q += " ORDER BY m.seq DESC LIMIT :n";
    b.push_back(Bind(newest));
  }
  sql::for_each_row(s, q, b, [&](const soci::row& r) {
    Json at = sql::column(r, 2);
    into.add(sql::column_int(r, 0), score_of(r, 1), at.is_string() ? at.get<std::string>() : "");
  });
}

}  // namespace fts_candidates_plan

std::vector<Candidate> MemoryStore::fts_candidates(soci::session& s, Dialect dialect,
                                                   const std::vector<std::string>& tokens,
                                                   const ItemFilter& f, int limit,
                                                   WordCounts* word_counts) {
  using namespace fts_candidates_plan;
  std::vector<Candidate> out;
  if (tokens.empty()) return out;
  // 1. Plan: the words that occur, rarest first; rare = a prefix of at most kRankBudget rows.
  const std::vector<int> counts =
      capped_counts(s, dialect, tokens, dialect == Dialect::Sqlite ? word_counts : nullptr);
  std::vector<std::size_t> order(tokens.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return counts[a] < counts[b]; });
  std::vector<std::string> rare, common;
  int rare_rows = 0;
  for (std::size_t i : order) {
    if (counts[i] == 0) continue;  // occurs nowhere: adds nothing to any score
    if (common.empty() && rare_rows + counts[i] <= kRankBudget) {
      rare.push_back(tokens[i]);
      rare_rows += counts[i];
    } else {
      common.push_back(tokens[i]);
    }
  }
  if (rare.empty() && common.empty()) return out;

  // 2. Rank the candidates: the items with a rare word (at most about kRankBudget rows); common
  //    words select only when those are fewer than asked (decision 0090) — every item holding
  //    all common words, then the newest kRankBudget holding any. Every candidate is scored over
  //    every query word.
  Gathered g;
  if (dialect == Dialect::Sqlite) {
    const std::map<std::string, long long> df = row_counts(s, tokens, counts, word_counts);
    const std::string rare_or = rare.empty() ? "" : "(" + sqlite_match(rare) + ")";
    const std::string common_or = common.empty() ? "" : "(" + sqlite_match(common) + ")";
    auto join = [](const std::vector<std::string>& a, const std::vector<std::string>& b) {
      std::vector<std::string> out(a);
      out.insert(out.end(), b.begin(), b.end());
      return out;
    };
    // Items with a rare and a common word: their bm25 over every word; then items with rare
    // words only, over the rare ones (the common ones add 0 there; the first score seen wins).
    // Not "(rare) NOT (common)": bm25 walks the whole doclist of every phrase of its query once to
    // count the rows holding it (FTS5's idf), and the common words' doclists are the long ones.
    if (!rare.empty() && !common.empty()) {
      sqlite_ranked(s, {rare_or + " AND " + common_or, join(rare, common)}, df, 0, g);
    }
    if (!rare.empty()) sqlite_ranked(s, {rare_or, rare}, df, 0, g);
    // 3. The filters, in rank order.
    out = visible_prefix(s, sorted_candidates(g, false), f, limit);
    // Too few: common words select too (a misspelt query word can be "rare" — it occurs in a few
    // unrelated items — while the items the query means hold the common words).
    if (common.empty() || static_cast<int>(out.size()) >= limit) return out;
    // Items with every common word and no rare one (those were scored above) …
    // Words held by at least half of the rows have bm25's floor idf (1e-6): ranking every item
    // that holds them orders near-ties (the memory's own stop words, e.g. the words every chat
    // message repeats). Then the fill takes the newest items holding them (decision 0098).
    const long long n_rows = word_counts ? word_counts->rows(s) : -1;
    bool all_floor = n_rows > 0;
    for (const auto& w : common) {
      auto it = df.find(w);
      all_floor = all_floor && it != df.end() && it->second >= 0 && 2 * it->second >= n_rows;
    }
    const int floor_newest = 4 * limit;
    const std::string not_rare = rare.empty() ? "" : " NOT " + rare_or;
    if (common.size() >= 2) {
      sqlite_ranked(s, {"(" + sqlite_match_all(common) + ")" + not_rare, join(common, rare)}, df,
                    all_floor ? floor_newest : 0, g);
      out = visible_prefix(s, sorted_candidates(g, false), f, limit);
    }
    // … and, when still too few, the newest items with any of them.
    if (static_cast<int>(out.size()) < limit) {
      sqlite_ranked(s, {common_or + not_rare, join(common, rare)}, df,
                    all_floor ? floor_newest : kRankBudget, g);
      out = visible_prefix(s, sorted_candidates(g, false), f, limit);
    }
    return out;
  }
  // PostgreSQL: the filters in the same query (the ranked row is the item row); ts_rank takes
  // the whole query whatever selected the row, so one query per selection.
  if (!rare.empty()) {
    postgres_ranked(s, postgres_tsquery(rare, "||", "a"), Binds(rare.begin(), rare.end()), tokens,
                    f, 0, g);
  }
  if (common.empty() || static_cast<int>(g.score.size()) >= limit) {
    out = sorted_candidates(g, true);
    if (static_cast<int>(out.size()) > limit) out.resize(static_cast<std::size_t>(limit));
    return out;
  }
  if (common.size() >= 2) {
    postgres_ranked(s, postgres_tsquery(common, "&&", "b"), Binds(common.begin(), common.end()),
                    tokens, f, 0, g);
  }
  if (!common.empty() && static_cast<int>(g.score.size()) < limit) {
    postgres_ranked(s, postgres_tsquery(common, "||", "c"), Binds(common.begin(), common.end()),
                    tokens, f, kRankBudget, g);
  }
  out = sorted_candidates(g, true);
  if (static_cast<int>(out.size()) > limit) out.resize(static_cast<std::size_t>(limit));
  return out;
}

long long WordCounts::get(const std::string& word) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(word);
  if (it == entries_.end() || std::chrono::steady_clock::now() - it->second.at > ttl_) return -1;
  return it->second.count;
}

void WordCounts::put(const std::string& word, long long count) {
  std::lock_guard lock(mu_);
  ++recounts_;
  if (entries_.size() >= capacity_ && !entries_.count(word)) entries_.clear();
  entries_[word] = Entry{count, std::chrono::steady_clock::now()};
}

long long WordCounts::rows(soci::session& s) {
  static const std::string kRowsKey = std::string(1, '\x01') + "rows";  // never a word
  long long n = get(kRowsKey);
  if (n < 0) {
    n = sql::scalar_int(s, "SELECT COUNT(*) FROM memory_items");
    put(kRowsKey, n);
  }
  return n;
}

long long WordCounts::recounts() const {
  std::lock_guard lock(mu_);
  return recounts_;
}

}  // namespace jarvis::memory

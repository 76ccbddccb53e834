// sdk/src/sql_fts5.cpp — jarvis_bm25(), FTS5's bm25() with caller-supplied document counts
// (jarvis/sql.h, decision 0098).
//
// FTS5's bm25() computes, once per query, the inverse document frequency of each phrase by
// walking that phrase's whole doclist (xQueryPhrase) to count the rows holding it. For a query
// such as `"zlib" AND "used"` the MATCH reads a few rows, but the idf of "used" costs every row
// holding "used". jarvis_bm25() is the same formula (k1 = 1.2, b = 0.75, column weights 1, the
// result negated: lower is better) with the count of phrase i taken from its i-th argument; only
// a phrase whose argument is missing, NULL, negative or not a number is counted as bm25() counts
// it. The average row length comes from the table's totals record (xColumnTotalSize /
// xRowCount), as in bm25(): no walk.
#include <soci/sqlite3/soci-sqlite3.h>

#include <algorithm>
#include <cmath>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "jarvis/sql.h"

namespace jarvis::sql {
namespace fts5_ranking {

using sqlite_api::Fts5Context;
using sqlite_api::Fts5ExtensionApi;
using sqlite_api::sqlite3_context;
using sqlite_api::sqlite3_int64;
using sqlite_api::sqlite3_value;

constexpr double kK1 = 1.2;
constexpr double kB = 0.75;

/// What one query computes once (kept as the query's auxiliary data).
struct QueryData {
  double avgdl = 0.0;
  std::vector<double> idf;
  std::vector<double> freq;  // per row, reused
};

void destroy_query_data(void* p) { delete static_cast<QueryData*>(p); }

int count_row(const Fts5ExtensionApi*, Fts5Context*, void* n) {
  ++*static_cast<sqlite3_int64*>(n);
  return SQLITE_OK;
}

/// The caller's count for phrase `i`, or -1 when it must be counted.
sqlite3_int64 given_count(int n_val, sqlite3_value** val, int i) {
  if (i >= n_val) return -1;
  const int type = sqlite_api::sqlite3_value_numeric_type(val[i]);
  if (type != SQLITE_INTEGER && type != SQLITE_FLOAT) return -1;
  const double d = sqlite_api::sqlite3_value_double(val[i]);
  if (!(d >= 0.0) || d > 9.0e18) return -1;
  return static_cast<sqlite3_int64>(d);
}

int query_data(const Fts5ExtensionApi* api, Fts5Context* fts, int n_val, sqlite3_value** val,
               QueryData** out) {
  *out = static_cast<QueryData*>(api->xGetAuxdata(fts, 0));
  if (*out) return SQLITE_OK;
  auto* d = new QueryData();
  const int n_phrase = api->xPhraseCount(fts);
  d->idf.assign(static_cast<std::size_t>(n_phrase), 0.0);
  d->freq.assign(static_cast<std::size_t>(n_phrase), 0.0);
  sqlite3_int64 n_row = 0;
  sqlite3_int64 n_token = 0;
  int rc = api->xRowCount(fts, &n_row);
  if (rc == SQLITE_OK) rc = api->xColumnTotalSize(fts, -1, &n_token);
  if (rc == SQLITE_OK && n_row > 0) d->avgdl = static_cast<double>(n_token) / n_row;
  for (int i = 0; rc == SQLITE_OK && i < n_phrase; ++i) {
    sqlite3_int64 hits = given_count(n_val, val, i);
    if (hits < 0) {
      hits = 0;
      rc = api->xQueryPhrase(fts, i, &hits, &count_row);
    }
    if (rc != SQLITE_OK) break;
    // bm25()'s idf: log((N - n + 0.5) / (n + 0.5)), at least 1e-6.
    double idf = std::log((static_cast<double>(n_row) - static_cast<double>(hits) + 0.5) /
                          (static_cast<double>(hits) + 0.5));
    if (!(idf > 0.0)) idf = 1e-6;
    d->idf[static_cast<std::size_t>(i)] = idf;
  }
  if (rc != SQLITE_OK) {
    delete d;
    return rc;
  }
  rc = api->xSetAuxdata(fts, d, &destroy_query_data);  // on failure it has deleted d already
  if (rc == SQLITE_OK) *out = d;
  return rc;
}

void jarvis_bm25(const Fts5ExtensionApi* api, Fts5Context* fts, sqlite3_context* ctx, int n_val,
                 sqlite3_value** val) noexcept {
  try {
    QueryData* d = nullptr;
    int rc = query_data(api, fts, n_val, val, &d);
    int n_inst = 0;
    if (rc == SQLITE_OK) {
      std::fill(d->freq.begin(), d->freq.end(), 0.0);
      rc = api->xInstCount(fts, &n_inst);
    }
    for (int i = 0; rc == SQLITE_OK && i < n_inst; ++i) {
      int phrase = 0, column = 0, offset = 0;
      rc = api->xInst(fts, i, &phrase, &column, &offset);
      if (rc == SQLITE_OK && phrase >= 0 && static_cast<std::size_t>(phrase) < d->freq.size()) {
        d->freq[static_cast<std::size_t>(phrase)] += 1.0;
      }
    }
    int n_tok = 0;
    if (rc == SQLITE_OK) rc = api->xColumnSize(fts, -1, &n_tok);
    if (rc != SQLITE_OK) {
      sqlite_api::sqlite3_result_error_code(ctx, rc);
      return;
    }
    const double dl = static_cast<double>(n_tok);
    const double norm = d->avgdl > 0.0 ? dl / d->avgdl : 1.0;
    double score = 0.0;
    for (std::size_t i = 0; i < d->idf.size(); ++i) {
      const double f = d->freq[i];
      score += d->idf[i] * (f * (kK1 + 1.0)) / (f + kK1 * (1.0 - kB + kB * norm));
    }
    sqlite_api::sqlite3_result_double(ctx, -1.0 * score);
  } catch (const std::bad_alloc&) {
    sqlite_api::sqlite3_result_error_nomem(ctx);
  } catch (...) {
    sqlite_api::sqlite3_result_error(ctx, "jarvis_bm25 failed", -1);
  }
}

}  // namespace fts5_ranking

void enable_fts5_ranking(soci::session& sql) {
  if (sql.get_backend() == nullptr || sql.get_backend_name() != "sqlite3") return;
  using namespace sqlite_api;
  sqlite3* db = static_cast<soci::sqlite3_session_backend*>(sql.get_backend())->conn_;
  fts5_api* api = nullptr;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, nullptr) == SQLITE_OK) {
    sqlite3_bind_pointer(st, 1, static_cast<void*>(&api), "fts5_api_ptr", nullptr);
    sqlite3_step(st);
  }
  sqlite3_finalize(st);
  if (api == nullptr || api->iVersion < 2) {
    throw std::runtime_error("this SQLite has no FTS5 (needed for jarvis_bm25)");
  }
  const int rc =
      api->xCreateFunction(api, "jarvis_bm25", nullptr, &fts5_ranking::jarvis_bm25, nullptr);
  if (rc != SQLITE_OK) {
    throw std::runtime_error(std::string("cannot register jarvis_bm25: ") + sqlite3_errstr(rc));
  }
}

}  // namespace jarvis::sql

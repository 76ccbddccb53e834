// memory/tests/memory_db_support.h — a migrated database (SQLite file or a fresh database on the
// test PostgreSQL) with the memory core's store, local embedder, a vector index and the hybrid
// search over it, without a running host.
//
//   MemoryDb d(Backend::Sqlite);
//   long long seq = d.add("usr_alice", "thr_1", "the car is on level 3");
//   d.index.sync(*d.db->session());
//   jarvis::Json r = d.search->run({.query = "car", .filter = {.owner_id = "usr_alice"}});
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "db/migrations.h"
#include "db/sql_database.h"
#include "embedder.h"
#include "jarvis/sql.h"
#include "search.h"
#include "store.h"
#include "support/support.h"
#include "vector_index.h"

namespace memory_test {

using jarvis::test::Backend;
using nlohmann::json;

/// A migrated database of one backend with the core's search pieces (see the file comment).
struct MemoryDb {
  explicit MemoryDb(Backend backend)
      : embedder(jarvis::memory::make_local_embedder(384)),
        index(dir.file("index"), embedder->model_id()) {
    const std::string url = jarvis::test::fresh_database_url(backend, dir);
    db = jarvis::host::SqlDatabase::open(backend == Backend::Sqlite ? "sqlite://" + url : url, 4);
    jarvis::host::MigrationRunner(*db).apply(
        {{"host", std::string(JARVIS_SOURCE_DIR) + "/migrations"},
         {"memory", std::string(JARVIS_SOURCE_DIR) + "/plugins/memory/migrations"}});
    index.load_or_create(384);
    search = std::make_unique<jarvis::memory::HybridSearch>(*db, settings, *embedder, index);
  }

  /// Inserts an item and its vector (in the table only: index.sync() picks it up).
  long long add(const std::string& owner, const std::string& thread, const std::string& text,
                const std::string& valid_from = "") {
    auto tx = db->transaction();
    jarvis::memory::NewItem it{.owner_id = owner,
                               .thread_id = thread,
                               .kind = "remembered",
                               .text = text,
                               .valid_from = valid_from};
    auto ref = jarvis::memory::MemoryStore::insert(tx->session(), it);
    auto v = embedder->embed({text}, jarvis::CancelToken())[0];
    jarvis::memory::MemoryStore::put_vector(tx->session(), ref.seq, embedder->model_id(), 384,
                                            jarvis::memory::encode_vector(v));
    tx->commit();
    return ref.seq;
  }

  /// Syncs the index and searches.
  json find(const std::string& q, jarvis::memory::ItemFilter f = {}, int limit = 10) {
    {
      auto s = db->session();
      index.sync(*s);
    }
    jarvis::memory::SearchRequest r;
    r.query = q;
    r.filter = f;
    r.limit = limit;
    return search->run(r);
  }

  jarvis::test::TempDir dir;
  std::unique_ptr<jarvis::host::SqlDatabase> db;
  jarvis::memory::MemorySettings settings;
  std::unique_ptr<jarvis::memory::Embedder> embedder;
  jarvis::memory::VectorIndex index;
  std::unique_ptr<jarvis::memory::HybridSearch> search;
};

/// Texts of a search result, best first.
inline std::vector<std::string> texts(const json& r) {
  std::vector<std::string> out;
  for (const auto& it : r["items"]) out.push_back(it["text"]);
  return out;
}

}  // namespace memory_test

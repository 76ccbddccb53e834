// memory/src/vector_index.h — this host's hnswlib index of item vectors, persisted under the data
// directory and kept current from the memory_vectors table (decision 0028).
//
//   jarvis::memory::VectorIndex index(settings.index_dir, embedder.model_id());
//   index.load_or_create(dims);                  // reads <dir>/<model>.hnsw when it fits
//   index.sync(*host.db().session());            // pulls vectors written by any host since
//                                                // (the serve loop does this; searches never do)
//   auto near = index.search(query_vector, 50);  // {seq, cosine similarity}, best first
//   index.save();                                // at stop and after big syncs
//
// The table is the source of truth; the index is a per-host cache of it. Every host pulls rows by
// (updated_at, seq) with an overlap window, so an item embedded by another host (PostgreSQL)
// becomes searchable here at the next sync. Deleted items may linger in the index until a purge
// or rebuild: search results are always joined back to the table, which applies every filter.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <soci/soci.h>

namespace hnswlib {
template <typename T>
class HierarchicalNSW;
template <typename T>
class SpaceInterface;
}  // namespace hnswlib

namespace jarvis::memory {

/// One neighbour: the item's seq and the cosine similarity (vectors are unit length).
struct Neighbour {
  long long seq = 0;
  float similarity = 0;
};

/// Progress of a rebuild: done and total rows.
using IndexProgress = std::function<void(long long done, long long total)>;

/// A thread-safe hnswlib index over unit vectors of one model (inner product = cosine).
class VectorIndex {
 public:
  /// `dir` is created when missing; `model_id` names the file (one index per model).
  /// `kernel` names the inner-product kernel (ip_kernels.h; "" = the fastest this CPU runs).
  VectorIndex(std::string dir, std::string model_id, std::string kernel = "");
  ~VectorIndex();
  VectorIndex(const VectorIndex&) = delete;
  VectorIndex& operator=(const VectorIndex&) = delete;

  /// Loads the saved index when its dimensions match `dims`, else starts empty. Never throws for
  /// a missing or corrupt file (starts empty and resyncs from the table).
  void load_or_create(int dims);
  /// Dimensions; 0 before load_or_create / the first vector.
  int dims() const;
  /// What add() did.
  enum class Added { Ignored, Unchanged, Changed };
  /// Adds or replaces the vector of `seq`: Ignored on a dimension mismatch (or before
  /// load_or_create), Unchanged when the index holds exactly `v` for `seq` already (nothing is
  /// re-linked), else Changed.
  Added add(long long seq, const std::vector<float>& v);
  /// Marks `seq` deleted (no-op when absent).
  void remove(long long seq);
  /// Up to `k` nearest items, best first.
  std::vector<Neighbour> search(const std::vector<float>& query, std::size_t k) const;
  /// The inner-product kernel in use ("avx512", "avx2", "sse", "portable").
  std::string kernel() const;
  /// Live vectors in the index.
  std::size_t size() const;
  /// Pulls rows of memory_vectors changed since the last sync (with a 30 s overlap for commits
  /// of other hosts that landed late). Returns the number of vectors that changed the index
  /// (rows whose vector the index held already, e.g. added by memory.embed, do not count).
  std::size_t sync(soci::session& sql);
  /// Like sync() but only when the last one is older than `every`.
  std::size_t sync_if_stale(soci::session& sql, std::chrono::seconds every);
  /// Drops everything and reads every vector of the model from the table.
  std::size_t rebuild(soci::session& sql, const IndexProgress& progress = {});
  /// Writes the index and its watermark to disk (atomically: temp file + rename).
  void save() const;
  /// Path of the index file.
  const std::string& path() const { return path_; }

 private:
  void ensure_capacity_locked(std::size_t n);
  std::size_t apply_rows(soci::session& sql, bool full, const IndexProgress& progress);

  std::string dir_;
  std::string model_;
  std::string path_;
  mutable std::shared_mutex mu_;
  std::string kernel_;  ///< the inner-product kernel asked for ("" = the fastest; ip_kernels.h)
  std::unique_ptr<hnswlib::SpaceInterface<float>> space_;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> index_;
  int dims_ = 0;
  std::size_t live_ = 0;
  std::mutex sync_mu_;
  std::string watermark_;  ///< updated_at of the newest row applied
  long long watermark_seq_ = 0;
  std::unordered_map<long long, std::string> recent_;  ///< seq -> updated_at applied (overlap)
  std::atomic<long long> last_sync_ms_{0};
};

}  // namespace jarvis::memory

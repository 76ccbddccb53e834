// memory/src/vector_index.cpp — hnswlib behind a shared mutex, its file, and the table sync.
#include "vector_index.h"

// Debug builds (make test-asan) compile hnswlib without its SSE code: its prefetches call
// _mm_prefetch, which GCC 12 rejects at -O0 with the precompiled header ("argument to
// __builtin_prefetch must be a constant"). The distance kernels are ip_kernels.cpp's in every
// build (decision 0099), so Debug and Release compute the same distances.
#if !defined(NDEBUG) && !defined(NO_MANUAL_VECTORIZATION)
#define NO_MANUAL_VECTORIZATION
#endif
#include <hnswlib/hnswlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "embedder.h"
#include "ip_kernels.h"
#include "jarvis/database.h"
#include "jarvis/json.h"
#include "store.h"

namespace jarvis::memory {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kHnswM = 16;
constexpr std::size_t kEfConstruction = 100;
constexpr std::size_t kEfSearch = 128;
constexpr int kSyncBatch = 2000;
/// Rows changed this long before the watermark are read again at each sync: commits of other
/// hosts that landed after a later one (and clock skew up to this much) are not missed.
constexpr long long kOverlapMs = 30000;

std::string file_safe(const std::string& s) {
  std::string out;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.';
    out.push_back(ok ? c : '_');
  }
  return out;
}

/// hnswlib's inner-product space with the kernel of ip_kernels.h instead of the one hnswlib
/// compiled in (SSE unless the whole file were built for AVX; decision 0099).
class KernelSpace : public hnswlib::SpaceInterface<float> {
 public:
  KernelSpace(std::size_t dims, const std::string& wanted)
      : dims_(dims), kernel_(inner_product_kernel(wanted)) {}
  std::size_t get_data_size() override { return dims_ * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return kernel_.distance; }
  void* get_dist_func_param() override { return &dims_; }
  const std::string& name() const { return kernel_.name; }

 private:
  std::size_t dims_;
  InnerProductKernel kernel_;
};

long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// `iso` minus `ms` milliseconds, as the same fixed-width text (or "" for an empty input).
std::string iso_minus(const std::string& iso, long long ms) {
  if (iso.size() < 23) return "";
  std::tm tm{};
  tm.tm_year = std::stoi(iso.substr(0, 4)) - 1900;
  tm.tm_mon = std::stoi(iso.substr(5, 2)) - 1;
  tm.tm_mday = std::stoi(iso.substr(8, 2));
  tm.tm_hour = std::stoi(iso.substr(11, 2));
  tm.tm_min = std::stoi(iso.substr(14, 2));
  tm.tm_sec = std::stoi(iso.substr(17, 2));
  const long long millis = std::stoi(iso.substr(20, 3));
  long long t = static_cast<long long>(timegm(&tm)) * 1000 + millis - ms;
  std::time_t secs = static_cast<std::time_t>(t / 1000);
  std::tm out{};
  gmtime_r(&secs, &out);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", out.tm_year + 1900,
                out.tm_mon + 1, out.tm_mday, out.tm_hour, out.tm_min, out.tm_sec,
                ((t % 1000) + 1000) % 1000);
  return buf;
}

}  // namespace

VectorIndex::VectorIndex(std::string dir, std::string model_id, std::string kernel)
    : dir_(std::move(dir)), model_(std::move(model_id)), kernel_(std::move(kernel)) {
  path_ = (fs::path(dir_) / (file_safe(model_) + ".hnsw")).string();
}

VectorIndex::~VectorIndex() = default;

void VectorIndex::load_or_create(int dims) {
  std::unique_lock lock(mu_);
  std::error_code ec;
  fs::create_directories(dir_, ec);
  dims_ = dims;
  space_ = std::make_unique<KernelSpace>(static_cast<std::size_t>(dims), kernel_);
  index_.reset();
  live_ = 0;
  const std::string meta_path = path_ + ".json";
  auto meta_text = [&]() -> std::string {
    std::ifstream in(meta_path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  auto meta = try_parse_json(meta_text);
  if (meta && meta->is_object() && meta->value("dims", 0) == dims &&
      meta->value("model", std::string()) == model_ && fs::exists(path_, ec)) {
    try {
      index_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(space_.get(), path_);
      watermark_ = meta->value("watermark", std::string());
      watermark_seq_ = meta->value("watermark_seq", 0LL);
      // hnswlib 0.6.2 does not persist num_deleted_: count the live labels.
      index_->num_deleted_ = 0;
      for (const auto& [label, internal] : index_->label_lookup_) {
        if (index_->isMarkedDeleted(internal)) {
          ++index_->num_deleted_;
        } else {
          ++live_;
        }
      }
    } catch (const std::exception&) {
      index_.reset();  // corrupt or truncated: start over and resync from the table
    }
  }
  if (!index_) {
    index_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(space_.get(), 1024, kHnswM,
                                                               kEfConstruction);
    watermark_.clear();
    watermark_seq_ = 0;
  }
  index_->setEf(kEfSearch);
}

int VectorIndex::dims() const {
  std::shared_lock lock(mu_);
  return dims_;
}

void VectorIndex::ensure_capacity_locked(std::size_t n) {
  if (index_->cur_element_count + n <= index_->max_elements_) return;
  std::size_t want =
      std::max<std::size_t>(index_->max_elements_ * 2, index_->cur_element_count + n);
  index_->resizeIndex(want);
}

VectorIndex::Added VectorIndex::add(long long seq, const std::vector<float>& v) {
  const auto label = static_cast<hnswlib::labeltype>(seq);
  {
    // The same vector again (memory.embed adds what it wrote, then the table sync reads the row
    // back): nothing to do, under the readers' lock. hnswlib would otherwise "update" the point
    // — re-link its neighbourhood, the costliest thing it does (12 % of the host's CPU in a
    // profile of bench/chat.sh; decision 0100).
    std::shared_lock lock(mu_);
    if (!index_ || static_cast<int>(v.size()) != dims_) return Added::Ignored;
    auto it = index_->label_lookup_.find(label);
    if (it != index_->label_lookup_.end() && !index_->isMarkedDeleted(it->second) &&
        std::memcmp(index_->getDataByInternalId(it->second), v.data(), v.size() * sizeof(float)) ==
            0) {
      return Added::Unchanged;
    }
  }
  std::unique_lock lock(mu_);
  if (!index_ || static_cast<int>(v.size()) != dims_) return Added::Ignored;
  auto it = index_->label_lookup_.find(label);
  const bool existed = it != index_->label_lookup_.end();
  const bool was_deleted = existed && index_->isMarkedDeleted(it->second);
  ensure_capacity_locked(1);
  index_->addPoint(v.data(), label);
  if (!existed || was_deleted) ++live_;
  return Added::Changed;
}

void VectorIndex::remove(long long seq) {
  std::unique_lock lock(mu_);
  if (!index_) return;
  auto it = index_->label_lookup_.find(static_cast<hnswlib::labeltype>(seq));
  if (it == index_->label_lookup_.end() || index_->isMarkedDeleted(it->second)) return;
  index_->markDelete(static_cast<hnswlib::labeltype>(seq));
  if (live_ > 0) --live_;
}

std::vector<Neighbour> VectorIndex::search(const std::vector<float>& query, std::size_t k) const {
  std::shared_lock lock(mu_);
  std::vector<Neighbour> out;
  if (!index_ || live_ == 0 || static_cast<int>(query.size()) != dims_ || k == 0) return out;
  auto pq = index_->searchKnn(query.data(), std::min(k, live_));
  out.resize(pq.size());
  for (std::size_t i = pq.size(); i > 0; --i) {
    // Inner-product space distance is 1 - dot.
    out[i - 1] = {static_cast<long long>(pq.top().second), 1.0F - pq.top().first};
    pq.pop();
  }
  return out;
}

std::string VectorIndex::kernel() const {
  std::shared_lock lock(mu_);
  return space_ ? static_cast<const KernelSpace&>(*space_).name()
                : inner_product_kernel(kernel_).name;
}

std::size_t VectorIndex::size() const {
  std::shared_lock lock(mu_);
  return live_;
}

std::size_t VectorIndex::apply_rows(soci::session& sql, bool full, const IndexProgress& progress) {
  std::string since;
  long long since_seq = 0;
  {
    std::shared_lock lock(mu_);
    if (!full && !watermark_.empty()) since = iso_minus(watermark_, kOverlapMs);
  }
  long long total = 0;
  if (progress) {
    total = sql::scalar_int(sql, "SELECT COUNT(*) FROM memory_vectors WHERE model = :m", {model_});
  }
  std::size_t applied = 0;
  long long seen = 0;
  while (true) {
    auto rows = MemoryStore::vectors_since(sql, model_, since, since_seq, kSyncBatch);
    for (const auto& r : rows) {
      ++seen;
      {
        std::shared_lock lock(mu_);
        auto it = recent_.find(r.seq);
        if (!full && it != recent_.end() && it->second == r.updated_at) continue;
      }
      std::vector<float> v;
      try {
        v = decode_vector(r.encoded);
      } catch (const std::exception&) {
        continue;  // a corrupt row: skipped (reindex rewrites it)
      }
      if (add(r.seq, v) == Added::Changed) ++applied;
      std::unique_lock lock(mu_);
      recent_[r.seq] = r.updated_at;
      if (r.updated_at > watermark_ || (r.updated_at == watermark_ && r.seq > watermark_seq_)) {
        watermark_ = r.updated_at;
        watermark_seq_ = r.seq;
      }
    }
    if (progress) progress(seen, total);
    if (rows.size() < static_cast<std::size_t>(kSyncBatch)) break;
    since = rows.back().updated_at;
    since_seq = rows.back().seq;
  }
  // Forget applied markers older than the overlap window: they will not be read again.
  std::unique_lock lock(mu_);
  const std::string horizon = iso_minus(watermark_, 2 * kOverlapMs);
  for (auto it = recent_.begin(); it != recent_.end();) {
    it = it->second < horizon ? recent_.erase(it) : std::next(it);
  }
  return applied;
}

std::size_t VectorIndex::sync(soci::session& sql) {
  std::lock_guard guard(sync_mu_);
  last_sync_ms_ = now_ms();
  return apply_rows(sql, false, {});
}

std::size_t VectorIndex::sync_if_stale(soci::session& sql, std::chrono::seconds every) {
  if (now_ms() - last_sync_ms_.load() < every.count() * 1000) return 0;
  return sync(sql);
}

std::size_t VectorIndex::rebuild(soci::session& sql, const IndexProgress& progress) {
  std::lock_guard guard(sync_mu_);
  {
    std::unique_lock lock(mu_);
    index_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(space_.get(), 1024, kHnswM,
                                                               kEfConstruction);
    index_->setEf(kEfSearch);
    live_ = 0;
    watermark_.clear();
    watermark_seq_ = 0;
    recent_.clear();
  }
  last_sync_ms_ = now_ms();
  return apply_rows(sql, true, progress);
}

void VectorIndex::save() const {
  std::shared_lock lock(mu_);
  if (!index_) return;
  std::error_code ec;
  fs::create_directories(dir_, ec);
  const std::string tmp = path_ + ".tmp";
  index_->saveIndex(tmp);
  fs::rename(tmp, path_, ec);
  Json meta = {{"model", model_},
               {"dims", dims_},
               {"watermark", watermark_},
               {"watermark_seq", watermark_seq_},
               {"count", live_}};
  {
    std::ofstream out(path_ + ".json.tmp", std::ios::trunc);
    out << meta.dump();
  }
  fs::rename(path_ + ".json.tmp", path_ + ".json", ec);
}

}  // namespace jarvis::memory

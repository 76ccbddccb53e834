// memory/src/core.cpp — building the core's services.
#include "core.h"

#include "jarvis/sql.h"

namespace jarvis::memory {

MemoryCore::MemoryCore(Host& h) : host(h), settings(MemorySettings::from(h.config())) {
  redactor = std::make_unique<Redactor>(
      RedactorOptions{.secret_scan = settings.secret_scan_enabled, .pii_mode = settings.pii_mode});
  embedder = make_embedder(settings, &h.http(), h.config().get_secret("embed_api_key"));
  ctx = std::make_unique<MemoryContext>(
      MemoryContext{settings, h.db().dialect(), *redactor, *embedder});
  index = std::make_unique<VectorIndex>(settings.index_dir, embedder->model_id());
  search = std::make_unique<HybridSearch>(h.db(), settings, *embedder, *index);
  writer = std::make_unique<MemoryWriter>(h, *ctx);
}

void MemoryCore::ensure_index_loaded() {
  std::lock_guard lock(load_mu_);
  if (loaded_) return;
  int dims = 0;
  if (embedder->is_local()) {
    dims = static_cast<int>(settings.embed_dims);
  } else {
    auto sql = host.db().session();
    dims = static_cast<int>(sql::scalar_int(
        *sql, "SELECT dims FROM memory_vectors WHERE model = :m LIMIT 1", {embedder->model_id()}));
  }
  if (dims <= 0) return;  // a remote model without vectors yet: the first embed decides
  index->load_or_create(dims);
  loaded_ = true;
}

void MemoryCore::note_hits(const Json& result) const {
  if (!on_access || !result.contains("items")) return;
  std::vector<long long> seqs;
  for (const auto& it : result["items"]) seqs.push_back(it["seq"].get<long long>());
  on_access(seqs);
}

ItemFilter MemoryCore::scope_for(const Principal& who, const std::string& owner_param) const {
  ItemFilter f;
  f.owner_id = who.is_admin() ? owner_param : who.user_id;
  return f;
}

}  // namespace jarvis::memory

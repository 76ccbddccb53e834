// memory/src/maintenance.h — the work behind the memory tasks and CLI: embedding pending items,
// re-embedding everything, the tier / importance / archive / purge jobs, and the KPI gauges.
//
//   jarvis::memory::EmbedReport r = jarvis::memory::embed_pending(core, cancel, 500);
//   jarvis::Json j = jarvis::memory::run_jobs(core, "all");   // {"tiers": {...}, "purge": {...}}
//   jarvis::memory::update_kpis(core);   // memory_items_count, memory_avg_tokens_saved
#pragma once

#include <functional>
#include <string>

#include "core.h"

namespace jarvis::memory {

/// Outcome of embed_pending.
struct EmbedReport {
  long long embedded = 0;  ///< vectors written
  bool more = false;       ///< items were still pending when it stopped
};

/// Embeds up to `max_items` items without a vector of the current model, in batches of
/// MEMORY_EMBED_BATCH: the provider call runs outside any transaction, then the vectors are
/// written (short transaction) and added to this host's index. Throws EmbedError when the
/// provider fails (the task retries). `progress(done)` after each batch.
EmbedReport embed_pending(MemoryCore& core, const CancelToken& cancel, long long max_items,
                          const std::function<void(long long)>& progress = {});

/// Deletes every vector of other models and re-embeds all items (jarvis memory reindex), then
/// rebuilds this process's index from the table. `progress(done, total)`.
Json reindex(MemoryCore& core, const CancelToken& cancel,
             const std::function<void(long long, long long)>& progress = {});

/// Runs "tiers", "importance", "purge" or "all" (each honours its toggle; nothing runs with
/// MEMORY_WRITES_ENABLED=0). Returns what each changed.
Json run_jobs(MemoryCore& core, const std::string& which);

/// Sets the KPI gauges from the tables: items_count always, avg_tokens_saved only when there is
/// at least one measured prompt (absent otherwise, never a fake 0).
void update_kpis(MemoryCore& core);

}  // namespace jarvis::memory

// memory/src/memory_context.h — what both halves of the memory plugin share: the core's settings,
// the database dialect, the redactor and the embedder. The core builds it in setup(); the
// structured-state half (src/state/, jarvis::memory::state::register_state) receives it.
//
//   void register_state(jarvis::Host& host, const jarvis::memory::MemoryContext& ctx) {
//     if (!ctx.settings.writes_enabled) …;                    // the core's master write switch
//     jarvis::memory::Redaction r = ctx.redactor.scan(text);  // redact before storing
//     jarvis::memory::record_redactions(tx->session(), {.owner_id = o, .source = "state"}, r);
//     auto v = ctx.embedder.embed({text}, cancel);            // in a task only (may be remote)
//   }
//
// Everything referenced stays valid from setup() until the plugin object is destroyed (after
// stop()). The state half reads its own keys (MEMORY_REVIEW_QUEUE_ENABLED, …) from host.config().
#pragma once

#include "embedder.h"
#include "jarvis/database.h"
#include "redactor.h"
#include "settings.h"

namespace jarvis::memory {

/// Shared services of the memory plugin (see the file comment). Cheap to pass by reference.
struct MemoryContext {
  const MemorySettings& settings;  ///< the core's typed settings (toggles, weights, embeddings)
  Dialect dialect;                 ///< SQLite or PostgreSQL (full-text SQL differs)
  const Redactor& redactor;        ///< secret/PII redaction per MEMORY_SECRET_SCAN_ENABLED / _MODE
  Embedder& embedder;              ///< MEMORY_EMBED_PROVIDER; remote ones only from tasks
};

}  // namespace jarvis::memory

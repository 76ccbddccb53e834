// memory/src/writer.h — every write of a memory item: redaction, the row, the audit rows and the
// embed task, in one transaction; tombstones and feedback.
//
//   jarvis::memory::MemoryWriter w(host, ctx);
//   auto r = w.write({.owner_id = uid, .kind = "remembered", .text = text}, "api");
//   // r.item: the stored item; r.redactions: findings masked; the vector follows (memory.embed)
//   w.forget(caller, id);        // 404 not_found unless the caller owns it (or is an admin)
//
// Nothing here embeds: the row is written first and the task memory.embed fills its vector.
#pragma once

#include <string>

#include "jarvis/host.h"
#include "memory_context.h"
#include "store.h"

namespace jarvis::memory {

/// The outcome of MemoryWriter::write.
struct WriteResult {
  ItemRef ref;
  Json item;           ///< the stored (or already present) item
  int redactions = 0;  ///< findings masked in the text
};

/// Writes items (see the file comment). Thread-safe.
class MemoryWriter {
 public:
  MemoryWriter(Host& host, const MemoryContext& ctx);
  /// Redacts `item.text` and stores it with its audit rows and an embed task. Throws
  /// Error(503, "memory_read_only") when MEMORY_WRITES_ENABLED=0, Error(400, "invalid_field") for
  /// empty text, Error(413, "item_too_large") above MEMORY_MAX_ITEM_BYTES (unless `cut` — learned
  /// texts are cut instead), Error(422, "pii_denied") under MEMORY_PII_REDACT_MODE=deny (the
  /// refusal's audit rows are written). A duplicate returns the existing item (feedback + 1 when
  /// `reinforce`).
  WriteResult write(NewItem item, const std::string& source, bool cut = false,
                    bool reinforce = false);
  /// Tombstones item `id` if `who` may access its owner. Throws Error(404, "memory_not_found")
  /// otherwise (no existence oracle) and 503 memory_read_only when writes are off.
  Json forget(const Principal& who, const std::string& id);
  /// Adds +1 / -1 feedback to an item `who` may access (404 memory_not_found otherwise).
  Json feedback(const Principal& who, const std::string& id, bool useful);
  /// Stores a learned item whose text `red` already redacted (not denied) in the caller's
  /// transaction: the row (text cut to MEMORY_MAX_ITEM_BYTES) and, when new, its audit rows.
  /// No embed task and no metrics: the caller enqueues one embed per batch (enqueue_embed) and
  /// counts after its commit. Throws 503 memory_read_only when writes are off.
  ItemRef store_redacted(soci::session& sql, NewItem item, const Redaction& red,
                         const std::string& source);
  /// Enqueues memory.embed in `tx` (one queued at a time): at once, or — for learned items —
  /// `delay_ms` later at a priority below chat's steps, so a burst of items shares one task.
  static void enqueue_embed(Host& host, Transaction& tx, long long delay_ms = 0);

 private:
  void require_writes() const;
  Host& host_;
  const MemoryContext& ctx_;
};

/// Importance by the original formula (issue 11 item 4): 0.4·e^(−age_days/14) +
/// 0.3·min(1, ln(1+access)/ln 26) + 0.2·confidence + 0.1·feedback term, where confidence is 0.9
/// for explicit "remember" items, 0.6 for user statements, 0.3 otherwise, and the feedback term is
/// clamp(0.5 + 0.25·feedback, 0, 1).
double importance_of(double age_days, long long access_count, const std::string& kind,
                     long long feedback);

}  // namespace jarvis::memory

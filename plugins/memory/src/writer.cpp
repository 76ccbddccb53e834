// memory/src/writer.cpp — redaction, rows, audit and the embed task in one transaction.
#include "writer.h"

#include <algorithm>
#include <cmath>

#include "jarvis/error.h"
#include "jarvis/sql.h"
#include "jarvis/strings.h"
#include "text_features.h"

namespace jarvis::memory {

double importance_of(double age_days, long long access_count, const std::string& kind,
                     long long feedback) {
  const double confidence = kind == "remembered" ? 0.9 : kind == "user_statement" ? 0.6 : 0.3;
  const double recency = std::exp(-std::max(0.0, age_days) / 14.0);
  const double access =
      std::min(1.0, std::log1p(static_cast<double>(std::max(0LL, access_count))) / std::log(26.0));
  const double fb = std::clamp(0.5 + 0.25 * static_cast<double>(feedback), 0.0, 1.0);
  return 0.4 * recency + 0.3 * access + 0.2 * confidence + 0.1 * fb;
}

MemoryWriter::MemoryWriter(Host& host, const MemoryContext& ctx) : host_(host), ctx_(ctx) {}

void MemoryWriter::require_writes() const {
  if (!ctx_.settings.writes_enabled) {
    throw Error(503, "memory_read_only",
                "memory is read-only (MEMORY_WRITES_ENABLED=0); nothing is stored");
  }
}

void MemoryWriter::enqueue_embed(Host& host, Transaction& tx, long long delay_ms) {
  if (delay_ms <= 0) {
    host.tasks().enqueue("memory.embed", {.idempotency_key = "memory.embed"}, tx);
    return;
  }
  host.tasks().enqueue(
      "memory.embed",
      {.run_after = iso_from_now(delay_ms), .priority = -1, .idempotency_key = "memory.embed"}, tx);
}

ItemRef MemoryWriter::store_redacted(soci::session& sql, NewItem item, const Redaction& red,
                                     const std::string& source) {
  require_writes();
  item.text = utf8_prefix(red.text, static_cast<std::size_t>(ctx_.settings.max_item_bytes));
  if (trimmed(item.text).empty()) throw Error(400, "invalid_field", "text must not be empty");
  item.importance = importance_of(0, 0, item.kind, 0);
  ItemRef ref = MemoryStore::insert(sql, item);
  if (!ref.duplicate) {
    record_redactions(sql,
                      {.item_id = ref.id,
                       .owner_id = item.owner_id,
                       .thread_id = item.thread_id,
                       .source = source},
                      red);
  }
  return ref;
}

WriteResult MemoryWriter::write(NewItem item, const std::string& source, bool cut, bool reinforce) {
  require_writes();
  std::string text = trimmed(item.text);
  if (text.empty()) throw Error(400, "invalid_field", "text must not be empty");
  const auto max = static_cast<std::size_t>(ctx_.settings.max_item_bytes);
  // Redact the whole text first, then cut: a cut must never leave half a secret unrecognised.
  Redaction red = ctx_.redactor.scan(text);
  if (red.denied) {
    auto tx = host_.db().transaction();
    record_redactions(tx->session(),
                      {.owner_id = item.owner_id, .thread_id = item.thread_id, .source = source},
                      red);
    tx->commit();
    host_.metrics().increment("redactions_total", static_cast<double>(red.findings.size()),
                              {{"action", "denied"}});
    throw Error(422, "pii_denied",
                "the text contains personal data and MEMORY_PII_REDACT_MODE=deny refuses it");
  }
  if (red.text.size() > max) {
    if (!cut) {
      throw Error(413, "item_too_large",
                  "text is longer than MEMORY_MAX_ITEM_BYTES (" + std::to_string(max) + " bytes)");
    }
    red.text = utf8_prefix(red.text, max);
  }
  item.text = red.text;
  item.importance = importance_of(0, 0, item.kind, 0);
  WriteResult out;
  {
    auto tx = host_.db().transaction();
    auto& sql = tx->session();
    out.ref = MemoryStore::insert(sql, item);
    if (!out.ref.duplicate) {
      record_redactions(sql,
                        {.item_id = out.ref.id,
                         .owner_id = item.owner_id,
                         .thread_id = item.thread_id,
                         .source = source},
                        red);
      out.redactions = static_cast<int>(red.findings.size());
      enqueue_embed(host_, *tx);
    } else if (reinforce) {
      sql::exec(sql,
                "UPDATE memory_items SET feedback = feedback + 1, updated_at = :u WHERE id = :i",
                {now_iso(), out.ref.id});
    }
    out.item = MemoryStore::get(sql, out.ref.id);
    tx->commit();
  }
  if (!out.ref.duplicate) {
    host_.metrics().increment("items_written_total", 1, {{"source", source}});
    if (out.redactions > 0) {
      host_.metrics().increment("redactions_total", out.redactions, {{"action", "masked"}});
    }
  }
  return out;
}

Json MemoryWriter::forget(const Principal& who, const std::string& id) {
  require_writes();
  auto tx = host_.db().transaction();
  Json item = MemoryStore::get(tx->session(), id);
  if (item.is_null() || !who.may_access(item.value("owner_id", ""))) {
    throw Error(404, "memory_not_found", "no such memory item");
  }
  MemoryStore::tombstone(tx->session(), id);
  Json gone = MemoryStore::get(tx->session(), id, true);
  tx->commit();
  return {{"id", id},
          {"deleted_at", gone.value("deleted_at", "")},
          {"purge_after_hours", ctx_.settings.purge_after_hours}};
}

Json MemoryWriter::feedback(const Principal& who, const std::string& id, bool useful) {
  require_writes();
  auto tx = host_.db().transaction();
  Json item = MemoryStore::get(tx->session(), id);
  if (item.is_null() || !who.may_access(item.value("owner_id", ""))) {
    throw Error(404, "memory_not_found", "no such memory item");
  }
  sql::exec(tx->session(),
            "UPDATE memory_items SET feedback = feedback + :d, updated_at = :u WHERE id = :i",
            {sql::Bind(useful ? 1 : -1), now_iso(), id});
  Json out = MemoryStore::get(tx->session(), id);
  tx->commit();
  return out;
}

}  // namespace jarvis::memory

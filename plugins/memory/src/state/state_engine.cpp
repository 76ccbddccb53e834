// memory/state/state_engine.cpp — the structured-state work units (see state_engine.h).
#include "state/state_engine.h"

#include "jarvis/error.h"
#include "state/extract.h"
#include "state/failure_bridge.h"
#include "state/reconcile.h"

namespace jarvis::memory::state {

std::string StateEngine::redacted(soci::session& sql, const std::string& text,
                                  const std::string& owner, const std::string& thread,
                                  bool& denied) {
  denied = false;
  if (!redactor_) return text;
  Redaction r = redactor_->scan(text);
  if (!r.findings.empty()) {
    record_redactions(
        sql, {.item_id = "", .owner_id = owner, .thread_id = thread, .source = "state"}, r);
  }
  denied = r.denied;
  return r.text;
}

bool StateEngine::add_pending(jarvis::Transaction& tx, PendingMessage m) {
  if (!settings_.extraction_writes()) return false;
  bool denied = false;
  m.text = redacted(tx.session(), m.text, m.owner_id, m.thread_id, denied);
  if (denied || m.text.empty()) return false;
  state_store::add_pending(tx.session(), m);
  return true;
}

Json StateEngine::run_extraction(const std::string& thread_id, const ModelCall& model) {
  if (!settings_.extraction_writes()) return {{"skipped", "extraction_disabled"}};
  std::vector<PendingMessage> pending;
  std::vector<StateItem> existing;
  {
    auto sql = db_.session();
    pending = state_store::pending_for_thread(*sql, thread_id, settings_.max_messages);
    if (!pending.empty()) {
      existing = state_store::active_items_any(*sql, pending.front().owner_id, thread_id,
                                               settings_.max_active_items);
    }
  }
  if (pending.empty()) return {{"skipped", "nothing_pending"}};
  Scope scope{.owner_id = pending.front().owner_id, .thread_id = thread_id, .agent_id = ""};
  bool has_user = false;
  for (const auto& m : pending) {
    has_user = has_user || m.role == "user";
    if (scope.agent_id.empty() && !m.agent_id.empty()) scope.agent_id = m.agent_id;
  }
  if (!has_user) {
    // Nothing a user said: the original's rule — no extraction, but the messages are consumed.
    auto tx = db_.transaction();
    state_store::take_pending(tx->session(), pending);
    tx->commit();
    return {{"skipped", "no_user_messages"}, {"messages", pending.size()}};
  }

  // The slow part first, outside any transaction.
  std::string method = "rules";
  std::string note;
  std::vector<Candidate> candidates;
  std::vector<UnsupportedClaim> unsupported;
  if (model) {
    std::string why;
    std::optional<std::string> answer =
        model(model_system_prompt(), model_prompt(existing, pending), why);
    if (answer) {
      ModelParse p = parse_model_answer(*answer, pending);
      if (p.ok) {
        method = "model";
        candidates = std::move(p.candidates);
        unsupported = std::move(p.unsupported);
        if (p.invalid > 0) note = std::to_string(p.invalid) + " malformed entries dropped";
      } else {
        note = "model answer unusable (" + p.error + "); rules used";
      }
    } else {
      note = "model unavailable (" + why + "); rules used";
    }
  }
  if (method == "rules") candidates = extract_by_rules(pending);

  auto tx = db_.transaction();
  soci::session& sql = tx->session();
  if (state_store::take_pending(sql, pending) != static_cast<long long>(pending.size())) {
    tx->rollback();  // another run consumed (some of) them first; it has the result
    return {{"skipped", "taken_by_another_run"}};
  }
  // Model output is text too: the same redaction as everything stored.
  std::vector<Candidate> kept;
  for (auto& c : candidates) {
    bool denied = false;
    c.text = redacted(sql, c.text, scope.owner_id, thread_id, denied);
    if (!denied && !c.text.empty()) kept.push_back(std::move(c));
  }
  Reconciled r = reconcile(sql, settings_, scope, kept, method);
  Json failures = Json::array();
  for (const auto& u : unsupported) {
    bool denied = false;
    std::string text = redacted(sql, u.text, scope.owner_id, thread_id, denied);
    if (denied) text = "[claim withheld by memory policy]";
    FailureWrite w = record_failure(
        sql, unsupported_claim(u.type, text, u.reason, u.refs, thread_id), scope.owner_id);
    ++r.counts.unsupported;
    failures.push_back(w.item.uid);
    r.events.push_back({.type = "memory.state.unsupported_claim",
                        .payload = {{"uid", w.item.uid}, {"reason", u.reason}},
                        .thread_id = thread_id,
                        .actor_type = "system",
                        .actor_id = "memory.state"});
  }
  r.counts.messages = static_cast<long long>(pending.size());
  const std::string run_id =
      state_store::insert_run(sql, scope.owner_id, thread_id, method, note, r.counts);
  r.events.push_back(
      {.type = "memory.state.extracted",
       .payload = {{"run_id", run_id}, {"method", method}, {"counts", r.counts.to_json()}},
       .thread_id = thread_id,
       .actor_type = "system",
       .actor_id = "memory.state"});
  for (auto& e : r.events) emit_(std::move(e), *tx);
  tx->commit();
  return {{"run_id", run_id},       {"method", method},
          {"note", note},           {"counts", r.counts.to_json()},
          {"outcomes", r.outcomes}, {"unsupported", failures}};
}

Json StateEngine::record_failure_event(const Json& event, const std::string& owner_id) {
  if (!settings_.bridge_writes()) return {{"skipped", "failure_bridge_disabled"}};
  std::optional<FailureRecord> f = failure_from_event(event);
  if (!f) return {{"skipped", "not_a_failure"}};
  auto tx = db_.transaction();
  soci::session& sql = tx->session();
  bool denied = false;
  f->summary = redacted(sql, f->summary, owner_id, f->thread_id, denied);
  if (denied) f->summary = "[failure text withheld by memory policy]";
  if (f->ref.contains("message")) {
    f->ref["message"] =
        redacted(sql, f->ref["message"].get<std::string>(), owner_id, f->thread_id, denied);
    if (denied) f->ref.erase("message");
  }
  FailureWrite w = record_failure(sql, *f, owner_id);
  if (w.duplicate) return {{"skipped", "already_recorded"}, {"uid", w.item.uid}};
  emit_({.type = "memory.state.failure",
         .payload = {{"uid", w.item.uid},
                     {"created", w.created},
                     {"occurrences", w.item.occurrences},
                     {"phase", f->phase},
                     {"kind", f->kind}},
         .thread_id = f->thread_id,
         .trace_id = f->trace_id,
         .actor_type = "system",
         .actor_id = "memory.state"},
        *tx);
  tx->commit();
  return {{"uid", w.item.uid}, {"created", w.created}, {"occurrences", w.item.occurrences}};
}

Json StateEngine::resolve(const Resolution& r) {
  if (!settings_.writes_enabled) {
    throw jarvis::Error(409, "memory_writes_disabled",
                        "memory is read-only (MEMORY_WRITES_ENABLED=0): nothing can be resolved");
  }
  auto tx = db_.transaction();
  Resolved out = resolve_review(tx->session(), settings_, r);
  for (auto& e : out.events) emit_(std::move(e), *tx);
  tx->commit();
  return out.body;
}

Json StateEngine::create_report(const ReportScope& scope, const std::string& created_by) {
  if (!settings_.writes_enabled) {
    throw jarvis::Error(409, "memory_writes_disabled",
                        "memory is read-only (MEMORY_WRITES_ENABLED=0): no report is stored");
  }
  Json report;
  {
    auto sql = db_.session();
    report = compute_report(*sql, scope);
  }
  auto tx = db_.transaction();
  const std::string id = store_report(tx->session(), scope, report, created_by);
  emit_({.type = "memory.state.consistency_report",
         .payload = {{"id", id}, {"score", report["score"]}},
         .thread_id = scope.thread_id,
         .actor_type = "system",
         .actor_id = "memory.state"},
        *tx);
  tx->commit();
  auto sql = db_.session();
  return get_report(*sql, Principal::system(), id).value_or(Json::object());
}

}  // namespace jarvis::memory::state

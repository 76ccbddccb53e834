// memory/state/reconcile.cpp — merge / supersede / conflict (decision 0030).
#include "state/reconcile.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "jarvis/database.h"
#include "state/state_types.h"

namespace jarvis::memory::state {

namespace {

constexpr std::size_t kMaxRefs = 50;
constexpr std::size_t kMaxTags = 3;
constexpr long long kComparePool = 500;

Json union_array(const Json& a, const Json& b, std::size_t cap) {
  Json out = a.is_array() ? a : Json::array();
  for (const auto& v : b.is_array() ? b : Json::array()) {
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  }
  while (out.size() > cap) out.erase(out.begin());
  return out;
}

double topic_bonus(const Json& a, const Json& b) {
  if (!a.is_array() || !b.is_array()) return 0.0;
  for (const auto& t : a) {
    if (std::find(b.begin(), b.end(), t) != b.end()) return 0.02;
  }
  return 0.0;
}

std::string fmt_score(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", s);
  return buf;
}

jarvis::Event state_event(const Scope& scope, std::string type, Json payload) {
  return jarvis::Event{.type = std::move(type),
                       .payload = std::move(payload),
                       .thread_id = scope.thread_id,
                       .actor_type = "system",
                       .actor_id = "memory.state"};
}

// Folds candidate `c` into existing item `it` (inventory §6.5.4 merge rules).
void merge_into(StateItem& it, const Candidate& c, const StateType& type) {
  it.refs = union_array(it.refs, c.refs, kMaxRefs);
  it.topic_tags = union_array(it.topic_tags, c.topic_tags, kMaxTags);
  const std::string status = c.status.empty() ? type.default_status : c.status;
  if (status != "superseded" && status_rank(type, status) > status_rank(type, it.status)) {
    it.status = status;
  }
  if (confidence_rank(c.confidence) > confidence_rank(it.confidence)) it.confidence = c.confidence;
  it.merge_count += 1;
  const std::string seen = c.evidence_at.empty() ? jarvis::now_iso() : c.evidence_at;
  it.last_seen_at = std::max(it.last_seen_at, seen);
}

StateItem new_item(const Candidate& c, const Scope& scope, const std::string& uid,
                   const std::string& source) {
  const StateType* type = state_type(c.type);
  StateItem it;
  it.uid = uid;
  it.type = c.type;
  it.owner_id = scope.owner_id;
  it.thread_id = scope.thread_id;
  it.agent_id = scope.agent_id;
  it.text = c.text;
  it.status = c.status.empty() || c.status == "superseded" ? type->default_status : c.status;
  it.confidence = clamp_confidence(c.confidence);
  it.tier = default_tier(c.type);
  it.topic_tags = c.topic_tags;
  it.refs = c.refs;
  it.source = source;
  it.valid_from = c.evidence_at.empty() ? jarvis::now_iso() : c.evidence_at;
  it.last_seen_at = it.valid_from;
  return it;
}

std::string first_user_ref(const Candidate& c) {
  for (const auto& r : c.refs) {
    if (r.value("role", "") == "user") return r.value("message_id", "");
  }
  return "";
}

}  // namespace

bool valid_link_type(const std::string& type) {
  return type == "relates_to" || type == "depends_on" || type == "blocks" || type == "answers";
}

Reconciled reconcile(soci::session& sql, const StateSettings& settings, const Scope& scope,
                     const std::vector<Candidate>& candidates, const std::string& source) {
  Reconciled out;
  for (const Candidate& c : candidates) {
    const StateType* type = state_type(c.type);
    if (!type || c.text.empty()) continue;
    ++out.counts.candidates;
    std::string uid = state_uid(c.type, scope.owner_id, scope.thread_id, c.text);
    Json outcome{{"uid", uid}, {"type", c.type}};

    // 1. The same statement again (its own uid, or an alias merged earlier): a merge.
    std::string target_uid = uid;
    auto existing = state_store::get_item(sql, uid);
    if (!existing) {
      std::string alias = state_store::merged_alias_target(sql, uid);
      if (!alias.empty()) {
        existing = state_store::get_item(sql, alias);
        target_uid = alias;
      }
    }
    if (existing) {
      if (!existing->valid_to.empty()) {
        // A restatement of something already superseded or retracted: dropped (the newer
        // statement stays in force; a real reversal says so and supersedes it again).
        ++out.counts.dropped;
        outcome["outcome"] = "dropped_superseded";
        outcome["target"] = target_uid;
      } else {
        merge_into(*existing, c, *type);
        state_store::update_item(sql, *existing);
        ++out.counts.merged;
        out.uids.push_back(existing->uid);
        outcome["outcome"] = "merged";
        outcome["target"] = existing->uid;
        outcome["score"] = 1.0;
      }
      out.outcomes.push_back(std::move(outcome));
      continue;
    }

    // 2. Compare with the still-valid items of the same type in the same scope.
    const auto tokens = content_tokens(c.text);
    std::optional<StateItem> best;
    double best_score = 0.0;
    for (auto& it :
         state_store::active_items(sql, scope.owner_id, scope.thread_id, c.type, kComparePool)) {
      double s = similarity(tokens, content_tokens(it.text));
      if (s > 0) s += topic_bonus(c.topic_tags, it.topic_tags);
      if (s > best_score) {
        best_score = s;
        best = std::move(it);
      }
    }
    outcome["score"] = std::min(best_score, 1.0);

    if (best && best_score >= settings.merge_threshold) {
      // 3. Near-duplicate: merge, and remember the candidate's uid as an alias of the item.
      merge_into(*best, c, *type);
      state_store::update_item(sql, *best);
      if (settings.graph_writes()) {
        state_store::add_relation(
            sql, {.source_uid = uid,
                  .target_uid = best->uid,
                  .relation_type = "merged_into",
                  .owner_id = scope.owner_id,
                  .thread_id = scope.thread_id,
                  .evidence = {{"score", fmt_score(best_score)}, {"text", c.text}}});
      }
      ++out.counts.merged;
      out.uids.push_back(best->uid);
      outcome["outcome"] = "merged";
      outcome["target"] = best->uid;
      out.outcomes.push_back(std::move(outcome));
      continue;
    }

    StateItem item = new_item(c, scope, uid, source);
    if (best && best_score >= settings.conflict_threshold) {
      const std::string ref = first_user_ref(c);
      if (has_supersession_cue(c.text) && !ref.empty()) {
        // 4a. Strong evidence of a replacement: the new item supersedes the old one.
        state_store::insert_item(sql, item);
        best->valid_to = std::max(item.valid_from, best->valid_from);
        best->superseded_by = item.uid;
        best->status = "superseded";
        best->conflict = best->conflict && state_store::open_review_count(sql, best->uid) > 0;
        state_store::update_item(sql, *best);
        if (settings.graph_writes()) {
          state_store::add_relation(sql, {.source_uid = item.uid,
                                          .target_uid = best->uid,
                                          .relation_type = "supersedes",
                                          .owner_id = scope.owner_id,
                                          .thread_id = scope.thread_id,
                                          .evidence = {{"trigger", "supersession_cue"},
                                                       {"ref_msg_id", ref},
                                                       {"score", fmt_score(best_score)}}});
        }
        ++out.counts.superseded;
        out.uids.push_back(item.uid);
        out.uids.push_back(best->uid);
        out.events.push_back(state_event(scope, "memory.state.superseded",
                                         {{"uid", best->uid}, {"superseded_by", item.uid}}));
        outcome["outcome"] = "superseded";
        outcome["target"] = best->uid;
        out.outcomes.push_back(std::move(outcome));
        continue;
      }
      // 4b. Weak evidence: both items stay; the pair goes to the review queue (flags only when
      // a row was written, so a flag always has an open row behind it).
      ++out.counts.conflicted;
      const bool queue = settings.queue_writes();
      state_store::insert_item(sql, item);
      out.uids.push_back(item.uid);
      if (queue && state_store::add_review(sql, {.uid = item.uid,
                                                 .other_uid = best->uid,
                                                 .owner_id = scope.owner_id,
                                                 .thread_id = scope.thread_id,
                                                 .agent_id = scope.agent_id,
                                                 .reason = "conflict",
                                                 .score = best_score})) {
        item.conflict = true;
        state_store::update_item(sql, item);
        best->conflict = true;
        state_store::update_item(sql, *best);
        out.events.push_back(state_event(
            scope, "memory.state.conflict",
            {{"uid", item.uid}, {"other_uid", best->uid}, {"score", fmt_score(best_score)}}));
      }
      if (settings.graph_writes()) {
        state_store::add_relation(sql, {.source_uid = item.uid,
                                        .target_uid = best->uid,
                                        .relation_type = "conflicts_with",
                                        .owner_id = scope.owner_id,
                                        .thread_id = scope.thread_id,
                                        .evidence = {{"score", fmt_score(best_score)}}});
      }
      outcome["outcome"] = queue ? "conflict_queued" : "conflict_unqueued";
      outcome["target"] = best->uid;
    } else {
      // 5. Something new.
      state_store::insert_item(sql, item);
      ++out.counts.inserted;
      out.uids.push_back(item.uid);
      outcome["outcome"] = "inserted";
    }
    if (settings.graph_writes()) {
      for (const auto& link : c.links) {
        if (!valid_link_type(link.type) || link.to_uid == item.uid) continue;
        auto to = state_store::get_item(sql, link.to_uid);
        if (!to || to->owner_id != scope.owner_id) continue;  // never link across owners
        state_store::add_relation(sql, {.source_uid = item.uid,
                                        .target_uid = to->uid,
                                        .relation_type = link.type,
                                        .owner_id = scope.owner_id,
                                        .thread_id = scope.thread_id,
                                        .evidence = {{"trigger", "explicit_link"}}});
      }
    }
    out.outcomes.push_back(std::move(outcome));
  }
  return out;
}

}  // namespace jarvis::memory::state

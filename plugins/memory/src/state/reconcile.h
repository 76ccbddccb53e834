// memory/state/reconcile.h — the merge / supersede / conflict rules (decision 0030, inventory
// §6.5.4): each extracted candidate is compared with the still-valid items of its type in the
// same owner and thread and is merged into one, supersedes one, is queued for review with one,
// or becomes a new item. A contradiction never deletes: the old item gets valid_to and
// superseded_by. Runs inside the caller's transaction; returns the events to emit with it.
//
//   Scope scope{.owner_id = owner, .thread_id = thread, .agent_id = "agent:main"};
//   Reconciled r = reconcile(tx->session(), settings, scope, candidates, "rules");
//   for (auto& e : r.events) host.events().emit(std::move(e), *tx);
#pragma once

#include <string>
#include <vector>

#include <soci/soci.h>

#include "jarvis/events.h"
#include "jarvis/json.h"
#include "state/state_settings.h"
#include "state/state_store.h"

namespace jarvis::memory::state {

/// An explicit link a candidate names: to an existing item's uid.
struct CandidateLink {
  std::string to_uid;
  std::string type;  ///< relates_to | depends_on | blocks | answers
};

/// One extracted statement, validated (see extract.h).
struct Candidate {
  std::string type;  ///< one of state_types()
  std::string text;
  std::string status;  ///< a status of the type ("" = the default)
  std::string confidence = "low";
  Json topic_tags = Json::array();  ///< at most 3 strings
  Json refs = Json::array();        ///< [{"message_id": …, "role": …}], at least one
  std::vector<CandidateLink> links;
  std::string evidence_at;     ///< when the cited message was written: the item's valid_from
  bool user_evidence = false;  ///< a ref names a user message (needed to supersede)
};

/// Who the state belongs to.
struct Scope {
  std::string owner_id;
  std::string thread_id;
  std::string agent_id;
};

/// What one reconcile() call did.
struct Reconciled {
  RunCounts counts;
  std::vector<jarvis::Event> events;  ///< memory.state.* events to emit in the same transaction
  std::vector<std::string> uids;      ///< items created or changed
  Json outcomes = Json::array();      ///< per candidate: {uid, outcome, target?, score}
};

/// Applies `candidates` to the state of `scope` (see the file comment and decision 0030 for the
/// exact rules). `source` is stored on new items ("model", "rules").
Reconciled reconcile(soci::session& sql, const StateSettings& settings, const Scope& scope,
                     const std::vector<Candidate>& candidates, const std::string& source);

/// The relation types an explicit link may have.
bool valid_link_type(const std::string& type);

}  // namespace jarvis::memory::state

// memory/state/state_types.h — the vocabulary of structured state (decision 0030): the six types,
// their uid prefixes and statuses, stable uids, the lexical similarity the merge rules compare
// with, and the supersession cue words. Pure functions: no database, no host.
//
//   const StateType* t = state_type("decision");              // prefix "d_", statuses, default
//   std::string uid = state_uid("decision", owner, thread, "Use PostgreSQL.");   // "d_3f0c…"
//   double s = similarity(content_tokens(a), content_tokens(b));  // 0 … 1
//   bool cue = has_supersession_cue("We switched to SQLite instead.");            // true
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace jarvis::memory::state {

/// One structured-state type (inventory §6.5.4).
struct StateType {
  std::string name;                   ///< "decision", "constraint", …
  std::string prefix;                 ///< uid prefix, "d_"
  std::vector<std::string> statuses;  ///< in precedence order; "superseded" last
  std::string default_status;         ///< the first status
};

/// The six types, in a fixed order: decision, constraint, action, question, risk, failure.
const std::vector<StateType>& state_types();
/// The type named `name`, or nullptr.
const StateType* state_type(std::string_view name);
/// Position of `status` in the type's precedence list; -1 when it is not one of its statuses.
int status_rank(const StateType& type, std::string_view status);

/// Lower-cased text with runs of whitespace collapsed and trailing punctuation dropped: what the
/// uid hashes, so "Use PostgreSQL." and "use  postgresql" are the same item.
std::string normalize_text(std::string_view text);

/// A stable uid: the type's prefix + the first 12 hex digits of sha256("type:owner:thread:norm").
/// The owner and thread are part of it so two users stating the same sentence never share an
/// item (the original hashed only type and text, so one user's fact merged into another's).
std::string state_uid(std::string_view type, std::string_view owner_id, std::string_view thread_id,
                      std::string_view text);

/// The content words of `text`: lower-case ASCII words (digits kept), stop words and the
/// supersession / status cue words removed, lightly stemmed ("deployed" → "deploy").
std::set<std::string> content_tokens(std::string_view text);

/// Set cosine |A∩B| / sqrt(|A|·|B|) of two token sets; 0 when either is empty.
double similarity(const std::set<std::string>& a, const std::set<std::string>& b);

/// True when `text` says that something replaces something else: a supersession word (instead,
/// replaced, switched, changed to, no longer, rather than, anymore, from now on) together with a
/// replacement verb (use, choose, switch, go with, adopt, move to, migrate, pick, prefer).
bool has_supersession_cue(std::string_view text);

/// "low" / "medium" / "high", or "low" for anything else.
std::string clamp_confidence(std::string_view confidence);
/// Rank of a confidence: low 0, medium 1, high 2.
int confidence_rank(std::string_view confidence);

/// True for the tiers a state item may be in (inventory §6.5.4): working, episodic,
/// semantic_longterm, procedural.
bool valid_tier(std::string_view tier);
/// The tier a new item of `type` starts in: failure → episodic, decision and constraint →
/// semantic_longterm, the rest → working.
std::string default_tier(std::string_view type);

}  // namespace jarvis::memory::state

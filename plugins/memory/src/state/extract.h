// memory/state/extract.h — turning messages into state candidates (decision 0030): by rules
// (cue phrases, user messages only), or by a model through the `chat.complete` tool — its
// prompt, and the parser that validates its answer and checks every claim's evidence.
//
//   std::vector<Candidate> c = extract_by_rules(messages);
//   std::string prompt = model_prompt(existing, messages);
//   ModelParse p = parse_model_answer(reply_text, messages);    // p.candidates, p.unsupported
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "state/reconcile.h"
#include "state/state_store.h"

namespace jarvis::memory::state {

/// Most candidates one run keeps (inventory §6.5.4: 25).
inline constexpr std::size_t kMaxCandidatesPerRun = 25;
/// Longest candidate text kept (longer statements are cut at a word boundary).
inline constexpr std::size_t kMaxCandidateChars = 500;

/// Candidates from the user messages of `messages` by cue phrases: "we decided", "let's go
/// with", "switch to … instead" (decision); "must", "never", "at most" (constraint); "todo",
/// "need to", "remember to" (action; "done"/"finished" → done); a sentence ending in "?"
/// (question); "risk", "might break", "concern" (risk). Confidence medium for explicit cues
/// ("we decided", "decision:", "constraint:"), low otherwise.
std::vector<Candidate> extract_by_rules(const std::vector<PendingMessage>& messages);

/// The system prompt of the extraction call (what to return, as JSON).
std::string model_system_prompt();
/// The user prompt: the still-valid items (uid, type, status, text) and the new messages as
/// `[message_id] role: text`.
std::string model_prompt(const std::vector<StateItem>& existing,
                         const std::vector<PendingMessage>& messages);

/// A claim the model made whose evidence failed the check.
struct UnsupportedClaim {
  std::string type;
  std::string text;
  std::string reason;  ///< no_refs | unknown_ref | not_in_evidence
  Json refs = Json::array();
};

/// The model's answer, parsed and checked.
struct ModelParse {
  bool ok = false;    ///< the answer was a JSON array (possibly empty, possibly in a ``` fence)
  std::string error;  ///< why not, when !ok
  std::vector<Candidate> candidates;
  std::vector<UnsupportedClaim> unsupported;
  long long invalid = 0;  ///< entries dropped as malformed (bad type, empty text, …)
};

/// Parses `answer` (see ModelParse). Every entry is validated: type one of the six, non-empty
/// text (cut to kMaxCandidateChars), status of its type (else the default, confidence low),
/// confidence low|medium|high (else low), at most 3 string topic tags, links to existing uids.
/// Evidence check: `refs` must name at least one of `messages`' ids, and the cited messages must
/// share at least one content word with the claim — otherwise the claim is unsupported.
ModelParse parse_model_answer(const std::string& answer,
                              const std::vector<PendingMessage>& messages);

}  // namespace jarvis::memory::state

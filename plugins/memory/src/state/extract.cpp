// memory/state/extract.cpp — rule-based extraction, the model prompt and the answer parser with
// its evidence check (decision 0030).
#include "state/extract.h"

#include <algorithm>
#include <map>
#include <set>

#include "jarvis/strings.h"
#include "state/state_types.h"

namespace jarvis::memory::state {

namespace {

struct Sentence {
  std::string text;
  bool question = false;
};

std::vector<Sentence> split_sentences(const std::string& text) {
  std::vector<Sentence> out;
  std::string cur;
  auto flush = [&](bool question) {
    std::string t = jarvis::trimmed(cur);
    cur.clear();
    if (t.size() >= 3) out.push_back({std::move(t), question});
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n' || c == ';' || c == '!') {
      flush(false);
    } else if (c == '?') {
      cur.push_back(c);
      flush(true);
    } else if (c == '.' && (i + 1 == text.size() || jarvis::is_ascii_space(text[i + 1]))) {
      flush(false);
    } else {
      cur.push_back(c);
    }
  }
  flush(false);
  return out;
}

bool has_any(const std::string& lower, std::initializer_list<const char*> cues) {
  for (const char* c : cues) {
    if (lower.find(c) != std::string::npos) return true;
  }
  return false;
}

bool starts_with_any(const std::string& lower, std::initializer_list<const char*> cues) {
  for (const char* c : cues) {
    if (lower.rfind(c, 0) == 0) return true;
  }
  return false;
}

std::string cut_text(std::string text) {
  if (text.size() <= kMaxCandidateChars) return text;
  std::size_t cut = text.rfind(' ', kMaxCandidateChars);
  if (cut == std::string::npos || cut < kMaxCandidateChars / 2) cut = kMaxCandidateChars;
  // Never split a UTF-8 sequence.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  return text;
}

// The type (and status) the cue phrases of one sentence say; empty type = nothing to keep.
std::pair<std::string, std::string> classify(const Sentence& s, std::string& confidence) {
  const std::string l = " " + jarvis::ascii_lower(s.text) + " ";
  confidence = "low";
  if (s.question) return {"question", "open"};
  if (has_any(l, {" decision:", " we decided", " decided to", " we agreed", " agreed to "})) {
    confidence = "medium";
    return {"decision", "active"};
  }
  if (has_supersession_cue(s.text) ||
      has_any(l, {" let's go with ", " lets go with ", " we will use ", " we'll use ",
                  " we will go with ", " we'll go with ", " going with ", " we chose ",
                  " we choose ", " let's use ", " lets use ", " switch to ", " switching to "}) ||
      starts_with_any(l, {" use ", " go with ", " we use "})) {
    return {"decision", "active"};
  }
  if (has_any(l, {" constraint:"})) {
    confidence = "medium";
    return {"constraint", "active"};
  }
  if (has_any(l, {" must ", " never ", " always ", " at most ", " at least ", " no more than ",
                  " cannot ", " can't ", " has to ", " have to ", " not allowed", " is required",
                  " are required", " deadline", " budget "})) {
    return {"constraint", "active"};
  }
  if (has_any(l, {" risk:", " risk ", " risky", " might break", " could break", " might fail",
                  " may fail", " could fail", " concern", " worried", " danger", " may cause",
                  " could cause"})) {
    if (has_any(l, {" risk:"})) confidence = "medium";
    return {"risk", "active"};
  }
  if (has_any(l,
              {" todo", " to do:", " to-do", " action:", " need to ", " needs to ", " remember to ",
               " i will ", " i'll ", " we need ", " please ", " let's ", " lets "})) {
    if (has_any(l, {" todo", " action:"})) confidence = "medium";
    std::string status = "open";
    if (has_any(l, {" done", " finished", " completed"})) status = "done";
    if (has_any(l, {" blocked"})) status = "blocked";
    return {"action", status};
  }
  if (has_any(l, {" is done", " are done", " finished ", " completed "})) {
    return {"action", "done"};
  }
  return {"", ""};
}

std::string ref_id(const Json& ref) {
  if (ref.is_string()) return ref.get<std::string>();
  if (ref.is_object()) {
    auto it = ref.find("message_id");
    if (it != ref.end() && it->is_string()) return it->get<std::string>();
  }
  return "";
}

}  // namespace

std::vector<Candidate> extract_by_rules(const std::vector<PendingMessage>& messages) {
  std::vector<Candidate> out;
  for (const auto& m : messages) {
    if (m.role != "user") continue;
    for (const auto& s : split_sentences(m.text)) {
      if (s.text.size() > 2000) continue;
      std::string confidence;
      auto [type, status] = classify(s, confidence);
      if (type.empty() || content_tokens(s.text).empty()) continue;
      Candidate c;
      c.type = type;
      c.text = cut_text(s.text);
      c.status = status;
      c.confidence = confidence;
      c.refs = Json::array({{{"message_id", m.message_id}, {"role", "user"}}});
      c.evidence_at = m.message_at;
      c.user_evidence = true;
      out.push_back(std::move(c));
      if (out.size() >= kMaxCandidatesPerRun) return out;
    }
  }
  return out;
}

std::string model_system_prompt() {
  return "You extract structured state from a conversation. Answer with ONLY a JSON array (no "
         "prose). Each element: {\"type\": one of \"decision\", \"constraint\", \"action\", "
         "\"question\", \"risk\", \"failure\"; \"text\": one self-contained sentence; \"status\": "
         "decision/constraint/risk: \"active\"; action: \"open\"|\"blocked\"|\"done\"; question: "
         "\"open\"|\"answered\"; failure: \"open\"|\"resolved\"; \"confidence\": "
         "\"low\"|\"medium\"|\"high\"; \"refs\": the [message ids] that state it (required); "
         "\"topic_tags\": up to 3 short tags; \"links\": optional [{\"to\": an existing uid, "
         "\"type\": \"relates_to\"|\"depends_on\"|\"blocks\"|\"answers\"}]}. Only include what "
         "the new messages actually say; restate an existing item in the same words when it is "
         "repeated; when a message replaces an earlier decision, say so (\"X instead of Y\"). "
         "Return [] when there is nothing.";
}

std::string model_prompt(const std::vector<StateItem>& existing,
                         const std::vector<PendingMessage>& messages) {
  std::string p = "Existing items:\n";
  if (existing.empty()) p += "(none)\n";
  for (const auto& it : existing) {
    p += "- " + it.uid + " [" + it.type + ", " + it.status + "] " + it.text + "\n";
  }
  p += "\nNew messages:\n";
  for (const auto& m : messages) {
    std::string text = m.text.size() > 4000 ? m.text.substr(0, 4000) : m.text;
    p += "[" + m.message_id + "] " + m.role + ": " + text + "\n";
  }
  return p;
}

ModelParse parse_model_answer(const std::string& answer,
                              const std::vector<PendingMessage>& messages) {
  ModelParse out;
  const std::size_t open = answer.find('[');
  const std::size_t close = answer.rfind(']');
  if (open == std::string::npos || close == std::string::npos || close < open) {
    out.error = "no JSON array in the answer";
    return out;
  }
  auto parsed = jarvis::try_parse_json(std::string_view(answer).substr(open, close - open + 1));
  if (!parsed || !parsed->is_array()) {
    out.error = "the answer is not a JSON array";
    return out;
  }
  out.ok = true;
  std::map<std::string, const PendingMessage*> by_id;
  for (const auto& m : messages) by_id[m.message_id] = &m;

  for (const auto& e : *parsed) {
    if (out.candidates.size() >= kMaxCandidatesPerRun) break;
    if (!e.is_object()) {
      ++out.invalid;
      continue;
    }
    const StateType* type = state_type(e.value("type", std::string()));
    std::string text = e.contains("text") && e["text"].is_string()
                           ? jarvis::trimmed(e["text"].get<std::string>())
                           : std::string();
    if (!type || text.empty()) {
      ++out.invalid;
      continue;
    }
    Candidate c;
    c.type = type->name;
    c.text = cut_text(text);
    std::string status = e.contains("status") && e["status"].is_string()
                             ? e["status"].get<std::string>()
                             : type->default_status;
    std::string confidence = e.contains("confidence") && e["confidence"].is_string()
                                 ? e["confidence"].get<std::string>()
                                 : "low";
    if (status_rank(*type, status) < 0 || status == "superseded") {
      status = type->default_status;
      confidence = "low";
    }
    c.status = status;
    c.confidence = clamp_confidence(confidence);
    if (e.contains("topic_tags") && e["topic_tags"].is_array()) {
      for (const auto& t : e["topic_tags"]) {
        if (t.is_string() && !t.get<std::string>().empty() && t.get<std::string>().size() <= 40 &&
            c.topic_tags.size() < 3) {
          c.topic_tags.push_back(jarvis::ascii_lower(t.get<std::string>()));
        }
      }
    }
    if (e.contains("links") && e["links"].is_array()) {
      for (const auto& l : e["links"]) {
        if (!l.is_object() || !l.contains("to") || !l["to"].is_string()) continue;
        std::string lt = l.value("type", std::string("relates_to"));
        if (valid_link_type(lt) && c.links.size() < 10) {
          c.links.push_back({l["to"].get<std::string>(), lt});
        }
      }
    }
    // Evidence: the refs must name messages of this batch that talk about the claim.
    Json cited = Json::array();
    std::set<std::string> evidence_tokens;
    std::string first_at;
    Json raw_refs = e.contains("refs") && e["refs"].is_array() ? e["refs"] : Json::array();
    for (const auto& r : raw_refs) {
      auto it = by_id.find(ref_id(r));
      if (it == by_id.end()) continue;
      const PendingMessage& m = *it->second;
      cited.push_back({{"message_id", m.message_id}, {"role", m.role}});
      if (m.role == "user") c.user_evidence = true;
      if (first_at.empty() || m.message_at < first_at) first_at = m.message_at;
      auto t = content_tokens(m.text);
      evidence_tokens.insert(t.begin(), t.end());
    }
    std::string reason;
    if (raw_refs.empty()) {
      reason = "no_refs";
    } else if (cited.empty()) {
      reason = "unknown_ref";
    } else {
      bool shared = false;
      for (const auto& w : content_tokens(c.text)) shared = shared || evidence_tokens.count(w) > 0;
      if (!shared) reason = "not_in_evidence";
    }
    if (!reason.empty()) {
      Json shown = Json::array();
      for (const auto& r : raw_refs) {
        if (shown.size() < 10) shown.push_back(ref_id(r).substr(0, 100));
      }
      out.unsupported.push_back({c.type, c.text, reason, shown});
      continue;
    }
    c.refs = std::move(cited);
    c.evidence_at = first_at;
    out.candidates.push_back(std::move(c));
  }
  return out;
}

}  // namespace jarvis::memory::state

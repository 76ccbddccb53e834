// memory/state/state_types.cpp — types, uids, normalisation and lexical similarity (0030).
#include "state/state_types.h"

#include <cmath>

#include "jarvis/crypto.h"
#include "jarvis/strings.h"

namespace jarvis::memory::state {

namespace {

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         static_cast<unsigned char>(c) >= 0x80;
}

std::vector<std::string> state_words(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (is_word_char(c) || (c == '\'' && !cur.empty())) {
      if (c != '\'') cur.push_back(jarvis::ascii_lower(c));
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

// Words that say nothing about what a statement is about: grammar, and the cue words of the
// rules (a supersession or status cue must not make two statements look different or alike).
const std::set<std::string>& state_stop_words() {
  static const std::set<std::string> words = {
      "a",         "about",    "after",   "again",  "all",     "also",     "am",       "an",
      "and",       "any",      "anymore", "are",    "as",      "at",       "be",       "been",
      "before",    "being",    "but",     "by",     "can",     "chang",    "change",   "changed",
      "choose",    "chose",    "could",   "decide", "decided", "decision", "did",      "do",
      "does",      "done",     "from",    "for",    "go",      "going",    "had",      "has",
      "have",      "he",       "her",     "here",   "him",     "his",      "how",      "i",
      "if",        "in",       "instead", "into",   "is",      "it",       "its",      "just",
      "let",       "lets",     "longer",  "me",     "more",    "my",       "no",       "not",
      "now",       "of",       "on",      "or",     "our",     "ours",     "please",   "rather",
      "replace",   "replaced", "should",  "so",     "some",    "switch",   "switched", "than",
      "that",      "the",      "their",   "them",   "then",    "there",    "these",    "they",
      "this",      "those",    "to",      "too",    "up",      "us",       "use",      "used",
      "using",     "very",     "was",     "we",     "were",    "what",     "when",     "where",
      "which",     "who",      "why",     "will",   "with",    "would",    "you",      "your",
      "ll",        "ve",       "re",      "d",      "s",       "t",        "m",        "finished",
      "completed", "complete", "adopt",   "pick",   "picked",  "prefer",   "move",     "moved",
      "migrate",   "migrated", "with",    "going",  "gonna",   "okay",     "ok",       "yes"};
  return words;
}

std::string light_stem(std::string w) {
  auto ends = [&](std::string_view s) {
    return w.size() > s.size() + 2 && w.compare(w.size() - s.size(), s.size(), s) == 0;
  };
  if (ends("ing")) {
    w.resize(w.size() - 3);
  } else if (ends("ed")) {
    w.resize(w.size() - 2);
  } else if (ends("s") && !ends("ss")) {
    w.resize(w.size() - 1);
  }
  return w;
}

bool contains_phrase(const std::vector<std::string>& words, std::initializer_list<const char*> p) {
  std::vector<std::string_view> phrase(p.begin(), p.end());
  if (phrase.empty() || words.size() < phrase.size()) return false;
  for (std::size_t i = 0; i + phrase.size() <= words.size(); ++i) {
    bool all = true;
    for (std::size_t j = 0; j < phrase.size() && all; ++j) all = words[i + j] == phrase[j];
    if (all) return true;
  }
  return false;
}

}  // namespace

const std::vector<StateType>& state_types() {
  static const std::vector<StateType> types = {
      {"decision", "d_", {"active", "superseded"}, "active"},
      {"constraint", "c_", {"active", "superseded"}, "active"},
      {"action", "a_", {"open", "blocked", "done", "superseded"}, "open"},
      {"question", "q_", {"open", "answered", "superseded"}, "open"},
      {"risk", "r_", {"active", "superseded"}, "active"},
      {"failure", "f_", {"open", "resolved", "superseded"}, "open"},
  };
  return types;
}

const StateType* state_type(std::string_view name) {
  for (const auto& t : state_types()) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

int status_rank(const StateType& type, std::string_view status) {
  for (std::size_t i = 0; i < type.statuses.size(); ++i) {
    if (type.statuses[i] == status) return static_cast<int>(i);
  }
  return -1;
}

std::string normalize_text(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : jarvis::trim(text)) {
    if (jarvis::is_ascii_space(c)) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(jarvis::ascii_lower(c));
  }
  while (!out.empty() && (out.back() == '.' || out.back() == '!' || out.back() == ';' ||
                          out.back() == ',' || out.back() == ' ')) {
    out.pop_back();
  }
  return out;
}

std::string state_uid(std::string_view type, std::string_view owner_id, std::string_view thread_id,
                      std::string_view text) {
  const StateType* t = state_type(type);
  std::string key = std::string(type) + ":" + std::string(owner_id) + ":" + std::string(thread_id) +
                    ":" + normalize_text(text);
  return (t ? t->prefix : std::string("x_")) + jarvis::sha256_hex(key).substr(0, 12);
}

std::set<std::string> content_tokens(std::string_view text) {
  std::set<std::string> out;
  const auto& stop = state_stop_words();
  for (auto& w : state_words(text)) {
    if (stop.count(w)) continue;
    std::string s = light_stem(std::move(w));
    if (s.empty() || stop.count(s)) continue;
    out.insert(std::move(s));
  }
  return out;
}

double similarity(const std::set<std::string>& a, const std::set<std::string>& b) {
  if (a.empty() || b.empty()) return 0.0;
  std::size_t both = 0;
  for (const auto& w : a) both += b.count(w);
  return static_cast<double>(both) / std::sqrt(static_cast<double>(a.size() * b.size()));
}

bool has_supersession_cue(std::string_view text) {
  const auto w = state_words(text);
  const std::set<std::string> ws(w.begin(), w.end());
  const bool supersede =
      ws.count("instead") || ws.count("replaced") || ws.count("replace") || ws.count("switched") ||
      ws.count("anymore") || contains_phrase(w, {"changed", "to"}) ||
      contains_phrase(w, {"change", "to"}) || contains_phrase(w, {"no", "longer"}) ||
      contains_phrase(w, {"rather", "than"}) || contains_phrase(w, {"from", "now", "on"});
  const bool verb = ws.count("use") || ws.count("using") || ws.count("choose") ||
                    ws.count("chose") || ws.count("switch") || ws.count("switched") ||
                    ws.count("adopt") || ws.count("pick") || ws.count("prefer") ||
                    ws.count("migrate") || contains_phrase(w, {"go", "with"}) ||
                    contains_phrase(w, {"going", "with"}) || contains_phrase(w, {"move", "to"}) ||
                    contains_phrase(w, {"moved", "to"}) || contains_phrase(w, {"changed", "to"});
  return supersede && verb;
}

std::string clamp_confidence(std::string_view confidence) {
  if (confidence == "medium" || confidence == "high") return std::string(confidence);
  return "low";
}

int confidence_rank(std::string_view confidence) {
  if (confidence == "high") return 2;
  if (confidence == "medium") return 1;
  return 0;
}

bool valid_tier(std::string_view tier) {
  return tier == "working" || tier == "episodic" || tier == "semantic_longterm" ||
         tier == "procedural";
}

std::string default_tier(std::string_view type) {
  if (type == "failure") return "episodic";
  if (type == "decision" || type == "constraint") return "semantic_longterm";
  return "working";
}

}  // namespace jarvis::memory::state

// memory/state/failure_bridge.cpp — failure events → deduplicated failure items (decision 0032).
#include "state/failure_bridge.h"

#include <algorithm>

#include "jarvis/crypto.h"
#include "jarvis/database.h"
#include "jarvis/strings.h"
#include "state/state_types.h"

namespace jarvis::memory::state {

namespace {

constexpr std::size_t kMaxFailureRefs = 20;

std::string ev_text(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string clip(const std::string& s, std::size_t n) {
  if (s.size() <= n) return s;
  std::size_t cut = n;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "…";
}

bool id_like(const std::string& w) {
  if (w.size() < 8) return false;
  bool digit = false;
  bool alpha = false;
  for (char c : w) {
    digit = digit || (c >= '0' && c <= '9');
    alpha = alpha || (c >= 'a' && c <= 'z');
  }
  return digit && alpha;
}

}  // namespace

std::string normalize_failure_text(const std::string& text) {
  std::string lower = jarvis::ascii_lower(text);
  std::string out;
  std::string word;
  auto flush = [&] {
    if (word.empty()) return;
    if (id_like(word)) {
      out += "<id>";
    } else {
      bool in_digits = false;
      for (char c : word) {
        const bool d = c >= '0' && c <= '9';
        if (d && in_digits) continue;
        out.push_back(d ? '#' : c);
        in_digits = d;
      }
    }
    word.clear();
  };
  for (char c : lower) {
    const bool w = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (w) {
      word.push_back(c);
      continue;
    }
    flush();
    if (jarvis::is_ascii_space(c)) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  flush();
  std::string t = jarvis::trimmed(out);
  return t.size() > 160 ? t.substr(0, 160) : t;
}

std::optional<FailureRecord> failure_from_event(const Json& event) {
  if (!event.is_object()) return std::nullopt;
  const std::string type = ev_text(event, "type");
  const Json payload =
      event.contains("payload") && event["payload"].is_object() ? event["payload"] : Json::object();
  FailureRecord f;
  f.thread_id = ev_text(event, "thread_id");
  f.trace_id = ev_text(event, "trace_id");
  f.at = ev_text(event, "created_at");
  f.ref = {{"event_id", ev_text(event, "id")}, {"event_type", type}, {"at", f.at}};
  if (!f.trace_id.empty()) f.ref["trace_id"] = f.trace_id;
  if (!f.thread_id.empty()) f.ref["thread_id"] = f.thread_id;

  if (type == "task.failed" || type == "task.dead_letter") {
    const std::string name = ev_text(payload, "name");
    if (name.empty() || name.rfind("memory.", 0) == 0) return std::nullopt;  // no feedback loop
    const std::string error = ev_text(payload, "last_error");
    f.phase = "task";
    f.kind = type == "task.failed" ? "failed" : "dead_letter";
    f.key = name + "|" + normalize_failure_text(error);
    f.summary = type == "task.failed"
                    ? "Task " + name + " failed: " + clip(error, 300)
                    : "Task " + name + " is dead after " + ev_text(payload, "attempts") +
                          " attempts: " + clip(error, 300);
    f.tags = {"failure", "phase:task", "kind:" + f.kind, "task:" + clip(name, 60)};
    f.ref["task_id"] = ev_text(payload, "task_id");
    return f;
  }
  if (type == "model.run.error") {
    const std::string provider = ev_text(payload, "provider");
    const std::string model = ev_text(payload, "model");
    const std::string kind = ev_text(payload, "kind");
    if (kind == "cancelled") return std::nullopt;  // a user stopping a reply is no failure
    const std::string outage = ev_text(payload, "outage_class");
    const std::string status = ev_text(payload, "status");
    f.phase = "model";
    f.kind = kind.empty() ? "error" : kind;
    f.key = provider + "|" + model + "|" + f.kind + "|" + status + "|" + outage;
    f.summary = "Model " + provider + "/" + model + " failed: " + f.kind +
                (outage.empty() ? "" : " (" + outage + ")") +
                (status.empty() || status == "0" ? "" : ", HTTP " + status);
    f.tags = {"failure", "phase:model", "kind:" + f.kind, "provider:" + clip(provider, 40)};
    if (!status.empty()) f.ref["http_status"] = status;
    f.ref["message"] = clip(ev_text(payload, "message"), 300);
    return f;
  }
  if (type == "agent.tool.result") {
    const std::string result = ev_text(payload, "result");
    if (result != "failed" && result != "denied" && result != "invalid_args") return std::nullopt;
    const std::string tool = ev_text(payload, "tool");
    f.phase = "tool";
    f.kind = result;
    f.key = tool + "|" + result + "|" + ev_text(event, "actor_id");
    f.summary = "Tool " + tool + " " + (result == "failed" ? "failed" : "was refused: " + result) +
                " (agent " + ev_text(event, "actor_id") + ")";
    f.tags = {"failure", "phase:tool", "kind:" + result, "tool:" + clip(tool, 60)};
    f.ref["step_id"] = ev_text(payload, "step_id");
    return f;
  }
  return std::nullopt;
}

FailureRecord unsupported_claim(const std::string& type, const std::string& text,
                                const std::string& reason, const Json& refs,
                                const std::string& thread_id) {
  FailureRecord f;
  f.phase = "claim";
  f.kind = "unsupported_claim";
  f.key = type + "|" + normalize_text(text);
  f.summary = "Unsupported claim (" + reason + "): " + clip(text, 300);
  f.tags = {"failure", "phase:claim", "kind:unsupported_claim", "reason:" + reason};
  f.ref = {{"reason", reason}, {"claim_type", type}, {"refs", refs}, {"at", jarvis::now_iso()}};
  f.thread_id = thread_id;
  f.at = jarvis::now_iso();
  f.unsupported = true;
  return f;
}

std::string failure_signature(const std::string& owner_id, const FailureRecord& f) {
  return jarvis::sha256_hex(owner_id + "|" + f.phase + "|" + f.kind + "|" + f.key);
}

FailureWrite record_failure(soci::session& sql, const FailureRecord& f,
                            const std::string& owner_id) {
  const std::string signature = failure_signature(owner_id, f);
  const std::string at = f.at.empty() ? jarvis::now_iso() : f.at;
  FailureWrite w;
  if (auto known = state_store::item_by_signature(sql, signature)) {
    w.item = std::move(*known);
    const std::string event_id = f.ref.value("event_id", std::string());
    for (const auto& r : w.item.refs) {
      // At-least-once delivery: the same event again is not another occurrence.
      if (!event_id.empty() && r.is_object() && r.value("event_id", std::string()) == event_id) {
        w.duplicate = true;
        return w;
      }
    }
    w.item.occurrences += 1;
    w.item.refs.push_back(f.ref);
    while (w.item.refs.size() > kMaxFailureRefs) w.item.refs.erase(w.item.refs.begin());
    if (!f.trace_id.empty()) w.item.trace_id = f.trace_id;
    w.item.last_seen_at = std::max(w.item.last_seen_at, at);
    if (w.item.status == "resolved") w.item.status = "open";  // it came back
    w.item.unsupported = w.item.unsupported || f.unsupported;
    state_store::update_item(sql, w.item);
    return w;
  }
  StateItem it;
  it.uid = "f_" + signature.substr(0, 12);
  it.type = "failure";
  it.owner_id = owner_id;
  it.thread_id = f.thread_id;
  it.agent_id = "";
  it.text = f.summary;
  it.status = "open";
  it.confidence = "high";
  it.tier = "episodic";
  it.topic_tags = f.tags;
  it.refs = Json::array({f.ref});
  it.source = f.phase == "claim" ? "evidence_check" : "failure_bridge";
  it.valid_from = at;
  it.last_seen_at = at;
  it.signature = signature;
  it.occurrences = 1;
  it.trace_id = f.trace_id;
  it.unsupported = f.unsupported;
  state_store::insert_item(sql, it);
  w.item = std::move(it);
  w.created = true;
  return w;
}

}  // namespace jarvis::memory::state

// chat/src/live.cpp — see live.h.
#include "live.h"

#include "store.h"

namespace chat {
namespace {

// Room left for the envelope of a push (type, step_id, seq, event) under kMaxLivePushBytes.
constexpr std::size_t kPushDataBudget = jarvis::kMaxLivePushBytes - 600;
// A journal keeps at most this many bytes of one step's events (older deltas are dropped).
constexpr std::size_t kJournalMaxBytes = 4 << 20;
constexpr long long kSeqPerAttempt = 1000000;

// Longest prefix of `s` of at most `max` bytes that does not split a UTF-8 sequence.
std::size_t utf8_cut(const std::string& s, std::size_t from, std::size_t max) {
  std::size_t end = std::min(s.size(), from + max);
  if (end == s.size()) return end;
  while (end > from && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return end == from ? std::min(s.size(), from + max) : end;
}

long long seq_of(const jarvis::Json& e) {
  return e.contains("seq") && e["seq"].is_number_integer() ? e["seq"].get<long long>() : 0;
}

}  // namespace

std::string ws_type_of(const std::string& sse_event) {
  if (sse_event == "delta") return "message.delta";
  if (sse_event == "tool_call") return "agent.tool_call";
  if (sse_event == "tool_result") return "agent.tool_result";
  if (sse_event == "message") return "message.new";
  if (sse_event == "error") return "agent.error";
  if (sse_event == "done") return "agent.done";
  return "chat." + sse_event;
}

// --- SseRelay ---------------------------------------------------------------------------------

SseRelay::SseRelay(LiveHub& hub, std::string thread_id, std::string step_id, long long after_seq)
    : hub_(hub),
      thread_id_(std::move(thread_id)),
      step_id_(std::move(step_id)),
      last_seq_(after_seq) {}

SseRelay::~SseRelay() = default;

void SseRelay::listen(jarvis::ThreadRegistry& threads) {
  std::weak_ptr<SseRelay> weak = weak_from_this();
  auto sub = threads.listen(thread_id_, [weak](const jarvis::LivePush& p) {
    if (auto self = weak.lock()) self->on_push(p);
  });
  std::lock_guard lock(mu_);
  sub_ = std::move(sub);
}

void SseRelay::attach(std::shared_ptr<jarvis::ResponseStream> stream) {
  std::weak_ptr<SseRelay> weak = weak_from_this();
  // The stream's on_close keeps the relay alive until the response ends (the hub holds weak
  // references only); the relay holds the stream until then.
  std::shared_ptr<SseRelay> keep = shared_from_this();
  stream->on_close([keep] {
    std::unique_ptr<jarvis::LiveSubscription> sub;
    {
      std::lock_guard lock(keep->mu_);
      keep->finished_ = true;
      keep->stream_.reset();
      sub = std::move(keep->sub_);
    }
    sub.reset();
    keep->hub_.forget(keep.get());
  });
  std::lock_guard lock(mu_);
  if (finished_ && pending_.empty()) {
    stream->end();
    return;
  }
  stream_ = std::move(stream);
  std::vector<jarvis::Json> pending;
  pending.swap(pending_);
  bool was_finished = finished_;
  finished_ = false;
  for (const auto& e : pending) {
    write_locked(e);
    if (finished_) break;
  }
  if (was_finished && stream_) end_locked();
}

void SseRelay::prime(const std::vector<jarvis::Json>& events) {
  std::lock_guard lock(mu_);
  // Journal entries come first; buffered pushes with a seq they cover are skipped on write.
  std::vector<jarvis::Json> merged = events;
  merged.insert(merged.end(), pending_.begin(), pending_.end());
  pending_.swap(merged);
  if (stream_) {
    std::vector<jarvis::Json> now;
    now.swap(pending_);
    for (const auto& e : now) write_locked(e);
  }
}

void SseRelay::finish_now(const jarvis::Json& done_data) {
  std::lock_guard lock(mu_);
  jarvis::Json e = {{"event", "done"}, {"seq", last_seq_ + 1}, {"data", done_data}};
  if (stream_) {
    write_locked(e);
  } else {
    pending_.push_back(e);
    finished_ = true;
  }
}

void SseRelay::close() {
  std::shared_ptr<jarvis::ResponseStream> s;
  {
    std::lock_guard lock(mu_);
    s = stream_;
  }
  if (s) s->end();
}

void SseRelay::on_push(const jarvis::LivePush& push) {
  const jarvis::Json& m = push.message;
  if (!m.is_object() || m.value("step_id", "") != step_id_ || !m.contains("event")) return;
  jarvis::Json e = m;
  if (e.value("event", "") == "message" && e["data"].is_object() && e["data"].value("ref", false)) {
    // Too big for a push: the stored message is read back here.
    try {
      auto sql = hub_.host().db().session();
      jarvis::Json stored = ChatStore::message(*sql, e["data"].value("message_id", ""));
      if (!stored.is_null()) e["data"] = stored;
    } catch (const std::exception&) {
      // Keep the reference; the client can GET the message.
    }
  }
  std::lock_guard lock(mu_);
  if (!stream_) {
    pending_.push_back(std::move(e));
    return;
  }
  write_locked(e);
}

void SseRelay::write_locked(const jarvis::Json& e) {
  if (!stream_) return;
  long long seq = seq_of(e);
  if (seq <= last_seq_) return;
  last_seq_ = seq;
  std::string event = e.value("event", "");
  bool ok = stream_->send_event(event, e["data"].dump(), std::to_string(seq));
  if (!ok || event == "done") end_locked();
}

void SseRelay::end_locked() {
  finished_ = true;
  if (stream_) {
    auto s = std::move(stream_);
    stream_.reset();
    s->end();  // runs on_close here, which re-locks mu_ (recursive)
  }
}

// --- LiveHub ----------------------------------------------------------------------------------

std::shared_ptr<SseRelay> LiveHub::open_relay(const std::string& thread_id,
                                              const std::string& step_id, long long after_seq) {
  auto relay = std::make_shared<SseRelay>(*this, thread_id, step_id, after_seq);
  relay->listen(host_.threads());
  std::lock_guard lock(mu_);
  relays_[relay.get()] = relay;
  return relay;
}

std::optional<std::vector<jarvis::Json>> LiveHub::journal(const std::string& step_id,
                                                          long long after_seq) {
  std::lock_guard lock(mu_);
  auto it = journals_.find(step_id);
  if (it == journals_.end()) return std::nullopt;
  std::vector<jarvis::Json> out;
  for (const auto& e : it->second) {
    if (seq_of(e) > after_seq) out.push_back(e);
  }
  return out;
}

void LiveHub::publish(const std::string& thread_id, const jarvis::Json& event) {
  const std::string step_id = event.value("step_id", "");
  {
    std::lock_guard lock(mu_);
    auto it = journals_.find(step_id);
    if (it != journals_.end() && event.contains("event")) {
      std::size_t& bytes = journal_bytes_[step_id];
      std::size_t size = event.dump().size();
      if (bytes + size <= kJournalMaxBytes) {
        it->second.push_back(event);
        bytes += size;
      }
    }
  }
  jarvis::Json push = event;
  if (push.dump().size() > jarvis::kMaxLivePushBytes) {
    const std::string name = push.value("event", "");
    if (name == "message") {
      push["data"] = {{"message_id", event["data"].value("id", "")}, {"ref", true}};
    } else if (name == "tool_result" || name == "tool_call") {
      jarvis::Json d = push["data"];
      for (const char* key : {"result", "error", "arguments"}) {
        if (d.contains(key)) {
          std::string text = d[key].dump();
          d[key] = {{"truncated", true},
                    {"preview", text.substr(0, utf8_cut(text, 0, kPushDataBudget / 2))}};
        }
      }
      push["data"] = d;
    } else {
      push["data"] = {{"truncated", true}};
    }
  }
  try {
    host_.threads().publish(thread_id, push);
  } catch (const std::exception& e) {
    host_.log()->warn("chat: live push to {} failed: {}", thread_id, e.what());
  }
}

void LiveHub::begin_step(const std::string& step_id) {
  std::lock_guard lock(mu_);
  journals_[step_id];
  journal_bytes_[step_id] = 0;
}

void LiveHub::end_step(const std::string& step_id) {
  std::lock_guard lock(mu_);
  journals_.erase(step_id);
  journal_bytes_.erase(step_id);
}

void LiveHub::register_cancel(const std::string& step_id, std::function<void()> cancel) {
  std::lock_guard lock(mu_);
  cancels_[step_id] = std::move(cancel);
}

void LiveHub::unregister_cancel(const std::string& step_id) {
  std::lock_guard lock(mu_);
  cancels_.erase(step_id);
}

bool LiveHub::cancel_local(const std::string& step_id) {
  std::function<void()> cancel;
  {
    std::lock_guard lock(mu_);
    auto it = cancels_.find(step_id);
    if (it == cancels_.end()) return false;
    cancel = it->second;
  }
  cancel();
  return true;
}

void LiveHub::close_all() {
  std::vector<std::shared_ptr<SseRelay>> open;
  {
    std::lock_guard lock(mu_);
    for (auto& [raw, weak] : relays_) {
      if (auto r = weak.lock()) open.push_back(r);
    }
  }
  for (auto& r : open) r->close();
}

void LiveHub::forget(SseRelay* relay) {
  std::lock_guard lock(mu_);
  relays_.erase(relay);
}

// --- StepPublisher ----------------------------------------------------------------------------

StepPublisher::StepPublisher(LiveHub& hub, std::string thread_id, std::string step_id,
                             std::string trace_id, int attempt)
    : hub_(hub),
      thread_id_(std::move(thread_id)),
      step_id_(std::move(step_id)),
      trace_id_(std::move(trace_id)),
      seq_(static_cast<long long>(std::max(attempt, 1) - 1) * kSeqPerAttempt) {}

void StepPublisher::send(const std::string& event, const jarvis::Json& data) {
  if (event == "delta" && data.contains("text") && data["text"].is_string()) {
    const std::string text = data["text"];
    if (text.size() > kPushDataBudget / 2) {
      // Escaping may double the size in JSON: split well under the limit.
      for (std::size_t from = 0; from < text.size();) {
        std::size_t to = utf8_cut(text, from, kPushDataBudget / 2);
        send(event, {{"text", text.substr(from, to - from)}});
        from = to;
      }
      return;
    }
  }
  jarvis::Json e = {{"type", ws_type_of(event)},
                    {"step_id", step_id_},
                    {"trace_id", trace_id_},
                    {"seq", ++seq_},
                    {"event", event},
                    {"data", data}};
  hub_.publish(thread_id_, e);
}

void StepPublisher::notify(const std::string& ws_type, const jarvis::Json& data) {
  jarvis::Json e = {
      {"type", ws_type}, {"step_id", step_id_}, {"trace_id", trace_id_}, {"data", data}};
  hub_.publish(thread_id_, e);
}

}  // namespace chat

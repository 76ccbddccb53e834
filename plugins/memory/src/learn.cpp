// memory/src/learn.cpp — learning from chat's events in batches (see learn.h, decision 0047).
//
//   message.new, prompt.build → an in-process subscriber buffers them; the background loop
//                  learns the buffer every second in ONE transaction (Learner::flush): user
//                  statements and assistant answers become items (slash commands, questions,
//                  short acknowledgements, JSON and tool output do not); user and assistant texts
//                  go to the state half (StateIntake); every message's token estimate is kept for
//                  memory_avg_tokens_saved and marks it learned. A prompt that carried a summary or
//                  retrieved memory gives one memory_prompt_stats row: raw = the thread's message
//                  tokens up to the prompt, used = tail + summary + context tokens, saved = raw −
//                  used (its trace's messages are learned first, in the same batch).
//   catch-up     → at start and every minute, the events since the cursor (minus an overlap) are
//                  read back from the event store (jarvis::events_since) and whatever is not marked
//                  learned is learned: a kill -9 before a flush, events of CLI processes and of
//                  other hosts. The cursor moves in the batch's transaction.
// agent.tool.result events carry no content (tool name and outcome only): nothing to keep.
#include "learn.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "core.h"
#include "jarvis/error.h"
#include "jarvis/event_log.h"
#include "jarvis/sql.h"
#include "jarvis/strings.h"
#include "text_features.h"

namespace jarvis::memory {
namespace learn_batch {

/// Chat's per-message overhead in its estimates (chat/src/agent/prompt.h kMessageOverheadTokens).
constexpr long kMessageOverhead = 4;
/// How long learned items wait for their vectors, so that a burst shares one memory.embed task.
constexpr long long kEmbedDelayMs = 1000;
/// Events of one trace read to learn a prompt's messages with it.
constexpr std::size_t kTraceWindow = 200;
/// Events per catch-up page (one transaction each).
constexpr std::size_t kBatchMax = 500;
/// Events per transaction of the once-a-second flush: the host's writers (a chat step's claim,
/// its events) wait for the write lock at most one such transaction, not a second's worth of
/// learning (decision 0098).
constexpr std::size_t kFlushTxMax = 24;
/// The catch-up re-reads this much before its cursor: a transaction's events become visible a
/// little after later-stamped ones (the SQLite writer's wait is at most a few seconds).
constexpr long long kOverlapMs = 15 * 1000;
/// Without a cursor (a fresh database, or the first start after decision 0047: older events
/// were learned by their durable tasks) the catch-up starts this far back.
constexpr long long kFirstWindowMs = 10 * 60 * 1000;
/// How often the catch-up runs besides at start.
constexpr auto kCatchUpEvery = std::chrono::seconds(60);
/// Buffered events beyond this are dropped (the catch-up reads them back).
constexpr std::size_t kBufferMax = 50000;

/// `iso` (jarvis::now_iso() form) moved by `offset_ms`; "" when it does not parse.
std::string iso_shift(const std::string& iso, long long offset_ms) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(iso.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7) {
    return "";
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const long long at_ms = static_cast<long long>(timegm(&tm)) * 1000 + ms;
  const long long now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  return iso_from_now(at_ms - now_ms + offset_ms);
}

/// The keys of `keys` present in column `column` of `table` (IN lists of 200).
std::set<std::string> present(soci::session& sql, const char* table, const char* column,
                              const std::vector<std::string>& keys) {
  std::set<std::string> out;
  for (std::size_t from = 0; from < keys.size(); from += 200) {
    const std::size_t to = std::min(keys.size(), from + 200);
    std::string q =
        std::string("SELECT ") + column + " FROM " + table + " WHERE " + column + " IN (";
    sql::Binds b;
    for (std::size_t i = from; i < to; ++i) {
      q += i > from ? ", :k" : ":k";
      q += std::to_string(i - from);
      b.push_back(keys[i]);
    }
    q += ")";
    sql::for_each_row(sql, q, b, [&](const soci::row& r) {
      Json v = sql::column(r, 0);
      if (v.is_string()) out.insert(v.get<std::string>());
    });
  }
  return out;
}

std::string text_field(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

/// The stored-event form of a durable task's payload (and of EventBus::trace's events).
Json event_json(const Event& e) {
  return {{"id", e.id},
          {"type", e.type},
          {"created_at", e.created_at},
          {"component", e.component},
          {"thread_id", e.thread_id},
          {"trace_id", e.trace_id},
          {"actor_type", e.actor_type},
          {"actor_id", e.actor_id},
          {"payload", e.payload}};
}

/// Why a message is not kept as an item ("" = keep it).
std::string skip_reason(const std::string& role, const std::string& text, const Json& p,
                        long long min_chars) {
  if (role != "user" && role != "assistant") return "role";
  if (p.value("command", false) ||
      (p.contains("meta") && p["meta"].is_object() && p["meta"].contains("command"))) {
    return "command";
  }
  if (text.empty()) return "no_text";
  if (text[0] == '/') return "command";
  if (static_cast<long long>(text.size()) < min_chars) return "too_short";
  if (text[0] == '{' || text[0] == '[') return "json";
  if (role == "user" && text.back() == '?' && text.size() < 200) return "question";
  if (p.value("degraded", false)) return "degraded";
  return "";
}

/// One message of a batch, decided before the transaction (redaction is done here too).
struct Planned {
  std::string key;  ///< message id, or the event id when there is none
  std::string thread, owner, role, text, event_id, message_id, created_at, trace_id, actor_id;
  std::string skip;  ///< why no item is kept ("" = keep)
  bool to_state = false;
  Redaction red;
};

/// One prompt.build measurement of a batch.
struct PlannedPrompt {
  std::string event_id, thread, created_at;
  long long tail = 0, summary = 0, context = 0;
  /// Messages of the batch with the prompt's very created_at that came before it (timestamps
  /// have millisecond resolution: a reply can share its prompt's).
  std::vector<std::string> tied_before;
};

/// What one batch did (for the task result and the metrics after commit).
struct BatchResult {
  int learned = 0, items = 0, duplicates = 0, prompts = 0, state = 0, denied = 0;
  std::map<std::string, int> skipped;  ///< reason → messages
  int redactions = 0, denied_findings = 0;
  Json to_json() const {
    Json j = {{"learned", learned}, {"items", items},        {"duplicates", duplicates},
              {"prompts", prompts}, {"state_queued", state}, {"denied", denied}};
    if (!skipped.empty()) j["skipped"] = skipped;
    return j;
  }
};

}  // namespace learn_batch

/// The learner (see the file comment). Thread-safe.
class Learner {
 public:
  Learner(MemoryCore& core, StateIntake intake) : c_(core), intake_(std::move(intake)) {}

  bool core_on() const { return c_.settings.writes_enabled && c_.settings.learn_enabled; }

  /// Anything to learn at all (core learning, or a state half that takes messages).
  bool active() const { return core_on() || static_cast<bool>(intake_); }

  /// memory.learn_message (tasks queued before decision 0047): the event and its trace.
  Json learn_event(const Json& event) {
    using namespace learn_batch;
    if (!active()) return {{"skipped", "disabled"}};
    std::vector<Json> events{event};
    add_trace(events, text_field(event, "trace_id"), text_field(event, "id"));
    return run(events, text_field(event, "id"), "");
  }

  /// In-process subscriber of message.new and prompt.build: buffers the event (cheap, any
  /// thread; it runs on the emitter's thread after its commit).
  void note(const Event& e) {
    if (!active()) return;
    std::lock_guard lock(mu_);
    if (buffer_.size() < learn_batch::kBufferMax) buffer_.push_back(learn_batch::event_json(e));
  }

  /// Learns the buffer (batches of kFlushTxMax, one transaction each); runs the catch-up at the
  /// first call and every kCatchUpEvery. Called by the background loop every second and at stop.
  void flush() {
    if (!active()) return;
    std::vector<Json> batch;
    {
      std::lock_guard lock(mu_);
      batch.swap(buffer_);
    }
    for (std::size_t from = 0; from < batch.size(); from += learn_batch::kFlushTxMax) {
      if (from > 0) std::this_thread::yield();  // let a waiting writer take the lock between
      const std::size_t to = std::min(batch.size(), from + learn_batch::kFlushTxMax);
      std::vector<Json> part(batch.begin() + static_cast<long>(from),
                             batch.begin() + static_cast<long>(to));
      try {
        run(part, "", "");
      } catch (const std::exception& e) {
        // Nothing is lost: the catch-up reads these events back from the event store.
        c_.host.log()->warn("memory: learning {} events failed (the catch-up retries): {}",
                            part.size(), e.what());
      }
    }
    const auto now = std::chrono::steady_clock::now();
    if (last_catch_up_ && now - *last_catch_up_ < learn_batch::kCatchUpEvery) return;
    last_catch_up_ = now;
    try {
      catch_up();
    } catch (const std::exception& e) {
      c_.host.log()->warn("memory: learning catch-up failed (retried next minute): {}", e.what());
    }
  }

  /// Reads message.new and prompt.build since the cursor (minus the overlap) and learns what is
  /// not learned yet, moving the cursor with each page. Returns the events read.
  long long catch_up() {
    using namespace learn_batch;
    std::string cursor;
    {
      auto sql = c_.host.db().session();
      Json row =
          sql::one_row(*sql, "SELECT created_at FROM memory_learn_cursor WHERE name = 'events'");
      cursor = row.is_null() ? "" : text_field(row, "created_at");
    }
    std::string from =
        cursor.empty() ? iso_from_now(-kFirstWindowMs) : iso_shift(cursor, -kOverlapMs);
    if (from.empty()) from = iso_from_now(-kFirstWindowMs);
    const std::string until = now_iso();  // the next catch-up starts here (minus the overlap)
    long long read = 0;
    for (const char* type : {"message.new", "prompt.build"}) {
      std::string at = from;
      while (true) {
        std::vector<Event> page = events_since(c_.host.db(), type, at, kBatchMax);
        std::vector<Json> events;
        for (const Event& e : page) events.push_back(event_json(e));
        read += static_cast<long long>(events.size());
        run(std::move(events), "", "");
        if (page.size() < kBatchMax || page.back().created_at == at) break;
        at = page.back().created_at;
      }
    }
    // Everything up to `until` is learned now: move the cursor (one row, once a minute).
    run({}, "", until);
    return read;
  }

 private:
  /// Appends the message.new and prompt.build events of `trace` other than `self`.
  void add_trace(std::vector<Json>& events, const std::string& trace, const std::string& self) {
    if (trace.empty()) return;
    TraceEvents te = c_.host.events().trace(Principal::system(), trace, learn_batch::kTraceWindow);
    for (const Event& e : te.events) {
      if (e.id == self || (e.type != "message.new" && e.type != "prompt.build")) continue;
      events.push_back(learn_batch::event_json(e));
    }
  }

  /// Plans every event outside a transaction (reads, redaction), then writes what is new in one.
  /// `self` is the task's own event (its skips are counted; "" for a batch). A non-empty
  /// `cursor` is stored as the catch-up's cursor in the same transaction (it only moves forward).
  Json run(std::vector<Json> events, const std::string& self, const std::string& cursor) {
    using namespace learn_batch;
    BatchResult res;
    std::vector<Planned> plan;
    std::vector<PlannedPrompt> prompts;
    std::map<std::string, std::string> owners;
    std::set<std::string> seen;
    Json own_skip;
    auto skip_own = [&](const std::string& id, const std::string& why) {
      if (id != self) return;
      c_.host.metrics().increment("learn_skipped_total", 1, {{"reason", why}});
      own_skip = why;
    };
    // A prompt's raw count needs its trace's messages learned first: read them into the batch.
    {
      std::set<std::string> traces;
      const std::size_t n = events.size();
      for (std::size_t i = 0; i < n; ++i) {
        if (text_field(events[i], "type") != "prompt.build" || !core_on()) continue;
        const std::string trace = text_field(events[i], "trace_id");
        if (!trace.empty() && traces.insert(trace).second) add_trace(events, trace, "");
      }
    }
    // Oldest first: a batch (a flush, a catch-up page, a trace) learns in the order things
    // happened. created_at has millisecond resolution: events of one millisecond go in the order
    // they were stored (the event store's insertion sequence, looked up only for such ties).
    std::map<std::string, long long> stored_at;
    {
      std::map<std::string, int> per_ms;
      for (const Json& e : events) ++per_ms[text_field(e, "created_at")];
      std::vector<std::string> tied;
      for (const Json& e : events) {
        if (per_ms[text_field(e, "created_at")] > 1) tied.push_back(text_field(e, "id"));
      }
      if (!tied.empty()) stored_at = event_order(c_.host.db(), tied);
    }
    auto stored = [&stored_at](const Json& e) {
      auto it = stored_at.find(text_field(e, "id"));
      return it == stored_at.end() ? std::numeric_limits<long long>::max() : it->second;
    };
    std::stable_sort(events.begin(), events.end(), [&](const Json& a, const Json& b) {
      const std::string at_a = text_field(a, "created_at"), at_b = text_field(b, "created_at");
      return at_a != at_b ? at_a < at_b : stored(a) < stored(b);
    });
    // 1. Parse (no database). No session is held while another is taken (the owner lookup, the
    //    trace read take their own): 50 workers each holding one would drain the pool.
    std::vector<Planned> parsed;
    std::vector<Json> payloads;
    std::vector<PlannedPrompt> prompt_candidates;
    std::string tie_at;                 // the created_at of the run of events being read
    std::vector<std::string> tie_keys;  // the messages read so far with that created_at
    for (const Json& e : events) {
      const std::string id = text_field(e, "id");
      if (id.empty() || !seen.insert(id).second) continue;
      if (text_field(e, "created_at") != tie_at) {
        tie_at = text_field(e, "created_at");
        tie_keys.clear();
      }
      const Json p =
          e.contains("payload") && e["payload"].is_object() ? e["payload"] : Json::object();
      const std::string thread = text_field(e, "thread_id");
      if (text_field(e, "type") == "prompt.build") {
        if (!core_on() || thread.empty()) continue;
        PlannedPrompt pp{.event_id = id,
                         .thread = thread,
                         .created_at = text_field(e, "created_at"),
                         .tail = p.value("tail_tokens", 0LL),
                         .summary = p.value("summary_tokens", 0LL),
                         .context = p.value("context_tokens", 0LL)};
        if (pp.summary + pp.context <= 0) continue;  // no memory in that prompt: no measurement
        if (pp.created_at.empty()) pp.created_at = now_iso();
        pp.tied_before = tie_keys;
        prompt_candidates.push_back(pp);
        continue;
      }
      Planned m;
      m.text =
          trimmed(text_field(p, "text").empty() ? text_field(p, "content") : text_field(p, "text"));
      m.thread = thread;
      if (m.text.empty() || m.thread.empty()) {
        skip_own(id, "no_text");
        continue;
      }
      m.event_id = id;
      m.message_id = text_field(p, "message_id");
      m.key = m.message_id.empty() ? id : m.message_id;
      m.role = text_field(p, "role");
      if (m.role.empty()) m.role = text_field(e, "actor_type") == "user" ? "user" : "assistant";
      m.created_at = text_field(e, "created_at");
      if (m.created_at.empty()) m.created_at = now_iso();
      m.trace_id = text_field(e, "trace_id");
      m.actor_id = text_field(e, "actor_id");
      m.owner = text_field(e, "actor_type") == "user" ? m.actor_id : "";  // fallback only
      tie_keys.push_back(m.key);
      parsed.push_back(std::move(m));
      payloads.push_back(p);
    }
    // 2. What is learned already (a duplicate delivery, a re-read, another host): one session,
    //    IN lists.
    std::vector<bool> known(parsed.size(), false);
    if (!parsed.empty() || !prompt_candidates.empty()) {
      std::vector<std::string> keys, prompt_ids;
      for (const Planned& m : parsed) keys.push_back(m.key);
      for (const PlannedPrompt& pp : prompt_candidates) prompt_ids.push_back(pp.event_id);
      auto sql = c_.host.db().session();
      const std::set<std::string> learned =
          present(*sql, "memory_message_tokens", "message_id", keys);
      const std::set<std::string> measured =
          present(*sql, "memory_prompt_stats", "event_id", prompt_ids);
      for (std::size_t i = 0; i < parsed.size(); ++i) known[i] = learned.count(parsed[i].key) > 0;
      for (const PlannedPrompt& pp : prompt_candidates) {
        if (measured.count(pp.event_id) == 0) prompts.push_back(pp);
      }
    }
    // 3. Owners and redaction of the new ones (no session held here).
    for (std::size_t i = 0; i < parsed.size(); ++i) {
      if (known[i]) continue;
      Planned& m = parsed[i];
      const Json& p = payloads[i];
      auto it = owners.find(m.thread);
      if (it == owners.end()) {
        it = owners.emplace(m.thread, c_.host.threads().owner(m.thread).value_or("")).first;
      }
      if (!it->second.empty()) m.owner = it->second;
      if (m.owner.empty()) {
        skip_own(m.event_id, "no_owner");
        continue;
      }
      m.skip = core_on() ? skip_reason(m.role, m.text, p, c_.settings.min_learn_chars)
                         : std::string("disabled");
      m.to_state = intake_ && (m.role == "user" || m.role == "assistant") && m.text[0] != '/' &&
                   !p.value("command", false);
      if (m.skip.empty() || m.to_state) m.red = c_.redactor->scan(m.text);
      plan.push_back(std::move(m));
    }
    if (plan.empty() && prompts.empty() && cursor.empty()) {
      if (!own_skip.is_null()) return {{"skipped", own_skip}};
      return {{"skipped", "learned_already"}};
    }

    bool embed = false;
    {
      auto tx = c_.host.db().transaction();
      auto& sql = tx->session();
      for (Planned& m : plan) {
        {
          // The marker: learned once, whoever (batch, catch-up, another host) gets here first.
          const long long fresh = sql::exec(
              sql,
              "INSERT INTO memory_message_tokens(message_id, thread_id, role, tokens, created_at) "
              "VALUES(:m, :t, :r, :n, :c) ON CONFLICT(message_id) DO NOTHING",
              {m.key, m.thread, m.role,
               sql::Bind(static_cast<long long>(kMessageOverhead + estimate_tokens(m.text))),
               m.created_at});
          if (fresh == 0) continue;  // another batch learned it first
          ++res.learned;
        }
        if (m.red.denied) {
          // MEMORY_PII_REDACT_MODE=deny: neither an item nor state, only the audit of the refusal.
          record_redactions(sql, {.owner_id = m.owner, .thread_id = m.thread, .source = "event"},
                            m.red);
          ++res.denied;
          res.denied_findings += static_cast<int>(m.red.findings.size());
          continue;
        }
        bool audited = false;
        if (m.skip.empty()) {
          NewItem item{.owner_id = m.owner,
                       .thread_id = m.thread,
                       .agent_id = m.role == "assistant" ? m.actor_id : "",
                       .kind = m.role == "user" ? "user_statement" : "assistant_answer",
                       .text = m.text,
                       .source_event_id = m.event_id,
                       .source_message_id = m.message_id};
          item.evidence_refs = Json::array();
          if (!m.message_id.empty()) {
            item.evidence_refs.push_back({{"type", "message"}, {"id", m.message_id}});
          }
          item.evidence_refs.push_back({{"type", "event"}, {"id", m.event_id}});
          ItemRef ref = c_.writer->store_redacted(sql, item, m.red, "event");
          if (ref.duplicate) {
            ++res.duplicates;
          } else {
            ++res.items;
            embed = true;
            audited = true;
            res.redactions += static_cast<int>(m.red.findings.size());
          }
        } else {
          ++res.skipped[m.skip];
        }
        if (m.to_state) {
          LearnedMessage lm{.message_id = m.key,
                            .owner_id = m.owner,
                            .thread_id = m.thread,
                            .agent_id = m.role == "assistant" ? m.actor_id : "",
                            .role = m.role,
                            .text = m.red.text,
                            .message_at = m.created_at,
                            .trace_id = m.trace_id};
          if (intake_(*tx, lm)) {
            ++res.state;
            if (!audited && !m.red.findings.empty()) {
              record_redactions(
                  sql, {.owner_id = m.owner, .thread_id = m.thread, .source = "state"}, m.red);
            }
          }
        }
      }
      for (const PlannedPrompt& pp : prompts) {
        // The thread's messages before the prompt: older ones by time, and of those with its
        // very timestamp only the ones that came before it (a reply can share the millisecond).
        long long raw = sql::scalar_int(
            sql,
            "SELECT COALESCE(SUM(tokens), 0) FROM memory_message_tokens WHERE thread_id = :t AND "
            "created_at < :c",
            {pp.thread, pp.created_at});
        for (const std::string& key : pp.tied_before) {
          raw += sql::scalar_int(sql,
                                 "SELECT COALESCE(SUM(tokens), 0) FROM memory_message_tokens "
                                 "WHERE message_id = :m AND thread_id = :t AND created_at = :c",
                                 {key, pp.thread, pp.created_at});
        }
        const long long used = pp.tail + pp.summary + pp.context;
        res.prompts += static_cast<int>(sql::exec(
            sql,
            "INSERT INTO memory_prompt_stats(event_id, thread_id, raw_tokens, used_tokens, "
            "saved_tokens, created_at) VALUES(:e, :t, :r, :u, :s, :c) ON CONFLICT(event_id) DO "
            "NOTHING",
            {pp.event_id, pp.thread, sql::Bind(raw), sql::Bind(used), sql::Bind(raw - used),
             pp.created_at}));
      }
      if (embed) MemoryWriter::enqueue_embed(c_.host, *tx, kEmbedDelayMs);
      if (!cursor.empty()) {
        const std::string now = now_iso();
        sql::exec(sql,
                  "INSERT INTO memory_learn_cursor(name, created_at, updated_at) VALUES('events', "
                  ":c, :u) ON CONFLICT(name) DO UPDATE SET created_at = excluded.created_at, "
                  "updated_at = excluded.updated_at WHERE memory_learn_cursor.created_at < "
                  "excluded.created_at",
                  {cursor, now});
      }
      tx->commit();
    }
    Metrics& mx = c_.host.metrics();
    if (res.items > 0) mx.increment("items_written_total", res.items, {{"source", "event"}});
    if (res.redactions > 0)
      mx.increment("redactions_total", res.redactions, {{"action", "masked"}});
    if (res.denied_findings > 0) {
      mx.increment("redactions_total", res.denied_findings, {{"action", "denied"}});
    }
    for (const auto& [why, n] : res.skipped) {
      mx.increment("learn_skipped_total", n, {{"reason", why}});
    }
    mx.increment("learn_batches_total", 1);
    Json out = res.to_json();
    if (!own_skip.is_null()) out["skipped_self"] = own_skip;
    return out;
  }

  MemoryCore& c_;
  StateIntake intake_;
  std::mutex mu_;
  std::vector<Json> buffer_;
  std::optional<std::chrono::steady_clock::time_point> last_catch_up_;  ///< flush() thread only
};

void register_learning(Host& host, MemoryCore& core, StateIntake intake) {
  auto learner = std::make_shared<Learner>(core, std::move(intake));
  // Tasks queued by versions before decision 0047 (durable on message.new and prompt.build)
  // drain through the same batch; nothing subscribes them any more.
  for (const char* name : {"memory.learn_message", "memory.learn_prompt"}) {
    host.tasks().add(
        {.name = name,
         .description = "Learns an event queued before decision 0047 (with its trace)",
         .handler = [learner](TaskContext& t) { return learner->learn_event(t.payload); },
         .retry = {.max_attempts = 5},
         .timeout = std::chrono::seconds(60)});
  }
  if (!learner->active()) return;  // nothing would be learned: no subscriber, no catch-up
  for (const char* type : {"message.new", "prompt.build"}) {
    host.events().subscribe(
        {.type = type, .handler = [learner](const Event& e) { learner->note(e); }});
  }
  core.flush_learning = [learner] { learner->flush(); };
}

}  // namespace jarvis::memory

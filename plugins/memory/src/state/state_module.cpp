// memory/src/state/state_module.cpp — registration of the structured-state half (see
// state_module.h): its tasks, durable subscriptions, periodic jobs, routes and CLI.
#include "state/state_module.h"

#include <chrono>
#include <future>
#include <list>
#include <memory>
#include <mutex>

#include "jarvis/sql.h"
#include "state/kpis.h"
#include "state/state_cli.h"
#include "state/state_engine.h"
#include "state/state_routes.h"

namespace jarvis::memory::state {

namespace {

constexpr const char* kModelTool = "chat.complete";
constexpr const char* kStateAgent = "agent:memory";
constexpr long long kReportWindowMs = 7LL * 24 * 3600 * 1000;
constexpr int kMaxExtractRounds = 20;
/// Pending messages older than this without a queued extraction are picked up by the sweep.
constexpr long long kSweepAgeMs = 30 * 1000;

std::string event_text(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The objects of the state half; every registered handler holds a reference.
struct StateModule {
  StateModule(jarvis::Host& h, const MemoryContext& c)
      : host(h),
        max_text_bytes(static_cast<std::size_t>(c.settings.max_item_bytes)),
        settings(from_host(h, c)),
        engine(h.db(), settings, &c.redactor, [&h](jarvis::Event e, jarvis::Transaction& tx) {
          h.events().emit(std::move(e), tx);
        }) {}

  static StateSettings from_host(jarvis::Host& h, const MemoryContext& c) {
    StateSettings s = StateSettings::from(h.config());
    s.writes_enabled = c.settings.writes_enabled;
    return s;
  }

  void refresh_kpis() {
    try {
      auto sql = host.db().session();
      kpis.publish(host.metrics(), compute_kpis(*sql));
    } catch (const std::exception& e) {
      host.log()->warn("memory state: refreshing the KPIs failed: {}", e.what());
    }
  }

  bool model_available() {
    if (settings.extraction_mode != "auto") return false;
    for (const auto& t : host.tools().list()) {
      if (t.name == kModelTool) return true;
    }
    return false;
  }

  // Grants agent:memory the model tool once per process (an admin's deny still wins).
  void ensure_grant() {
    std::lock_guard lock(grant_mu);
    if (granted) return;
    host.tools().grant_agent_tools(kStateAgent, {kModelTool});
    granted = true;
  }

  ModelCall model_for(const std::string& owner, const std::string& thread,
                      const std::string& trace) {
    return [this, owner, thread, trace](const std::string& system, const std::string& prompt,
                                        std::string& why) -> std::optional<std::string> {
      try {
        ensure_grant();
      } catch (const std::exception& e) {
        why = std::string("grant failed: ") + e.what();
        return std::nullopt;
      }
      jarvis::ToolCall call;
      call.caller = owner.empty() ? jarvis::Principal::system()
                                  : jarvis::Principal{owner, owner, jarvis::Role::User, true};
      call.agent_id = kStateAgent;
      call.tool = kModelTool;
      call.args = {{"prompt", prompt},
                   {"system", system},
                   {"max_tokens", settings.extraction_max_tokens},
                   {"purpose", "memory.state.extract"}};
      call.thread_id = thread;
      call.trace_id = trace;
      // STATE_EXTRACTION_TIMEOUT_SECONDS: the call runs on its own thread; past the timeout the
      // run goes on by rules and the late answer is dropped (the thread is joined later).
      std::future<jarvis::ToolResult> pending =
          std::async(std::launch::async, [this, call] { return host.tools().invoke(call); });
      if (pending.wait_for(std::chrono::seconds(settings.extraction_timeout_seconds)) !=
          std::future_status::ready) {
        std::lock_guard lock(late_mu);
        late.remove_if([](std::future<jarvis::ToolResult>& f) {
          return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
        });
        late.push_back(std::move(pending));
        why = "timed out after " + std::to_string(settings.extraction_timeout_seconds) + " s";
        host.metrics().increment("state_extraction_timeouts_total", 1);
        return std::nullopt;
      }
      jarvis::ToolResult r = pending.get();
      if (!r.allowed) {
        why = "denied: " + r.reason;
        return std::nullopt;
      }
      if (!r.ok) {
        why = "failed";
        if (r.result.is_object() && r.result.contains("error") && r.result["error"].is_object()) {
          why += ": " + event_text(r.result["error"], "code");
        }
        return std::nullopt;
      }
      if (!r.result.is_object() || !r.result.contains("text") || !r.result["text"].is_string()) {
        why = "no text in the answer";
        return std::nullopt;
      }
      return r.result["text"].get<std::string>();
    };
  }

  jarvis::Host& host;
  std::size_t max_text_bytes;  ///< MEMORY_MAX_ITEM_BYTES: longer message texts are cut
  StateSettings settings;
  StateEngine engine;
  KpiPublisher kpis;
  std::mutex grant_mu;
  bool granted = false;
  /// Model calls that outlived STATE_EXTRACTION_TIMEOUT_SECONDS; declared last, so destroying
  /// the module first waits for them (a future of std::async joins its thread).
  std::mutex late_mu;
  std::list<std::future<jarvis::ToolResult>> late;
};

// Queues the extraction of every thread with pending messages: ONE task for all threads
// (debounced: STATE_EXTRACTION_DEBOUNCE_SECONDS; below chat's steps in the queue). Not one per
// thread: every not-yet-due queued task is walked by each of the workers' claims (decision 0047).
// Slot 0 is the intake's key; a run that leaves messages behind queues the other slot, whose key
// is not its own (a key matching a running task would join it).
void enqueue_extraction(StateModule& m, jarvis::Transaction* tx, int slot = 0,
                        long long delay_ms = -1) {
  jarvis::EnqueueOptions o{
      .payload = {{"slot", slot}},
      .run_after =
          jarvis::iso_from_now(delay_ms >= 0 ? delay_ms : m.settings.debounce_seconds * 1000),
      .priority = -1,
      .idempotency_key = slot == 0 ? "memory.state.extract" : "memory.state.extract:next"};
  if (tx) {
    m.host.tasks().enqueue("memory.state.extract", std::move(o), *tx);
  } else {
    m.host.tasks().enqueue("memory.state.extract", std::move(o));
  }
}

// The learner's hand-over (StateIntake): the text is redacted already.
bool intake(StateModule& m, jarvis::Transaction& tx, const LearnedMessage& lm) {
  if (!m.settings.extraction_writes()) return false;
  if (lm.text.empty() || lm.text[0] == '/') return false;
  if (lm.role != "user" && lm.role != "assistant") return false;
  PendingMessage msg{.message_id = lm.message_id,
                     .owner_id = lm.owner_id,
                     .thread_id = lm.thread_id,
                     .agent_id = lm.agent_id,
                     .role = lm.role,
                     .text = lm.text,
                     .message_at = lm.message_at};
  if (msg.text.size() > m.max_text_bytes) {
    std::size_t cut = m.max_text_bytes;
    while (cut > 0 && (static_cast<unsigned char>(msg.text[cut]) & 0xC0) == 0x80) --cut;
    msg.text.resize(cut);  // never inside a UTF-8 sequence
  }
  state_store::add_pending(tx.session(), msg);
  enqueue_extraction(m, &tx);
  return true;
}

// Threads whose pending messages waited long without an extraction (a message that arrived
// while the thread's extraction was finishing): queue it. Reads only when there are none.
Json on_sweep(StateModule& m) {
  if (!m.settings.extraction_writes()) return {{"skipped", "extraction_disabled"}};
  Json rows;
  {
    auto sql = m.host.db().session();
    rows = jarvis::sql::all_rows(*sql,
                                 "SELECT thread_id FROM memory_state_pending GROUP BY thread_id "
                                 "HAVING MIN(created_at) < :c LIMIT 200",
                                 {jarvis::iso_from_now(-kSweepAgeMs)});
  }
  Json queued = Json::array();
  for (const auto& r : rows) queued.push_back(state_store::row_text(r, "thread_id"));
  if (!queued.empty()) enqueue_extraction(m, nullptr, 0, 0);
  return {{"queued", queued}};
}

// memory.state.on_message: tasks queued by versions before decision 0047 (durable on message.new;
// the learner hands messages over now).
Json on_message(StateModule& m, jarvis::TaskContext& t) {
  const Json& ev = t.payload;
  const Json payload =
      ev.contains("payload") && ev["payload"].is_object() ? ev["payload"] : Json::object();
  std::string text = event_text(payload, "text");
  if (text.empty()) text = event_text(payload, "content");
  const std::string thread = event_text(ev, "thread_id");
  if (text.empty()) return {{"skipped", "no_text"}};
  if (thread.empty()) return {{"skipped", "no_thread"}};
  if (text[0] == '/') return {{"skipped", "command"}};  // slash commands are no conversation
  std::string role = event_text(payload, "role");
  const std::string actor_type = event_text(ev, "actor_type");
  if (role.empty()) role = actor_type == "user" ? "user" : "assistant";
  if (role != "user" && role != "assistant") return {{"skipped", "role"}};
  auto owner = m.host.threads().owner(thread);
  if (!owner) return {{"skipped", "unowned_thread"}};
  PendingMessage msg;
  msg.message_id = event_text(payload, "message_id");
  if (msg.message_id.empty()) msg.message_id = event_text(ev, "id");
  msg.owner_id = *owner;
  msg.thread_id = thread;
  msg.agent_id = actor_type == "agent" ? event_text(ev, "actor_id") : "";
  msg.role = role;
  if (text.size() > m.max_text_bytes) {
    std::size_t cut = m.max_text_bytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);  // never inside a UTF-8 sequence
  }
  msg.text = text;
  msg.message_at = event_text(ev, "created_at");
  auto tx = m.host.db().transaction();
  if (!m.engine.add_pending(*tx, msg)) {
    tx->commit();  // the redaction audit of a denied text is kept
    return {{"skipped", "not_stored"}};
  }
  enqueue_extraction(m, tx.get());
  tx->commit();
  return {{"queued", msg.message_id}};
}

Json extract_thread(StateModule& m, jarvis::TaskContext& t, const std::string& thread);

// memory.state.extract: {"slot"} = every thread with pending messages, oldest first, each its own
// run (model call, transaction); {"thread_id"} = one thread (tasks queued before decision 0047).
Json on_extract(StateModule& m, jarvis::TaskContext& t) {
  if (t.payload.contains("thread_id")) {
    return extract_thread(m, t, event_text(t.payload, "thread_id"));
  }
  const int slot = t.payload.value("slot", 0);
  Json threads;
  {
    auto sql = m.host.db().session();
    threads = jarvis::sql::all_rows(*sql,
                                    "SELECT thread_id, MIN(created_at) AS first FROM "
                                    "memory_state_pending GROUP BY thread_id ORDER BY first "
                                    "LIMIT 500");
  }
  Json runs = Json::array();
  bool stopped = false;
  for (const auto& row : threads) {
    if (t.should_stop()) {
      stopped = true;
      break;
    }
    const std::string thread = state_store::row_text(row, "thread_id");
    try {
      Json r = extract_thread(m, t, thread);
      r["thread_id"] = thread;
      runs.push_back(std::move(r));
    } catch (const std::exception& e) {
      // One thread's failure does not hold the others back; its messages stay pending.
      m.host.log()->warn("memory state: extraction of thread '{}' failed: {}", thread, e.what());
    }
  }
  long long left = 0;
  {
    auto sql = m.host.db().session();
    left = jarvis::sql::scalar_int(*sql, "SELECT COUNT(*) FROM memory_state_pending");
  }
  // Messages that arrived during the run (their enqueue joined this task), a thread that failed,
  // or more than one run's worth: the other slot goes on shortly.
  if (left > 0) enqueue_extraction(m, nullptr, 1 - slot, stopped ? 5000 : 1000);
  return {{"runs", runs}, {"pending_left", left}};
}

Json extract_thread(StateModule& m, jarvis::TaskContext& t, const std::string& thread) {
  if (thread.empty()) return {{"skipped", "no_thread"}};
  std::string owner;
  {
    auto sql = m.host.db().session();
    Json row = jarvis::sql::one_row(
        *sql, "SELECT owner_id FROM memory_state_pending WHERE thread_id = :t LIMIT 1", {thread});
    if (row.is_null()) return {{"skipped", "nothing_pending"}};
    owner = state_store::row_text(row, "owner_id");
  }
  ModelCall model;
  if (m.model_available()) model = m.model_for(owner, thread, t.trace_id);
  Json r = m.engine.run_extraction(thread, model);
  if (r.contains("run_id")) m.refresh_kpis();
  // More than one run's worth, or a run that collided with another: go on shortly.
  const int round = t.payload.value("round", 0);
  long long left = 0;
  {
    auto sql = m.host.db().session();
    left = jarvis::sql::scalar_int(
        *sql, "SELECT COUNT(*) FROM memory_state_pending WHERE thread_id = :t", {thread});
  }
  if (left > 0 && t.payload.contains("thread_id") && round < kMaxExtractRounds) {
    m.host.tasks().enqueue("memory.state.extract",
                           {.payload = {{"thread_id", thread}, {"round", round + 1}},
                            .run_after = jarvis::iso_from_now(1000),
                            .idempotency_key = "memory.state.extract:" + thread +
                                               ":round:" + std::to_string(round + 1),
                            .trace_id = t.trace_id});
    r["pending_left"] = left;
  }
  return r;
}

Json on_failure(StateModule& m, jarvis::TaskContext& t) {
  const std::string thread = event_text(t.payload, "thread_id");
  std::string owner;
  if (!thread.empty()) owner = m.host.threads().owner(thread).value_or("");
  Json r = m.engine.record_failure_event(t.payload, owner);
  return r;
}

Json on_consistency(StateModule& m) {
  if (!m.settings.writes_enabled) return {{"skipped", "memory_writes_disabled"}};
  Json threads;
  {
    auto sql = m.host.db().session();
    threads = jarvis::sql::all_rows(
        *sql,
        "SELECT i.owner_id AS owner_id, i.thread_id AS thread_id, MAX(i.updated_at) AS changed "
        "FROM memory_state_items i WHERE i.thread_id <> '' GROUP BY i.owner_id, i.thread_id "
        "ORDER BY changed DESC LIMIT 200");
  }
  Json made = Json::array();
  for (const auto& row : threads) {
    if (made.size() >= 50) break;
    const std::string owner = state_store::row_text(row, "owner_id");
    const std::string thread = state_store::row_text(row, "thread_id");
    const std::string changed = state_store::row_text(row, "changed");
    {
      auto sql = m.host.db().session();
      Json last = jarvis::sql::one_row(*sql,
                                       "SELECT MAX(created_at) AS at FROM "
                                       "memory_consistency_reports WHERE owner_id = :o AND "
                                       "thread_id = :t AND created_by = 'memory.state.consistency'",
                                       {owner, thread});
      const std::string at = state_store::row_text(last, "at");
      if (!at.empty() && at >= changed) continue;  // nothing changed since its last report
    }
    ReportScope s{.owner_id = owner,
                  .all_owners = false,
                  .thread_id = thread,
                  .from_ts = jarvis::iso_from_now(-kReportWindowMs),
                  .to_ts = jarvis::now_iso()};
    Json r = m.engine.create_report(s, "memory.state.consistency");
    made.push_back(r.value("id", ""));
  }
  return {{"reports", made}};
}

}  // namespace

StateIntake register_state(jarvis::Host& host, const jarvis::memory::MemoryContext& ctx) {
  auto m = std::make_shared<StateModule>(host, ctx);
  const StateSettings& s = m->settings;

  host.tasks().add({.name = "memory.state.extract",
                    .description = "Extract structured state from a thread's pending messages",
                    .handler = [m](jarvis::TaskContext& t) { return on_extract(*m, t); },
                    .timeout = std::chrono::seconds(600)});
  host.tasks().add({.name = "memory.state.on_message",
                    .description = "Queue a message's text for state extraction (tasks queued "
                                   "before decision 0047)",
                    .handler = [m](jarvis::TaskContext& t) { return on_message(*m, t); }});
  host.tasks().add({.name = "memory.state.failure",
                    .description = "Record a task, tool or provider failure as a failure item",
                    .handler = [m](jarvis::TaskContext& t) { return on_failure(*m, t); }});
  host.tasks().add({.name = "memory.state.consistency",
                    .description = "Store consistency reports of threads whose state changed",
                    .handler = [m](jarvis::TaskContext&) { return on_consistency(*m); }},
                   jarvis::TaskAccess::Admin);
  host.tasks().add({.name = "memory.state.kpis",
                    .description = "Refresh the state KPIs on /metrics (reads only)",
                    .handler = [m](jarvis::TaskContext&) {
                      m->refresh_kpis();
                      return Json{{"ok", true}};
                    }});

  host.tasks().add({.name = "memory.state.sweep",
                    .description = "Queue the extraction of threads whose messages waited",
                    .handler = [m](jarvis::TaskContext&) { return on_sweep(*m); }});

  // Subscriptions only where their toggle lets them write: a process with the toggle off queues
  // nothing for them (the data already stored stays). Messages arrive through the learner
  // (the returned intake), not a subscription of their own.
  if (s.bridge_writes()) {
    for (const char* type :
         {"task.failed", "task.dead_letter", "model.run.error", "agent.tool.result"}) {
      host.events().subscribe_durable({.type = type, .task = "memory.state.failure"});
    }
  }
  host.tasks().add_periodic(
      {.name = "memory.state.kpis", .cron_expr = "@every:60", .task = "memory.state.kpis"});
  if (s.extraction_writes()) {
    host.tasks().add_periodic(
        {.name = "memory.state.sweep", .cron_expr = "@every:60", .task = "memory.state.sweep"});
  }
  if (s.writes_enabled && !s.consistency_cron.empty()) {
    host.tasks().add_periodic({.name = "memory.state.consistency",
                               .cron_expr = s.consistency_cron,
                               .task = "memory.state.consistency"});
  }

  std::shared_ptr<StateEngine> engine(m, &m->engine);
  register_state_routes(host, engine, [m] { m->refresh_kpis(); });
  register_state_cli(host, engine);
  if (!s.extraction_writes()) return {};
  return [m](jarvis::Transaction& tx, const LearnedMessage& lm) { return intake(*m, tx, lm); };
}

}  // namespace jarvis::memory::state

// chat/src/step.cpp — the agent step and thread compaction (see step.h).
#include "step.h"

#include <chrono>
#include <set>

#include "agent/prompt.h"
#include "agent/slash.h"
#include "agent/text_budget.h"
#include "step_heartbeat.h"
#include "store.h"

namespace chat {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kStepMaxAttempts = 3;
// How long a step waits before looking again when another step of its thread is running.
constexpr long long kDeferMs = 500;
constexpr std::size_t kMaxToolResultBytes = 64 * 1024;

const std::set<std::string> kDirectChannels{"web", "api", "cli"};

std::string json_text(const jarvis::Json& v, std::size_t max) {
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  if (s.size() > max) s = std::string(utf8_prefix(s, max)) + std::string(kTruncatedMarker);
  return s;
}

jarvis::Json calls_json(const std::vector<ToolCall>& calls) {
  jarvis::Json a = jarvis::Json::array();
  for (const auto& c : calls)
    a.push_back({{"id", c.id}, {"name", c.name}, {"arguments", c.arguments}});
  return a;
}

// The tool exchange rewritten as plain text, for a synthesis call without tools (some providers
// refuse tool calls in a history that offers no tools).
std::vector<Message> flatten_tools(const std::vector<Message>& convo) {
  std::vector<Message> out;
  for (const auto& m : convo) {
    if (m.role == "tool") {
      out.push_back({"user", "[tool_result " + m.tool_name + "] " + m.content, {}, "", ""});
    } else if (!m.tool_calls.empty()) {
      std::string text = m.content;
      for (const auto& c : m.tool_calls) {
        if (!text.empty()) text += '\n';
        text.append("[called ").append(c.name).append(" ").append(c.arguments.dump()).append("]");
      }
      out.push_back({"assistant", text, {}, "", ""});
    } else {
      out.push_back(m);
    }
  }
  return out;
}

std::string degraded_text(const ProviderError& e) {
  return "Sorry — I could not reach a language model just now (" + e.outage_class +
         "). Please try again in a moment.";
}

}  // namespace

// --- config ------------------------------------------------------------------------------------

StepConfig StepConfig::from(const jarvis::PluginConfig& c) {
  StepConfig s;
  s.max_tool_iterations = static_cast<int>(c.get_int("max_tool_iterations"));
  s.budget_tokens = static_cast<long>(c.get_int("prompt_budget_tokens"));
  for (const char* p : {"openai", "sglang", "gemini", "anthropic"}) {
    s.provider_budgets[p] =
        static_cast<long>(c.get_int(std::string("prompt_budget_") + p + "_tokens"));
  }
  s.compaction_every_n = static_cast<long>(c.get_int("compaction_every_n_events"));
  s.daily_token_limit = c.get_int("user_daily_token_limit");
  s.max_output_tokens = static_cast<int>(c.get_int("max_output_tokens"));
  s.heartbeat = std::chrono::seconds(c.get_int("step_heartbeat"));
  s.stale_after = std::chrono::seconds(c.get_int("step_stale_after"));
  return s;
}

long StepConfig::budget_for(const std::string& provider) const {
  auto it = provider_budgets.find(provider);
  return it != provider_budgets.end() && it->second > 0 ? it->second : budget_tokens;
}

// --- one run -----------------------------------------------------------------------------------

struct StepRunner::Run {
  jarvis::TaskContext* ctx = nullptr;
  std::string step_id, thread_id, message_id, trace_id, agent_id;
  std::string command_secret;  ///< an unlock code, from the payload (never stored)
  jarvis::Json thread;
  jarvis::Principal owner;
  jarvis::Principal sender;
  const AgentBundle* bundle = nullptr;
  std::unique_ptr<StepPublisher> pub;
  jarvis::CancelSource user_cancel;
  jarvis::CancelToken cancel;

  std::string reply;
  jarvis::Json meta = jarvis::Json::object();
  bool degraded = false;
  bool cancelled = false;
  std::string status = "done";
  std::string error;
  std::string provider, model;
  long long input_tokens = 0, output_tokens = 0, latency_ms = 0;  // the final model call
  long long total_input = 0, total_output = 0;                    // the whole step
  jarvis::Json tool_log = jarvis::Json::array();
};

StepRunner::StepRunner(jarvis::Host& host, LiveHub& hub, ModelRouter& router,
                       const BundleSet& bundles, StepConfig config)
    : host_(host), hub_(hub), router_(router), bundles_(bundles), config_(std::move(config)) {}

void StepRunner::enqueue_step(jarvis::Host& host, jarvis::Transaction& tx,
                              const std::string& step_id, const std::string& thread_id,
                              const std::string& owner_id, const std::string& message_id,
                              const std::string& trace_id, const jarvis::Principal& sender,
                              const std::string& agent_id, const std::string& command_secret) {
  ChatStore::create_step(tx.session(), step_id, thread_id, owner_id, message_id, trace_id);
  jarvis::Json payload = {
      {"step_id", step_id},
      {"thread_id", thread_id},
      {"message_id", message_id},
      {"trace_id", trace_id},
      {"sender",
       {{"user_id", sender.user_id}, {"username", sender.username}, {"admin", sender.is_admin()}}}};
  if (!agent_id.empty()) payload["agent_id"] = agent_id;
  if (!command_secret.empty()) payload["code"] = command_secret;
  host.tasks().enqueue("chat.agent_step",
                       {.payload = payload,
                        .idempotency_key = "chat.step:" + step_id,
                        .trace_id = trace_id,
                        .max_attempts = kStepMaxAttempts},
                       tx);
}

jarvis::Json StepRunner::run(jarvis::TaskContext& ctx) {
  Run r;
  r.ctx = &ctx;
  const jarvis::Json& p = ctx.payload;
  r.step_id = p.value("step_id", "");
  r.thread_id = p.value("thread_id", "");
  r.message_id = p.value("message_id", "");
  r.trace_id = p.value("trace_id", ctx.trace_id);
  if (p.contains("code") && p["code"].is_string()) r.command_secret = p["code"];
  if (r.step_id.empty() || r.thread_id.empty()) {
    throw jarvis::bad_request("payload needs step_id and thread_id", "invalid_payload");
  }

  // 1. Take the step.
  std::string state;
  {
    auto tx = host_.db().transaction();
    state = ChatStore::start_step(tx->session(), r.step_id, r.thread_id,
                                  jarvis::iso_from_now(-config_.stale_after.count()));
    if (state == "busy") {
      // Another step of this thread is running: look again shortly (a new task, so this one
      // ends and frees its worker).
      jarvis::Json again = p;
      int defers = p.value("defers", 0) + 1;
      again["defers"] = defers;
      host_.tasks().enqueue(
          "chat.agent_step",
          {.payload = again,
           .run_after = jarvis::iso_from_now(kDeferMs),
           .idempotency_key = "chat.step:" + r.step_id + ":" + std::to_string(defers),
           .trace_id = r.trace_id,
           .max_attempts = kStepMaxAttempts},
          *tx);
    }
    if (state == "cancel_requested") {
      ChatStore::finish_step(tx->session(), r.step_id, "cancelled", "", false, "cancelled");
    }
    tx->commit();
  }
  if (state == "busy") return {{"deferred", true}};
  r.pub = std::make_unique<StepPublisher>(hub_, r.thread_id, r.step_id, r.trace_id, ctx.attempt);
  if (state == "cancel_requested") {
    r.pub->send("error", {{"code", "cancelled"}, {"message", "the step was cancelled"}});
    r.pub->send("done", {{"message_id", nullptr},
                         {"trace_id", r.trace_id},
                         {"degraded", false},
                         {"cancelled", true}});
    return {{"cancelled", true}};
  }
  if (state != "running") return {{"skipped", state}};  // done already (a duplicate delivery)

  {
    auto sql = host_.db().session();
    r.thread = ChatStore::thread(*sql, r.thread_id);
  }
  if (r.thread.is_null()) {
    auto tx = host_.db().transaction();
    ChatStore::finish_step(tx->session(), r.step_id, "failed", "", false, "thread_deleted");
    tx->commit();
    return {{"skipped", "thread_deleted"}};
  }
  r.owner = jarvis::Principal{r.thread["owner_id"], "", jarvis::Role::User, true};
  const jarvis::Json sender = p.value("sender", jarvis::Json::object());
  r.sender = jarvis::Principal{
      sender.value("user_id", r.owner.user_id), sender.value("username", ""),
      sender.value("admin", false) ? jarvis::Role::Admin : jarvis::Role::User, true};
  if (r.sender.user_id.empty()) r.sender = r.owner;
  r.agent_id = p.value("agent_id", "main");
  r.bundle = bundles_.find(r.agent_id);
  if (!r.bundle) {
    r.agent_id = "main";
    r.bundle = bundles_.find("main");
  }

  // Cancellation: the user's (POST /cancel: a live push now, the flag each round) or the host's.
  r.cancel =
      jarvis::CancelToken::any(r.user_cancel.token(), jarvis::CancelToken::when(ctx.should_stop));
  auto* source = &r.user_cancel;
  const std::string step_id = r.step_id;
  auto cancel_sub =
      host_.threads().listen(r.thread_id, [source, step_id](const jarvis::LivePush& lp) {
        if (lp.message.is_object() && lp.message.value("type", "") == "agent.cancel" &&
            lp.message.value("step_id", "") == step_id) {
          source->cancel();
        }
      });
  // The heartbeat stays fresh during long model calls (and reads the cancel flag meanwhile).
  auto beat = std::make_unique<StepHeartbeat>(host_, r.step_id, config_.heartbeat,
                                              [source] { source->cancel(); });
  hub_.begin_step(r.step_id);
  r.pub->notify("agent.thinking", {{"agent_id", r.agent_id}});

  try {
    run_step(r);
  } catch (const std::exception& e) {
    if (ctx.should_stop() && !r.user_cancel.cancelled()) {
      // The host is stopping: leave the step running; the task runs again after the restart.
      beat.reset();
      cancel_sub.reset();
      hub_.end_step(r.step_id);
      throw;
    }
    if (ctx.attempt < kStepMaxAttempts) {
      beat.reset();
      cancel_sub.reset();
      hub_.end_step(r.step_id);
      throw;
    }
    host_.log()->error("chat: step {} failed: {}", r.step_id, e.what());
    r.status = "failed";
    r.error = e.what();
    r.degraded = true;
    r.reply = "Sorry — something went wrong while answering. Trace: " + r.trace_id;
  }
  beat.reset();
  cancel_sub.reset();
  try {
    finish(r);
  } catch (const std::exception& e) {
    // The reply could not be stored (the thread was deleted meanwhile, the database failed):
    // the tokens were still spent, the stream still ends, and a deleted thread is not retried.
    const auto* err = dynamic_cast<const jarvis::Error*>(&e);
    const bool gone = err && err->status() == 404;
    host_.log()->warn("chat: step {} could not store its reply: {}", r.step_id, e.what());
    if (r.total_input + r.total_output > 0) {
      try {
        auto tx = host_.db().transaction();
        ChatStore::add_usage(tx->session(), r.owner.user_id, utc_day(), r.total_input,
                             r.total_output);
        tx->commit();
      } catch (const std::exception& u) {
        host_.log()->error("chat: step {} usage not recorded: {}", r.step_id, u.what());
      }
    }
    r.pub->send("error",
                {{"code", gone ? "thread_not_found" : "reply_not_stored"},
                 {"message", gone ? "the thread was deleted" : "the reply was not stored"}});
    r.pub->send("done", {{"message_id", nullptr}, {"trace_id", r.trace_id}, {"degraded", true}});
    hub_.end_step(r.step_id);
    host_.metrics().increment("steps_total", 1, {{"outcome", gone ? "abandoned" : "failed"}});
    if (!gone) throw;
    return {{"step_id", r.step_id}, {"status", "abandoned"}, {"degraded", true}};
  }
  hub_.end_step(r.step_id);
  host_.metrics().increment("steps_total", 1, {{"outcome", r.status}});
  return {{"step_id", r.step_id}, {"status", r.status}, {"degraded", r.degraded}};
}

jarvis::Json StepRunner::run_step(Run& r) {
  // The user's message.
  jarvis::Json user_msg;
  {
    auto sql = host_.db().session();
    user_msg = ChatStore::message(*sql, r.message_id);
  }
  std::string text = user_msg.is_null() ? "" : user_msg.value("content", "");
  // The stored message says "/unlock ******"; the code came in the task payload.
  if (!r.command_secret.empty() && text == "/unlock ******") text = "/unlock " + r.command_secret;
  const long long user_seq = user_msg.is_null() ? 0 : user_msg.value("seq", 0LL);

  // 2. Slash commands never reach the model.
  if (auto cmd = parse_slash(text)) {
    SlashContext sctx{r.sender, r.thread_id, r.trace_id, r.thread.value("channel", "")};
    SlashReply rep;
    if (slash_env_) {
      rep = execute_slash(*cmd, sctx, *slash_env_);
    } else {
      rep.command = cmd->name;
      rep.outcome = "unavailable";
      rep.text = "commands are not available";
    }
    if (!rep.detail.empty()) host_.log()->warn("chat: /{} failed: {}", rep.command, rep.detail);
    if (rep.redact_input) {
      auto tx = host_.db().transaction();
      ChatStore::update_message_content(tx->session(), r.message_id, rep.stored_input);
      tx->commit();
    }
    host_.events().emit({.type = "command.executed",
                         .payload = rep.to_json(),
                         .thread_id = r.thread_id,
                         .trace_id = r.trace_id,
                         .actor_type = "user",
                         .actor_id = r.sender.user_id});
    r.reply = rep.text;
    r.meta["command"] = {{"name", rep.command}, {"outcome", rep.outcome}};
    r.agent_id = "main";
    return nullptr;
  }

  // 3. No provider configured.
  if (!router_.configured()) {
    r.reply = router_.not_configured_message();
    r.degraded = true;
    r.meta["not_configured"] = true;
    host_.events().emit({.type = "agent.response.degraded",
                         .payload = {{"step_id", r.step_id}, {"reason", "not_configured"}},
                         .thread_id = r.thread_id,
                         .trace_id = r.trace_id,
                         .actor_type = "agent",
                         .actor_id = r.bundle->principal()});
    return nullptr;
  }

  // Which provider/model: the thread's override ("provider:model" or "model"), else the order.
  ModelRequest base;
  base.trace_id = r.trace_id;
  base.thread_id = r.thread_id;
  base.cancel = r.cancel;
  base.max_output_tokens = config_.max_output_tokens;
  base.purpose = "chat.step";
  const jarvis::Json& settings = r.thread["settings"];
  if (settings["model_override"].is_string()) {
    std::string o = settings["model_override"];
    auto colon = o.find(':');
    if (colon != std::string::npos) {
      base.provider = o.substr(0, colon);
      base.model = o.substr(colon + 1);
    } else {
      base.model = o;
    }
  }
  std::vector<std::string> order = router_.order();
  const std::string budget_provider =
      !base.provider.empty() ? base.provider : (order.empty() ? "" : order.front());
  const long budget = config_.budget_for(budget_provider);

  // 4. Compaction when due, then the prompt.
  jarvis::Json summary;
  jarvis::Json rows;
  long long unsummarised = 0;  // every message since the summary, not only the window's
  auto load = [&] {
    auto sql = host_.db().session();
    summary = ChatStore::summary(*sql, r.thread_id);
    long long covers = summary.is_null() ? 0 : summary.value("covers_seq", 0LL);
    rows = ChatStore::recent_messages(*sql, r.thread_id, covers, kHistoryLimit);
    unsummarised = ChatStore::count_messages_after(*sql, r.thread_id, covers);
  };
  load();
  {
    jarvis::Json upto = jarvis::Json::array();
    for (const auto& m : rows) {
      if (user_seq == 0 || m.value("seq", 0LL) <= user_seq) upto.push_back(m);
    }
    rows = upto;
  }
  std::vector<Message> history = to_messages(rows);
  CompactionCheck check = needs_compaction(history, budget, config_.compaction_every_n);
  if (!check.needed && unsummarised > kHistoryLimit) {
    // Older messages than the window would be in neither the prompt nor the summary.
    check.needed = true;
    check.reason = "history_window";
  } else if (!check.needed && config_.compaction_every_n > 0 &&
             unsummarised >= config_.compaction_every_n) {
    check.needed = true;
    check.reason = "every_n_events";
  }
  if (check.needed && (check.reason == "budget" || check.reason == "history_window")) {
    compact_thread(r.thread_id, r.trace_id, true, r.cancel);
    load();
    jarvis::Json upto = jarvis::Json::array();
    for (const auto& m : rows) {
      if (user_seq == 0 || m.value("seq", 0LL) <= user_seq) upto.push_back(m);
    }
    history = to_messages(upto);
  } else if (check.needed) {
    auto tx = host_.db().transaction();
    host_.tasks().enqueue("chat.compact_thread",
                          {.payload = {{"thread_id", r.thread_id}, {"trace_id", r.trace_id}},
                           .idempotency_key = "chat.compact:" + r.thread_id,
                           .trace_id = r.trace_id},
                          *tx);
    tx->commit();
  }

  const std::vector<jarvis::ToolInfo> registered = host_.tools().list();
  std::vector<ToolDef> tools = tool_defs_for(*r.bundle, registered);
  std::set<std::string> offered;
  for (const auto& t : tools) offered.insert(t.name);

  PromptInput in;
  in.bundle = r.bundle;
  in.summary = summary.is_null() ? "" : summary.value("summary", "");
  if (offered.count("memory.search") && !text.empty()) {
    jarvis::ToolResult mem = host_.tools().invoke({.caller = r.owner,
                                                   .agent_id = r.bundle->principal(),
                                                   .tool = "memory.search",
                                                   .args = {{"query", text}},
                                                   .thread_id = r.thread_id,
                                                   .trace_id = r.trace_id});
    if (mem.ok) in.context.push_back({"memory.search", json_text(mem.result, 16 * 1024)});
  }
  in.history = history;
  in.tools = tools;
  in.environment.now = std::chrono::system_clock::now();
  in.environment.lockdown = host_.system().lockdown();
  in.environment.restarting = host_.system().restarting();
  in.environment.agents = bundles_.ids();
  in.environment.channel = r.thread.value("channel", "");
  in.budget_tokens = budget;
  Prompt prompt = build_prompt(in);
  host_.events().emit({.type = "prompt.build",
                       .payload = prompt.report.to_json(),
                       .thread_id = r.thread_id,
                       .trace_id = r.trace_id,
                       .actor_type = "agent",
                       .actor_id = r.bundle->principal()});

  std::vector<Message> convo = prompt.messages;
  const int max_actions = std::max(1, r.bundle->identity.max_actions_per_step);
  int actions = 0;
  std::map<std::string, int> failed_calls;

  // A retried step (a restart or kill -9 mid-step, a failed attempt) resumes after the tool
  // rounds an earlier attempt stored — each round was committed whole, in one transaction — so
  // no tool runs twice and the limits count what already ran.
  int resumed_rounds = 0;
  if (r.ctx->attempt > 1) {
    jarvis::Json later;
    {
      auto sql = host_.db().session();
      later = ChatStore::recent_messages(*sql, r.thread_id, user_seq, kHistoryLimit);
    }
    jarvis::Json mine = jarvis::Json::array();
    std::map<std::string, std::string> key_of_call;  // call id → name + arguments
    for (const auto& m : later) {
      if (m.value("step_id", "") != r.step_id) continue;
      const std::string role = m.value("role", "");
      if (role == "assistant" && m["tool_calls"].is_array() && !m["tool_calls"].empty()) {
        ++resumed_rounds;
        for (const auto& c : m["tool_calls"]) {
          key_of_call[c.value("id", "")] =
              c.value("name", "") + "\n" +
              (c.contains("arguments") ? c["arguments"] : jarvis::Json::object()).dump();
        }
        r.total_input += m.value("input_tokens", 0LL);
        r.total_output += m.value("output_tokens", 0LL);
        mine.push_back(m);
      } else if (role == "tool") {
        const jarvis::Json meta = m.value("meta", jarvis::Json::object());
        const std::string kind = meta.is_object() ? meta.value("result", "") : "";
        if (kind != "loop_breaker" && kind != "limit") ++actions;
        if (kind != "ok" && kind != "loop_breaker") {
          ++failed_calls[key_of_call[m.value("tool_call_id", "")]];
        }
        r.tool_log.push_back({{"name", m.value("tool_name", "")}, {"result", kind}});
        mine.push_back(m);
      }
    }
    for (auto& m : to_messages(mine)) convo.push_back(std::move(m));
    if (resumed_rounds > 0) {
      r.meta["resumed_rounds"] = resumed_rounds;
      host_.log()->info("chat: step {} attempt {} resumes after {} stored tool round(s)", r.step_id,
                        r.ctx->attempt, resumed_rounds);
    }
  }

  // One model call: deltas streamed, metrics and totals recorded.
  auto call_model = [&](const std::vector<Message>& messages,
                        const std::vector<ToolDef>& offer) -> ModelResult {
    ModelRequest req = base;
    req.messages = messages;
    req.tools = offer;
    StreamSink sink;
    sink.on_text = [&](std::string_view t) {
      if (!t.empty()) r.pub->send("delta", {{"text", std::string(t)}});
    };
    auto t0 = Clock::now();
    ModelResult res = router_.generate(req, sink, nullptr);
    long long ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
    if (res.latency_ms <= 0) res.latency_ms = ms;
    // The router records model latency, tokens and fallbacks (jarvis_plugin_chat_model_*).
    r.total_input += res.input_tokens;
    r.total_output += res.output_tokens;
    r.provider = res.provider;
    r.model = res.model;
    r.input_tokens = res.input_tokens;
    r.output_tokens = res.output_tokens;
    r.latency_ms = res.latency_ms;
    return res;
  };

  bool exhausted = true;
  bool breaker = false;
  try {
    for (int iteration = resumed_rounds; iteration < config_.max_tool_iterations; ++iteration) {
      const bool may_call = actions < max_actions && !tools.empty();
      ModelResult res = call_model(convo, may_call ? tools : std::vector<ToolDef>{});
      if (res.tool_calls.empty()) {
        r.reply = res.text;
        exhausted = false;
        break;
      }
      // A tool round: the assistant's calls, then one result per call.
      Message assistant{"assistant", res.text, res.tool_calls, "", ""};
      std::vector<NewMessage> stored;
      stored.push_back({.role = "assistant",
                        .content = res.text,
                        .tool_calls = calls_json(res.tool_calls),
                        .agent_id = r.agent_id,
                        .provider = res.provider,
                        .model = res.model,
                        .input_tokens = res.input_tokens,
                        .output_tokens = res.output_tokens,
                        .latency_ms = res.latency_ms,
                        .step_id = r.step_id,
                        .trace_id = r.trace_id});
      convo.push_back(assistant);
      std::vector<jarvis::Event> tool_events;
      for (ToolCall call : res.tool_calls) {
        if (call.id.empty()) call.id = jarvis::new_id("call");
        r.pub->send("tool_call",
                    {{"id", call.id}, {"name", call.name}, {"arguments", call.arguments}});
        const std::string key = call.name + "\n" + call.arguments.dump();
        jarvis::Json outcome;
        std::string result_kind;
        if (failed_calls[key] >= 1) {
          breaker = true;
          result_kind = "loop_breaker";
          outcome = {
              {"error",
               {{"code", "repeated_failing_call"},
                {"message", "this exact call already failed in this step; do not repeat it"}}}};
        } else if (actions >= max_actions) {
          result_kind = "limit";
          outcome = {{"error",
                      {{"code", "max_actions_exceeded"},
                       {"message", "at most " + std::to_string(max_actions) +
                                       " tool calls per step; answer with what you have"}}}};
        } else if (!offered.count(call.name)) {
          ++actions;
          result_kind = "not_allowed";
          outcome = {{"error",
                      {{"code", "tool_not_allowed"},
                       {"message", "tool '" + call.name + "' is not available to this agent"}}}};
        } else {
          ++actions;
          jarvis::ToolResult tr = host_.tools().invoke({.caller = r.owner,
                                                        .agent_id = r.bundle->principal(),
                                                        .tool = call.name,
                                                        .args = call.arguments,
                                                        .thread_id = r.thread_id,
                                                        .trace_id = r.trace_id});
          if (tr.ok) {
            result_kind = "ok";
            outcome = {{"result", tr.result}};
          } else if (!tr.allowed) {
            result_kind = tr.reason == "invalid_args" ? "invalid_args" : "denied";
            jarvis::Json err = tr.result.is_object() && tr.result.contains("error")
                                   ? tr.result["error"]
                                   : jarvis::Json{{"code", tr.reason}};
            if (result_kind == "denied") {
              err = {{"code", "tool_denied"},
                     {"reason", tr.reason},
                     {"message", "the call was denied by policy (" + tr.reason + ")"}};
            }
            outcome = {{"error", err}};
          } else {
            result_kind = "failed";
            outcome = {{"error", tr.result.is_object() && tr.result.contains("error")
                                     ? tr.result["error"]
                                     : jarvis::Json{{"code", "tool_failed"}}}};
          }
        }
        const bool ok = result_kind == "ok";
        if (!ok && result_kind != "loop_breaker") ++failed_calls[key];
        host_.metrics().increment("tool_calls_total", 1,
                                  {{"tool", call.name}, {"result", result_kind}});
        jarvis::Json sse = {{"id", call.id}, {"name", call.name}, {"ok", ok}};
        if (ok) {
          sse["result"] = outcome["result"];
        } else {
          sse["error"] = outcome["error"];
        }
        r.pub->send("tool_result", sse);
        r.tool_log.push_back({{"name", call.name}, {"result", result_kind}});
        const std::string content = json_text(outcome, kMaxToolResultBytes);
        stored.push_back({.role = "tool",
                          .content = content,
                          .tool_call_id = call.id,
                          .tool_name = call.name,
                          .agent_id = r.agent_id,
                          .step_id = r.step_id,
                          .trace_id = r.trace_id,
                          .meta = {{"ok", ok}, {"result", result_kind}}});
        tool_events.push_back({.type = "agent.tool.result",
                               .payload = {{"step_id", r.step_id},
                                           {"tool", call.name},
                                           {"call_id", call.id},
                                           {"result", result_kind}},
                               .thread_id = r.thread_id,
                               .trace_id = r.trace_id,
                               .actor_type = "agent",
                               .actor_id = r.bundle->principal()});
        convo.push_back({"tool", content, {}, call.id, call.name});
      }
      bool cancel_flag = false;
      {
        auto tx = host_.db().transaction();
        ChatStore::insert_messages(tx->session(), r.thread_id, stored);
        for (auto& e : tool_events) host_.events().emit(e, *tx);
        cancel_flag = ChatStore::heartbeat_step(tx->session(), r.step_id);
        tx->commit();
      }
      if (cancel_flag) r.user_cancel.cancel();
      if (r.cancel.cancelled()) {
        throw ProviderError("cancelled", "provider_unavailable", "cancelled");
      }
      if (breaker) break;
    }
    if (exhausted) {
      // 5b. Terminal synthesis: one more call, without tools, over a text-only transcript.
      std::vector<Message> synth = flatten_tools(convo);
      synth.push_back({"user",
                       "[notice] The tool budget of this step is used up. Answer the user now "
                       "with what you have, without calling tools.",
                       {},
                       "",
                       ""});
      ModelResult res = call_model(synth, {});
      r.reply = res.text;
      r.meta["terminal_synthesis"] = breaker ? "loop_breaker" : "iterations_exhausted";
      if (r.reply.empty()) {
        r.reply =
            "I used every tool round of this step without reaching an answer. Trace: " + r.trace_id;
        r.degraded = true;
        host_.events().emit(
            {.type = "agent.response.degraded",
             .payload = {{"step_id", r.step_id}, {"reason", "empty_after_terminal_synthesis"}},
             .thread_id = r.thread_id,
             .trace_id = r.trace_id,
             .actor_type = "agent",
             .actor_id = r.bundle->principal()});
      }
    }
  } catch (const ProviderError& e) {
    if (e.kind == "cancelled" || r.user_cancel.cancelled()) {
      if (!r.user_cancel.cancelled() && r.ctx->should_stop()) throw;  // host stopping: retry
      r.cancelled = true;
      r.status = "cancelled";
      r.meta["cancelled"] = true;
      r.pub->send("error", {{"code", "cancelled"}, {"message", "the step was cancelled"}});
      return nullptr;
    }
    r.degraded = true;
    r.reply = degraded_text(e);
    r.meta["error"] = {{"kind", e.kind}, {"outage_class", e.outage_class}};
    r.pub->send("error", {{"code", e.outage_class}, {"message", r.reply}});
    host_.events().emit({.type = "agent.response.degraded",
                         .payload = {{"step_id", r.step_id},
                                     {"reason", "provider_error"},
                                     {"kind", e.kind},
                                     {"outage_class", e.outage_class},
                                     {"provider", e.provider}},
                         .thread_id = r.thread_id,
                         .trace_id = r.trace_id,
                         .actor_type = "agent",
                         .actor_id = r.bundle->principal()});
  }
  return nullptr;
}

void StepRunner::finish(Run& r) {
  const bool verbose = r.thread["settings"].value("verbose", false);
  std::string content = r.reply;
  if (!r.tool_log.empty()) r.meta["tools"] = r.tool_log;
  r.meta["degraded"] = r.degraded;
  if (verbose && !r.cancelled && !r.meta.contains("command")) {
    std::string footer = "\n\n— ";
    footer += r.provider.empty() ? "no model" : r.provider + "/" + r.model;
    footer += " · " + std::to_string(r.total_input) + " in / " + std::to_string(r.total_output) +
              " out tokens";
    if (!r.tool_log.empty()) {
      footer += " · tools:";
      for (const auto& t : r.tool_log) {
        footer += " " + t.value("name", "") + " (" + t.value("result", "") + ")";
      }
    }
    content += footer;
    r.meta["footer_bytes"] = footer.size();
  }
  const bool store_reply = !(r.cancelled && content.empty());
  std::string reply_id;
  jarvis::Json stored_msg = nullptr;
  const std::string channel = r.thread.value("channel", "api");
  {
    auto tx = host_.db().transaction();
    auto& sql = tx->session();
    if (store_reply) {
      auto ids = ChatStore::insert_messages(sql, r.thread_id,
                                            {{.role = "assistant",
                                              .content = content,
                                              .agent_id = r.agent_id,
                                              .provider = r.provider,
                                              .model = r.model,
                                              .input_tokens = r.input_tokens,
                                              .output_tokens = r.output_tokens,
                                              .latency_ms = r.latency_ms,
                                              .step_id = r.step_id,
                                              .trace_id = r.trace_id,
                                              .meta = r.meta}});
      reply_id = ids.front().id;
      stored_msg = ChatStore::message(sql, reply_id);
      host_.events().emit({.type = "message.new",
                           // The reply without the verbose footer, for subscribers such as memory;
                           // command replies and degraded answers say so.
                           .payload = {{"message_id", reply_id},
                                       {"role", "assistant"},
                                       {"step_id", r.step_id},
                                       {"text", r.reply},
                                       {"command", r.meta.contains("command")},
                                       {"degraded", r.degraded}},
                           .thread_id = r.thread_id,
                           .trace_id = r.trace_id,
                           .actor_type = "agent",
                           .actor_id = "agent:" + r.agent_id},
                          *tx);
      if (!kDirectChannels.count(channel) && !r.cancelled) {
        host_.events().emit({.type = "channel.outbound",
                             .payload = {{"channel", channel},
                                         {"thread_id", r.thread_id},
                                         {"recipient", r.thread["external_ref"]},
                                         {"text", r.reply},
                                         {"message_id", reply_id}},
                             .thread_id = r.thread_id,
                             .trace_id = r.trace_id,
                             .actor_type = "agent",
                             .actor_id = "agent:" + r.agent_id},
                            *tx);
      }
    }
    if (r.total_input + r.total_output > 0) {
      ChatStore::add_usage(sql, r.owner.user_id, utc_day(), r.total_input, r.total_output);
      ChatStore::add_purpose_usage(sql, utc_day(), r.owner.user_id, "chat.step", r.total_input,
                                   r.total_output);
    }
    ChatStore::finish_step(sql, r.step_id, r.status, reply_id, r.degraded, r.error);
    host_.events().emit({.type = "agent.done",
                         .payload = {{"step_id", r.step_id},
                                     {"message_id", reply_id.empty() ? jarvis::Json(nullptr)
                                                                     : jarvis::Json(reply_id)},
                                     {"status", r.status},
                                     {"degraded", r.degraded}},
                         .thread_id = r.thread_id,
                         .trace_id = r.trace_id,
                         .actor_type = "agent",
                         .actor_id = "agent:" + r.agent_id},
                        *tx);
    tx->commit();
  }
  if (!stored_msg.is_null()) r.pub->send("message", stored_msg);
  jarvis::Json done = {
      {"message_id", reply_id.empty() ? jarvis::Json(nullptr) : jarvis::Json(reply_id)},
      {"trace_id", r.trace_id},
      {"degraded", r.degraded}};
  if (r.cancelled) done["cancelled"] = true;
  r.pub->send("done", done);
}

}  // namespace chat

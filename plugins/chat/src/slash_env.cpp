// chat/src/slash_env.cpp — see slash_env.h.
#include "slash_env.h"

#include "sql_rows.h"
#include "store.h"

namespace chat {

std::string ChatSlashEnv::new_thread(const SlashContext& ctx) {
  jarvis::Json old;
  {
    auto sql = host_.db().session();
    old = ChatStore::thread(*sql, ctx.thread_id);
  }
  if (old.is_null()) throw jarvis::Error(404, "thread_not_found", "this thread no longer exists");
  const std::string owner = old["owner_id"];
  const std::string id = jarvis::new_id("thr");
  host_.threads().claim(id, owner);
  auto tx = host_.db().transaction();
  ChatStore::update_thread(tx->session(), ctx.thread_id, {{"status", "closed"}});
  ChatStore::create_thread(
      tx->session(), id, owner, old.value("channel", "api"),
      old["external_ref"].is_string() ? old["external_ref"].get<std::string>() : "", "");
  host_.events().emit(
      {.type = "thread.created",
       .payload = {{"channel", old.value("channel", "api")}, {"replaces", ctx.thread_id}},
       .thread_id = id,
       .trace_id = ctx.trace_id,
       .actor_type = "user",
       .actor_id = ctx.principal.user_id},
      *tx);
  tx->commit();
  return id;
}

void ChatSlashEnv::set_verbose(const SlashContext& ctx, bool on) {
  auto tx = host_.db().transaction();
  ChatStore::update_thread(tx->session(), ctx.thread_id, {{"verbose", on}});
  tx->commit();
}

void ChatSlashEnv::enqueue_compaction(const SlashContext& ctx) {
  auto tx = host_.db().transaction();
  host_.tasks().enqueue(
      "chat.compact_thread",
      {.payload = {{"thread_id", ctx.thread_id}, {"trace_id", ctx.trace_id}, {"force", true}},
       .idempotency_key = "chat.compact:" + ctx.thread_id,
       .trace_id = ctx.trace_id},
      *tx);
  tx->commit();
}

namespace {

// A failure as a user may see it: when, what kind, which outage class, the HTTP status — never
// the provider's text (it may name endpoints, accounts or quotas: host details).
jarvis::Json user_failure(const jarvis::Json& f) {
  if (!f.is_object()) return nullptr;
  jarvis::Json out = {{"at", f.value("at", jarvis::Json(nullptr))}};
  if (f.contains("error") && f["error"].is_object()) {
    const jarvis::Json& e = f["error"];
    out["error"] = {{"kind", e.value("kind", jarvis::Json(nullptr))},
                    {"outage_class", e.value("outage_class", jarvis::Json(nullptr))},
                    {"status", e.value("status", jarvis::Json(nullptr))}};
  }
  return out;
}

}  // namespace

jarvis::Json user_view_of_providers(const jarvis::Json& health) {
  // Built from an allow-list, so a field the router adds later stays admin-only until listed.
  if (!health.is_object()) {
    return {{"primary", nullptr},
            {"order", jarvis::Json::array()},
            {"configured", false},
            {"providers", jarvis::Json::array()}};
  }
  jarvis::Json out = {{"primary", health.value("primary", jarvis::Json(nullptr))},
                      {"order", health.value("order", jarvis::Json::array())},
                      {"configured", health.value("configured", false)},
                      {"providers", jarvis::Json::array()}};
  if (!health.contains("providers") || !health["providers"].is_array()) return out;
  for (const auto& p : health["providers"]) {
    if (!p.is_object()) continue;
    jarvis::Json cooldowns = jarvis::Json::array();
    if (p.contains("cooldowns") && p["cooldowns"].is_array()) {
      for (const auto& c : p["cooldowns"]) {
        if (c.is_object()) {
          cooldowns.push_back({{"model", c.value("model", jarvis::Json(nullptr))},
                               {"until", c.value("until", jarvis::Json(nullptr))}});
        }
      }
    }
    const jarvis::Json none;
    const jarvis::Json& ok = p.contains("last_success") ? p["last_success"] : none;
    out["providers"].push_back(
        {{"name", p.value("name", jarvis::Json(nullptr))},
         {"model", p.value("model", jarvis::Json(nullptr))},
         {"configured", p.value("configured", false)},
         {"in_order", p.value("in_order", false)},
         {"last_success", ok.is_object() ? jarvis::Json{{"at", ok.value("at", jarvis::Json())}}
                                         : (ok.is_string() ? ok : jarvis::Json(nullptr))},
         {"last_failure", user_failure(p.contains("last_failure") ? p["last_failure"] : none)},
         {"cooldowns", cooldowns}});
  }
  return out;
}

jarvis::Json ChatSlashEnv::status(const SlashContext& ctx) {
  const bool admin = ctx.principal.is_admin();
  jarvis::Json providers = router_.health();
  if (!admin) providers = user_view_of_providers(providers);
  jarvis::Json steps;
  {
    auto sql = host_.db().session();
    steps = {
        {"queued", scalar_int(*sql, "SELECT COUNT(*) FROM chat_steps WHERE status = 'queued'", {})},
        {"running",
         scalar_int(*sql, "SELECT COUNT(*) FROM chat_steps WHERE status = 'running'", {})}};
  }
  jarvis::Json host = host_.system().status();
  jarvis::Json scheduler = host.value("scheduler", jarvis::Json::object());
  if (!admin && scheduler.is_object()) {
    // The schedule list names other users' schedules: users get the backlog totals only.
    scheduler.erase("schedules");
  }
  jarvis::Json system = host.value("system", jarvis::Json::object());
  if (!admin && system.is_object()) {
    system = {{"lockdown", system.value("lockdown", false)},
              {"restarting", system.value("restarting", false)}};
  }
  return {{"providers", providers},
          {"queues",
           {{"tasks", host.value("tasks", jarvis::Json::object())},
            {"oldest_queued_at", host.value("oldest_queued_at", jarvis::Json(nullptr))},
            {"chat_steps", steps}}},
          {"scheduler", scheduler},
          {"agents", bundles_.ids()},
          {"system", system}};
}

void ChatSlashEnv::set_lockdown(const SlashContext& ctx, bool on, const std::string& reason) {
  host_.system().set_lockdown(on, reason, ctx.actor(), ctx.trace_id);
}

std::optional<jarvis::Json> ChatSlashEnv::trace_events(const SlashContext& ctx,
                                                       const std::string& trace_id) {
  jarvis::TraceEvents t = host_.events().trace(ctx.principal, trace_id, 200);
  if (t.events.empty()) return std::nullopt;
  jarvis::Json out = jarvis::Json::array();
  for (const auto& e : t.events) {
    out.push_back({{"type", e.type},
                   {"component", e.component},
                   {"created_at", e.created_at},
                   {"thread_id", e.thread_id}});
  }
  return out;
}

}  // namespace chat

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

jarvis::Json ChatSlashEnv::status(const SlashContext& ctx) {
  const bool admin = ctx.principal.is_admin();
  jarvis::Json providers = router_.health();
  if (!admin && providers.contains("providers")) {
    // Error texts may name endpoints (host details): users see kinds and classes only.
    for (auto& p : providers["providers"]) {
      if (p.contains("last_error") && p["last_error"].is_object()) p["last_error"].erase("message");
    }
  }
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

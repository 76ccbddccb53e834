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
  jarvis::Json providers = router_.health();
  if (!ctx.principal.is_admin() && providers.contains("providers")) {
    // Error texts may name endpoints (host details): users see kinds and classes only.
    for (auto& p : providers["providers"]) {
      if (p.contains("last_error") && p["last_error"].is_object()) p["last_error"].erase("message");
    }
  }
  jarvis::Json queues;
  {
    auto sql = host_.db().session();
    queues = {{"steps_queued",
               scalar_int(*sql, "SELECT COUNT(*) FROM chat_steps WHERE status = 'queued'", {})},
              {"steps_running",
               scalar_int(*sql, "SELECT COUNT(*) FROM chat_steps WHERE status = 'running'", {})}};
  }
  return {{"providers", providers},
          {"queues", queues},
          {"agents", bundles_.ids()},
          {"system",
           {{"lockdown", host_.system().lockdown()}, {"restarting", host_.system().restarting()}}}};
}

void ChatSlashEnv::set_lockdown(const SlashContext&, bool, const std::string&) {
  throw jarvis::Error(501, "unavailable", "setting the lockdown from chat is not available yet");
}

std::optional<jarvis::Json> ChatSlashEnv::trace_events(const SlashContext&, const std::string&) {
  throw jarvis::Error(501, "unavailable", "trace lookups from chat are not available yet");
}

}  // namespace chat

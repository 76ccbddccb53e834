// memory/src/tools.cpp — the agent tools memory.search, memory.remember and memory.forget.
//
// Each acts on the data of `call.caller` (the user an agent works for), never on other users'
// items — admins included; only Principal::system() (host work, the operator CLI) sees every
// owner. chat's step calls memory.search with {"query": <the user's message>} when the agent is
// offered the tool; the result goes into the prompt as JSON (kept small).
#include "core.h"
#include "jarvis/error.h"
#include "jarvis/tools.h"

namespace jarvis::memory {
namespace {

/// The caller's own items (system: all).
ItemFilter tool_scope(const ToolCall& call) {
  ItemFilter f;
  if (call.caller.user_id != "system") f.owner_id = call.caller.user_id;
  return f;
}

}  // namespace

void register_tools(Host& host, MemoryCore& core) {
  MemoryCore* c = &core;
  host.tools().add(
      {.name = "memory.search",
       .description = "Search the user's long-term memory (things they said, answers given, things "
                      "they asked to remember). Returns the best matches with their ids.",
       .parameters = {{"type", "object"},
                      {"properties",
                       {{"query", {{"type", "string"}, {"minLength", 1}, {"maxLength", 2000}}},
                        {"limit", {{"type", "integer"}, {"minimum", 1}, {"maximum", 20}}},
                        {"thread_id", {{"type", "string"}, {"maxLength", 200}}}}},
                      {"required", {"query"}},
                      {"additionalProperties", false}},
       .handler = [c](const ToolCall& call) {
         SearchRequest s;
         s.query = call.args["query"].get<std::string>();
         s.filter = tool_scope(call);
         if (call.args.contains("thread_id")) {
           s.filter.thread_id = call.args["thread_id"].get<std::string>();
           c->host.threads().require_access(call.caller, s.filter.thread_id);
         }
         s.limit = call.args.value("limit", static_cast<int>(c->settings.search_limit));
         c->ensure_index_loaded();
         Json r = c->search->run(s);
         c->note_hits(r);
         Json hits = Json::array();
         for (const auto& it : r["items"]) {
           hits.push_back({{"id", it["id"]},
                           {"text", it["text"]},
                           {"kind", it["kind"]},
                           {"thread_id", it["thread_id"]},
                           {"created_at", it["created_at"]},
                           {"score", it["score"]}});
         }
         return Json{{"items", hits}};
       }});
  host.tools().add(
      {.name = "memory.remember",
       .description = "Store a fact or preference the user wants remembered (secrets and personal "
                      "data are redacted).",
       .parameters = {{"type", "object"},
                      {"properties",
                       {{"text", {{"type", "string"}, {"minLength", 1}, {"maxLength", 200000}}}}},
                      {"required", {"text"}},
                      {"additionalProperties", false}},
       .handler = [c](const ToolCall& call) {
         NewItem item{.owner_id = call.caller.user_id,
                      .thread_id = call.thread_id,
                      .agent_id = call.agent_id,
                      .kind = "remembered",
                      .text = call.args["text"].get<std::string>()};
         if (!item.thread_id.empty()) c->host.threads().require_access(call.caller, item.thread_id);
         item.evidence_refs = Json::array();
         if (!call.trace_id.empty()) {
           item.evidence_refs.push_back({{"type", "trace"}, {"id", call.trace_id}});
         }
         WriteResult r = c->writer->write(item, "tool", false, true);
         return Json{{"id", r.ref.id},
                     {"duplicate", r.ref.duplicate},
                     {"redactions", r.redactions},
                     {"text", r.item.value("text", "")}};
       }});
  host.tools().add(
      {.name = "memory.forget",
       .description = "Delete one of the user's memory items by id.",
       .parameters = {{"type", "object"},
                      {"properties", {{"id", {{"type", "string"}, {"maxLength", 200}}}}},
                      {"required", {"id"}},
                      {"additionalProperties", false}},
       .handler = [c](const ToolCall& call) {
         // An admin user's agent forgets only that admin's own items.
         Principal who = call.caller;
         if (who.user_id != "system") who.role = Role::User;
         return c->writer->forget(who, call.args["id"].get<std::string>());
       }});
}

}  // namespace jarvis::memory

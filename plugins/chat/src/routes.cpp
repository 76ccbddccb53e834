// chat/src/routes.cpp — see routes.h.
#include "routes.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "agent/slash.h"
#include "agent/text_budget.h"
#include "jarvis/list.h"
#include "step.h"
#include "store.h"

namespace chat {
namespace {

const std::set<std::string> kStatuses{"open", "closed", "archived"};
const std::set<std::string> kApiChannels{"web", "api", "cli"};
const std::set<std::string> kCreateFields{"title", "channel", "external_ref"};
const std::set<std::string> kPatchFields{"title", "status", "verbose", "active_agent_ids",
                                         "model_override"};
const std::set<std::string> kMessageFields{"content", "agent_id"};
constexpr std::size_t kMaxTitleBytes = 200;
constexpr std::size_t kMaxExternalRefBytes = 256;
constexpr long long kExportPage = 500;

jarvis::Error field_error(const std::string& field, const std::string& what) {
  return jarvis::bad_request("field '" + field + "': " + what, "invalid_field");
}

void reject_unknown(const jarvis::Json& body, const std::set<std::string>& known) {
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (!known.count(it.key())) {
      throw jarvis::bad_request("unknown field '" + it.key() + "'", "unknown_field");
    }
  }
}

std::string string_field(const jarvis::Json& body, const std::string& field, std::size_t max) {
  if (!body.contains(field) || body[field].is_null()) return "";
  if (!body[field].is_string()) throw field_error(field, "must be a string");
  std::string v = body[field];
  if (v.size() > max) throw field_error(field, "longer than " + std::to_string(max) + " bytes");
  return v;
}

bool valid_channel(const std::string& c) {
  if (c.empty() || c.size() > 32) return false;
  for (char ch : c) {
    if (!(std::islower(static_cast<unsigned char>(ch)) ||
          std::isdigit(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-')) {
      return false;
    }
  }
  return std::islower(static_cast<unsigned char>(c[0])) != 0;
}

// The body of a request that may be empty.
jarvis::Json optional_body(const jarvis::Request& req) {
  std::string_view b = req.body;
  while (!b.empty() && std::isspace(static_cast<unsigned char>(b.front()))) b.remove_prefix(1);
  if (b.empty()) return jarvis::Json::object();
  return req.json_body();
}

bool wants_sse(const jarvis::Request& req) {
  auto accept = req.headers.get("Accept");
  return accept && accept->find("text/event-stream") != std::string::npos;
}

class ThreadRoutes {
 public:
  ThreadRoutes(jarvis::Host& host, LiveHub& hub, const BundleSet& bundles, RouteLimits limits)
      : host_(host), hub_(hub), bundles_(bundles), limits_(limits) {}

  // The thread `id` when the caller may see it; 404 thread_not_found otherwise.
  jarvis::Json visible_thread(const jarvis::Request& req, const std::string& id) {
    host_.threads().require_access(req.principal, id);
    auto sql = host_.db().session();
    jarvis::Json t = ChatStore::thread(*sql, id);
    if (t.is_null()) {
      throw jarvis::Error(404, "thread_not_found", "thread " + id + " does not exist");
    }
    return t;
  }

  jarvis::Response list(jarvis::Request& req) {
    ThreadQuery q;
    bool all = req.query_param("all").value_or("") == "true";
    if (all && !req.principal.is_admin()) {
      throw jarvis::forbidden("?all=true is for admins", "admin_required");
    }
    if (!all) q.owner_id = req.principal.user_id;
    q.status = req.query_param("status").value_or("");
    if (!q.status.empty() && !kStatuses.count(q.status)) {
      throw jarvis::bad_request("status must be open, closed or archived", "invalid_query");
    }
    q.channel = req.query_param("channel").value_or("");
    if (!q.channel.empty() && !valid_channel(q.channel)) {
      throw jarvis::bad_request(
          "channel must be 1 to 32 characters of a-z, 0-9, _ and -, starting with a letter",
          "invalid_query");
    }
    jarvis::PageRequest page = jarvis::page_request(req);
    q.limit = page.limit;
    q.offset = page.offset;
    auto sql = host_.db().session();
    auto [items, total] = ChatStore::list_threads(*sql, q);
    return jarvis::Response::json(200, jarvis::list_page(std::move(items), total, page));
  }

  jarvis::Response create(jarvis::Request& req) {
    jarvis::Json body = optional_body(req);
    reject_unknown(body, kCreateFields);
    std::string title = string_field(body, "title", kMaxTitleBytes);
    std::string channel = string_field(body, "channel", 32);
    if (channel.empty()) channel = "api";
    if (!valid_channel(channel)) {
      throw field_error("channel",
                        "1 to 32 characters of a-z, 0-9, _ and -, starting with a letter");
    }
    // Threads of other channels (whatsapp, …) are created only from a channel plugin's
    // channel.inbound: their replies go out as channel.outbound to external_ref, so a user who
    // could create one would choose who the operator's channel account writes to.
    if (!kApiChannels.count(channel)) {
      throw jarvis::unprocessable("threads of channel '" + channel +
                                      "' are created by that channel's plugin; use web, api or cli",
                                  "channel_reserved");
    }
    std::string external_ref = string_field(body, "external_ref", kMaxExternalRefBytes);
    const std::string id = jarvis::new_id("thr");
    host_.threads().claim(id, req.principal.user_id);  // before the transaction (its own write)
    auto tx = host_.db().transaction();
    jarvis::Json t = ChatStore::create_thread(tx->session(), id, req.principal.user_id, channel,
                                              external_ref, title);
    host_.events().emit({.type = "thread.created",
                         .payload = {{"channel", channel}},
                         .thread_id = id,
                         .actor_type = "user",
                         .actor_id = req.principal.user_id},
                        *tx);
    tx->commit();
    return jarvis::Response::json(201, t);
  }

  jarvis::Response get(jarvis::Request& req) {
    jarvis::Json t = visible_thread(req, req.path_param("id"));
    auto sql = host_.db().session();
    jarvis::Json s = ChatStore::summary(*sql, t["id"]);
    t["summary"] = s.is_null() ? jarvis::Json(nullptr)
                               : jarvis::Json{{"text", s["summary"]},
                                              {"covers_seq", s["covers_seq"]},
                                              {"method", s["method"]},
                                              {"updated_at", s["updated_at"]}};
    jarvis::Json step = ChatStore::active_step(*sql, t["id"]);
    t["active_step"] = step.is_null() ? jarvis::Json(nullptr)
                                      : jarvis::Json{{"id", step["id"]},
                                                     {"status", step["status"]},
                                                     {"trace_id", step["trace_id"]}};
    return jarvis::Response::json(200, t);
  }

  jarvis::Response patch(jarvis::Request& req) {
    const std::string id = req.path_param("id");
    visible_thread(req, id);
    jarvis::Json body = req.json_body();
    reject_unknown(body, kPatchFields);
    jarvis::Json changes = jarvis::Json::object();
    if (body.contains("title")) changes["title"] = string_field(body, "title", kMaxTitleBytes);
    if (body.contains("status")) {
      std::string s = string_field(body, "status", 16);
      if (!kStatuses.count(s)) throw field_error("status", "must be open, closed or archived");
      changes["status"] = s;
    }
    if (body.contains("verbose")) {
      if (!body["verbose"].is_boolean()) throw field_error("verbose", "must be true or false");
      changes["verbose"] = body["verbose"];
    }
    if (body.contains("active_agent_ids")) {
      const jarvis::Json& a = body["active_agent_ids"];
      if (!a.is_array() || a.empty() || a.size() > 32) {
        throw field_error("active_agent_ids", "must be a list of 1 to 32 agent ids");
      }
      std::set<std::string> seen;
      jarvis::Json ids = jarvis::Json::array();
      for (const auto& v : a) {
        if (!v.is_string()) throw field_error("active_agent_ids", "must hold strings");
        std::string s = v;
        if (!bundles_.find(s)) {
          throw jarvis::unprocessable("unknown agent '" + s + "'", "unknown_agent");
        }
        if (seen.insert(s).second) ids.push_back(s);
      }
      if (!seen.count("main")) {
        throw jarvis::unprocessable("the main agent cannot be removed", "main_agent_required");
      }
      changes["active_agent_ids"] = ids;
    }
    if (body.contains("model_override")) {
      if (body["model_override"].is_null() || (body["model_override"].is_string() &&
                                               body["model_override"].get<std::string>().empty())) {
        changes["model_override"] = nullptr;
      } else {
        // The operator's provider keys pay for the model: only an admin picks one per thread
        // (and the router keeps health per model name, which a user must not grow at will).
        if (!req.principal.is_admin()) {
          throw jarvis::forbidden("model_override is set by admins", "admin_required");
        }
        changes["model_override"] = string_field(body, "model_override", 128);
      }
    }
    {
      auto tx = host_.db().transaction();
      ChatStore::update_thread(tx->session(), id, changes);
      host_.events().emit({.type = "thread.updated",
                           .payload = {{"fields",
                                        [&] {
                                          jarvis::Json f = jarvis::Json::array();
                                          for (auto it = changes.begin(); it != changes.end(); ++it)
                                            f.push_back(it.key());
                                          return f;
                                        }()}},
                           .thread_id = id,
                           .actor_type = "user",
                           .actor_id = req.principal.user_id},
                          *tx);
      tx->commit();
    }
    return get(req);
  }

  jarvis::Response remove(jarvis::Request& req) {
    const std::string id = req.path_param("id");
    visible_thread(req, id);
    std::vector<std::string> steps;
    {
      auto tx = host_.db().transaction();
      steps = ChatStore::request_cancel(tx->session(), id);
      ChatStore::delete_thread(tx->session(), id);
      tx->commit();
    }
    // A step still running stops its model call now instead of finishing for a deleted thread.
    for (const auto& s : steps) {
      host_.threads().publish(id, {{"type", "agent.cancel"}, {"step_id", s}});
    }
    host_.threads().release(id);
    return jarvis::Response::no_content();
  }

  jarvis::Response messages(jarvis::Request& req) {
    const std::string id = req.path_param("id");
    visible_thread(req, id);
    jarvis::PageRequest page = jarvis::page_request(req);
    MessageQuery q;
    q.limit = page.limit;
    q.offset = page.offset;
    std::string order = req.query_param("order").value_or("asc");
    if (order != "asc" && order != "desc") {
      throw jarvis::bad_request("order must be asc or desc", "invalid_query");
    }
    q.newest_first = order == "desc";
    auto sql = host_.db().session();
    if (auto before = req.query_param("before"); before && !before->empty()) {
      auto seq = ChatStore::message_seq(*sql, id, *before);
      if (!seq)
        throw jarvis::bad_request("before: no such message in this thread", "invalid_query");
      q.before_seq = *seq;
    }
    auto [items, total] = ChatStore::list_messages(*sql, id, q);
    return jarvis::Response::json(200, jarvis::list_page(std::move(items), total, page));
  }

  jarvis::Response post_message(jarvis::Request& req) {
    const std::string id = req.path_param("id");
    jarvis::Json t = visible_thread(req, id);
    jarvis::Json body = req.json_body();
    reject_unknown(body, kMessageFields);
    if (!body.contains("content") || !body["content"].is_string()) {
      throw field_error("content", "is required (a string)");
    }
    std::string content = body["content"];
    if (static_cast<long long>(content.size()) > limits_.max_message_bytes) {
      throw jarvis::Error(413, "message_too_large",
                          "content is longer than CHAT_MAX_MESSAGE_BYTES (" +
                              std::to_string(limits_.max_message_bytes) + " bytes)");
    }
    if (jarvis::trimmed(content).empty()) throw field_error("content", "must not be empty");
    if (!valid_utf8(content)) throw field_error("content", "must be valid UTF-8");
    std::string agent_id = string_field(body, "agent_id", 64);
    if (!agent_id.empty() && !bundles_.find(agent_id)) {
      throw jarvis::unprocessable("unknown agent '" + agent_id + "'", "unknown_agent");
    }
    // Only the thread's active agents answer in it (PATCH active_agent_ids; main always is).
    if (!agent_id.empty() && agent_id != "main") {
      const jarvis::Json settings = t.value("settings", jarvis::Json::object());
      const jarvis::Json active = settings.is_object()
                                      ? settings.value("active_agent_ids", jarvis::Json::array())
                                      : jarvis::Json::array();
      if (!active.is_array() ||
          std::find(active.begin(), active.end(), jarvis::Json(agent_id)) == active.end()) {
        throw jarvis::unprocessable("agent '" + agent_id +
                                        "' is not active in this thread; add it to "
                                        "active_agent_ids (PATCH /api/v1/threads/{id})",
                                    "agent_not_active");
      }
    }
    if (t.value("status", "open") != "open") {
      throw jarvis::conflict("thread " + id + " is " + t.value("status", "") +
                                 "; reopen it (PATCH status=open) to post",
                             "thread_not_open");
    }
    const std::string owner = t["owner_id"];
    const bool command = jarvis::trimmed(content).rfind('/', 0) == 0;
    // An unlock code is never stored: the row says "/unlock ******", the step gets the code.
    std::string secret;
    const std::string stored = storable_command_text(content, &secret);

    const std::string step_id = jarvis::new_id("stp");
    const std::string trace_id = jarvis::new_id("trc");
    std::shared_ptr<SseRelay> relay;
    if (wants_sse(req)) relay = hub_.open_relay(id, step_id, 0);  // listen before it can run

    std::string message_id;
    {
      auto tx = host_.db().transaction();
      auto& sql = tx->session();
      if (!command && limits_.daily_token_limit > 0 &&
          ChatStore::tokens_used(sql, owner, utc_day()) >= limits_.daily_token_limit) {
        throw jarvis::Error(429, "quota_exceeded",
                            "the daily token quota (CHAT_USER_DAILY_TOKEN_LIMIT = " +
                                std::to_string(limits_.daily_token_limit) +
                                ") is used up; it resets at 00:00 UTC");
      }
      if (ChatStore::active_steps_of_user(sql, owner, jarvis::iso_from_now(-kActiveStepWindowMs)) >=
          limits_.max_concurrent_steps) {
        throw jarvis::Error(429, "too_many_steps",
                            "at most " + std::to_string(limits_.max_concurrent_steps) +
                                " replies may be pending at once "
                                "(CHAT_USER_MAX_CONCURRENT_STEPS); wait for one to finish");
      }
      auto ids = ChatStore::insert_messages(sql, id,
                                            {{.role = "user",
                                              .content = stored,
                                              .step_id = step_id,
                                              .trace_id = trace_id,
                                              .sender = req.principal.user_id}});
      message_id = ids.front().id;
      host_.events().emit(
          {.type = "message.new",
           // The stored text (an unlock code already masked) for subscribers such as memory.
           .payload = {{"message_id", message_id},
                       {"role", "user"},
                       {"step_id", step_id},
                       {"text", stored}},
           .thread_id = id,
           .trace_id = trace_id,
           .actor_type = "user",
           .actor_id = req.principal.user_id},
          *tx);
      StepRunner::enqueue_step(host_, *tx, step_id, id, owner, message_id, trace_id, req.principal,
                               agent_id, secret);
      tx->commit();
    }
    if (relay) {
      jarvis::Response r = jarvis::Response::sse(
          [relay](std::shared_ptr<jarvis::ResponseStream> s) { relay->attach(std::move(s)); });
      r.headers.set("X-Message-Id", message_id);
      r.headers.set("X-Trace-Id", trace_id);
      r.headers.set("X-Step-Id", step_id);
      return r;
    }
    return jarvis::Response::json(
        202, {{"message_id", message_id}, {"trace_id", trace_id}, {"step_id", step_id}});
  }

  jarvis::Response stream(jarvis::Request& req) {
    const std::string id = req.path_param("id");
    visible_thread(req, id);
    long long after = 0;
    if (auto last = req.headers.get("Last-Event-ID")) {
      try {
        after = std::stoll(*last);
      } catch (const std::exception&) {
        after = 0;
      }
      if (after < 0) after = 0;
    }
    jarvis::Json step;
    {
      auto sql = host_.db().session();
      step = ChatStore::active_step(*sql, id);
    }
    std::shared_ptr<SseRelay> relay;
    if (step.is_null()) {
      relay = std::make_shared<SseRelay>(hub_, id, "", after);
      relay->finish_now({{"message_id", nullptr},
                         {"trace_id", nullptr},
                         {"degraded", false},
                         {"running", false}});
    } else {
      const std::string step_id = step["id"];
      relay = hub_.open_relay(id, step_id, after);
      // Listening now: read the step again, so a step that ended meanwhile still ends the stream.
      jarvis::Json again;
      {
        auto sql = host_.db().session();
        again = ChatStore::step(*sql, step_id);
      }
      const std::string status = again.is_null() ? "failed" : again.value("status", "failed");
      if (status != "queued" && status != "running") {
        relay->finish_now(
            {{"message_id", again.is_null() ? jarvis::Json(nullptr) : again["reply_message_id"]},
             {"trace_id", step["trace_id"]},
             {"degraded", !again.is_null() && again["degraded"].is_number() &&
                              again["degraded"].get<long long>() != 0}});
      } else if (auto journal = hub_.journal(step_id, after)) {
        relay->prime(*journal);
      }
    }
    jarvis::Response r = jarvis::Response::sse(
        [relay](std::shared_ptr<jarvis::ResponseStream> s) { relay->attach(std::move(s)); });
    if (!step.is_null()) r.headers.set("X-Step-Id", step["id"].get<std::string>());
    return r;
  }

  jarvis::Response cancel(jarvis::Request& req) {
    const std::string id = req.path_param("id");
    visible_thread(req, id);
    std::vector<std::string> ids;
    {
      auto tx = host_.db().transaction();
      ids = ChatStore::request_cancel(tx->session(), id);
      if (!ids.empty()) {
        host_.events().emit({.type = "agent.cancel_requested",
                             .payload = {{"step_ids", ids}},
                             .thread_id = id,
                             .actor_type = "user",
                             .actor_id = req.principal.user_id},
                            *tx);
      }
      tx->commit();
    }
    // The step listens on its thread (on whichever host runs it) and cancels its model call.
    for (const auto& s : ids) {
      host_.threads().publish(id, {{"type", "agent.cancel"}, {"step_id", s}});
    }
    return jarvis::Response::json(200, {{"cancelled", ids}});
  }

  jarvis::Response export_thread(jarvis::Request& req) {
    const std::string id = req.path_param("id");
    jarvis::Json t = visible_thread(req, id);
    jarvis::Host* host = &host_;
    jarvis::Response r = jarvis::Response::stream(
        200, "application/x-ndjson", [host, id, t](std::shared_ptr<jarvis::ResponseStream> s) {
          jarvis::Json head = t;
          head["type"] = "thread";
          if (!s->write(head.dump() + "\n")) return;
          auto sql = host->db().session();
          MessageQuery q;
          q.limit = kExportPage;
          for (;;) {
            auto [items, total] = ChatStore::list_messages(*sql, id, q);
            for (auto& m : items) {
              m["type"] = "message";
              if (!s->write(m.dump() + "\n")) return;
            }
            q.offset += static_cast<long long>(items.size());
            if (items.empty() || q.offset >= total) break;
          }
          jarvis::Json sum = ChatStore::summary(*sql, id);
          if (!sum.is_null()) {
            sum["type"] = "summary";
            sum["thread_id"] = id;
            s->write(sum.dump() + "\n");
          }
        });
    r.headers.set("Content-Disposition", "attachment; filename=\"" + id + ".ndjson\"");
    return r;
  }

 private:
  jarvis::Host& host_;
  LiveHub& hub_;
  const BundleSet& bundles_;
  RouteLimits limits_;
};

}  // namespace

void register_thread_routes(jarvis::Host& host, LiveHub& hub, const BundleSet& bundles,
                            RouteLimits limits) {
  auto r = std::make_shared<ThreadRoutes>(host, hub, bundles, limits);
  auto add = [&](std::string method, std::string path, std::string summary,
                 jarvis::Response (ThreadRoutes::*fn)(jarvis::Request&), std::size_t max_body = 0) {
    host.routes().add({.method = std::move(method),
                       .path = std::move(path),
                       .auth = jarvis::Auth::User,
                       .summary = std::move(summary),
                       .handler = [r, fn](jarvis::Request& req) { return ((*r).*fn)(req); },
                       .max_body_bytes = max_body});
  };
  const std::size_t message_body =
      static_cast<std::size_t>(limits.max_message_bytes) * 6 + 4096;  // JSON escapes grow text
  add("GET", "/api/v1/threads",
      "Your threads (admins: ?all=true; ?status=, ?channel= filter), list envelope",
      &ThreadRoutes::list);
  add("POST", "/api/v1/threads", "Creates a thread {title?, channel?, external_ref?}",
      &ThreadRoutes::create);
  add("GET", "/api/v1/threads/{id}", "A thread with its settings, summary and running step",
      &ThreadRoutes::get);
  add("PATCH", "/api/v1/threads/{id}",
      "Changes title, status, verbose, active_agent_ids or model_override", &ThreadRoutes::patch);
  add("DELETE", "/api/v1/threads/{id}", "Deletes a thread and its messages", &ThreadRoutes::remove);
  add("GET", "/api/v1/threads/{id}/messages",
      "Messages of a thread (?limit, ?offset, ?order=asc|desc, ?before=<message id>)",
      &ThreadRoutes::messages);
  add("POST", "/api/v1/threads/{id}/messages",
      "Posts {content} and starts the agent step: 202 {message_id, trace_id}, or server-sent "
      "events with Accept: text/event-stream",
      &ThreadRoutes::post_message, message_body);
  add("GET", "/api/v1/threads/{id}/stream",
      "Server-sent events of the thread's running step (resumes with Last-Event-ID)",
      &ThreadRoutes::stream);
  add("POST", "/api/v1/threads/{id}/cancel", "Cancels the thread's queued or running step",
      &ThreadRoutes::cancel);
  add("GET", "/api/v1/threads/{id}/export", "The thread, its messages and summary as NDJSON",
      &ThreadRoutes::export_thread);
}

}  // namespace chat

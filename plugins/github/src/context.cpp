// github/src/context.cpp — model calls, task deferral, comment upsert, trusted commenters.
#include "context.h"

#include <algorithm>

namespace github {

bool Context::model_registered() const {
  for (const auto& t : host.tools().list())
    if (t.name == kCompleteTool) return true;
  return false;
}

ModelAnswer Context::ask_model(const std::string& prompt, const std::string& system,
                               const std::string& purpose, const std::string& trace_id) {
  ModelAnswer a;
  if (!model_registered()) return a;  // Absent
  jarvis::ToolCall call;
  call.caller = jarvis::Principal::system();
  call.agent_id = kAgentId;
  call.tool = kCompleteTool;
  call.args = {{"prompt", prompt},
               {"system", system},
               {"max_tokens", settings.model_max_tokens},
               {"purpose", purpose}};
  call.trace_id = trace_id;
  jarvis::ToolResult r = host.tools().invoke(call);
  if (!r.allowed) {
    a.kind = ModelAnswer::Kind::Denied;
    a.reason = r.reason;
    return a;
  }
  if (!r.ok || !r.result.is_object() || !r.result.contains("text") ||
      !r.result["text"].is_string() || r.result["text"].get<std::string>().empty()) {
    a.kind = ModelAnswer::Kind::Failed;
    a.reason = r.result.is_object() && r.result.contains("error") && r.result["error"].is_object()
                   ? r.result["error"].value("code", "failed")
                   : "empty_answer";
    return a;
  }
  a.kind = ModelAnswer::Kind::Ok;
  a.text = r.result["text"].get<std::string>();
  a.provider = r.result.value("provider", "") + "/" + r.result.value("model", "");
  return a;
}

jarvis::Json Context::defer(const jarvis::TaskContext& t, const RateLimited& limit) {
  long long wait =
      std::clamp<long long>(limit.wait_seconds, 1, settings.rate_limit_max_defer_seconds);
  jarvis::Json payload = t.payload;
  payload["origin_task"] = claim_owner(t);
  int deferrals = payload.value("deferrals", 0) + 1;
  payload["deferrals"] = deferrals;
  const std::string until = jarvis::iso_from_now(wait * 1000);
  jarvis::EnqueueOptions o;
  o.payload = payload;
  o.run_after = until;
  o.trace_id = t.trace_id;
  o.idempotency_key = "github.deferred:" + t.task_id + ":" + std::to_string(deferrals);
  host.tasks().enqueue(t.name, std::move(o));
  save_rate_state();
  host.events().emit({.type = "github.rate_limited",
                      .payload = {{"task", t.name},
                                  {"task_id", t.task_id},
                                  {"kind", limit.kind},
                                  {"wait_seconds", wait},
                                  {"deferred_until", until},
                                  {"deferrals", deferrals}},
                      .trace_id = t.trace_id,
                      .actor_type = "system",
                      .actor_id = "github"});
  host.log()->warn("github: {} rate-limited ({}), postponed {} s", t.name, limit.kind, wait);
  return {{"deferred_until", until}, {"wait_seconds", wait}, {"kind", limit.kind}};
}

std::string Context::claim_owner(const jarvis::TaskContext& t) {
  if (t.payload.is_object()) {
    auto it = t.payload.find("origin_task");
    if (it != t.payload.end() && it->is_string() && !it->get<std::string>().empty())
      return it->get<std::string>();
  }
  return t.task_id;
}

jarvis::Json Context::wait_for_claim(const jarvis::TaskContext& t, const ClaimHeld& held) {
  jarvis::Json payload = t.payload;
  const int waits = payload.value("claim_waits", 0) + 1;
  if (waits > kMaxClaimWaits) throw std::runtime_error(std::string(held.what()) + " for too long");
  payload["claim_waits"] = waits;
  payload["origin_task"] = claim_owner(t);
  const long long wait = std::min<long long>(60, 1LL << std::min(waits, 6));
  jarvis::EnqueueOptions o;
  o.payload = payload;
  o.run_after = jarvis::iso_from_now(wait * 1000);
  o.trace_id = t.trace_id;
  o.idempotency_key = "github.claim_wait:" + t.task_id + ":" + std::to_string(waits);
  host.tasks().enqueue(t.name, std::move(o));
  host.log()->info("github: {} waits {} s for {}", t.name, wait, held.key);
  return {{"waiting_for", held.key}, {"wait_seconds", wait}, {"claim_waits", waits}};
}

long long Context::upsert_comment(Client& api, const std::string& repo, long long number,
                                  const std::string& kind, std::string_view marker,
                                  const std::string& body, const std::string& owner) {
  const std::string pr_kind = repo + "#" + std::to_string(number) + ":" + kind;
  std::shared_ptr<std::mutex> lock;
  {
    std::lock_guard g(comment_mu_);
    auto& slot = comment_locks_[pr_kind];
    if (!slot) slot = std::make_shared<std::mutex>();
    lock = slot;
  }
  std::lock_guard pr_lock(*lock);  // this process; the claim below covers the other hosts
  const std::string issue = "/repos/" + repo + "/issues/";
  const std::string key = "comment:" + pr_kind;
  auto edit_known = [&]() -> long long {
    long long id = store.comment_id(repo, number, kind);
    if (id <= 0) return 0;
    try {
      api.send("PATCH", issue + "comments/" + std::to_string(id), {{"body", body}});
      return id;
    } catch (const ApiError& e) {
      if (e.status != 404) throw;
      store.forget_comment(repo, number, kind);  // deleted on GitHub: find or create again
      store.drop_claim(key);
      return 0;
    }
  };
  if (long long id = edit_known(); id > 0) return id;
  switch (store.claim(key, owner, kClaimStaleSeconds)) {
    case Claim::Held:
      throw ClaimHeld(key);
    case Claim::Done:
      // The holder recorded the comment after our first look: edit it.
      if (long long id = edit_known(); id > 0) return id;
      store.drop_claim(key);  // done, yet no comment remembered: free it and come back
      throw ClaimHeld(key);
    case Claim::Won:
      break;
  }
  try {
    long long found = 0;
    for (const auto& c : api.get_all(issue + std::to_string(number) + "/comments", 10000)) {
      if (!c.is_object() || !c.contains("body") || !c["body"].is_string()) continue;
      const std::string login =
          c.contains("user") && c["user"].is_object() ? c["user"].value("login", "") : "";
      if (c["body"].get<std::string>().starts_with(marker) && settings.is_bot(login) &&
          c.contains("id") && c["id"].is_number_integer()) {
        found = c["id"].get<long long>();
        break;
      }
    }
    if (found > 0) {
      api.send("PATCH", issue + "comments/" + std::to_string(found), {{"body", body}});
    } else {
      jarvis::Json made =
          api.send("POST", issue + std::to_string(number) + "/comments", {{"body", body}});
      if (!made.is_object() || !made.contains("id") || !made["id"].is_number_integer())
        throw ApiError(201, "POST comment: the answer has no id");
      found = made["id"].get<long long>();
    }
    store.save_comment(repo, number, kind, found);
    store.finish_claim(key, owner);
    return found;
  } catch (...) {
    // A comment whose 201 was lost is found by its marker by whoever claims next.
    try {
      store.release_claim(key, owner);
    } catch (const std::exception& e) {
      host.log()->warn("github: claim {} not released: {}", key, e.what());
    }
    throw;
  }
}

bool Context::trusted_commenter(Client& api, const std::string& repo, const std::string& login) {
  if (settings.chat_user_listed(login)) return true;
  if (!valid_login(login)) return false;
  std::string key = repo + "|";
  for (char c : login)
    key.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  const long long now = epoch_now();
  {
    std::lock_guard g(perm_mu_);
    auto it = perms_.find(key);
    if (it != perms_.end() && now - it->second.at < settings.permission_cache_seconds)
      return it->second.trusted;
  }
  jarvis::Json p = api.get_or_null("/repos/" + repo + "/collaborators/" + login + "/permission");
  bool trusted = false;
  if (p.is_object()) {
    const std::string perm = p.value("permission", "");
    const std::string role = p.value("role_name", "");
    trusted = perm == "admin" || perm == "write" || perm == "maintain" || role == "admin" ||
              role == "maintain" || role == "write";
  }
  std::lock_guard g(perm_mu_);
  if (perms_.size() > 10000) perms_.clear();
  perms_[key] = {trusted, now};
  return trusted;
}

void Context::record_error(const std::string& kind, const std::string& message) {
  try {
    store.set_state(
        "last_error",
        {{"at", jarvis::now_iso()}, {"kind", kind}, {"message", message.substr(0, 500)}});
  } catch (const std::exception& e) {
    host.log()->warn("github: last error not recorded: {}", e.what());
  }
}

void Context::save_rate_state() {
  try {
    store.set_state("rate_limit", rate.to_json());
  } catch (const std::exception& e) {
    host.log()->warn("github: rate-limit state not recorded: {}", e.what());
  }
}

}  // namespace github

// github/src/webhook.cpp — the webhook route (see webhook.h).
#include "webhook.h"

#include <cctype>

#include "analysis.h"
#include "field_scan.h"
#include "jarvis/crypto.h"

namespace github {

namespace {

WebhookDecision ignored(const std::string& reason) {
  WebhookDecision d;
  d.status = 202;
  d.body = {{"ignored", reason}};
  d.outcome = "ignored:" + reason;
  return d;
}

const jarvis::Json& member(const jarvis::Json& j, const char* key) {
  static const jarvis::Json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::string text(const jarvis::Json& j, const char* key) {
  const auto& v = member(j, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

jarvis::Error invalid(const std::string& what) {
  return jarvis::bad_request("payload: " + what, "invalid_payload");
}

bool printable_token(const std::string& s, std::size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  return true;
}

}  // namespace

const std::vector<std::string> kPayloadFields = {"action",
                                                 "number",
                                                 "repository",
                                                 "repository.full_name",
                                                 "pull_request",
                                                 "pull_request.base",
                                                 "pull_request.base.ref",
                                                 "pull_request.head",
                                                 "pull_request.head.sha",
                                                 "pull_request.number",
                                                 "issue",
                                                 "issue.number",
                                                 "issue.pull_request",
                                                 "comment",
                                                 "comment.id",
                                                 "comment.body",
                                                 "comment.user",
                                                 "comment.user.login"};

WebhookDecision decide(const Settings& s, const std::string& event, const jarvis::Json& payload,
                       const std::string& delivery_id) {
  if (event == "ping") {
    WebhookDecision d;
    d.status = 200;
    d.body = {{"ok", true}, {"event", "ping"}};
    d.outcome = "ping";
    d.repo = text(member(payload, "repository"), "full_name");
    return d;
  }
  if (event != "pull_request" && event != "issue_comment" &&
      event != "pull_request_review_comment") {
    return ignored("unsupported_event:" + event);
  }
  if (!payload.is_object()) throw invalid("not a JSON object");
  const std::string repo = text(member(payload, "repository"), "full_name");
  if (!valid_repo_name(repo)) throw invalid("repository.full_name is missing or malformed");
  const std::string action = text(payload, "action");
  auto stamp = [&](WebhookDecision d) {
    d.repo = repo;
    d.action = action;
    return d;
  };
  if (!s.repo_allowed(repo)) return stamp(ignored("repository_not_allowed"));

  const std::string trace = jarvis::new_id("trc");
  if (event == "pull_request") {
    const auto& pr = member(payload, "pull_request");
    const auto& num = member(payload, "number");
    if (!num.is_number_integer() || num.get<long long>() <= 0) throw invalid("number is missing");
    if (!pr.is_object()) throw invalid("pull_request is missing");
    if (action != "opened" && action != "reopened" && action != "synchronize" &&
        action != "ready_for_review")
      return stamp(ignored("unhandled_action:" + action.substr(0, 64)));
    if (!s.pr_summary_enabled) return stamp(ignored("pr_summary_disabled"));
    const std::string base = text(member(pr, "base"), "ref");
    if (!s.base_selected(base)) return stamp(ignored("base_not_selected"));
    const std::string sha = text(member(pr, "head"), "sha");
    WebhookDecision d;
    d.status = 202;
    d.outcome = "accepted";
    jarvis::EnqueueOptions o;
    o.payload = {{"repo", repo},
                 {"number", num},
                 {"action", action},
                 {"head_sha", sha},
                 {"delivery_id", delivery_id}};
    o.trace_id = trace;
    // One task per pull request and head commit while it waits: a burst of deliveries for the
    // same push is summarised once.
    o.idempotency_key = "github.pr_summary:" + repo + "#" + std::to_string(num.get<long long>()) +
                        "@" + sha.substr(0, 64);
    d.tasks.push_back({kSummaryTask, std::move(o)});
    d.body = {{"accepted", true}, {"tasks", {kSummaryTask}}, {"trace_id", trace}};
    return stamp(std::move(d));
  }

  // issue_comment (on an issue or a pull request's conversation) and
  // pull_request_review_comment (on a line of a pull request's diff): PR chat.
  const bool review = event == "pull_request_review_comment";
  const auto& issue = review ? member(payload, "pull_request") : member(payload, "issue");
  const auto& comment = member(payload, "comment");
  if (!issue.is_object() || !comment.is_object())
    throw invalid(review ? "pull_request or comment is missing" : "issue or comment is missing");
  if (action != "created") return stamp(ignored("unhandled_action:" + action.substr(0, 64)));
  if (!review && !member(issue, "pull_request").is_object())
    return stamp(ignored("not_a_pull_request"));
  if (!s.pr_chat_enabled) return stamp(ignored("pr_chat_disabled"));
  const std::string login = text(member(comment, "user"), "login");
  const std::string body = text(comment, "body");
  if (s.is_bot(login) || body.starts_with("<!-- jarvis:")) return stamp(ignored("own_comment"));
  auto trigger = parse_trigger(body, s.bot_login);
  if (!trigger) return stamp(ignored("no_trigger"));
  if (!valid_login(login)) throw invalid("comment.user.login is missing or malformed");
  const auto& number = member(issue, "number");
  const auto& comment_id = member(comment, "id");
  if (!number.is_number_integer() || !comment_id.is_number_integer())
    throw invalid(review ? "pull_request.number or comment.id is missing"
                         : "issue.number or comment.id is missing");
  WebhookDecision d;
  d.status = 202;
  d.outcome = "accepted";
  jarvis::EnqueueOptions o;
  o.payload = {{"repo", repo},
               {"number", number},
               {"comment_id", comment_id},
               {"commenter", login},
               {"mode", trigger->mode},
               {"question", trigger->question},
               {"delivery_id", delivery_id}};
  o.trace_id = trace;
  o.idempotency_key = "github.pr_chat:" + std::to_string(comment_id.get<long long>());
  d.tasks.push_back({kChatTask, std::move(o)});
  d.body = {{"accepted", true}, {"tasks", {kChatTask}}, {"trace_id", trace}};
  return stamp(std::move(d));
}

void register_webhook(jarvis::Host& host, Context& ctx) {
  Context* c = &ctx;
  host.routes().add(
      {.method = "POST",
       .path = "/api/v1/webhooks/github",
       .auth = jarvis::Auth::Webhook,
       .summary = "GitHub webhook: X-Hub-Signature-256 over the exact body; 503 "
                  "webhook_not_configured, 401 invalid_signature, 400 missing_delivery_id / "
                  "missing_event, 409 duplicate_delivery; ping 200; handled 202 accepted (work "
                  "queued durably before the answer); others 202 {ignored}",
       .handler =
           [c](jarvis::Request& req) {
             const Settings& s = c->settings;
             if (s.webhook_secret.empty())
               throw jarvis::Error(503, "webhook_not_configured",
                                   "GITHUB_WEBHOOK_SECRET is not set; deliveries are refused");
             const std::string sig = req.headers.get("X-Hub-Signature-256").value_or("");
             if (!sig.starts_with("sha256=") ||
                 !jarvis::hmac_sha256_verify(s.webhook_secret.reveal(), req.body,
                                             std::string_view(sig).substr(7)))
               throw jarvis::Error(401, "invalid_signature",
                                   "X-Hub-Signature-256 is missing or does not match the body");
             const std::string delivery = req.headers.get("X-GitHub-Delivery").value_or("");
             const std::string event = req.headers.get("X-GitHub-Event").value_or("");
             if (delivery.empty())
               throw jarvis::bad_request("X-GitHub-Delivery is missing", "missing_delivery_id");
             if (event.empty())
               throw jarvis::bad_request("X-GitHub-Event is missing", "missing_event");
             if (!printable_token(delivery, 100))
               throw jarvis::bad_request("X-GitHub-Delivery is malformed", "invalid_delivery_id");
             if (!printable_token(event, 64))
               throw jarvis::bad_request("X-GitHub-Event is malformed", "invalid_event");

             jarvis::Json payload = nullptr;
             if (event == "pull_request" || event == "issue_comment" ||
                 event == "pull_request_review_comment") {
               // The few fields decide() reads, without building the whole document; anything
               // the scanner does not accept goes through the full parser (400 invalid_json /
               // json_too_deep).
               auto fields = scan_fields(req.body, kPayloadFields);
               payload = fields ? std::move(*fields) : jarvis::parse_json(req.body);
             } else if (event == "ping") {
               if (auto p = jarvis::try_parse_json(req.body)) payload = std::move(*p);
             }
             WebhookDecision d = decide(s, event, payload, delivery);
             Delivery row{delivery, event, d.action, d.repo, d.outcome};
             if (!c->store.accept_delivery(row, std::move(d.tasks), s.replay_window_minutes))
               throw jarvis::conflict("delivery " + delivery + " was already received",
                                      "duplicate_delivery");
             d.body["delivery"] = delivery;
             return jarvis::Response::json(d.status, d.body);
           },
       .max_body_bytes = kMaxWebhookBodyBytes});
}

}  // namespace github

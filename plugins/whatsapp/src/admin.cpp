// whatsapp/src/admin.cpp — see admin.h.
#include "admin.h"

#include <iostream>
#include <regex>

#include "inbound.h"
#include "store.h"

namespace whatsapp {
namespace {

using Clock = std::chrono::steady_clock;

bool valid_status(const std::string& s) {
  return s.empty() || s == "open" || s == "allowed" || s == "denied";
}

}  // namespace

void Admin::require_ok(const EvoResult& r) {
  if (r.ok()) return;
  if (r.error == "evolution_api_disabled") {
    throw jarvis::Error(503, "evolution_api_disabled",
                        "EVOLUTION_API_URL is not set; set it and restart");
  }
  if (r.error_code() == "evolution_api_unreachable") {
    throw jarvis::Error(502, "evolution_api_unreachable",
                        "Evolution API unreachable: " + r.error + " " + r.message);
  }
  if (r.error_code() == "evolution_api_unauthorized") {
    throw jarvis::Error(502, "evolution_api_unauthorized",
                        "Evolution refused the EVOLUTION_API_KEY (HTTP 401)");
  }
  throw jarvis::Error(502, "evolution_api_error", r.message);
}

void Admin::rate_limit(const std::string& address) {
  std::lock_guard lock(rl_mu_);
  auto& q = calls_[address];
  const auto now = Clock::now();
  while (!q.empty() && now - q.front() > std::chrono::minutes(1)) q.pop_front();
  if (static_cast<int>(q.size()) >= s_.pairing_per_minute) {
    throw jarvis::Error(429, "rate_limited",
                        "at most " + std::to_string(s_.pairing_per_minute) +
                            " pairing calls per minute; retry later");
  }
  q.push_back(now);
  if (calls_.size() > 10000) calls_.clear();  // bounded memory under address churn
}

jarvis::Json Admin::status() {
  jarvis::Json out{{"instance", s_.instance},
                   {"review", {{"mode", to_string(s_.review_mode)}}},
                   {"webhook_secret_configured", !s_.webhook_secret.empty()}};
  {
    auto sql = host_.db().session();
    out["review"]["open"] = Store::count_reviews(*sql, "open");
  }
  jarvis::Json cb{{"enabled", false}, {"configured", false}, {"events", jarvis::Json::array()},
                  {"url", nullptr},   {"by_events", false},  {"secret_header", false},
                  {"error", nullptr}};
  if (!evo_.enabled()) {
    out["status"] = "evolution_api_disabled";
    cb["error"] = "evolution_api_disabled";
    out["callback"] = cb;
    return out;
  }
  EvoResult st = evo_.connection_state();
  if (!st.ok()) {
    out["status"] = st.status == 0 ? "unreachable" : "error";
    out["error"] = st.error;
  } else {
    const jarvis::Json inst = st.body.value("instance", jarvis::Json::object());
    out["state"] = inst.value("state", inst.value("status", "unknown"));
    out["status"] = out["state"];
  }
  EvoResult wh = evo_.find_webhook();
  if (!wh.ok()) {
    cb["error"] = wh.error;
  } else if (wh.body.is_object()) {
    const jarvis::Json& w = wh.body.contains("webhook") && wh.body["webhook"].is_object()
                                ? wh.body["webhook"]
                                : wh.body;
    cb["enabled"] = w.value("enabled", false);
    cb["url"] = w.value("url", "");
    cb["by_events"] = w.value("byEvents", w.value("webhookByEvents", false));
    cb["events"] = w.value("events", jarvis::Json::array());
    bool secret = false;
    if (w.contains("headers") && w["headers"].is_object()) {
      for (auto it = w["headers"].begin(); it != w["headers"].end(); ++it) {
        if (jarvis::iequals(it.key(), "X-WhatsApp-Secret") && it.value().is_string() &&
            !s_.webhook_secret.empty() &&
            jarvis::constant_time_equals(jarvis::sha256(it.value().get<std::string>()),
                                         jarvis::sha256(s_.webhook_secret.reveal()))) {
          secret = true;
        }
      }
    }
    cb["secret_header"] = secret;
    bool upsert = cb["events"].empty();
    for (const auto& e : cb["events"]) {
      if (e.is_string() && normalize_event(e.get<std::string>()) == "messages.upsert") {
        upsert = true;
      }
    }
    const bool url_ok = s_.webhook_url.empty() || cb["url"] == s_.webhook_url;
    cb["configured"] = cb["enabled"].get<bool>() && url_ok && upsert && secret;
    if (!cb["configured"].get<bool>()) {
      cb["error"] = !cb["enabled"].get<bool>() ? "webhook_disabled"
                    : !url_ok                  ? "webhook_url_mismatch"
                    : !upsert                  ? "messages_upsert_not_subscribed"
                                               : "secret_header_missing";
    }
  }
  out["callback"] = cb;
  return out;
}

jarvis::Json Admin::create() {
  EvoResult r = evo_.create_instance();
  require_ok(r);
  jarvis::Json out{{"ok", true}, {"status_code", r.status}, {"instance", s_.instance}};
  if (r.body.is_object() && r.body.contains("qrcode") && r.body["qrcode"].is_object()) {
    out["qrcode"] = r.body["qrcode"].value("base64", "");
    out["code"] = r.body["qrcode"].value("code", "");
  }
  if (!s_.webhook_url.empty()) {
    EvoResult w = evo_.set_webhook();
    out["webhook"] = w.summary();
  } else {
    out["webhook"] = {{"ok", false}, {"error", "EVOLUTION_WEBHOOK_URL is not set"}};
  }
  host_.events().emit({.type = "whatsapp.instance.created",
                       .payload = {{"instance", s_.instance}, {"status_code", r.status}}});
  return out;
}

jarvis::Json Admin::qrcode() {
  EvoResult r = evo_.connect();
  require_ok(r);
  const jarvis::Json& b = r.body.is_object() ? r.body : jarvis::Json::object();
  if (b.contains("instance") && !b.contains("base64")) {
    return {{"ok", true}, {"connected", true}, {"state", b["instance"].value("state", "")}};
  }
  return {{"ok", true},
          {"status_code", r.status},
          {"qrcode", b.value("base64", "")},
          {"code", b.value("code", "")},
          {"count", b.value("count", 0)}};
}

jarvis::Json Admin::pairing_code(const std::string& number) {
  static const std::regex kNumber("^\\+?[0-9]{6,32}$");
  if (!std::regex_match(number, kNumber)) {
    throw jarvis::unprocessable("number must be digits with the country code (+5511…)",
                                "invalid_number");
  }
  EvoResult r = evo_.connect(normalize_number(number));
  require_ok(r);
  const jarvis::Json& b = r.body.is_object() ? r.body : jarvis::Json::object();
  if (!b.contains("pairingCode") || !b["pairingCode"].is_string() ||
      b["pairingCode"].get<std::string>().empty()) {
    if (b.contains("instance")) {
      throw jarvis::conflict("the instance is already connected", "already_connected");
    }
    throw jarvis::Error(502, "pairing_code_unavailable",
                        "Evolution returned no pairing code; retry or use the QR code");
  }
  host_.events().emit(
      {.type = "whatsapp.pairing.requested", .payload = {{"instance", s_.instance}}});
  return {{"ok", true}, {"status_code", r.status}, {"code", b["pairingCode"]}};
}

jarvis::Json Admin::disconnect() {
  EvoResult r = evo_.logout();
  if (r.error == "http_400") {
    return {{"ok", true}, {"status_code", 400}, {"already_disconnected", true}};
  }
  require_ok(r);
  host_.events().emit(
      {.type = "whatsapp.instance.disconnected", .payload = {{"instance", s_.instance}}});
  return {{"ok", true}, {"status_code", r.status}};
}

jarvis::Json Admin::restart() {
  EvoResult r = evo_.restart();
  if (r.error == "http_404") {
    throw jarvis::not_found("instance " + s_.instance + " does not exist; create it",
                            "instance_not_found");
  }
  require_ok(r);
  host_.events().emit(
      {.type = "whatsapp.instance.restarted", .payload = {{"instance", s_.instance}}});
  jarvis::Json out{{"ok", true}, {"status_code", r.status}, {"instance", s_.instance}};
  if (r.body.is_object() && r.body.contains("instance") && r.body["instance"].is_object()) {
    out["state"] = r.body["instance"].value("state", "");
  }
  return out;
}

jarvis::Json Admin::recreate() {
  EvoResult d = evo_.remove();
  // 404: nothing to delete — the create below still runs.
  if (d.error != "http_404") require_ok(d);
  jarvis::Json out = create();
  out["deleted"] = d.ok();
  host_.events().emit({.type = "whatsapp.instance.recreated",
                       .payload = {{"instance", s_.instance}, {"deleted", d.ok()}}});
  return out;
}

jarvis::Json Admin::review_list(const std::string& status, long long limit, long long offset) {
  if (!valid_status(status)) {
    throw jarvis::bad_request("status must be open, allowed or denied", "invalid_query");
  }
  auto sql = host_.db().session();
  jarvis::Json items = Store::list_reviews(*sql, status, limit, offset);
  long long total = Store::count_reviews(*sql, status);
  return jarvis::list_page(std::move(items), total, {.limit = limit, .offset = offset});
}

jarvis::Json Admin::resolve(const std::string& id, const std::string& decision,
                            const std::string& reason, const std::string& actor) {
  if (decision != "allow" && decision != "deny") {
    throw jarvis::unprocessable("decision must be allow or deny", "invalid_decision");
  }
  if (reason.size() > 500)
    throw jarvis::unprocessable("reason is at most 500 bytes", "invalid_reason");
  jarvis::Json row;
  {
    auto sql = host_.db().session();
    row = Store::review_row(*sql, id);
  }
  if (row.is_null())
    throw jarvis::not_found("review " + id + " does not exist", "review_not_found");
  if (row["status"] != "open") {
    throw jarvis::conflict("review " + id + " is already " + row["status"].get<std::string>(),
                           "review_already_resolved");
  }
  const std::string sender = row["sender"];
  jarvis::Json out{{"ok", true}, {"sender", sender}, {"decision", decision}};
  if (decision == "deny") {
    auto tx = host_.db().transaction();
    Store::decide_sender(tx->session(), sender, "denied", reason, actor);
    const long long n = Store::resolve_sender(tx->session(), sender, "denied", reason, actor);
    host_.events().emit({.type = "channel.inbound.blocked",
                         .payload = {{"channel", "whatsapp"},
                                     {"reason", "sender_denied"},
                                     {"sender", sender},
                                     {"dropped", n},
                                     {"by", actor}},
                         .actor_type = "user",
                         .actor_id = actor},
                        *tx);
    tx->commit();
    out["dropped"] = n;
    return out;
  }
  {
    auto tx = host_.db().transaction();
    Store::decide_sender(tx->session(), sender, "allowed", reason, actor);
    tx->commit();
  }
  // Replay every held message of the sender, oldest first, through the normal path.
  jarvis::Json held;
  {
    auto sql = host_.db().session();
    held = Store::open_reviews_of(*sql, sender);
  }
  jarvis::Json replayed = jarvis::Json::array();
  for (const auto& h : held) {
    auto data = jarvis::try_parse_json(h.value("payload", ""));
    std::optional<Inbound> m = data ? parse_record(*data) : std::nullopt;
    Admission a;
    if (m) a = ingest_.admit(*m, /*replay=*/true);
    auto sql = host_.db().session();
    jarvis::sql::exec(*sql,
                      "UPDATE whatsapp_review_queue SET status = 'allowed', reason = :r, "
                      "resolved_by = :b, resolved_at = :t WHERE id = :i AND status = 'open'",
                      {reason, actor, jarvis::now_iso(), h.value("id", "")});
    replayed.push_back({{"review_id", h.value("id", "")},
                        {"result", m ? a.result : "unparsable"},
                        {"message_id", a.message_id}});
  }
  host_.events().emit({.type = "channel.inbound.review_resolved",
                       .payload = {{"channel", "whatsapp"},
                                   {"sender", sender},
                                   {"decision", "allow"},
                                   {"replayed", replayed.size()},
                                   {"by", actor}}});
  out["replayed"] = replayed;
  return out;
}

void Admin::register_routes() {
  auto& r = host_.routes();
  const std::string base = "/api/v1/channels/whatsapp";
  r.add({.method = "GET",
         .path = base + "/status",
         .auth = jarvis::Auth::Admin,
         .summary = "WhatsApp instance state and the callback contract (callback.enabled, "
                    "configured, events, url, error); status evolution_api_disabled when unset",
         .handler = [this](jarvis::Request&) { return jarvis::Response::json(200, status()); }});
  r.add({.method = "POST",
         .path = base + "/create",
         .auth = jarvis::Auth::Admin,
         .summary = "Create the Evolution instance and set its webhook (rate-limited)",
         .handler = [this](jarvis::Request& req) {
           rate_limit(req.remote_address);
           return jarvis::Response::json(200, create());
         }});
  r.add({.method = "GET",
         .path = base + "/qrcode",
         .auth = jarvis::Auth::Admin,
         .summary = "QR code to pair the instance: PNG data URL and raw code (rate-limited)",
         .handler = [this](jarvis::Request& req) {
           rate_limit(req.remote_address);
           return jarvis::Response::json(200, qrcode());
         }});
  r.add({.method = "POST",
         .path = base + "/pairing-code",
         .auth = jarvis::Auth::Admin,
         .summary = "The real pairing code for {number} (rate-limited)",
         .handler = [this](jarvis::Request& req) {
           rate_limit(req.remote_address);
           jarvis::Json b = req.json_body();
           if (!b.contains("number") || !b["number"].is_string()) {
             throw jarvis::unprocessable("number is required", "invalid_number");
           }
           return jarvis::Response::json(200, pairing_code(b["number"]));
         }});
  r.add({.method = "POST",
         .path = base + "/restart",
         .auth = jarvis::Auth::Admin,
         .summary = "Restart the Evolution instance (a stuck pairing; rate-limited)",
         .handler = [this](jarvis::Request& req) {
           rate_limit(req.remote_address);
           return jarvis::Response::json(200, restart());
         }});
  r.add({.method = "POST",
         .path = base + "/recreate",
         .auth = jarvis::Auth::Admin,
         .summary = "Delete and create the Evolution instance again with its webhook; pair "
                    "afresh with the QR or pairing code (rate-limited)",
         .handler = [this](jarvis::Request& req) {
           rate_limit(req.remote_address);
           return jarvis::Response::json(200, recreate());
         }});
  r.add(
      {.method = "POST",
       .path = base + "/disconnect",
       .auth = jarvis::Auth::Admin,
       .summary = "Log the WhatsApp instance out",
       .handler = [this](jarvis::Request&) { return jarvis::Response::json(200, disconnect()); }});
  r.add({.method = "GET",
         .path = base + "/review-queue",
         .auth = jarvis::Auth::Admin,
         .summary = "Sender review queue (?status=open|allowed|denied &limit &offset)",
         .handler = [this](jarvis::Request& req) {
           auto page = jarvis::page_request(req);
           return jarvis::Response::json(
               200, review_list(req.query_param("status").value_or(""), page.limit, page.offset));
         }});
  r.add({.method = "POST",
         .path = base + "/review-queue/{id}/resolve",
         .auth = jarvis::Auth::Admin,
         .summary = "Resolve a sender: {decision: allow|deny, reason≤500}; allow replays every "
                    "held message of the sender in order",
         .handler = [this](jarvis::Request& req) {
           jarvis::Json b = req.json_body();
           const std::string decision = b.contains("decision") && b["decision"].is_string()
                                            ? b["decision"].get<std::string>()
                                            : "";
           const std::string reason = b.contains("reason") && b["reason"].is_string()
                                          ? b["reason"].get<std::string>()
                                          : "";
           return jarvis::Response::json(200, resolve(req.path_param("id"), decision, reason,
                                                      "user:" + req.principal.user_id));
         }});
}

void Admin::register_cli() {
  auto print = [](jarvis::CommandContext& c, const jarvis::Json& j, bool json) {
    if (json) {
      c.out << j.dump(2) << "\n";
      return;
    }
    for (auto it = j.begin(); it != j.end(); ++it) {
      c.out << it.key() << ": "
            << (it.value().is_string() ? it.value().get<std::string>() : it.value().dump()) << "\n";
    }
  };
  auto guarded = [](jarvis::CommandContext& c, const std::function<int()>& f) {
    try {
      return f();
    } catch (const jarvis::Error& e) {
      c.err << "error: " << e.code() << ": " << e.what() << "\n";
      return 1;
    }
  };
  auto simple = [this, print, guarded](const char* name, const char* summary,
                                       std::function<jarvis::Json()> op) {
    host_.commands().add({.group = "whatsapp",
                          .name = name,
                          .summary = summary,
                          .usage = std::string("jarvis whatsapp ") + name + " [--json]",
                          .handler = [print, guarded, op](jarvis::CommandContext& c) {
                            auto a = jarvis::Args::parse(c.args, {"--json"}, {});
                            return guarded(c, [&] {
                              print(c, op(), a.flag("--json"));
                              return 0;
                            });
                          }});
  };
  simple("status", "WhatsApp instance state and callback contract", [this] { return status(); });
  simple("create", "Create the Evolution instance and set its webhook",
         [this] { return create(); });
  simple("recreate", "Delete and create the instance again with its webhook",
         [this] { return recreate(); });
  simple("restart", "Restart the instance", [this] { return restart(); });
  simple("qrcode", "QR code to pair the instance", [this] { return qrcode(); });
  simple("disconnect", "Log the instance out", [this] { return disconnect(); });
  host_.commands().add({.group = "whatsapp",
                        .name = "pair",
                        .summary = "Pairing code for a phone number",
                        .usage = "jarvis whatsapp pair NUMBER [--json]",
                        .handler = [this, print, guarded](jarvis::CommandContext& c) {
                          auto a = jarvis::Args::parse(c.args, {"--json"}, {});
                          const std::string number = a.positional(0, "NUMBER");
                          return guarded(c, [&] {
                            print(c, pairing_code(number), a.flag("--json"));
                            return 0;
                          });
                        }});
  host_.commands().add(
      {.group = "whatsapp",
       .name = "review",
       .summary = "Sender review queue: list, allow ID, deny ID",
       .usage = "jarvis whatsapp review list [--status S] [--json]\n"
                "jarvis whatsapp review allow ID [--reason R] [--json]\n"
                "jarvis whatsapp review deny ID [--reason R] [--json]",
       .handler = [this, print, guarded](jarvis::CommandContext& c) {
         auto a = jarvis::Args::parse(c.args, {"--json"}, {"--status", "--reason"});
         const std::string verb = a.positional(0, "list|allow|deny");
         return guarded(c, [&] {
           if (verb == "list") {
             jarvis::Json page = review_list(a.option("--status", "open"), 200, 0);
             if (a.flag("--json")) {
               c.out << page.dump(2) << "\n";
               return 0;
             }
             for (const auto& r : page["items"]) {
               c.out << r.value("id", "") << "  " << r.value("status", "") << "  "
                     << r.value("sender", "") << "  " << r.value("created_at", "") << "  "
                     << r.value("preview", "") << "\n";
             }
             c.out << page["total"] << " row(s)\n";
             return 0;
           }
           if (verb != "allow" && verb != "deny") {
             throw jarvis::UsageError("review takes list, allow ID or deny ID");
           }
           print(c, resolve(a.positional(1, "ID"), verb, a.option("--reason"), "cli"),
                 a.flag("--json"));
           return 0;
         });
       }});
}

}  // namespace whatsapp

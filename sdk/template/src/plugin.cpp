// hello/src/plugin.cpp — the entry: registration only, readable as a table of contents.
#include <memory>

#include "greetings.h"
#include "jarvis/jarvis.h"
#include "stream.h"
#include "outbound.h"
#include "outbox.h"
#include "settings.h"

namespace hello {

class HelloPlugin : public jarvis::Plugin {
 public:
  void setup(jarvis::Host& host) override {
    greetings_ = std::make_unique<Greetings>(host);
    Greetings* g = greetings_.get();

    // Route: GET /api/v1/hello/{name} (any signed-in user).
    host.routes().add(
        {.method = "GET",
         .path = "/api/v1/hello/{name}",
         .auth = jarvis::Auth::User,
         .summary = "Greets {name} and says how often it was greeted",
         .handler = [g](jarvis::Request& req) {
           const std::string& name = req.path_param("name");
           std::string text = g->greet(name, req.principal.user_id);
           return jarvis::Response::json(200, {{"greeting", text}, {"count", g->count(name)}});
         }});

    // Webhook: POST /api/v1/hello/webhook {"name": …} — no session; the sender signs the exact
    // body GitHub-style (`X-Hub-Signature-256: sha256=<HMAC-SHA256 hex>`) with
    // HELLO_WEBHOOK_SECRET, checked in constant time with jarvis/crypto.h. 404 `webhook_disabled`
    // while no secret is set.
    host.routes().add(
        {.method = "POST",
         .path = "/api/v1/hello/webhook",
         .auth = jarvis::Auth::Webhook,
         .summary = "Greets body.name for a sender that signs with HELLO_WEBHOOK_SECRET",
         .handler = [g, secret = host.config().get_secret("webhook_secret")](jarvis::Request& req) {
           if (secret.empty()) throw jarvis::not_found("no webhook secret set", "webhook_disabled");
           std::string sig = req.headers.get("X-Hub-Signature-256").value_or("");
           if (!sig.starts_with("sha256=") ||
               !jarvis::hmac_sha256_verify(secret.reveal(), req.body,
                                           std::string_view(sig).substr(7))) {
             throw jarvis::Error(401, "invalid_signature", "X-Hub-Signature-256 does not match");
           }
           jarvis::Json body = req.json_body();
           if (!body.contains("name") || !body["name"].is_string()) {
             throw jarvis::bad_request("'name' (string) is required", "invalid_body");
           }
           return jarvis::Response::json(200, {{"greeting", g->greet(body["name"], "webhook")}});
         }});

    // Tool: hello.greet — callable by agents (and admins: `jarvis tools invoke`) through the
    // policy engine, once granted (`jarvis permissions allow PRINCIPAL hello.greet`). The host
    // validates the arguments against `parameters` before the handler runs (jarvis/json_schema.h).
    host.tools().add(
        {.name = "hello.greet",
         .description = "Greet a person by name",
         .parameters = {{"type", "object"},
                        {"properties",
                         {{"name", {{"type", "string"}, {"minLength", 1}, {"maxLength", 64}}}}},
                        {"required", {"name"}},
                        {"additionalProperties", false}},
         .handler = [g](const jarvis::ToolCall& call) {
           // call.args matches `parameters`; call.caller is whose greeting it is.
           return jarvis::Json{{"greeting", g->greet(call.args["name"], call.caller.user_id)}};
         }});

    // Task: hello.greet — durable background greeting. TaskAccess::User: any signed-in user may
    // schedule it (POST /api/v1/schedules); without an access level only plugins may enqueue it.
    host.tasks().add({.name = "hello.greet",
                      .description = "Greets payload.name in the background",
                      .handler =
                          [g](jarvis::TaskContext& t) {
                            if (!t.payload.contains("name") || !t.payload["name"].is_string()) {
                              throw jarvis::bad_request("payload.name (string) is required",
                                                        "invalid_payload");
                            }
                            return jarvis::Json{{"greeting", g->greet(t.payload["name"], "task")}};
                          }},
                     jarvis::TaskAccess::User);

    // Route: GET /api/v1/hello/stream?count=N — server-sent events (src/stream.cpp).
    register_stream(host);

    // CLI: jarvis hello greet NAME [--json]
    host.commands().add(
        {.group = "hello",
         .name = "greet",
         .summary = "Greets NAME and records it",
         .usage = "jarvis hello greet NAME [--json]",
         .handler = [g](jarvis::CommandContext& c) {
           auto a = jarvis::Args::parse(c.args, {"--json"}, {});
           const std::string& name = a.positional(0, "NAME");
           std::string text = g->greet(name, "cli");
           if (a.flag("--json")) {
             c.out << jarvis::Json{{"greeting", text}, {"count", g->count(name)}}.dump() << "\n";
           } else {
             c.out << text << "\n";
           }
           return 0;
         }});

    // Task: hello.wordcount — a subprocess with an allow-listed environment (src/outbound.cpp).
    register_outbound(host);

    // Outbox: a note and its event in one transaction, a durable subscriber, live pushes
    // (src/outbox.cpp).
    register_outbox(host);

    // Status: a secret token, a duration, a histogram and degraded health (src/settings.cpp).
    settings_ = std::make_unique<Settings>(host);
  }

  jarvis::Health health() const override {
    return settings_ ? settings_->health() : jarvis::Health{};
  }

 private:
  std::unique_ptr<Greetings> greetings_;
  std::unique_ptr<Settings> settings_;
};

}  // namespace hello

JARVIS_PLUGIN(hello::HelloPlugin)

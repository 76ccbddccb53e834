// whatsapp/tests/wa_support.h — a real `jarvis serve` with the whatsapp plugin (and, when asked,
// the chat plugin with a FakeLlmServer) against a FakeEvolution, on SQLite or the test
// PostgreSQL; an admin token; helpers for webhooks, events and waiting.
//
//   WaHost h(Backend::Sqlite, {.env = {{"WHATSAPP_REVIEW_MODE", "off"}}});
//   h.create_instance();                                   // POST …/create: webhook + secret
//   h.evo.deliver("jarvis", FakeEvolution::text_record(kAna, "K1", "hello"));
//   json e = h.wait_event("channel.inbound");              // the newest one
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>

#include "support/fakes/fake_evolution.h"
#include "support/fakes/fake_llm_server.h"
#include "support/support.h"

namespace wa_test {

using jarvis::test::Backend;
using jarvis::test::fakes::FakeEvolution;
using nlohmann::json;

inline const std::string kAna = "5511999990001@s.whatsapp.net";
inline const std::string kBruno = "5511999990002@s.whatsapp.net";
inline const std::string kGroup = "120363025246125486@g.us";
inline const std::string kSecret = "wa-secret-3f9c2d";

/// Options of one test host.
struct WaOptions {
  std::map<std::string, std::string> env;  ///< extra config (wins over the defaults)
  bool with_chat = false;                  ///< also load chat with a fake OpenAI provider
  bool evolution = true;                   ///< EVOLUTION_API_URL set to the fake
  bool secret = true;                      ///< WHATSAPP_WEBHOOK_SECRET set
};

/// One server under test (see the file comment).
class WaHost {
 public:
  explicit WaHost(Backend backend, WaOptions o = {})
      : llm(jarvis::test::fakes::FakeLlmServer::Dialect::openai) {
    port = jarvis::test::free_port();
    std::string disabled = "bugs,maintenance,github,memory";
    if (!o.with_chat) disabled += ",chat";
    env = {{"LOG_LEVEL", "warn"},
           {"BIND_PORT", std::to_string(port)},
           {"JARVIS_PLUGINS_REQUIRED", o.with_chat ? "whatsapp,chat" : "whatsapp"},
           {"JARVIS_PLUGINS_DISABLED", disabled},
           {"EVOLUTION_API_KEY", "evo-global-key"},
           {"WHATSAPP_INSTANCE", "jarvis"},
           {"EVOLUTION_WEBHOOK_URL", webhook_url()},
           {"WHATSAPP_MEDIA_DIR", dir.file("media")},
           {"WHATSAPP_VOICE_TRANSCRIBE_BACKEND", "stub"},
           {"WHATSAPP_SEND_BACKOFF_MS", "50"}};
    if (o.evolution) env["EVOLUTION_API_URL"] = evo.base_url();
    if (o.secret) env["WHATSAPP_WEBHOOK_SECRET"] = kSecret;
    if (o.with_chat) {
      env["OPENAI_BASE_URL"] = llm.base_url();
      env["OPENAI_API_KEY"] = "sk-test";
      env["OPENAI_MODEL"] = "fake-model";
      env["MODEL_MAX_RETRIES"] = "0";
    }
    if (backend == Backend::Sqlite) {
      db_path = dir.file("jarvis.db");
      env["APP_DB"] = db_path;
    } else {
      db_url = jarvis::test::pg_fresh_database();
      env["DATABASE_URL"] = db_url;
    }
    for (auto& [k, v] : o.env) env[k] = v;
    auto m = jarvis::test::run_jarvis({"migrate"}, dir.path(), env);
    EXPECT_EQ(m.exit_code, 0) << m.out << m.err;
    admin = jarvis::test::create_user_token(dir.path(), env, "root", true);
    user = jarvis::test::create_user_token(dir.path(), env, "alice", false);
    server = std::make_unique<jarvis::test::ServerProcess>(dir.path(), env);
    EXPECT_TRUE(server->ready()) << server->output();
    evo.set_state("jarvis", "open");
  }

  std::string webhook_url() const {
    return "http://127.0.0.1:" + std::to_string(port) + "/api/v1/webhooks/whatsapp";
  }

  /// One JSON call with a bearer token.
  jarvis::test::HttpResult call(const std::string& method, const std::string& path,
                                const std::string& token, const json& body = nullptr,
                                std::vector<std::string> extra = {}) const {
    extra.push_back("Content-Type: application/json");
    if (!token.empty()) extra.push_back(jarvis::test::bearer(token));
    return jarvis::test::http(method, server->url(path), body.is_null() ? "" : body.dump(), extra);
  }

  /// POSTs a delivery envelope straight to the webhook with `secret` ("" = no header).
  jarvis::test::HttpResult post_webhook(const json& envelope,
                                        const std::string& secret = kSecret) const {
    std::vector<std::string> h{"Content-Type: application/json"};
    if (!secret.empty()) h.push_back("X-WhatsApp-Secret: " + secret);
    return jarvis::test::http("POST", server->url("/api/v1/webhooks/whatsapp"), envelope.dump(), h);
  }

  /// The envelope Evolution would send for `data`.
  static json envelope(const json& data, const std::string& event = "messages.upsert") {
    return {{"event", event}, {"instance", "jarvis"}, {"data", data}};
  }

  /// Admin-creates the instance (sets the webhook with the secret header on the fake).
  void create_instance() {
    auto r = call("POST", "/api/v1/channels/whatsapp/create", admin);
    EXPECT_EQ(r.status, 200) << r.body;
  }

  /// Events whose type starts with `type`, oldest first (up to 200).
  json events(const std::string& type) const {
    auto r = call("GET", "/api/v1/events?limit=200&type=" + type, admin);
    json j = json::parse(r.body, nullptr, false);
    json items = j.is_object() && j.contains("items") ? j["items"] : json::array();
    json out = json::array();
    for (auto it = items.rbegin(); it != items.rend(); ++it) {
      if ((*it)["type"] == type) out.push_back(*it);
    }
    return out;
  }

  /// Waits until `count` events of exactly `type` exist; returns them (oldest first).
  json wait_events(const std::string& type, std::size_t count) const {
    json out;
    bool ok = eventually([&] {
      out = events(type);
      return out.size() >= count;
    });
    EXPECT_TRUE(ok) << "waited for " << count << " " << type << ", have " << out.size() << "\n"
                    << server->output();
    return out;
  }

  /// Polls `check` (every 50 ms, up to 30 s) until it returns true.
  static bool eventually(const std::function<bool()>& check,
                         std::chrono::seconds limit = std::chrono::seconds(30)) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (check()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return check();
  }

  jarvis::test::TempDir dir;
  FakeEvolution evo;
  jarvis::test::fakes::FakeLlmServer llm;
  int port = 0;
  std::string db_path, db_url;
  std::map<std::string, std::string> env;
  std::string admin, user;
  std::unique_ptr<jarvis::test::ServerProcess> server;
};

/// The error code of an error envelope ("" when none).
inline std::string error_code(const jarvis::test::HttpResult& r) {
  json j = json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("error") && j["error"].is_object()
             ? j["error"].value("code", "")
             : "";
}

/// Parsed JSON body (null when not JSON).
inline json body(const jarvis::test::HttpResult& r) { return json::parse(r.body, nullptr, false); }

}  // namespace wa_test

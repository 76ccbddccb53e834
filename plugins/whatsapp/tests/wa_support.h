// whatsapp/tests/wa_support.h — a real `jarvis serve` (jarvis::test::PluginHost) with the whatsapp
// plugin (and, when asked, the chat plugin with a FakeLlmServer) against a FakeEvolution, on
// SQLite or the test PostgreSQL; every other installed plugin disabled; root (admin), alice and
// bob with tokens; helpers for webhooks, events, tasks and waiting.
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
#include "support/plugin_host.h"
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

/// The fakes and the port, made before the host (whose configuration names them).
struct WaFakes {
  FakeEvolution evo;
  jarvis::test::fakes::FakeLlmServer llm{jarvis::test::fakes::FakeLlmServer::Dialect::openai};
  /// The server's port, chosen first: EVOLUTION_WEBHOOK_URL names it.
  int port = jarvis::test::free_port();
};

/// One server under test (see the file comment): a jarvis::test::PluginHost with whatsapp (and
/// chat), the FakeEvolution as the Evolution API and the FakeLlmServer as the openai provider.
class WaHost : public WaFakes, public jarvis::test::PluginHost {
 public:
  explicit WaHost(Backend backend, WaOptions o = {}) : PluginHost(backend, host_options(*this, o)) {
    evo.set_state("jarvis", "open");
  }

  std::string webhook_url() const { return webhook_url(port); }

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

  /// Every task named `name` (admin view, up to 200).
  json tasks_named(const std::string& name) const {
    json j = get_json("/api/v1/tasks?name=" + name + "&limit=200", admin);
    return j.is_object() && j["items"].is_array() ? j["items"] : json::array();
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

 private:
  static std::string webhook_url(int port) {
    return "http://127.0.0.1:" + std::to_string(port) + "/api/v1/webhooks/whatsapp";
  }

  static jarvis::test::PluginHostOptions host_options(const WaFakes& f, const WaOptions& o) {
    std::map<std::string, std::string> env = {{"BIND_PORT", std::to_string(f.port)},
                                              {"EVOLUTION_API_KEY", "evo-global-key"},
                                              {"WHATSAPP_INSTANCE", "jarvis"},
                                              {"EVOLUTION_WEBHOOK_URL", webhook_url(f.port)},
                                              {"WHATSAPP_VOICE_TRANSCRIBE_BACKEND", "stub"},
                                              {"WHATSAPP_SEND_BACKOFF_MS", "50"}};
    if (o.evolution) env["EVOLUTION_API_URL"] = f.evo.base_url();
    if (o.secret) env["WHATSAPP_WEBHOOK_SECRET"] = kSecret;
    if (o.with_chat) {
      env["OPENAI_BASE_URL"] = f.llm.base_url();
      env["OPENAI_API_KEY"] = "sk-test";
      env["OPENAI_MODEL"] = "fake-model";
      env["MODEL_MAX_RETRIES"] = "0";
    }
    for (const auto& [k, v] : o.env) env[k] = v;
    std::vector<std::string> plugins = {"whatsapp"};
    if (o.with_chat) plugins.push_back("chat");
    return {.plugins = plugins,
            .env = env,
            // The media directory is in the host's own temporary directory; the test's env
            // (applied after this) may still name another.
            .prepare = [extra = o.env](PluginHost& h) {
              if (!extra.count("WHATSAPP_MEDIA_DIR"))
                h.env["WHATSAPP_MEDIA_DIR"] = h.dir.file("media");
            }};
  }
};

using jarvis::test::api::error_code;

/// Parsed JSON body (null when not JSON).
inline json body(const jarvis::test::HttpResult& r) { return json::parse(r.body, nullptr, false); }

}  // namespace wa_test

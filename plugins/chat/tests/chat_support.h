// chat/tests/chat_support.h — a real `jarvis serve` (jarvis::test::PluginHost) with the chat
// plugin, the chat_fixture plugin (tools fixture.add / fixture.fail, a fake channel) and a
// FakeLlmServer as the openai provider, on SQLite or the test PostgreSQL; users alice, bob (role
// user) and root (admin); every other installed plugin disabled.
//
//   ChatHost h(Backend::Sqlite);
//   h.fake.push(ScriptedReply::text_reply("hi"));
//   std::string t = h.new_thread(h.alice);
//   auto r = h.call("POST", "/api/v1/threads/" + t + "/messages", h.alice, {{"content", "hey"}});
//   json reply = h.wait_reply(h.alice, t);
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>

#include "jarvis/sse.h"
#include "support/fakes/fake_llm_server.h"
#include "support/plugin_host.h"
#include "support/support.h"

namespace chat_test {

using jarvis::test::Backend;
using jarvis::test::fakes::FakeLlmServer;
using jarvis::test::fakes::FakeToolCall;
using jarvis::test::fakes::ScriptedReply;
using nlohmann::json;

/// Options of one test host.
struct ChatHostOptions {
  bool with_provider = true;               ///< OPENAI_MODEL set (else no provider is configured)
  std::map<std::string, std::string> env;  ///< extra config
  int max_actions_per_step = 8;            ///< of the test's main bundle
  /// The main bundle's allowed_tools.
  std::vector<std::string> tools = {"fixture.add", "fixture.fail"};
  std::string risk_tier = "medium";  ///< the main bundle's risk_tier
  /// More front-matter lines of the main bundle, e.g. "allowed_paths: [/srv/notes]\n".
  std::string identity_extra;
  /// Also `jarvis permissions allow agent:main …` (false: only the bundle's start-up grant).
  bool cli_grants = true;
  /// More bundles in AGENTS_DIR (minimal identity + soul, no tools), e.g. {"helper"}.
  std::vector<std::string> extra_agents;
};

/// The fake model, constructed before the host (whose configuration names its URL).
struct ChatModelFake {
  FakeLlmServer fake{FakeLlmServer::Dialect::openai};
};

/// One server under test (see the file comment): a jarvis::test::PluginHost with chat and
/// chat_fixture, the test's agent bundles and the fake model as the openai provider.
class ChatHost : public ChatModelFake, public jarvis::test::PluginHost {
 public:
  explicit ChatHost(Backend backend, ChatHostOptions o = {})
      : PluginHost(backend, host_options(fake, o)) {}

  /// A new thread of `token`'s user; returns its id.
  std::string new_thread(const std::string& token, const json& body = json::object()) const {
    auto r = call("POST", "/api/v1/threads", token, body);
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body, nullptr, false).value("id", "");
  }

  /// Polls `check` (every 50 ms, up to 30 s) until it returns true.
  static bool eventually(const std::function<bool()>& check) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < until) {
      if (check()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return check();
  }

  /// The thread's messages, oldest first.
  json messages(const std::string& token, const std::string& thread) const {
    auto r = call("GET", "/api/v1/threads/" + thread + "/messages?limit=200", token);
    json j = json::parse(r.body, nullptr, false);
    return j.is_object() ? j["items"] : json::array();
  }

  /// Waits until the thread has `count` assistant messages without tool calls; returns the last.
  json wait_reply(const std::string& token, const std::string& thread, int count = 1) const {
    json last;
    bool ok = eventually([&] {
      int n = 0;
      for (const auto& m : messages(token, thread)) {
        if (m["role"] == "assistant" && m["tool_calls"].is_null()) {
          ++n;
          last = m;
        }
      }
      return n >= count;
    });
    EXPECT_TRUE(ok) << "no reply in thread " << thread << "\n" << server->output();
    return last;
  }

 private:
  static jarvis::test::PluginHostOptions host_options(const FakeLlmServer& fake,
                                                      const ChatHostOptions& o) {
    std::map<std::string, std::string> env = {{"OPENAI_BASE_URL", fake.base_url()},
                                              {"OPENAI_API_KEY", "sk-test"},
                                              {"MODEL_MAX_RETRIES", "0"}};
    if (o.with_provider) env["OPENAI_MODEL"] = "fake-model";
    for (const auto& [k, v] : o.env) env[k] = v;
    return {.plugins = {"chat"},
            .fixtures = {"chat_fixture"},
            .env = env,
            .prepare = [o](PluginHost& h) { write_agents(h, o); },
            .after_migrate =
                [o](PluginHost& h) {
                  for (const char* tool : {"fixture.add", "fixture.fail"}) {
                    if (!o.cli_grants) break;
                    auto g = h.cli({"permissions", "allow", "agent:main", tool});
                    EXPECT_EQ(g.exit_code, 0) << g.out << g.err;
                  }
                }};
  }

  /// The main bundle and the extra ones, under AGENTS_DIR.
  static void write_agents(PluginHost& h, const ChatHostOptions& o) {
    namespace fs = std::filesystem;
    auto& dir = h.dir;
    if (!o.env.count("AGENTS_DIR")) h.env["AGENTS_DIR"] = dir.file("agents");
    fs::create_directories(dir.file("agents/main"));
    std::string tool_list;
    for (const auto& t : o.tools) tool_list += (tool_list.empty() ? "" : ", ") + t;
    jarvis::test::write_file(
        dir.file("agents/main/identity.md"),
        "---\nagent_id: main\nallowed_tools: [" + tool_list + "]\nrisk_tier: " + o.risk_tier +
            "\nmax_actions_per_step: " + std::to_string(o.max_actions_per_step) + "\n" +
            o.identity_extra + "---\n# Test agent\n");
    jarvis::test::write_file(dir.file("agents/main/soul.md"), "Answer briefly.\n");
    for (const auto& a : o.extra_agents) {
      fs::create_directories(dir.file("agents/" + a));
      jarvis::test::write_file(dir.file("agents/" + a + "/identity.md"),
                               "---\nagent_id: " + a +
                                   "\nallowed_tools: []\nrisk_tier: low\nmax_actions_per_step: "
                                   "1\n---\n# " +
                                   a + "\n");
      jarvis::test::write_file(dir.file("agents/" + a + "/soul.md"), "Help.\n");
    }
  }
};

/// Server-sent events parsed from a whole body.
inline std::vector<jarvis::SseEvent> parse_sse(const std::string& body) {
  jarvis::SseParser p;
  return p.feed(body);
}

/// The SSE event names in order.
inline std::vector<std::string> event_names(const std::vector<jarvis::SseEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.type);
  return out;
}

using jarvis::test::api::error_code;

}  // namespace chat_test
